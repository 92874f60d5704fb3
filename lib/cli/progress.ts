// What the commands show while they work: a progress bar per training epoch and per embedded
// set on stderr (cli-progress redraws it in place on a terminal and stays silent otherwise).
import { Presets, SingleBar } from 'cli-progress';
import { embedImageSet, type DecodeProgressEvent, type EpochEvent, type ImageSet, type Model, type ProgressEvent } from '../index';
import { formatEpoch } from './format';

/** train()'s onProgress and onEpoch for a run of `phases` phases: a bar per epoch, then the epoch's line. */
export class TrainingProgress {
  private bar: SingleBar | null = null;
  private decodeBar: SingleBar | null = null;
  private sizesBar: SingleBar | null = null;

  constructor(
    private readonly phases: number,
    private readonly quiet: boolean,
  ) {}

  readonly onProgress = (e: ProgressEvent): void => {
    // A collapse is the train command's to print (a warning, also when quiet).
    if (this.quiet || e.stage === 'collapse') return;
    if (e.stage === 'decode') {
      this.onDecode(e);
      return;
    }
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

  /** An image folder's decoding pass: a bar, then one line saying what it found. */
  private onDecode(e: DecodeProgressEvent): void {
    if (e.what === 'sizes') {
      // Reading the headers (it stops at the first image of another size).
      if (!this.sizesBar) {
        this.sizesBar = new SingleBar({ format: 'reading image sizes |{bar}| {value}/{total}', stream: process.stderr, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
        this.sizesBar.start(e.total, e.done);
      }
      this.sizesBar.update(e.done);
      return;
    }
    this.sizesBar?.stop();
    this.sizesBar = null;
    if (!this.decodeBar) {
      this.decodeBar = new SingleBar(
        { format: `decoding images |{bar}| {value}/{total} {skipped} eta {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
        Presets.shades_classic,
      );
      this.decodeBar.start(e.total, e.done, { skipped: '' });
    }
    this.decodeBar.update(e.done, { skipped: e.skipped > 0 ? `(${e.skipped} bad, skipped)` : '' });
    if (e.done === e.total) {
      this.decodeBar.stop();
      this.decodeBar = null;
      process.stderr.write(`decoded ${e.total - e.skipped} images${e.skipped > 0 ? `, skipped ${e.skipped} bad ones` : ''}; ${e.cached ? 'kept in memory' : 'streamed while training (they do not fit the cache)'}\n`);
      for (const s of e.firstSkipped) process.stderr.write(`  skipped ${s.file}: ${s.reason}\n`);
      if (e.skipped > e.firstSkipped.length) process.stderr.write(`  ... and ${e.skipped - e.firstSkipped.length} more\n`);
    }
  }

  /** Removes the bars (before an error or the summary is printed). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
    this.decodeBar?.stop();
    this.decodeBar = null;
    this.sizesBar?.stop();
    this.sizesBar = null;
  }
}

/** Embeds a data set's images (embedImageSet) with a bar unless `quiet`. */
export async function embedSet(model: Model, set: ImageSet, label: string, quiet: boolean): Promise<Float32Array> {
  const bar = quiet
    ? null
    : new SingleBar({ format: `embedding ${label} |{bar}| {value}/{total} images`, stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
  bar?.start(set.count, 0);
  try {
    return await embedImageSet(model, set, { onProgress: (done) => bar?.update(done) });
  } finally {
    bar?.stop();
  }
}
