// The loss's per-call stats (LossResult.stats) against a brute-force float64 computation
// written here from their definitions (lib/loss.ts, native/core/triplet_stats.h) and TF's
// mining rules (as test/reference/triplet-reference.ts states them): a loop over anchors,
// positives and negatives. Both miners (test/helpers/miners.ts), both losses, the three
// distances and the from-distances calls; ties, anchors without positives, anchors without
// negatives (all labels equal), margins small and large.
//
// Counts are compared exactly. That needs every mining decision (is a negative strictly
// farther than d(a, p)? is a term > 0?) to come out the same in float32 as in float64:
// - integer data (integer distance matrices, integer-grid embeddings under squared-L2) make
//   every float32 operation exact, so ties are exact ties in both and every decision agrees;
// - random data: each case first checks that no decision lies within the float32 error of
//   its threshold (decisionEpsilon), so that a rounding cannot flip it.
import {
  tripletHardLoss,
  tripletHardLossFromDistances,
  tripletSemiHardLoss,
  tripletSemiHardLossFromDistances,
  type LossResult,
} from '../lib';
import type { LossStats } from '../lib/loss';
import { MINERS, useMiner } from './helpers/miners';
import { sumError, U32 } from './helpers/tolerance';
import { gaussian, rng, type RefDistance } from './reference/triplet-reference';

type Kind = 'semihard' | 'hard';

interface RefStats {
  terms: number;
  positivePairs: number;
  activePairs: number;
  semiHardPairs: number | null;
  noPositiveAnchors: number;
  meanPositiveDistance: number | null;
  meanNegativeDistance: number | null;
  /** The smallest |x - threshold| over the mining decisions (exact ties excluded when `exact`). */
  nearestDecision: number;
}

const softplus = (x: number): number => (x > 30 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** The stats of a B x B distance matrix `d` (float64, rows as given, the diagonal included). */
function referenceStats(kind: Kind, d: number[][], labels: ArrayLike<number>, margin: number, soft: boolean, exact: boolean): RefStats {
  const n = labels.length;
  let positivePairs = 0;
  let activePairs = 0;
  let semiHardPairs = 0;
  let noPositiveAnchors = 0;
  let positiveSum = 0;
  let positiveCount = 0;
  let negativeSum = 0;
  let negativeCount = 0;
  let terms = 0;
  let nearestDecision = Infinity;
  const decision = (x: number): void => {
    if (!(exact && x === 0)) nearestDecision = Math.min(nearestDecision, Math.abs(x));
  };
  for (let a = 0; a < n; a++) {
    const row = d[a];
    const positives: number[] = [];
    const negatives: number[] = [];
    for (let j = 0; j < n; j++) {
      if (labels[j] !== labels[a]) negatives.push(j);
      else if (j !== a) positives.push(j);
    }
    positivePairs += positives.length;
    if (positives.length === 0) noPositiveAnchors++;
    const rowMin = Math.min(...row);
    const rowMax = Math.max(...row);
    if (kind === 'semihard') {
      for (const p of positives) {
        terms++;
        positiveSum += row[p];
        positiveCount++;
        // TF: the nearest negative strictly farther than d(a, p); else the farthest negative;
        // else (no negatives) the row minimum.
        let nearestFarther = Infinity;
        let farthest = -Infinity;
        for (const j of negatives) {
          decision(row[j] - row[p]);
          if (row[j] > row[p]) nearestFarther = Math.min(nearestFarther, row[j]);
          farthest = Math.max(farthest, row[j]);
        }
        const found = nearestFarther < Infinity;
        if (found) semiHardPairs++;
        const chosen = found ? nearestFarther : negatives.length > 0 ? farthest : rowMin;
        if (negatives.length > 0) {
          negativeSum += chosen;
          negativeCount++;
        }
        const term = margin + row[p] - chosen;
        decision(term);
        if (term > 0) activePairs++;
      }
      continue;
    }
    // Hard: the hardest positive (else the row minimum) and hardest negative (else the row maximum).
    terms++;
    const hp = positives.length > 0 ? Math.max(...positives.map((j) => row[j])) : rowMin;
    const hn = negatives.length > 0 ? Math.min(...negatives.map((j) => row[j])) : rowMax;
    if (positives.length > 0) {
      positiveSum += hp;
      positiveCount++;
    }
    if (negatives.length > 0) {
      negativeSum += hn;
      negativeCount++;
    }
    const term = soft ? softplus(hp - hn) : Math.max(hp - hn + margin, 0);
    if (!soft) decision(hp - hn + margin);
    if (term > 0) activePairs++;
  }
  return {
    terms,
    positivePairs,
    activePairs,
    semiHardPairs: kind === 'semihard' ? semiHardPairs : null,
    noPositiveAnchors,
    meanPositiveDistance: positiveCount > 0 ? positiveSum / positiveCount : null,
    meanNegativeDistance: negativeCount > 0 ? negativeSum / negativeCount : null,
    nearestDecision,
  };
}

/** TF's distances in float64 from the rows' differences (angular: 1 − cosine, clamped at 0; the diagonal 0). */
function distanceMatrix(x: ArrayLike<number>, dim: number, distance: RefDistance): number[][] {
  const n = x.length / dim;
  const unit: number[][] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] ** 2;
    const norm = Math.sqrt(Math.max(s, 1e-12));
    unit.push(Array.from({ length: dim }, (_, k) => x[i * dim + k] / norm));
  }
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      if (i === j) return 0;
      if (distance === 'angular') {
        let dot = 0;
        for (let k = 0; k < dim; k++) dot += unit[i][k] * unit[j][k];
        return Math.max(1 - dot, 0);
      }
      let s = 0;
      for (let k = 0; k < dim; k++) s += (x[i * dim + k] - x[j * dim + k]) ** 2;
      return distance === 'L2' ? Math.sqrt(s) : s;
    }),
  );
}

/** Mean Euclidean distance of the rows to their centroid, in float64. */
function referenceSpread(x: ArrayLike<number>, dim: number): number {
  const n = x.length / dim;
  const centroid = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) centroid[k] += x[i * dim + k] / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (x[i * dim + k] - centroid[k]) ** 2;
    sum += Math.sqrt(s);
  }
  return sum / n;
}

/**
 * Bound on |float32 distance − exact distance|, derived as in test/helpers/tolerance.ts
 * (tripletErrorBound): squared distances |a|² + |b|² − 2a·b are a dot product of dim + 2 terms
 * adding up to at most 4M (M the largest squared norm); L2 takes a root (an error e in d²
 * moves d by at most min(√e, e / 2d_min)) plus one rounding; angular is a dot product of unit
 * vectors (dim terms adding up to 1) after a normalisation off by sumError(dim, 1) + 2u in
 * each factor, plus the rounding of 1 − dot.
 */
function distanceError(x: ArrayLike<number>, dim: number, distance: RefDistance, d: number[][]): number {
  const n = x.length / dim;
  let maxSq = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] ** 2;
    maxSq = Math.max(maxSq, s);
  }
  if (distance === 'angular') {
    const normalise = sumError(dim, 1) + 2 * U32;
    return sumError(dim, 1) + 2 * normalise + U32;
  }
  const squared = sumError(dim + 2, 4 * maxSq);
  if (distance === 'squared-L2') return squared;
  let dMin = Infinity;
  let dMax = 0;
  for (const row of d) {
    for (const v of row) {
      if (v > 0) dMin = Math.min(dMin, v);
      dMax = Math.max(dMax, v);
    }
  }
  return Math.min(Math.sqrt(squared), squared / (2 * dMin)) + U32 * dMax;
}

/**
 * A mean of distances each within `e` of its exact value is within `e` of the exact mean; the
 * native sum runs in float64 over at most n² terms below dMax: n²·2^-53·dMax more at most.
 */
function meanTolerance(e: number, d: number[][]): number {
  const n = d.length;
  let dMax = 0;
  for (const row of d) for (const v of row) dMax = Math.max(dMax, Math.abs(v));
  return e + n * n * 2 ** -53 * dMax;
}

function expectClose(got: number | null, want: number | null, tolerance: number, what: string): void {
  if (want === null) {
    expect({ what, got }).toEqual({ what, got: null });
    return;
  }
  expect({ what, ok: got !== null && Math.abs(got - want) <= tolerance, got, want, tolerance }).toMatchObject({ what, ok: true });
}

function expectStats(stats: LossStats, ref: RefStats, meanTol: number): void {
  expect({
    positivePairs: stats.positivePairs,
    activePairs: stats.activePairs,
    semiHardPairs: stats.semiHardPairs,
    noPositiveAnchors: stats.noPositiveAnchors,
  }).toEqual({
    positivePairs: ref.positivePairs,
    activePairs: ref.activePairs,
    semiHardPairs: ref.semiHardPairs,
    noPositiveAnchors: ref.noPositiveAnchors,
  });
  // Ratios of equal integers: one correctly rounded division each, the same bits.
  expect(stats.activeFraction).toBe(ref.terms > 0 ? ref.activePairs / ref.terms : null);
  expect(stats.semiHardFraction).toBe(
    ref.semiHardPairs === null ? null : ref.positivePairs > 0 ? ref.semiHardPairs / ref.positivePairs : null,
  );
  expectClose(stats.meanPositiveDistance, ref.meanPositiveDistance, meanTol, 'meanPositiveDistance');
  expectClose(stats.meanNegativeDistance, ref.meanNegativeDistance, meanTol, 'meanNegativeDistance');
}

/** Labels with `classes` classes of random sizes and `singletons` classes of one row, shuffled. */
function labelsFor(next: () => number, batch: number, classes: number, singletons: number): number[] {
  const labels: number[] = [];
  for (let i = 0; i < singletons; i++) labels.push(1000 + i);
  while (labels.length < batch) labels.push(Math.floor(next() * classes));
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  return labels;
}

function callEmbeddings(kind: Kind, soft: boolean, x: Float32Array, labels: number[], dim: number, distance: RefDistance, margin: number): LossResult {
  return kind === 'semihard'
    ? tripletSemiHardLoss(x, labels, { dim, distance, margin, device: 'cpu' })
    : tripletHardLoss(x, labels, { dim, distance, margin, soft, device: 'cpu' });
}

const LOSSES: [string, Kind, boolean][] = [
  ['semihard', 'semihard', false],
  ['hard', 'hard', false],
  ['hard soft', 'hard', true],
];

describe.each(MINERS)('%s miners', (miner) => {
  useMiner(miner);

  describe.each(LOSSES)('%s loss', (_name, kind, soft) => {
    // Random Gaussian embeddings: every distance, three margins, anchors without positives.
    const randomCases: [string, number, RefDistance, number, number, number][] = [];
    let seed = 11;
    for (const distance of ['L2', 'squared-L2', 'angular'] as RefDistance[]) {
      for (const margin of [0.01, 0.5, 20]) randomCases.push([`${distance} margin ${margin}`, seed++, distance, margin, 4, 3]);
    }
    randomCases.push(['L2, all labels equal (no negatives)', seed++, 'L2', 1, 1, 0]);
    randomCases.push(['angular, every label distinct (no positives)', seed++, 'angular', 1, 0, 20]);

    it.each(randomCases)('random embeddings, %s', (_case, s, distance, margin, classes, singletons) => {
      const next = rng(s);
      const dim = 6;
      const batch = 20;
      const x = Float32Array.from({ length: batch * dim }, () => gaussian(next));
      const labels = labelsFor(next, batch, classes, singletons);
      const d = distanceMatrix(x, dim, distance);
      const e = distanceError(x, dim, distance, d);
      const ref = referenceStats(kind, d, labels, margin, soft, false);
      // Precondition: no decision within rounding of its threshold (two distances' errors and
      // the three roundings of margin + d(a,p) − d(a,n)), so float32 decides as float64 does.
      const decisionEpsilon = 2 * e + 3 * U32 * (2 * Math.max(...d.flat()) + margin);
      expect(ref.nearestDecision).toBeGreaterThan(decisionEpsilon);
      const got = callEmbeddings(kind, soft, x, labels, dim, distance, margin);
      expectStats(got.stats, ref, meanTolerance(e, d));
      // Spread: float64 arithmetic natively and here on the same float32 inputs; each
      // differs from the exact value by at most (dim + batch + 4)·2^-53 relative.
      const spread = referenceSpread(x, dim);
      expectClose(got.stats.spread, spread, (dim + batch + 4) * 2 ** -53 * spread * 4, 'spread');
    });

    // Integer-grid embeddings: squared-L2 distances are exact integers in float32, so ties
    // are exact ties in both computations (and L2's roots of equal integers are equal).
    it.each([
      ['squared-L2', 'squared-L2', 1, 24, 4],
      ['squared-L2, margin 0 (ties at the hinge)', 'squared-L2', 0, 24, 4],
      ['squared-L2, 40 rows a class (the CPU miner\'s grid and bisection paths)', 'squared-L2', 3, 200, 5],
      ['L2', 'L2', 1, 24, 4],
    ] as [string, RefDistance, number, number, number][])('integer-grid embeddings with ties, %s', (_case, distance, margin, batch, classes) => {
      const next = rng(batch * 7 + margin);
      const dim = 3;
      const x = Float32Array.from({ length: batch * dim }, () => Math.floor(next() * 5) - 2);
      const labels = batch > 100 ? Array.from({ length: batch }, (_, i) => i % classes) : labelsFor(next, batch, classes, 2);
      const d = distanceMatrix(x, dim, distance);
      const ref = referenceStats(kind, d, labels, margin, soft, true);
      if (distance === 'L2') {
        // Roots of distinct integers differ by far more than a rounding; only exact ties can meet.
        expect(ref.nearestDecision).toBeGreaterThan(2 * U32 * 2 * Math.max(...d.flat()) + 3 * U32 * (margin + 2 * Math.max(...d.flat())));
      }
      const got = callEmbeddings(kind, soft, x, labels, dim, distance, margin);
      // squared-L2: exact; L2: one rounding of each root.
      const e = distance === 'L2' ? U32 * Math.max(...d.flat()) : 0;
      expectStats(got.stats, ref, meanTolerance(e, d));
      expectClose(got.stats.spread, referenceSpread(x, dim), (dim + batch + 4) * 2 ** -53 * 4 * referenceSpread(x, dim), 'spread');
    });

    // Integer distance matrices (used as given, the diagonal included): every float32
    // operation is exact, ties everywhere.
    it.each([
      ['classes and singletons, margin 1', 1, 3, 2, 5],
      ['margin 0.5', 0.5, 3, 2, 5],
      ['margin 100 (every term active)', 100, 3, 2, 5],
      ['margin 0', 0, 2, 1, 3],
      ['all labels equal (no negatives)', 1, 1, 0, 5],
      ['every label distinct (no positives)', 1, 0, 9, 5],
    ] as [string, number, number, number, number][])('from distances, %s', (_case, margin, classes, singletons, values) => {
      const next = rng(margin * 13 + classes * 7 + singletons + values);
      const batch = 9;
      const flat = Float32Array.from({ length: batch * batch }, () => Math.floor(next() * values));
      const labels = labelsFor(next, batch, classes, singletons);
      const d = Array.from({ length: batch }, (_, i) => Array.from(flat.subarray(i * batch, (i + 1) * batch)));
      const ref = referenceStats(kind, d, labels, margin, soft, true);
      const got =
        kind === 'semihard'
          ? tripletSemiHardLossFromDistances(flat, labels, { margin, device: 'cpu' })
          : tripletHardLossFromDistances(flat, labels, { margin, soft, device: 'cpu' });
      // Exact distances: the means differ only by the float64 sums' roundings.
      expectStats(got.stats, ref, meanTolerance(0, d));
      expect(got.stats.spread).toBeNull();
    });
  });
});
