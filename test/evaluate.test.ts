// evaluate() and plotEmbeddings() against brute-force computations and hand-made cases.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluate, plotEmbeddings } from '../lib';
import { randomBatch, rng, gaussian } from './reference/triplet-reference';

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
  return { knnAccuracy: knnRight / nV, precisionAt1: p1 / queries, rPrecision: rp / queries, mapAtR: map / queries, retrievalQueries: queries };
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
    expect(m.knnAccuracy).toBeCloseTo(ref.knnAccuracy, 12);
    expect(m.precisionAt1).toBeCloseTo(ref.precisionAt1, 12);
    expect(m.rPrecision).toBeCloseTo(ref.rPrecision, 12);
    expect(m.mapAtR).toBeCloseTo(ref.mapAtR, 12);
    expect(m.retrievalQueries).toBe(ref.retrievalQueries);
    const perClassTotal = m.perClass.reduce((s, c) => s + c.knnAccuracy * c.count, 0);
    expect(perClassTotal / 70).toBeCloseTo(m.knnAccuracy, 12);
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
