// evaluate(): how good embeddings are (kNN, linear and SVM accuracy, retrieval metrics).
// Validation here; the numerics in native/core/metrics.cc.
import type { NativeLabels, NativeMetrics } from '../binding';
import { binding } from './binding';
import { rangeErrorWithMessage, typeError } from './errors';
import { DEVICES, type Device } from './enums';
import { toNativeLabels, type Labels } from './loss';
import { checkKnownKeys, oneOf, optionsObject, positiveInteger } from './validate';

export interface EmbeddingSet {
  /** Row-major count × dim. */
  embeddings: Float32Array;
  labels: Labels;
  dim: number;
}

/**
 * knnAccuracy: majority vote of the k nearest train embeddings (Euclidean; a tie goes to the
 * nearest tied class). linearAccuracy: multinomial logistic regression fitted on train,
 * scored on valid. svmAccuracy: a linear SVM as scikit-learn's LinearSVC() fits one by default
 * (one-vs-rest, squared hinge loss, L2 penalty, C = 1, a regularised intercept, liblinear's dual
 * coordinate descent to tolerance 1e-4 or 1000 passes), fitted on train, scored on valid; a
 * sample goes to the class of the largest decision value. precisionAt1, rPrecision, mapAtR:
 * Musgrave et al. 2020, valid against valid, query excluded. retrievalQueries: valid samples
 * with another of their class. confusion: the kNN predictions of knnAccuracy counted by
 * (true label, predicted label): labels is the sorted union of the train and valid labels; the
 * matrix's nonzero cells come in row-major order as rows[c] (a valid sample's label), columns[c]
 * (its kNN prediction), both indices into labels, and counts[c] (at most one cell per valid
 * sample, however many classes); the counts add up to the valid count and the diagonal's share
 * of them is knnAccuracy.
 */
export type Metrics = NativeMetrics;

/** The neighbours of kNN accuracy when options.k is not given. */
export const DEFAULT_KNN_K = 5;

export interface EvaluateOptions {
  k?: number;
  device?: Device;
}

export interface CheckedSet {
  embeddings: Float32Array;
  labels: NativeLabels;
  dim: number;
  count: number;
}

export function checkEmbeddingSet(set: unknown, name: string): CheckedSet {
  const s = optionsObject(set, name, true);
  checkKnownKeys(s, ['embeddings', 'labels', 'dim'], name);
  if (!(s.embeddings instanceof Float32Array)) throw typeError(`${name}.embeddings`, 'a Float32Array', s.embeddings);
  const dim = positiveInteger(s.dim, `${name}.dim`);
  if (s.embeddings.length % dim !== 0) {
    throw rangeErrorWithMessage(
      `${name}.embeddings`,
      `Expected ${name}.embeddings.length to be a multiple of ${name}.dim (${dim}) but received length ${s.embeddings.length}`,
    );
  }
  const count = s.embeddings.length / dim;
  if (count === 0) throw rangeErrorWithMessage(`${name}.embeddings`, `Expected at least one embedding in ${name} but it is empty`);
  const labels = toNativeLabels(s.labels);
  if (labels.length !== count) {
    throw rangeErrorWithMessage(`${name}.labels`, `Expected ${count} labels in ${name} (one per embedding) but received ${labels.length}`);
  }
  return { embeddings: s.embeddings, labels, dim, count };
}

/** kNN, linear and SVM accuracy of valid against train, and retrieval metrics within valid. */
export async function evaluate(sets: { train: EmbeddingSet; valid: EmbeddingSet }, options?: EvaluateOptions): Promise<Metrics> {
  const s = optionsObject(sets, 'sets', true);
  checkKnownKeys(s, ['train', 'valid'], 'sets');
  const train = checkEmbeddingSet(s.train, 'sets.train');
  const valid = checkEmbeddingSet(s.valid, 'sets.valid');
  if (train.dim !== valid.dim) {
    throw rangeErrorWithMessage('sets.valid.dim', `Expected sets.valid.dim to equal sets.train.dim (${train.dim}) but received ${valid.dim}`);
  }
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, ['k', 'device'], 'options');
  const k = o.k === undefined ? DEFAULT_KNN_K : positiveInteger(o.k, 'options.k');
  const device = oneOf(o.device, 'options.device', DEVICES, 'auto');
  return binding.evaluateEmbeddings({
    train: { embeddings: train.embeddings, labels: train.labels },
    valid: { embeddings: valid.embeddings, labels: valid.labels },
    dim: train.dim,
    k,
    device,
  });
}
