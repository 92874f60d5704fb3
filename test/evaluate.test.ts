// evaluate() and plotEmbeddings() against brute-force computations and hand-made cases.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluate, plotEmbeddings } from '../lib';
import { randomBatch, rng, gaussian } from './reference/triplet-reference';
import { sumError } from './helpers/tolerance';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function d2(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += (a[i * dim + k] - b[j * dim + k]) ** 2;
  return s;
}

/** Brute force, straight from the definitions in the README. */
function reference(train: { x: Float32Array; y: number[] }, valid: { x: Float32Array; y: number[] }, dim: number, k: number) {
  const nT = train.y.length;
  const nV = valid.y.length;
  let knnRight = 0;
  const perClass = new Map<number, { right: number; count: number }>();
  for (let q = 0; q < nV; q++) {
    const order = Array.from({ length: nT }, (_, j) => j).sort((a, b) => d2(valid.x, q, train.x, a, dim) - d2(valid.x, q, train.x, b, dim));
    const votes = new Map<number, { n: number; rank: number }>();
    order.slice(0, k).forEach((j, rank) => {
      const v = votes.get(train.y[j]) ?? { n: 0, rank };
      v.n++;
      votes.set(train.y[j], v);
    });
    const best = [...votes.entries()].sort((a, b) => b[1].n - a[1].n || a[1].rank - b[1].rank)[0][0];
    knnRight += best === valid.y[q] ? 1 : 0;
    const c = perClass.get(valid.y[q]) ?? { right: 0, count: 0 };
    c.count++;
    c.right += best === valid.y[q] ? 1 : 0;
    perClass.set(valid.y[q], c);
  }
  let p1 = 0, rp = 0, map = 0, queries = 0;
  for (let q = 0; q < nV; q++) {
    const R = valid.y.filter((l, j) => j !== q && l === valid.y[q]).length;
    if (R === 0) continue;
    const order = Array.from({ length: nV }, (_, j) => j).filter((j) => j !== q).sort((a, b) => d2(valid.x, q, valid.x, a, dim) - d2(valid.x, q, valid.x, b, dim));
    let hits = 0, ap = 0;
    for (let i = 0; i < R; i++) {
      if (valid.y[order[i]] === valid.y[q]) {
        hits++;
        ap += hits / (i + 1);
      }
    }
    p1 += valid.y[order[0]] === valid.y[q] ? 1 : 0;
    rp += hits / R;
    map += ap / R;
    queries++;
  }
  const classes = [...perClass.entries()].sort((a, b) => a[0] - b[0]).map(([label, c]) => ({ label, knnAccuracy: c.right / c.count, count: c.count }));
  return { knnAccuracy: knnRight / nV, precisionAt1: p1 / queries, rPrecision: rp / queries, mapAtR: map / queries, retrievalQueries: queries, perClass: classes };
}

describe('evaluate()', () => {
  it.each([
    [1, 4, 3, 1],
    [2, 6, 5, 5],
    [3, 3, 7, 3],
  ])('matches a brute-force computation (seed %i, dim %i, %i classes, k %i)', async (seed, dim, classes, k) => {
    const t = randomBatch(seed, 120, dim, classes, false);
    const v = randomBatch(seed + 100, 70, dim, classes, false);
    const m = await evaluate({ train: { embeddings: t.embeddings, labels: t.labels, dim }, valid: { embeddings: v.embeddings, labels: v.labels, dim } }, { k, device: 'cpu' });
    const ref = reference({ x: t.embeddings, y: t.labels }, { x: v.embeddings, y: v.labels }, dim, k);
    // Both sides divide counts: one float64 division each, or a mean of ≤ 70 such ratios (a
    // few ulps of 1, far below 12 digits); a different ranking moves them by ≥ 1/70.
    expect(m.knnAccuracy).toBeCloseTo(ref.knnAccuracy, 12);
    expect(m.precisionAt1).toBeCloseTo(ref.precisionAt1, 12);
    expect(m.rPrecision).toBeCloseTo(ref.rPrecision, 12);
    expect(m.mapAtR).toBeCloseTo(ref.mapAtR, 12);
    expect(m.retrievalQueries).toBe(ref.retrievalQueries);
    expect(m.perClass.map((c) => c.label)).toEqual(ref.perClass.map((c) => c.label));
    m.perClass.forEach((c, i) => {
      expect(c.count).toBe(ref.perClass[i].count);
      expect(c.knnAccuracy).toBeCloseTo(ref.perClass[i].knnAccuracy, 12);
    });
  });

  it('hand-made ranking: P@1 = 4/6, R-precision = MAP@R = 2/6', async () => {
    // 1-D points: A at 0, 0.5, 5; B at 1.2, 6, 6.8; R = 2 for every query.
    //   A@0:   0.5(A) 1.2(B) -> P@1 1, R-prec 1/2, AP (1/2)(1) = 1/2     A@0.5: 0(A) 1.2(B) -> 1, 1/2, 1/2
    //   A@5:   6(B) 6.8(B)   -> 0, 0, 0                                  B@1.2: 0.5(A) 0(A) -> 0, 0, 0
    //   B@6:   6.8(B) 5(A)   -> 1, 1/2, 1/2                              B@6.8: 6(B) 5(A)   -> 1, 1/2, 1/2
    const valid = { embeddings: Float32Array.from([0, 0.5, 5, 1.2, 6, 6.8]), labels: [0, 0, 0, 1, 1, 1], dim: 1 };
    const m = await evaluate({ train: valid, valid }, { k: 1, device: 'cpu' });
    expect(m.precisionAt1).toBeCloseTo(4 / 6, 12);
    expect(m.rPrecision).toBeCloseTo(2 / 6, 12);
    expect(m.mapAtR).toBeCloseTo(2 / 6, 12);
  });

  it('perfect clusters give 1.0 everywhere', async () => {
    const make = (n: number, seed: number) => {
      const next = rng(seed);
      const labels = Array.from({ length: n }, (_, i) => i % 4);
      const embeddings = Float32Array.from({ length: n * 3 }, (_, i) => labels[Math.floor(i / 3)] * 100 * (i % 3 === 0 ? 1 : 0) + next());
      return { embeddings, labels, dim: 3 };
    };
    const m = await evaluate({ train: make(80, 1), valid: make(40, 2) }, { device: 'cpu' });
    expect(m).toMatchObject({ knnAccuracy: 1, linearAccuracy: 1, precisionAt1: 1, rPrecision: 1, mapAtR: 1 });
  });

  it('kNN ties between classes go to the nearest tied class', async () => {
    const train = { embeddings: Float32Array.from([1, -2, 10, 11]), labels: [7, 3, 3, 7], dim: 1 };
    const valid = { embeddings: Float32Array.from([0]), labels: [7], dim: 1 };
    // k = 2: one vote each for 7 (at distance 1) and 3 (at distance 2): 7 wins.
    expect((await evaluate({ train, valid }, { k: 2, device: 'cpu' })).knnAccuracy).toBe(1);
    const valid3 = { embeddings: Float32Array.from([-1.2]), labels: [3], dim: 1 };
    expect((await evaluate({ train, valid: valid3 }, { k: 2, device: 'cpu' })).knnAccuracy).toBe(1);
  });

  it('the linear classifier separates separable data and is near chance on shuffled labels', async () => {
    const make = (n: number, seed: number, shuffled: boolean) => {
      const next = rng(seed);
      const labels = Array.from({ length: n }, (_, i) => i % 2);
      const embeddings = new Float32Array(n * 8);
      for (let i = 0; i < n; i++) for (let k = 0; k < 8; k++) embeddings[i * 8 + k] = gaussian(next) + (k === 0 ? (labels[i] ? 4 : -4) : 0);
      return { embeddings, labels: shuffled ? labels.map(() => (next() < 0.5 ? 1 : 0)) : labels, dim: 8 };
    };
    const separable = await evaluate({ train: make(400, 1, false), valid: make(200, 2, false) }, { device: 'cpu' });
    expect(separable.linearAccuracy).toBeGreaterThanOrEqual(0.99);
    const noise = await evaluate({ train: make(400, 3, true), valid: make(200, 4, true) }, { device: 'cpu' });
    expect(noise.linearAccuracy).toBeGreaterThan(0.35);
    expect(noise.linearAccuracy).toBeLessThan(0.65);
  });

  const set = { embeddings: new Float32Array(8), labels: [0, 1, 0, 1], dim: 2 };
  it.each([
    ['mismatched labels', { train: set, valid: { ...set, labels: [0, 1, 0] } }, 'RangeError', 'sets.valid.labels'],
    ['dim mismatch', { train: set, valid: { embeddings: new Float32Array(8), labels: [0, 1], dim: 4 } }, 'RangeError', 'sets.valid.dim'],
    ['empty set', { train: set, valid: { embeddings: new Float32Array(0), labels: [], dim: 2 } }, 'RangeError', 'sets.valid.embeddings'],
    ['length not a multiple of dim', { train: { ...set, embeddings: new Float32Array(7) }, valid: set }, 'RangeError', 'sets.train.embeddings'],
    ['not a Float32Array', { train: { ...set, embeddings: [0, 1] }, valid: set }, 'TypeError', 'sets.train.embeddings'],
    ['NaN', { train: { ...set, embeddings: Float32Array.from([0, NaN, 0, 0, 1, 1, 2, 2]) }, valid: set }, 'RangeError', 'train'],
  ])('bad input: %s', async (_name, sets, name, argument) => {
    await expect(evaluate(sets as never, { device: 'cpu' })).rejects.toMatchObject({ name, argument });
  });
});

/** Ten tight, well-separated Gaussian blobs in 16-D: centres 20 apart on the axes, σ = 1. */
function blobs(perClass: number, seed: number) {
  const next = rng(seed);
  const dim = 16;
  const labels = Array.from({ length: 10 * perClass }, (_, i) => i % 10);
  const embeddings = new Float32Array(labels.length * dim);
  labels.forEach((c, i) => {
    for (let k = 0; k < dim; k++) embeddings[i * dim + k] = gaussian(next) + (k === c ? 20 : 0);
  });
  return { embeddings, labels, dim };
}

/** Share of points whose nearest other point in the 2-D map has their class. */
function mapNeighbourAccuracy(xy: Float32Array, labels: number[]): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < labels.length; j++) {
      if (j === i) continue;
      const d = (xy[2 * i] - xy[2 * j]) ** 2 + (xy[2 * i + 1] - xy[2 * j + 1]) ** 2;
      if (d < bestD) [best, bestD] = [j, d];
    }
    right += labels[best] === labels[i] ? 1 : 0;
  }
  return right / labels.length;
}

describe('projections', () => {
  it("t-SNE keeps separated clusters apart: each point's nearest neighbour in the map is of its class", async () => {
    const set = blobs(20, 4);
    const r = await plotEmbeddings(set, { out: path.join(tmp, 'blobs.svg'), iterations: 500 });
    expect(r.coordinates).toHaveLength(2 * 200);
    // In 16-D every nearest neighbour is of the same class (blobs 20σ apart); a map that keeps
    // neighbourhoods, as t-SNE's objective asks, keeps (nearly) all of them.
    expect(mapNeighbourAccuracy(r.coordinates, set.labels)).toBeGreaterThanOrEqual(0.95);
  });

  it('PCA spans the two directions of largest variance (power iteration in float64)', async () => {
    // An anisotropic cloud: variances 25, 9, 1, 1, 1, 1 along rotated axes.
    const next = rng(12);
    const dim = 6;
    const n = 400;
    const scales = [5, 3, 1, 1, 1, 1];
    const raw = Array.from({ length: n }, () => scales.map((s) => s * gaussian(next)));
    const mix = (v: number[]) => [v[0] + v[1], v[0] - v[1], v[2], v[3] + v[4], v[3] - v[4], v[5]].map((x) => x / Math.SQRT2);
    const rows = raw.map(mix);
    const set = { embeddings: Float32Array.from(rows.flat()), labels: rows.map((_, i) => i % 3), dim };
    const r = await plotEmbeddings(set, { out: path.join(tmp, 'pca-check.svg'), method: 'pca' });
    // Reference: the covariance's two leading eigenvalues, by power iteration with deflation.
    const mean = Array.from({ length: dim }, (_, k) => rows.reduce((s, v) => s + v[k], 0) / n);
    const cov = Array.from({ length: dim }, (_, a) => Array.from({ length: dim }, (_, b) => rows.reduce((s, v) => s + (v[a] - mean[a]) * (v[b] - mean[b]), 0) / n));
    const eigen: number[] = [];
    for (let e = 0; e < 2; e++) {
      let v = Array.from({ length: dim }, (_, k) => 1 + k);
      let lambda = 0;
      for (let it = 0; it < 500; it++) {
        const w = cov.map((row) => row.reduce((s, c, k) => s + c * v[k], 0));
        lambda = Math.hypot(...w);
        v = w.map((x) => x / lambda);
      }
      eigen.push(lambda);
      for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov[a][b] -= lambda * v[a] * v[b];
    }
    // The map's coordinates are the projections onto those directions (up to sign and a
    // common scale): their variances stand in the eigenvalues' ratio, and they are uncorrelated.
    const xs = Array.from({ length: n }, (_, i) => r.coordinates[2 * i]);
    const ys = Array.from({ length: n }, (_, i) => r.coordinates[2 * i + 1]);
    const mx = xs.reduce((a, b) => a + b) / n;
    const my = ys.reduce((a, b) => a + b) / n;
    const vx = xs.reduce((s, x) => s + (x - mx) ** 2, 0) / n;
    const vy = ys.reduce((s, y) => s + (y - my) ** 2, 0) / n;
    const cxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / n;
    // float32 coordinates: each variance is a sum of n squares within sumError(n, ·) relative.
    const tol = 4 * sumError(n, 1);
    expect(Math.abs(vx / vy - eigen[0] / eigen[1]) / (eigen[0] / eigen[1])).toBeLessThanOrEqual(tol + 1e-6);
    expect(Math.abs(cxy) / Math.sqrt(vx * vy)).toBeLessThanOrEqual(tol + 1e-6);
  });
});

describe('plotEmbeddings()', () => {
  const data = randomBatch(9, 300, 16, 10, true);
  const set = { embeddings: data.embeddings, labels: data.labels, dim: 16 };

  it('writes a PNG of the requested size (t-SNE)', async () => {
    const out = path.join(tmp, 'tsne.png');
    const r = await plotEmbeddings(set, { out, width: 640, height: 480, title: 'test', classNames: 'abcdefghij'.split(''), iterations: 300 });
    const png = fs.readFileSync(out);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([640, 480]);
    expect(r.points).toBe(300);
    expect(r.coordinates.every(Number.isFinite)).toBe(true);
  });

  it('writes an SVG with a legend of the class names (PCA), sampling at most maxPoints', async () => {
    const out = path.join(tmp, 'pca.svg');
    const r = await plotEmbeddings(set, { out, method: 'pca', maxPoints: 100, classNames: 'abcdefghij'.split('') });
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<svg[^>]* width="900" height="800"/);
    for (const name of 'abcdefghij') expect(svg).toContain(`>${name}</text>`);
    expect(r.points).toBeLessThanOrEqual(100);
  });

  it('rejects a bad output name', async () => {
    await expect(plotEmbeddings(set, { out: path.join(tmp, 'x.jpg') })).rejects.toMatchObject({ name: 'RangeError', argument: 'options.out' });
  });
});
