// What the commands show while they work: a progress bar per training epoch and per embedded
// set on stderr (cli-progress redraws it in place on a terminal and stays silent otherwise).
import { Presets, SingleBar } from 'cli-progress';
import type { EpochEvent, Model, ProgressEvent } from '../index';
import { formatEpoch } from './format';

/** train()'s onProgress and onEpoch for a run of `phases` phases: a bar per epoch, then the epoch's line. */
export class TrainingProgress {
  private bar: SingleBar | null = null;

  constructor(
    private readonly phases: number,
    private readonly quiet: boolean,
  ) {}

  readonly onProgress = (e: ProgressEvent): void => {
    if (this.quiet) return;
    if (!this.bar) {
      this.bar = new SingleBar(
        {
          format: `phase ${e.phase + 1}/${this.phases} epoch ${e.epoch + 1} |{bar}| {value}/{total} loss {loss} lr {lr} {ips} img/s eta {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(e.steps, e.step - 1, { loss: '-', lr: '-', ips: '-' });
    }
    this.bar.update(e.step, { loss: e.loss.toFixed(4), lr: e.lr.toExponential(2), ips: e.imagesPerSecond.toFixed(0) });
  };

  readonly onEpoch = (e: EpochEvent): void => {
    this.stop();
    if (!this.quiet) process.stderr.write(`${formatEpoch(e, this.phases)}\n`);
  };

  /** Removes the bar (before an error or the summary is printed). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** Embeds `count` images in chunks, with a bar unless `quiet`. */
export async function embedAll(model: Model, images: Uint8Array, count: number, label: string, quiet: boolean): Promise<Float32Array> {
  const pixels = model.height * model.width;
  const out = new Float32Array(count * model.dim);
  const chunk = 2048;
  const bar = quiet
    ? null
    : new SingleBar({ format: `embedding ${label} |{bar}| {value}/{total} images`, stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
  bar?.start(count, 0);
  try {
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      out.set(await model.embed(images.subarray(start * pixels, (start + n) * pixels), n), start * model.dim);
      bar?.update(start + n);
    }
  } finally {
    bar?.stop();
  }
  return out;
}
