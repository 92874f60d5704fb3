// The resolved configuration as the native trainer's options (lib/ has checked every value).
import type { NativeTrainerOptions } from '../../binding';
import type { ResolvedTrainConfig } from './types';

export function nativeTrainerOptions(config: ResolvedTrainConfig): NativeTrainerOptions {
  return {
    backbone: config.model.backbone,
    dim: config.model.dim,
    batchNorm: config.model.batchNorm,
    lossKind: config.loss.kind,
    margin: config.loss.margin,
    soft: config.loss.soft,
    distance: config.loss.distance,
    weightDecay: config.weightDecay,
    gradClip: config.gradClip,
    augment: config.augment !== false,
    ...(config.augment !== false ? { affine: config.augment } : {}),
    device: config.device,
    deviceIndex: config.distributed ? config.distributed.localRank : -1,
    seed: config.seed,
  };
}
