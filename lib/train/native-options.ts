// The resolved configuration as the native trainer's options (lib/ has checked every value).
import type { NativeTrainerOptions } from '../../binding';
import type { ResolvedTrainConfig } from './types';

export function nativeTrainerOptions(config: ResolvedTrainConfig, channels: 1 | 3 = 1): NativeTrainerOptions {
  const augment = config.augment;
  const crop = augment !== false && augment.crop !== false ? augment.crop : null;
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
    ...(augment !== false ? { affine: { rotation: augment.rotation, scale: augment.scale, translate: augment.translate, flip: augment.flip } } : {}),
    ...(crop ? { crop: { minScale: crop.scale[0], maxScale: crop.scale[1], minRatio: crop.ratio[0], maxRatio: crop.ratio[1] } } : {}),
    channels,
    device: config.device,
    deviceIndex: config.distributed ? config.distributed.localRank : -1,
    seed: config.seed,
  };
}
