// The resolved configuration as the native trainer's options (lib/ has checked every value).
import type { NativeNetworkOptions, NativeTrainerOptions } from '../../binding';
import { networkInputChannels } from './model-config';
import type { ResolvedModelConfig, ResolvedTrainConfig } from './types';

/** The network fields of a native Trainer's or Embedder's options (the stem resolved, or 'small' for a ResNet without one: checkpoints from before stems). */
export function nativeNetworkOptions(model: ResolvedModelConfig, channels: 1 | 3): NativeNetworkOptions & { channels: 1 | 3 } {
  return {
    backbone: model.backbone,
    dim: model.dim,
    ...(model.stem !== null ? { stem: model.stem } : {}),
    pool: model.pool,
    headBatchNorm: model.headBatchNorm,
    dropout: model.dropout,
    channels,
    inputChannels: networkInputChannels(model, channels),
  };
}

export function nativeTrainerOptions(config: ResolvedTrainConfig, channels: 1 | 3 = 1): NativeTrainerOptions {
  const augment = config.augment;
  const crop = augment !== false && augment.crop !== false ? augment.crop : null;
  return {
    ...nativeNetworkOptions(config.model, channels),
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
    device: config.device,
    deviceIndex: config.distributed ? config.distributed.localRank : -1,
    seed: config.seed,
    precision: config.precision,
    ...(config.batch.chunk !== null ? { chunk: config.batch.chunk } : {}),
  };
}
