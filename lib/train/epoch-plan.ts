// Which training images each batch of an epoch holds, from the seed and the epoch's number.
import type { Dataset } from '../data/datasets';
import { balancedEpoch, shuffledEpoch, type BatchPlan } from '../data/sampler';
import type { ResolvedTrainConfig } from './types';

/** The training batches of one epoch (the epoch counted over all phases). */
export function epochPlan(config: ResolvedTrainConfig, dataset: Dataset, globalEpoch: number): BatchPlan {
  const classes = Math.min(config.batch.classes, dataset.classes);
  if (config.batch.sampler === 'shuffled') {
    return shuffledEpoch(dataset.train.count, classes * config.batch.perClass, config.seed, globalEpoch);
  }
  return balancedEpoch(dataset.train.labels, classes, config.batch.perClass, config.seed, globalEpoch);
}
