// A data set handed to a native trainer: its images (in a Uint8Array, an image store, or
// streamed), geometry and normalisation; and, for a streamed set, the feeder that decodes
// each job's batches ahead of it.
import * as os from 'node:os';
import type { NativeSetDataOptions, NativeTrainer } from '../../binding';
import type { Dataset } from '../data/datasets';
import { BatchFeeder } from '../data/feeder';

export function setDataOptions(dataset: Dataset, withValid: boolean): NativeSetDataOptions {
  return {
    train: { images: dataset.train.images, labels: dataset.train.labels },
    valid: withValid ? { images: dataset.valid.images, labels: dataset.valid.labels } : null,
    geometry: {
      channels: dataset.channels,
      storedHeight: dataset.storedHeight,
      storedWidth: dataset.storedWidth,
      height: dataset.height,
      width: dataset.width,
    },
    normalisation: dataset.normalisation,
  };
}

export interface StreamOptions {
  rank?: number;
  worldSize?: number;
  /** Images decoded at once (default os.availableParallelism()). */
  concurrency?: number;
}

/**
 * Runs `job` (a trainer run over `indices` of `set`); when the set is streamed, feeds its
 * batches meanwhile, and stops feeding when the job ends however it ends.
 */
export async function withFeed<T>(
  trainer: NativeTrainer,
  dataset: Dataset,
  set: 'train' | 'valid',
  indices: Int32Array,
  batchSize: number,
  options: StreamOptions,
  job: () => Promise<T>,
): Promise<T> {
  const data = dataset[set];
  if (data.images !== null || indices.length === 0) return job();
  if (!data.files) throw new Error(`internal: the streamed ${set} set has no files`);
  const feeder = new BatchFeeder(
    trainer,
    set,
    data.files,
    { height: dataset.storedHeight, width: dataset.storedWidth, channels: dataset.channels },
    { concurrency: options.concurrency ?? os.availableParallelism(), rank: options.rank, worldSize: options.worldSize },
  );
  const feeding = feeder.feedAll(indices, batchSize);
  try {
    return await job();
  } catch (err) {
    // The job failed because an image could not be decoded: the decoder's own error (ERR_SEMIHARD_IMAGE, naming the file).
    throw feeder.failure ?? err;
  } finally {
    feeder.stop();
    await feeding;
  }
}
