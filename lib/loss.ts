// The triplet losses: argument validation and defaults here, numerics in native/core.
import type { NativeLabels, NativeLossOptions, NativeLossResult } from '../binding';
import { binding } from './binding';
import { rangeError, rangeErrorWithMessage, typeError } from './errors';
import { DEVICES, DISTANCES, type Device, type Distance, type LossKind } from './enums';
import { booleanOption, checkKnownKeys, float32Number, oneOf, optionsObject, positiveInteger } from './validate';

export type Labels = Int32Array | BigInt64Array | ArrayLike<number>;
export type { Device, Distance } from './enums';

export interface LossResult {
  /** The loss, as TensorFlow Addons defines it (float32 precision). */
  loss: number;
  /** d(loss)/d(input), same layout as the input (embeddings B×dim or distances B×B). */
  grad: Float32Array;
  /** Ordered pairs (a, p), a ≠ p, with equal labels. */
  positivePairs: number;
  /** What the loss mined in this call, gathered by the miners on the way (nearly free). */
  stats: LossStats;
}

/**
 * Diagnostics of one loss call, computed natively (native/core/triplet_stats.h). Distances
 * are in the loss's distance metric (L2, squared-L2, angular, or the given matrix). A value
 * that is not defined (a fraction or mean over nothing, the hard loss's semi-hard counts, the
 * spread of given distances) is `null`.
 */
export interface LossStats {
  /** Ordered pairs (a, p), a ≠ p, with equal labels (as `positivePairs`). */
  positivePairs: number;
  /** Terms of the loss whose value is > 0: positive pairs (semi-hard), anchors (hard). */
  activePairs: number;
  /**
   * Semi-hard only (null for hard): pairs that found a semi-hard negative (the nearest negative
   * strictly farther than d(a, p)); the others fell back to TF's farthest negative (or, for an
   * anchor without negatives, the row minimum).
   */
  semiHardPairs: number | null;
  /** Anchors without a positive in the batch (their class has one row). */
  noPositiveAnchors: number;
  /** Mean d(a, p) over positive pairs (semi-hard); mean hardest positive over anchors that have one (hard). */
  meanPositiveDistance: number | null;
  /**
   * Mean distance of the chosen negatives, over the pairs (semi-hard) or anchors (hard) whose
   * anchor has a negative: the semi-hard negative or the farthest one (semi-hard), the hardest
   * negative (hard).
   */
  meanNegativeDistance: number | null;
  /**
   * Mean Euclidean distance of the embeddings (as given, before any normalisation) to their
   * centroid: a spread near 0 means the embeddings collapsed to one point. null for the
   * `...FromDistances` calls (no embeddings).
   */
  spread: number | null;
  /** activePairs over the loss's terms: positive pairs (semi-hard), anchors (hard). */
  activeFraction: number | null;
  /** semiHardPairs / positivePairs; null for the hard loss. */
  semiHardFraction: number | null;
}

export interface SemiHardLossOptions {
  /** Embedding width: `embeddings` is row-major B × dim. */
  dim: number;
  /** Margin of the hinge (default 1.0). */
  margin?: number;
  /** Distance between embeddings (default 'L2', Euclidean, as TF-Addons' default "L2"). */
  distance?: Distance;
  /** Where to compute (default 'auto': CUDA when available). */
  device?: Device;
}

export interface HardLossOptions extends SemiHardLossOptions {
  /** Soft margin: log1p(exp(hardest positive − hardest negative)), margin unused (default false). */
  soft?: boolean;
}

export interface FromDistancesOptions {
  margin?: number;
  device?: Device;
}

export interface HardFromDistancesOptions extends FromDistancesOptions {
  soft?: boolean;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Labels as the typed array the addon takes; plain arrays of integers are converted. */
export function toNativeLabels(labels: unknown): NativeLabels {
  if (labels instanceof Int32Array || labels instanceof BigInt64Array) return labels;
  const arrayLike =
    labels !== null &&
    typeof labels === 'object' &&
    typeof (labels as ArrayLike<unknown>).length === 'number' &&
    !(labels instanceof BigUint64Array);
  if (!arrayLike) throw typeError('labels', 'an Int32Array, a BigInt64Array or an array of integers', labels);
  const source = labels as ArrayLike<unknown>;
  let fitsInt32 = true;
  for (let i = 0; i < source.length; i++) {
    const v = source[i];
    if (typeof v !== 'number') throw typeError(`labels[${i}]`, 'an integer', v);
    if (!Number.isSafeInteger(v)) throw rangeError(`labels[${i}]`, 'an integer', v);
    if (v < INT32_MIN || v > INT32_MAX) fitsInt32 = false;
  }
  if (fitsInt32) return Int32Array.from(source as ArrayLike<number>);
  return BigInt64Array.from(source as ArrayLike<number>, (v) => BigInt(v));
}

function float32Input(value: unknown, argument: string): Float32Array {
  if (!(value instanceof Float32Array)) throw typeError(argument, 'a Float32Array', value);
  return value;
}

interface EmbeddingCall {
  embeddings: Float32Array;
  dim: number;
  labels: NativeLabels;
  options: NativeLossOptions;
}

function embeddingCall(kind: LossKind, embeddings: unknown, labels: unknown, options: unknown): EmbeddingCall {
  const emb = float32Input(embeddings, 'embeddings');
  const o = optionsObject(options, 'options', true);
  checkKnownKeys(o, kind === 'hard' ? ['dim', 'margin', 'distance', 'device', 'soft'] : ['dim', 'margin', 'distance', 'device'], 'options');
  const dim = positiveInteger(o.dim, 'options.dim');
  if (emb.length % dim !== 0) {
    throw rangeErrorWithMessage(
      'embeddings',
      `Expected embeddings.length to be a multiple of options.dim (${dim}) but received length ${emb.length}`,
    );
  }
  const batch = emb.length / dim;
  if (batch < 2) {
    throw rangeErrorWithMessage(
      'embeddings',
      `Expected at least 2 rows of ${dim} values in embeddings (a triplet needs a pair) but received ${batch}`,
    );
  }
  const nativeLabels = toNativeLabels(labels);
  if (nativeLabels.length !== batch) {
    throw rangeErrorWithMessage(
      'labels',
      `Expected ${batch} labels (one per embedding row) but received ${nativeLabels.length}`,
    );
  }
  return {
    embeddings: emb,
    dim,
    labels: nativeLabels,
    options: {
      kind,
      margin: float32Number(o.margin, 'options.margin', 1.0),
      soft: kind === 'hard' ? booleanOption(o.soft, 'options.soft', false) : false,
      distance: oneOf(o.distance, 'options.distance', DISTANCES, 'L2'),
      device: oneOf(o.device, 'options.device', DEVICES, 'auto'),
    },
  };
}

interface DistancesCall {
  distances: Float32Array;
  labels: NativeLabels;
  options: NativeLossOptions;
}

function distancesCall(kind: LossKind, distances: unknown, labels: unknown, options: unknown): DistancesCall {
  const d = float32Input(distances, 'distances');
  const nativeLabels = toNativeLabels(labels);
  const batch = nativeLabels.length;
  if (batch < 2) {
    throw rangeErrorWithMessage('labels', `Expected at least 2 labels (a triplet needs a pair) but received ${batch}`);
  }
  if (d.length !== batch * batch) {
    throw rangeErrorWithMessage(
      'distances',
      `Expected distances.length to be labels.length squared (${batch * batch}) but received ${d.length}`,
    );
  }
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, kind === 'hard' ? ['margin', 'device', 'soft'] : ['margin', 'device'], 'options');
  return {
    distances: d,
    labels: nativeLabels,
    options: {
      kind,
      margin: float32Number(o.margin, 'options.margin', 1.0),
      soft: kind === 'hard' ? booleanOption(o.soft, 'options.soft', false) : false,
      distance: 'L2', // unused: the caller gave the distances
      device: oneOf(o.device, 'options.device', DEVICES, 'auto'),
    },
  };
}

function viaEmbeddings(c: EmbeddingCall): NativeLossResult {
  return binding.tripletLoss(c.embeddings, c.dim, c.labels, c.options);
}

function viaDistances(c: DistancesCall): NativeLossResult {
  return binding.tripletLossFromDistances(c.distances, c.labels, c.options);
}

/**
 * FaceNet's semi-hard triplet loss exactly as `tfa.losses.triplet_semihard_loss`, and its
 * gradient with respect to `embeddings` (row-major B × dim).
 */
export function tripletSemiHardLoss(embeddings: Float32Array, labels: Labels, options: SemiHardLossOptions): LossResult {
  return viaEmbeddings(embeddingCall('semihard', embeddings, labels, options));
}

/** `tripletSemiHardLoss` off the event loop. */
export async function tripletSemiHardLossAsync(
  embeddings: Float32Array,
  labels: Labels,
  options: SemiHardLossOptions,
): Promise<LossResult> {
  const c = embeddingCall('semihard', embeddings, labels, options);
  return binding.tripletLossAsync(c.embeddings, c.dim, c.labels, c.options);
}

/** The batch-hard triplet loss exactly as `tfa.losses.triplet_hard_loss`, and its gradient. */
export function tripletHardLoss(embeddings: Float32Array, labels: Labels, options: HardLossOptions): LossResult {
  return viaEmbeddings(embeddingCall('hard', embeddings, labels, options));
}

/** `tripletHardLoss` off the event loop. */
export async function tripletHardLossAsync(
  embeddings: Float32Array,
  labels: Labels,
  options: HardLossOptions,
): Promise<LossResult> {
  const c = embeddingCall('hard', embeddings, labels, options);
  return binding.tripletLossAsync(c.embeddings, c.dim, c.labels, c.options);
}

/**
 * TF-Addons' callable `distance_metric`: the caller gives the B × B distance matrix
 * (row-major, used as given); `grad` is d(loss)/d(distances).
 */
export function tripletSemiHardLossFromDistances(
  distances: Float32Array,
  labels: Labels,
  options?: FromDistancesOptions,
): LossResult {
  return viaDistances(distancesCall('semihard', distances, labels, options));
}

export async function tripletSemiHardLossFromDistancesAsync(
  distances: Float32Array,
  labels: Labels,
  options?: FromDistancesOptions,
): Promise<LossResult> {
  const c = distancesCall('semihard', distances, labels, options);
  return binding.tripletLossFromDistancesAsync(c.distances, c.labels, c.options);
}

export function tripletHardLossFromDistances(
  distances: Float32Array,
  labels: Labels,
  options?: HardFromDistancesOptions,
): LossResult {
  return viaDistances(distancesCall('hard', distances, labels, options));
}

export async function tripletHardLossFromDistancesAsync(
  distances: Float32Array,
  labels: Labels,
  options?: HardFromDistancesOptions,
): Promise<LossResult> {
  const c = distancesCall('hard', distances, labels, options);
  return binding.tripletLossFromDistancesAsync(c.distances, c.labels, c.options);
}
