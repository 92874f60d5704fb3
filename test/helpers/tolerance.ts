// Tolerances derived from what is compared, not from what one machine printed.
//
// A float32 result differs from the exact value by the rounding of each operation that made
// it. Which kernel a CPU picks (AVX2 or AVX-512, FMA or not, blocked or pairwise summation)
// changes the order of those roundings, not their size, so a bound on their size holds on
// every machine. For sums and dot products of n terms we use the probabilistic bound of
// Higham & Mary (SIAM J. Sci. Comput. 41(5), 2019): the error stays below λ·√n·u·Σ|terms|
// with probability at least 1 − 2·exp(−λ²(1−u)²/2) for each sum; with λ = 6 that is 3e-8, so
// a failure is a real difference, not bad luck. The deterministic worst case (n·u) assumes
// every rounding errs the same way, which no kernel does, and would be too loose to catch
// anything.

/** float32's unit roundoff, 2^-24: one rounding's relative error is at most u. */
export const U32 = 2 ** -24;
/** λ of the probabilistic bound (above). */
export const LAMBDA = 6;

/** Bound on the rounding error of a float32 sum or dot product of `n` terms whose absolute values add up to `absSum`. */
export function sumError(n: number, absSum: number): number {
  return LAMBDA * Math.sqrt(n) * U32 * absSum;
}

export type BoundDistance = 'L2' | 'squared-L2' | 'angular';

export interface ErrorBound {
  /** Bound on |float32 loss − exact loss| for one implementation. */
  loss: number;
  /** Bound on max |float32 gradient − exact gradient| for one implementation. */
  grad: number;
}

/**
 * Error bounds of one float32 implementation of the triplet losses (semi-hard, hard, soft)
 * on these embeddings, against the exact values, assuming it mines the same triplets (a tie
 * within rounding may flip a choice; the batches compared have none).
 *
 * - Squared distance |a|² + |b|² − 2a·b: a dot product of dim + 2 terms whose absolute
 *   values add up to at most 4M (M the largest squared norm): sumError(dim + 2, 4M).
 * - L2 takes its square root: an error e in d² moves d by at most min(√e, e / 2d_min), with
 *   d_min the smallest non-zero distance, plus one rounding of the root.
 * - Angular, 1 − â·b̂ on unit vectors: a dot product of dim terms adding up to at most 1,
 *   after normalisation by a root of a dim-term sum: each factor off by sumError(dim, 1) + 2u.
 * - Each loss term adds or subtracts two distances and the margin (three roundings); the loss
 *   is the mean of `terms` of them (positive pairs for the semi-hard loss, anchors for the hard
 *   one: lossTerms), each below 2·d_max + margin.
 * - The gradient of a point sums per-term gradients of weight 1 / terms, each of magnitude at
 *   most g (2√M for squared-L2, 1 for L2, 2/|x|_min for angular), each off by its distance's
 *   error relative to d_min (L2) or by a few roundings.
 */
export function tripletErrorBound(
  embeddings: ArrayLike<number>,
  dim: number,
  distance: BoundDistance,
  margin: number,
  terms: number,
): ErrorBound {
  const n = embeddings.length / dim;
  const norms: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += embeddings[i * dim + k] ** 2;
    norms.push(s);
  }
  const maxSq = Math.max(...norms);
  const minNorm = Math.sqrt(Math.min(...norms));
  let dMin = Infinity;
  let dMax = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      if (distance === 'angular') {
        let dot = 0;
        for (let k = 0; k < dim; k++) dot += embeddings[i * dim + k] * embeddings[j * dim + k];
        d2 = Math.max(0, 1 - dot / Math.sqrt(norms[i] * norms[j])) ** 2;
      } else {
        for (let k = 0; k < dim; k++) d2 += (embeddings[i * dim + k] - embeddings[j * dim + k]) ** 2;
      }
      const d = distance === 'squared-L2' ? d2 : Math.sqrt(d2);
      if (d > 0) dMin = Math.min(dMin, d);
      dMax = Math.max(dMax, d);
    }
  }
  if (!Number.isFinite(dMin)) dMin = 1;
  let distanceError: number;
  let perTermGrad: number;
  let g: number;
  if (distance === 'angular') {
    const normalise = sumError(dim, 1) + 2 * U32;
    distanceError = sumError(dim, 1) + 2 * normalise + U32;
    g = 2 / minNorm;
    perTermGrad = g * (2 * normalise + 4 * U32);
  } else {
    const squared = sumError(dim + 2, 4 * maxSq);
    if (distance === 'squared-L2') {
      distanceError = squared;
      g = 2 * Math.sqrt(maxSq);
      perTermGrad = g * 4 * U32;
    } else {
      distanceError = Math.min(Math.sqrt(squared), squared / (2 * dMin)) + U32 * dMax;
      g = 1;
      perTermGrad = distanceError / dMin + 4 * U32;
    }
  }
  const termMax = 2 * dMax + Math.abs(margin);
  const t = Math.max(1, terms);
  const loss = 2 * distanceError + 3 * U32 * termMax + sumError(t, t * termMax) / t;
  // Per point: at most 2 contributions per term (through both of its distances) and one per
  // term that mines it, each of weight 1 / terms: at most 2·terms + n contributions whose
  // magnitudes add up to (2·terms + n)·g / terms.
  const count = 2 * t + n;
  const grad = (count / t) * (perTermGrad + sumError(count, g));
  return { loss, grad };
}

/**
 * Error bounds of one float32 implementation of the losses computed from a given distance
 * matrix: each term adds or subtracts two given distances and the margin (three roundings of
 * values below 2·d_max + margin) and the loss is their mean.
 */
export function distanceMatrixErrorBound(distances: ArrayLike<number>, margin: number, terms: number): ErrorBound {
  let dMax = 0;
  for (let i = 0; i < distances.length; i++) dMax = Math.max(dMax, Math.abs(distances[i]));
  const termMax = 2 * dMax + Math.abs(margin);
  const t = Math.max(1, terms);
  return {
    loss: 3 * U32 * termMax + sumError(t, t * termMax) / t,
    // An entry of the distances' gradient is a count of ±1/terms: at most 2 per term.
    grad: 2 * U32 + sumError(2 * t, 2),
  };
}

/** The loss's number of terms: positive pairs (a ≠ p, same label) for the semi-hard loss, anchors for the hard loss. */
export function lossTerms(labels: ArrayLike<number>, kind: 'semihard' | 'hard'): number {
  if (kind === 'hard') return labels.length;
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  let pairs = 0;
  for (const k of counts.values()) pairs += k * (k - 1);
  return pairs;
}

/**
 * How far from 1 the norm of an L2-normalised float32 row of up to 128 entries can be: its
 * squared norm is a sum of at most 128 terms adding up to |x|² (sumError(128, 1) relative),
 * then one root, one reciprocal and one product per entry.
 */
export const UNIT_NORM_TOLERANCE = sumError(128, 1) + 3 * U32;
