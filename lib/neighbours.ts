// nearestNeighbours(): every embedding's exact nearest neighbours within its set, and the
// "mistakes" (embeddings whose nearest neighbour has another label). Validation here; the
// numerics in native/core/neighbours.cc.
import { binding } from './binding';
import { rangeErrorWithMessage } from './errors';
import { DEVICES, type Device } from './enums';
import { checkEmbeddingSet, type EmbeddingSet } from './evaluate';
import { checkKnownKeys, oneOf, optionsObject, positiveInteger } from './validate';

/** The neighbours of each embedding when options.k is not given. */
export const DEFAULT_NEIGHBOURS = 8;

export interface NeighboursOptions {
  /** Neighbours per embedding, 1 ≤ k < count (default DEFAULT_NEIGHBOURS). */
  k?: number;
  device?: Device;
}

/**
 * Exact Euclidean neighbours (distances in float64, rounded to float32 at the end). Row i of
 * indices / distances (count × k, row-major) holds the k nearest other embeddings of
 * embedding i, nearest first, equal distances to the smaller index.
 */
export interface NeighbourTable {
  k: number;
  /** count × k indices into the set, row-major, nearest first (the embedding itself excluded). */
  indices: Int32Array;
  /** count × k Euclidean distances, as indices. */
  distances: Float32Array;
  /** count: distance to the nearest other embedding with the same label; NaN where there is none. */
  nearestSameLabel: Float32Array;
  /**
   * Indices of the embeddings whose nearest neighbour has another label and that have another
   * embedding of their label, worst first: by nearestSameLabel − distance to the nearest
   * neighbour, largest first, then by index.
   */
  mistakes: Int32Array;
}

/** Each embedding's k nearest other embeddings of the set (exact), and the mistakes among them. */
export async function nearestNeighbours(set: EmbeddingSet, options?: NeighboursOptions): Promise<NeighbourTable> {
  const s = checkEmbeddingSet(set, 'set');
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, ['k', 'device'], 'options');
  const k = o.k === undefined ? DEFAULT_NEIGHBOURS : positiveInteger(o.k, 'options.k');
  if (k >= s.count) {
    throw rangeErrorWithMessage(
      'options.k',
      `Expected options.k to be less than the number of embeddings (${s.count}) but received ${k}${o.k === undefined ? ' (the default)' : ''}`,
    );
  }
  const device = oneOf(o.device, 'options.device', DEVICES, 'auto');
  const table = await binding.nearestNeighbours({ embeddings: s.embeddings, labels: s.labels, dim: s.dim, k, device });
  return { k, ...table };
}
