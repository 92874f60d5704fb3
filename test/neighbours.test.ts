// nearestNeighbours() against a brute force in float64 (the float32 inputs' differences).
import { DEFAULT_NEIGHBOURS, nearestNeighbours } from '../lib';
import type { Labels } from '../lib';
import { gaussian, rng } from './reference/triplet-reference';
import { U32 } from './helpers/tolerance';

/** float64's unit roundoff. */
const U64 = 2 ** -53;

interface Reference {
  indices: Int32Array;
  /** float64 distances. */
  distances: Float64Array;
  nearestSameLabel: Float64Array;
  mistakes: number[];
}

/**
 * Straight from the definitions: for each row, the squared distance to every other row as a
 * float64 sum of squared float64 differences; the k smallest by (distance, index); the
 * nearest other row of the label; the mistakes by (nearestSameLabel − nearest distance)
 * descending, then index.
 */
function bruteForce(x: Float32Array, labels: ArrayLike<number | bigint>, dim: number, k: number): Reference {
  const n = x.length / dim;
  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  const nearestSameLabel = new Float64Array(n);
  const gaps: { i: number; gap: number }[] = [];
  for (let i = 0; i < n; i++) {
    const bufD: number[] = [];
    const bufJ: number[] = [];
    let same = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let d2 = 0;
      for (let t = 0; t < dim; t++) d2 += (x[i * dim + t] - x[j * dim + t]) ** 2;
      if (labels[j] === labels[i] && d2 < same) same = d2;
      // j ascends: an equal distance already kept has the smaller index and stays first.
      if (bufD.length < k || d2 < bufD[bufD.length - 1]) {
        let p = bufD.length;
        while (p > 0 && bufD[p - 1] > d2) p--;
        bufD.splice(p, 0, d2);
        bufJ.splice(p, 0, j);
        if (bufD.length > k) {
          bufD.pop();
          bufJ.pop();
        }
      }
    }
    for (let r = 0; r < k; r++) {
      indices[i * k + r] = bufJ[r];
      distances[i * k + r] = Math.sqrt(bufD[r]);
    }
    nearestSameLabel[i] = same === Infinity ? NaN : Math.sqrt(same);
    if (labels[bufJ[0]] !== labels[i] && same !== Infinity) gaps.push({ i, gap: Math.sqrt(same) - Math.sqrt(bufD[0]) });
  }
  gaps.sort((a, b) => b.gap - a.gap || a.i - b.i);
  return { indices, distances, nearestSameLabel, mistakes: gaps.map((g) => g.i) };
}

/**
 * Overlapping Gaussian blobs (σ = 1, centres 3 apart on the axes) away from the origin
 * (offset 10 on every axis), a tenth of the labels moved to the next class, one singleton
 * label (no other row has it), and exact duplicates: copies of earlier rows, some with the
 * original's label, some with another, several copies of one row so that ties fall on the
 * k-th place.
 */
function clustered(seed: number, n: number, dim: number, classes: number) {
  const next = rng(seed);
  const x = new Float32Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    for (let t = 0; t < dim; t++) x[i * dim + t] = 10 + gaussian(next) + (t === c % dim ? 3 : 0);
    labels.push(next() < 0.1 ? (c + 1) % classes : c);
  }
  labels[n - 1] = 1000; // singleton
  const copy = (from: number, to: number, label: number) => {
    x.copyWithin(to * dim, from * dim, (from + 1) * dim);
    labels[to] = label;
  };
  for (const to of [20, 21, 22, 23, 24, 150]) copy(7, to, labels[7]); // seven copies of row 7
  copy(30, 31, (labels[30] + 1) % classes); // a copy with another label, right after
  copy(40, 260, (labels[40] + 2) % classes); // and far after
  copy(45, 46, labels[45]);
  return { x, labels };
}

/** Points of a small integer grid: every distance exact in float64, many exact ties. */
function grid(seed: number, n: number, dim: number) {
  const next = rng(seed);
  const x = Float32Array.from({ length: n * dim }, () => Math.floor(next() * 5));
  const labels = Array.from({ length: n }, () => Math.floor(next() * 4));
  return { x, labels };
}

async function expectMatches(x: Float32Array, labels: Labels, nativeLabels: ArrayLike<number | bigint>, dim: number, k: number) {
  const table = await nearestNeighbours({ embeddings: x, labels, dim }, { k, device: 'cpu' });
  const ref = bruteForce(x, nativeLabels, dim, k);
  const n = x.length / dim;
  expect(table.k).toBe(k);
  expect(table.indices).toEqual(ref.indices);
  // Tolerance of a distance. The addon ranks and reports the float64 value of the rows'
  // differences (the float64 Gram product of the centred rows only picks the candidates, with
  // a margin above its rounding error: native/core/neighbours.cc), as this brute force does,
  // in another summation order: the differences of float32 values of like magnitude are exact
  // in float64, each of the dim squares and dim − 1 additions rounds (relative error of d²
  // below (2·dim)·u64), the root halves that and rounds once more (u64), and the float32
  // output rounds once (u32, relative). So |output − reference| ≤ d·(u32 + (dim + 2)·u64),
  // both sides' float64 errors counted (2·dim·u64 / 2 each, plus a root each).
  const tolerance = (d: number) => d * (U32 + (2 * dim + 4) * U64);
  for (let i = 0; i < n * k; i++) {
    expect(Math.abs(table.distances[i] - ref.distances[i])).toBeLessThanOrEqual(tolerance(ref.distances[i]));
  }
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(ref.nearestSameLabel[i])) expect(table.nearestSameLabel[i]).toBeNaN();
    else expect(Math.abs(table.nearestSameLabel[i] - ref.nearestSameLabel[i])).toBeLessThanOrEqual(tolerance(ref.nearestSameLabel[i]));
  }
  expect(Array.from(table.mistakes)).toEqual(ref.mistakes);
  return { table, ref };
}

describe('nearestNeighbours()', () => {
  it('matches a brute force on clustered data with duplicates and a singleton label (N = 300)', async () => {
    const { x, labels } = clustered(1, 300, 8, 5);
    const { table, ref } = await expectMatches(x, Int32Array.from(labels), labels, 8, DEFAULT_NEIGHBOURS);
    // The data hold what the test is about: seven copies of row 7 (each one's six others at
    // distance 0, smaller indices first, then real distances), a singleton, mistakes.
    expect(Array.from(table.indices.subarray(7 * 8, 7 * 8 + 6))).toEqual([20, 21, 22, 23, 24, 150]);
    expect(Array.from(table.indices.subarray(22 * 8, 22 * 8 + 6))).toEqual([7, 20, 21, 23, 24, 150]);
    expect(Array.from(table.distances.subarray(22 * 8, 22 * 8 + 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(table.distances[22 * 8 + 6]).toBeGreaterThan(0);
    expect(table.nearestSameLabel[299]).toBeNaN();
    expect(table.mistakes).toContain(31); // its duplicate (row 30, another label) is nearest
    expect(ref.mistakes.length).toBeGreaterThan(10);
  });

  it('matches a brute force across several blocks of rows, labels as a BigInt64Array (N = 3,000)', async () => {
    const { x, labels } = clustered(2, 3000, 16, 10);
    const big = BigInt64Array.from(labels.map((l) => BigInt(l) * 1_000_000_000_000n));
    await expectMatches(x, big, big, 16, 5);
  });

  it('breaks exact ties by the smaller index (integer grid, k = 12)', async () => {
    const { x, labels } = grid(3, 300, 3);
    const { table } = await expectMatches(x, labels, labels, 3, 12);
    // Ties really fall on the 12th place: some row's 12th and 13th nearest are equally far.
    const ref13 = bruteForce(x, labels, 3, 13);
    let boundaryTies = 0;
    for (let i = 0; i < 300; i++) if (ref13.distances[i * 13 + 11] === ref13.distances[i * 13 + 12]) boundaryTies++;
    expect(boundaryTies).toBeGreaterThan(100);
    expect(table.indices.length).toBe(300 * 12);
  });

  it('k = N − 1 ranks every other row', async () => {
    const { x, labels } = grid(4, 60, 2);
    const { table } = await expectMatches(x, labels, labels, 2, 59);
    for (let i = 0; i < 60; i++) {
      const row = Array.from(table.indices.subarray(i * 59, (i + 1) * 59)).sort((a, b) => a - b);
      expect(row).toEqual(Array.from({ length: 60 }, (_, j) => j).filter((j) => j !== i));
    }
  });

  it('two rows, k = 1; a plain array of labels', async () => {
    const t = await nearestNeighbours({ embeddings: Float32Array.from([0, 0, 3, 4]), labels: [5, 6], dim: 2 }, { k: 1 });
    expect(t).toEqual({
      k: 1,
      indices: Int32Array.from([1, 0]),
      distances: Float32Array.from([5, 5]),
      nearestSameLabel: Float32Array.from([NaN, NaN]),
      mistakes: new Int32Array(0),
    });
  });

  const set = { embeddings: new Float32Array(20), labels: Array.from({ length: 10 }, (_, i) => i % 2), dim: 2 };
  it.each([
    ['set not an object', null, undefined, TypeError, 'set', 'Expected an object for set but received null'],
    ['unknown set key', { ...set, label: [] }, undefined, TypeError, 'set.label', 'Expected no such option (known: embeddings, labels, dim) for set.label but received an Array of length 0'],
    ['embeddings not a Float32Array', { ...set, embeddings: [1, 2] }, undefined, TypeError, 'set.embeddings', 'Expected a Float32Array for set.embeddings but received an Array of length 2'],
    ['dim not a number', { ...set, dim: '2' }, undefined, TypeError, 'set.dim', "Expected a positive integer for set.dim but received '2' of type string"],
    ['dim 0', { ...set, dim: 0 }, undefined, RangeError, 'set.dim', 'Expected a positive integer for set.dim but received 0 of type number'],
    ['length not a multiple of dim', { ...set, dim: 3 }, undefined, RangeError, 'set.embeddings', 'Expected set.embeddings.length to be a multiple of set.dim (3) but received length 20'],
    ['empty set', { embeddings: new Float32Array(0), labels: [], dim: 2 }, undefined, RangeError, 'set.embeddings', 'Expected at least one embedding in set but it is empty'],
    ['labels not an array', { ...set, labels: 'ab' }, undefined, TypeError, 'labels', "Expected an Int32Array, a BigInt64Array or an array of integers for labels but received 'ab' of type string"],
    ['a label count off', { ...set, labels: [0, 1] }, undefined, RangeError, 'set.labels', 'Expected 10 labels in set (one per embedding) but received 2'],
    ['options not an object', set, 5, TypeError, 'options', 'Expected an object for options but received 5 of type number'],
    ['unknown option', set, { n: 3 }, TypeError, 'options.n', 'Expected no such option (known: k, device) for options.n but received 3 of type number'],
    ['k not a number', set, { k: '3' }, TypeError, 'options.k', "Expected a positive integer for options.k but received '3' of type string"],
    ['k = 0', set, { k: 0 }, RangeError, 'options.k', 'Expected a positive integer for options.k but received 0 of type number'],
    ['k = 1.5', set, { k: 1.5 }, RangeError, 'options.k', 'Expected a positive integer for options.k but received 1.5 of type number'],
    ['k = count', set, { k: 10 }, RangeError, 'options.k', 'Expected options.k to be less than the number of embeddings (10) but received 10'],
    [
      'the default k ≥ count',
      { ...set, embeddings: new Float32Array(16), labels: [0, 1, 0, 1, 0, 1, 0, 1] },
      undefined,
      RangeError,
      'options.k',
      'Expected options.k to be less than the number of embeddings (8) but received 8 (the default)',
    ],
    ['device not a string', set, { device: 1 }, TypeError, 'options.device', "Expected one of 'cpu', 'cuda', 'auto' for options.device but received 1 of type number"],
    ['unknown device', set, { device: 'tpu' }, RangeError, 'options.device', "Expected one of 'cpu', 'cuda', 'auto' for options.device but received 'tpu' of type string"],
    [
      'NaN in the embeddings (the core sees it)',
      { ...set, embeddings: Float32Array.from({ length: 20 }, (_, i) => (i === 5 ? NaN : i)) },
      undefined,
      RangeError,
      'x',
      'Expected finite numbers in the embeddings but found NaN or Infinity',
    ],
  ])('bad input: %s', async (_name, s, options, ErrorClass, argument, message) => {
    const call = nearestNeighbours(s as never, options as never);
    await expect(call).rejects.toThrow(ErrorClass);
    await expect(call).rejects.toMatchObject({ argument, message, code: 'ERR_SEMIHARD_ARGUMENT' });
  });
});
