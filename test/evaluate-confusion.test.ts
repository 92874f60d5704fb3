// evaluate()'s kNN confusion matrix against a brute-force kNN in float64.
import { evaluate } from '../lib';
import { gaussian, rng } from './reference/triplet-reference';
import { sumError } from './helpers/tolerance';

const DIM = 4;
const SHARED = [3, 7, 100];
const TRAIN_ONLY = 42;

/** Overlapping blobs (σ = 1, centres 2.5 along one axis per label); a share `flip` of the labels replaced by another shared label. */
function clustered(seed: number, labels: number[], flip: number) {
  const next = rng(seed);
  const embeddings = new Float32Array(labels.length * DIM);
  const out = labels.slice();
  labels.forEach((label, i) => {
    const axis = [...SHARED, TRAIN_ONLY].indexOf(label);
    for (let d = 0; d < DIM; d++) embeddings[i * DIM + d] = gaussian(next) + (d === axis ? 2.5 : 0);
    if (next() < flip) out[i] = SHARED[(axis + 1) % SHARED.length];
  });
  return { embeddings, labels: out };
}

function squaredDistance(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let s = 0;
  for (let d = 0; d < DIM; d++) s += (a[i * DIM + d] - b[j * DIM + d]) ** 2;
  return s;
}

function maxSquaredNorm(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length / DIM; i++) {
    let s = 0;
    for (let d = 0; d < DIM; d++) s += x[i * DIM + d] ** 2;
    m = Math.max(m, s);
  }
  return m;
}

/**
 * The kNN rule of native/core/metrics.h: the majority label of the k nearest train rows, a
 * tie between labels to the label of the nearest tied one. Also returns, per query, the
 * smallest gap between consecutive squared distances among its k + 1 nearest.
 */
function bruteForceKnn(train: { x: Float32Array; y: number[] }, valid: Float32Array, k: number) {
  const predicted: number[] = [];
  let smallestGap = Infinity;
  for (let q = 0; q < valid.length / DIM; q++) {
    const ranked = train.y
      .map((_, j) => ({ j, d: squaredDistance(valid, q, train.x, j) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, k + 1);
    for (let r = 1; r < ranked.length; r++) smallestGap = Math.min(smallestGap, ranked[r].d - ranked[r - 1].d);
    const votes = new Map<number, { n: number; rank: number }>();
    ranked.slice(0, k).forEach(({ j }, rank) => {
      const v = votes.get(train.y[j]) ?? { n: 0, rank };
      v.n++;
      votes.set(train.y[j], v);
    });
    predicted.push([...votes.entries()].sort((a, b) => b[1].n - a[1].n || a[1].rank - b[1].rank)[0][0]);
  }
  return { predicted, smallestGap };
}

describe('evaluate(): kNN confusion matrix', () => {
  // Train: 40 of each shared label and 25 of a train-only one; valid: 30 of each shared label;
  // a tenth of each set mislabelled.
  const trainLabels = [...SHARED.flatMap((l) => Array<number>(40).fill(l)), ...Array<number>(25).fill(TRAIN_ONLY)];
  const validLabels = SHARED.flatMap((l) => Array<number>(30).fill(l));
  const train = clustered(5, trainLabels, 0.1);
  const valid = clustered(6, validLabels, 0.1);

  it.each([
    ['Int32Array', 1, (l: number[]) => Int32Array.from(l)],
    ['Int32Array', 5, (l: number[]) => Int32Array.from(l)],
    ['BigInt64Array', 5, (l: number[]) => BigInt64Array.from(l.map(BigInt))],
    ['BigInt64Array', 7, (l: number[]) => BigInt64Array.from(l.map(BigInt))],
  ])('labels as %s, k = %i: every cell matches a brute-force kNN', async (_kind, k, toLabels) => {
    const m = await evaluate(
      {
        train: { embeddings: train.embeddings, labels: toLabels(train.labels), dim: DIM },
        valid: { embeddings: valid.embeddings, labels: toLabels(valid.labels), dim: DIM },
      },
      { k, device: 'cpu' },
    );
    const ref = bruteForceKnn({ x: train.embeddings, y: train.labels }, valid.embeddings, k);
    // The addon ranks float32 squared distances |q|² + |r|² − 2q·r: each within
    // sumError(DIM + 2, 4M) of the exact value (M the largest squared norm). Consecutive
    // distances further apart than twice that are ranked alike by both, so the reference's
    // ranking (and with it every vote and tie-break) is the addon's.
    const M = Math.max(maxSquaredNorm(train.embeddings), maxSquaredNorm(valid.embeddings));
    expect(ref.smallestGap).toBeGreaterThan(2 * sumError(DIM + 2, 4 * M));

    const labels = [...SHARED, TRAIN_ONLY].sort((a, b) => a - b);
    expect(m.confusion.labels).toEqual(labels); // [3, 7, 42, 100]
    const L = labels.length;
    const expected = new Array<number>(L * L).fill(0);
    valid.labels.forEach((y, q) => expected[labels.indexOf(y) * L + labels.indexOf(ref.predicted[q])]++);
    // The nonzero cells, in row-major order: the brute force's matrix without its zeros.
    const { rows, columns, counts } = m.confusion;
    expect(rows.map((r, c) => r * L + columns[c])).toEqual(expected.flatMap((n, cell) => (n > 0 ? [cell] : [])));
    expect(counts).toEqual(expected.filter((n) => n > 0));
    const dense = new Array<number>(L * L).fill(0);
    rows.forEach((r, c) => (dense[r * L + columns[c]] = counts[c]));
    // The train-only label's row is empty; its column is not (the data make sure some valid
    // samples are predicted as it).
    const row42 = labels.indexOf(TRAIN_ONLY);
    expect(dense.slice(row42 * L, row42 * L + L)).toEqual([0, 0, 0, 0]);
    expect(labels.reduce((s, _, r) => s + dense[r * L + row42], 0)).toBeGreaterThan(0);
    // Off-diagonal cells exist (mislabelled and overlapping points).
    const total = counts.reduce((a, b) => a + b, 0);
    const diagonal = labels.reduce((s, _, i) => s + dense[i * L + i], 0);
    expect(total).toBe(valid.labels.length);
    expect(diagonal).toBeLessThan(total);
    // Both are counts of the same predictions: one float64 division each side.
    expect(m.knnAccuracy).toBe(diagonal / total);
  });
});
