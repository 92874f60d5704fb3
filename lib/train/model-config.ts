// The network's configuration: config.model checked and defaulted (the ResNets get fastai's
// head: concat pool, BatchNorm, dropout 0.25; the convnets keep theirs: average pool alone),
// the stem chosen once the images' size is known, and the channels the network takes (a
// the input: three channels and ImageNet's statistics.
import * as path from 'node:path';
import { BACKBONES, BATCH_NORM_STATISTICS, POOLS, RESNET_BACKBONES, STEMS, isMember, type Backbone } from '../enums';
import { rangeError, typeError } from '../errors';
import { booleanOption, checkKnownKeys, finiteNumber, oneOf, optionsObject, positiveInteger } from '../validate';
import type { ResolvedModelConfig } from './types';

/** The shorter image side from which a ResNet's stem defaults to torchvision's ('imagenet'). */
export const IMAGENET_STEM_MIN_SIDE = 64;

export function isResNet(backbone: Backbone): boolean {
  return isMember(RESNET_BACKBONES, backbone);
}

/** config.model with every default that does not depend on the data (stem: null until resolveStem). */
export function resolveModelConfig(value: unknown): ResolvedModelConfig {
  const model = optionsObject(value, 'config.model', false);
  checkKnownKeys(model, ['backbone', 'dim', 'batchNorm', 'stem', 'pool', 'headBatchNorm', 'dropout', 'pretrained'], 'config.model');
  const backbone = oneOf(model.backbone, 'config.model.backbone', BACKBONES, 'convnet');
  const resnet = isResNet(backbone);
  if (!resnet && model.stem !== undefined) {
    throw typeError('config.model.stem', `no such option for model.backbone '${backbone}' (only the ResNets have a stem)`, model.stem);
  }
  let pretrained: string | null = null;
  if (model.pretrained !== undefined) {
    if (typeof model.pretrained !== 'string' || model.pretrained.length === 0) {
      throw typeError('config.model.pretrained', 'a weight file path', model.pretrained);
    }
    if (!resnet) throw rangeError('config.model.backbone', `a ResNet (${RESNET_BACKBONES.join(', ')}) when config.model.pretrained is given`, backbone);
    pretrained = path.resolve(model.pretrained);
  }
  const dropout = finiteNumber(model.dropout, 'config.model.dropout', resnet ? 0.25 : 0);
  if (!(dropout >= 0 && dropout < 1)) throw rangeError('config.model.dropout', 'a number in [0, 1)', model.dropout);
  return {
    backbone,
    dim: model.dim === undefined ? 128 : positiveInteger(model.dim, 'config.model.dim'),
    batchNorm: oneOf(model.batchNorm, 'config.model.batchNorm', BATCH_NORM_STATISTICS, 'sync'),
    stem: !resnet ? null : model.stem !== undefined ? oneOf(model.stem, 'config.model.stem', STEMS, 'imagenet') : pretrained ? 'imagenet' : null,
    pool: oneOf(model.pool, 'config.model.pool', POOLS, resnet ? 'concat' : 'avg'),
    headBatchNorm: booleanOption(model.headBatchNorm, 'config.model.headBatchNorm', resnet),
    dropout,
    pretrained,
    inputChannels: null,
  };
}

/** The model with its stem chosen for images the network sees at height × width (a ResNet's default: see ModelConfig.stem). */
export function resolveStem(model: ResolvedModelConfig, image: { height: number; width: number }): ResolvedModelConfig {
  if (!isResNet(model.backbone) || model.stem !== null) return model;
  const stem = model.pretrained !== null || Math.min(image.height, image.width) >= IMAGENET_STEM_MIN_SIDE ? 'imagenet' : 'small';
  return { ...model, stem };
}

/** The channels the network takes: as recorded (a pretrained file's conv1), else a pretrained ResNet 3 (1-channel images replicated natively), else the images'. */
export function networkInputChannels(model: Pick<ResolvedModelConfig, 'pretrained' | 'inputChannels'>, channels: 1 | 3): 1 | 3 {
  return model.inputChannels ?? (model.pretrained !== null ? 3 : channels);
}
