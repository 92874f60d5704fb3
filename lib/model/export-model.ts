// exportModel(): a training checkpoint's network as a .safetensors file PyTorch reads with
// safetensors.torch.load_file: the backbone under torchvision's state_dict keys, the head under
// head.*, and a description of the network (architecture, normalisation, image size, classes)
// in the file's metadata under 'semihard' and in a JSON file next to it. The README shows the
// Python lines that rebuild the network from torchvision and load it.
import * as path from 'node:path';
import { binding, packageVersion } from '../binding';
import type { Backbone, Device, Pool, Stem } from '../enums';
import { rangeError, typeError } from '../errors';
import { writeFileAtomic } from '../files';
import { loadModel } from '../model';
import { SEMIHARD_METADATA_KEY } from '../train/pretrained';
import { checkKnownKeys, optionsObject } from '../validate';
import { writeSafetensors } from './safetensors';

/** What an exported file says about its network (metadata 'semihard', and the JSON file). */
export interface ModelDescription {
  format: 'semihard-model';
  /** The version of this description's shape. */
  version: 1;
  backbone: Backbone;
  /** ResNets: 'imagenet' (torchvision's stem) or 'small' (3×3 stride-1 conv1, no max-pool); null for the convnets. */
  stem: Stem | null;
  pool: Pool;
  headBatchNorm: boolean;
  dropout: number;
  /** The head's input width (the pooled features) and output width. */
  features: number;
  dim: number;
  /** Channels of the images, and of the network's input (3 with 1-channel images replicated). */
  channels: 1 | 3;
  inputChannels: 1 | 3;
  /** Height × width the network sees (centre crop), and the size images are stored at before it. */
  imageSize: [number, number];
  storedSize: [number, number];
  /** Per input channel: the network sees (x − mean) / std with x in [0, 1]. */
  mean: number[];
  std: number[];
  classNames: string[];
  semihard: string;
  torch: string;
}

export interface ExportedModel {
  file: string;
  json: string;
  tensors: number;
  bytes: number;
  description: ModelDescription;
}

/** The JSON file written next to `out`: model.safetensors → model.json; any other name gets .json appended. */
export function descriptionFile(out: string): string {
  return out.toLowerCase().endsWith('.safetensors') ? `${out.slice(0, -'.safetensors'.length)}.json` : `${out}.json`;
}

/**
 * Writes the network of a training checkpoint to `out` (.safetensors, atomically) and its
 * description to the JSON file next to it (descriptionFile). Errors: the checkpoint's
 * (ERR_SEMIHARD_CHECKPOINT naming it), a TypeError/RangeError for a bad argument.
 */
export async function exportModel(checkpoint: string, out: string, options?: { device?: Device }): Promise<ExportedModel> {
  if (typeof checkpoint !== 'string' || checkpoint.length === 0) throw typeError('checkpoint', 'a file path', checkpoint);
  if (typeof out !== 'string' || out.length === 0) throw typeError('out', 'a file path', out);
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, ['device'], 'options');
  const file = path.resolve(out);
  if (file === path.resolve(checkpoint)) throw rangeError('out', 'a file other than the checkpoint', out);
  const model = await loadModel(checkpoint, { device: o.device as Device | undefined });
  const tensors = await model.weights();
  const head = tensors.find((t) => t.name === 'head.linear.weight');
  const config = model.checkpoint.config.model;
  const description: ModelDescription = {
    format: 'semihard-model',
    version: 1,
    backbone: config.backbone,
    stem: config.stem,
    pool: config.pool,
    headBatchNorm: config.headBatchNorm,
    dropout: config.dropout,
    features: head ? head.shape[1] : 0,
    dim: model.dim,
    channels: model.channels,
    inputChannels: model.inputChannels,
    imageSize: [model.height, model.width],
    storedSize: [model.storedHeight, model.storedWidth],
    ...model.normalisation,
    classNames: model.classNames,
    semihard: packageVersion(),
    torch: binding.info().torchVersion,
  };
  const text = JSON.stringify(description);
  await writeSafetensors(file, tensors, { format: 'pt', [SEMIHARD_METADATA_KEY]: text });
  const json = descriptionFile(file);
  await writeFileAtomic(json, Buffer.from(`${JSON.stringify(description, null, 2)}\n`));
  return { file, json, tensors: tensors.length, bytes: tensors.reduce((n, t) => n + t.data.length, 0), description };
}
