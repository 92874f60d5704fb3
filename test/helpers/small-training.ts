// The small real-digit training set and configuration that the train() tests share.
import * as path from 'node:path';
import type { TrainConfig } from '../../lib';
import { loadIdxDataset } from '../../lib/data/datasets';
import { takePerClass, writeIdxDir } from './idx';

/** 60 train and 20 validation digits per class from the embedded MNIST set, as gzipped IDX files in `dir`. */
export function writeSmallDigits(dir: string): void {
  const mnist = loadIdxDataset('mnist', 0);
  writeIdxDir(dir, { train: takePerClass(mnist.train, 60), test: takePerClass(mnist.valid, 20) }, 28, true);
}

/** The first 400 training and 100 validation digits of the embedded set (in its split order), as plain IDX files in `dir`. */
export function writeFirstDigits(dir: string): void {
  const mnist = loadIdxDataset('mnist', 0);
  writeIdxDir(
    dir,
    {
      train: { images: mnist.train.images.subarray(0, 400 * 784), labels: mnist.train.labels.subarray(0, 400) },
      test: { images: mnist.valid.images.subarray(0, 100 * 784), labels: mnist.valid.labels.subarray(0, 100) },
    },
    28,
    false,
  );
}

/** One frozen and two unfrozen epochs of 4 x 8 batches, a 32-wide embedding, on the CPU. */
export function smallTrainConfig(dataDir: string, checkpointDir: string, threads: number): TrainConfig {
  return {
    data: { idxDir: dataDir },
    batch: { classes: 4, perClass: 8 },
    phases: [
      { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
      { epochs: 2, maxLr: 2e-3, freeze: 'none' },
    ],
    model: { dim: 32 },
    seed: 11,
    device: 'cpu',
    threads,
    checkpointDir: path.resolve(checkpointDir),
  };
}
