// Streaming: the images of a set too large for the cache are decoded batch by batch, a few
// batches ahead of the native trainer, and queued to it in order (trainer.feed). sharp
// decodes on libuv's thread pool, so the event loop stays free and decoding overlaps the
// trainer's step. Each rank decodes only the rows of each global batch that it embeds.
import { decodeImages, type DecodeTarget } from './decode';

/** The part of the native trainer a feeder drives (NativeTrainer). */
export interface FeedTarget {
  feed(set: 'train' | 'valid', images: Uint8Array, count: number): void;
  abortFeed(message: string): void;
  queued(set: 'train' | 'valid'): number;
}

export interface FeederOptions {
  /** Batches decoded and queued ahead of the one the trainer is on (default 3). */
  ahead?: number;
  /** Images decoded at once. */
  concurrency: number;
  rank?: number;
  worldSize?: number;
}

const POLL_MS = 2;

export class BatchFeeder {
  private stopped = false;
  /** The error that stopped feeding (a file that failed to decode), rethrown by the job's caller. */
  failure: Error | null = null;
  private readonly ahead: number;

  constructor(
    private readonly trainer: FeedTarget,
    private readonly set: 'train' | 'valid',
    private readonly files: string[],
    private readonly target: DecodeTarget,
    private readonly options: FeederOptions,
  ) {
    this.ahead = Math.max(1, options.ahead ?? 3);
  }

  /** Stops feeding (the run ended); batches already queued are the trainer's to clear. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Feeds the batches of `indices` (steps × batchSize rows of the global batches) in order.
   * Never rejects: a file that fails to decode aborts the trainer's run with its message.
   */
  async feedAll(indices: Int32Array, batchSize: number): Promise<void> {
    const world = this.options.worldSize ?? 1;
    const rows = batchSize / world;
    const first = (this.options.rank ?? 0) * rows;
    const imageBytes = this.target.height * this.target.width * this.target.channels;
    try {
      for (let start = 0; start < indices.length && !this.stopped; start += batchSize) {
        await this.waitForRoom();
        if (this.stopped) return;
        const mine = indices.subarray(start + first, start + first + rows);
        const pixels = new Uint8Array(rows * imageBytes);
        await decodeImages(
          Array.from(mine, (i) => this.files[i]),
          this.target,
          { concurrency: this.options.concurrency, onImage: (k, image) => pixels.set(image, k * imageBytes) },
        );
        if (this.stopped) return;
        this.trainer.feed(this.set, pixels, rows);
      }
    } catch (err) {
      if (this.stopped) return;
      this.failure = err as Error;
      this.trainer.abortFeed(`Streaming the ${this.set} images failed: ${(err as Error).message}`);
    }
  }

  private async waitForRoom(): Promise<void> {
    while (!this.stopped && this.trainer.queued(this.set) >= this.ahead) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
