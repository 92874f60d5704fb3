// A pretrained backbone: a weight file read (lib/model/weight-file.ts) before the network is
// built, because the file decides what the network takes: the input channels of its first
// convolution (ImageNet files: 3; 1-channel images are then replicated natively) and the
// statistics it was trained with (a semihard export records its own; any other file is
// taken to be ImageNet's, as torchvision's and timm's are). The tensors are then loaded into
// the fresh trainer's body, all or nothing. Every failure is a SemihardError naming the file.
import type { NativeTrainer } from '../../binding';
import { imagenetNormalisation } from '../data/image-folder';
import type { Backbone } from '../enums';
import { SemihardError } from '../errors';
import type { NamedTensor } from '../model/named-tensor';
import { readSafetensors } from '../model/safetensors';
import { readWeightFile, weightFileFormat } from '../model/weight-file';
import { isPlainObject } from '../validate';

/** The key exportModel writes its description under in a .safetensors file's metadata. */
export const SEMIHARD_METADATA_KEY = 'semihard';

export interface PretrainedWeights {
  file: string;
  tensors: NamedTensor[];
  /** The input channels of the file's conv1. */
  inputChannels: 1 | 3;
  /** The per-channel statistics its inputs were normalised with. */
  normalisation: { mean: number[]; std: number[] };
}

function weightsError(file: string, why: string, cause?: unknown): SemihardError {
  return new SemihardError('ERR_SEMIHARD_WEIGHTS', `Weight file ${file} ${why}`, cause === undefined ? undefined : { cause });
}

/** A semihard export's recorded normalisation, checked; null when the file is not one. */
function recordedNormalisation(file: string, metadata: Record<string, string>, channels: number): { mean: number[]; std: number[] } | null {
  const text = metadata[SEMIHARD_METADATA_KEY];
  if (text === undefined) return null;
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch (err) {
    throw weightsError(file, `has a '${SEMIHARD_METADATA_KEY}' metadata entry that is not JSON`, err);
  }
  const values = (v: unknown, positive: boolean): v is number[] =>
    Array.isArray(v) && v.length === channels && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!isPlainObject(d) || !values(d.mean, false) || !values(d.std, true)) {
    throw weightsError(file, `records no usable normalisation for its ${channels}-channel input (mean and std of ${channels} finite numbers, std positive)`);
  }
  return { mean: d.mean, std: d.std };
}

export async function readPretrained(file: string): Promise<PretrainedWeights> {
  let tensors: NamedTensor[];
  let metadata: Record<string, string> = {};
  try {
    if ((await weightFileFormat(file)) === 'safetensors') ({ tensors, metadata } = await readSafetensors(file));
    else tensors = await readWeightFile(file);
  } catch (err) {
    if (err instanceof SemihardError && err.message.includes(file)) throw err;
    throw weightsError(file, `cannot be read: ${(err as Error).message}`, err);
  }
  // A missing conv1 is reported with every other missing key when the weights are loaded.
  const conv1 = tensors.find((t) => t.name === 'conv1.weight');
  const channels = conv1?.shape.length === 4 ? conv1.shape[1] : 3;
  if (channels !== 1 && channels !== 3) throw weightsError(file, `has a conv1 for ${channels}-channel images; 1 or 3 are supported`);
  const inputChannels = channels as 1 | 3;
  return { file, tensors, inputChannels, normalisation: recordedNormalisation(file, metadata, inputChannels) ?? imagenetNormalisation(inputChannels) };
}

/** The channels a pretrained network takes given the images' (1-channel images go to a 3-channel network replicated). */
export function pretrainedInputChannels(weights: PretrainedWeights, channels: 1 | 3): 1 | 3 {
  if (weights.inputChannels === 1 && channels === 3) {
    throw weightsError(weights.file, 'takes 1-channel images but the data has 3 channels: load the images as greyscale (data.channels: 1)');
  }
  return weights.inputChannels;
}

export async function loadPretrained(trainer: NativeTrainer, weights: PretrainedWeights, backbone: Backbone): Promise<void> {
  try {
    await trainer.loadBackboneWeights(weights.tensors);
  } catch (err) {
    throw weightsError(weights.file, `does not fit a torchvision ${backbone}: ${(err as Error).message}`, err);
  }
}
