// lrFind(): the range test's curve, smoothing, suggestion (the valley rule, also on
// hand-made curves), divergence, restoration; plotHistory().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lrFind, plotHistory, train } from '../lib';
import { binding, createTrainer } from '../lib/binding';
import { loadIdxDataset } from '../lib/data/datasets';
import { writeFirstDigits } from './helpers/small-training';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-lr-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const mnist = loadIdxDataset('mnist', 0);
const dir = path.join(tmp, 'digits');
writeFirstDigits(dir);

/**
 * The valley rule by its definition, by brute force (O(n²) over all predecessors; the addon
 * uses an O(n log n) search): L = the most points of a strictly falling subsequence of the
 * finite prefix, b = the first step where one of L points ends; the index b − ⌊(L − 1)/2⌋,
 * or -1 (no suggestion) when there are fewer than 3 points or nothing falls.
 */
function valleyIndex(smoothed: number[]): number {
  const finite = smoothed.findIndex((v) => !Number.isFinite(v));
  const y = finite < 0 ? smoothed : smoothed.slice(0, finite);
  if (y.length < 3) return -1;
  const longest: number[] = [];
  let end = 0;
  for (let i = 0; i < y.length; i++) {
    longest[i] = 1;
    for (let j = 0; j < i; j++) if (y[j] > y[i]) longest[i] = Math.max(longest[i], longest[j] + 1);
    if (longest[i] > longest[end]) end = i;
  }
  return longest[end] < 2 ? -1 : end - Math.floor((longest[end] - 1) / 2);
}

describe('lrFind()', () => {
  it('grows the learning rate exponentially, smooths the loss as defined, suggests the middle of the valley, draws it', async () => {
    const out = path.join(tmp, 'lr.png');
    const r = await lrFind({ data: { idxDir: dir }, batch: { classes: 4, perClass: 8 }, model: { dim: 16 }, steps: 24, startLr: 1e-5, endLr: 1, device: 'cpu', out });
    const n = r.lrs.length;
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThanOrEqual(24);
    expect(r.lrs[0]).toBeCloseTo(1e-5, 12);
    for (let i = 1; i < n; i++) expect(r.lrs[i] / r.lrs[i - 1]).toBeCloseTo((1 / 1e-5) ** (1 / 23), 9);
    // Bias-corrected exponential moving average, beta 0.98.
    let avg = 0;
    r.losses.forEach((loss, i) => {
      avg = 0.98 * avg + 0.02 * loss;
      expect(r.smoothed[i]).toBeCloseTo(avg / (1 - 0.98 ** (i + 1)), 9);
    });
    // The suggestion is one of the rates tried, picked exactly: no tolerance.
    const at = valleyIndex(r.smoothed);
    expect(r.suggestion).toBe(at < 0 ? 0 : r.lrs[at]);
    const png = fs.readFileSync(out);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(800);
  });

  it('leaves the trainer exactly as it was, diverged or not: weights, optimiser, schedule, generator', async () => {
    const options = { backbone: 'convnet', dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0.01, gradClip: 0, augment: true, device: 'cpu', seed: 4 } as const;
    const a = createTrainer(options);
    const b = createTrainer(options);
    const images = mnist.train.images.subarray(0, 200 * 784);
    const labels = mnist.train.labels.subarray(0, 200);
    const indices = Int32Array.from({ length: 32 * 4 }, (_, i) => (i * 13) % 200);
    for (const t of [a, b]) {
      t.setData({ train: { images, labels }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation: null });
      t.beginPhase('none', 1e-3, 10);
      await t.run('train', indices.subarray(0, 64), 32);
    }
    const before = a.getParameter('head.linear.weight');
    await a.lrFind({ indices, batchSize: 32, freeze: 'backbone', startLr: 1e-6, endLr: 1 });
    // Also after a run that blew the network up (rates to 1e30 over 8 steps: see below).
    expect((await a.lrFind({ indices, batchSize: 16, freeze: 'none', startLr: 1e-3, endLr: 1e30 })).diverged).toBe(true);
    expect(a.getParameter('head.linear.weight')).toEqual(before);
    expect(a.parameterInfo().every((p) => p.requiresGrad)).toBe(true); // the 'none' phase again
    const ra = await a.run('train', indices.subarray(64), 32);
    const rb = await b.run('train', indices.subarray(64), 32);
    expect(Array.from(ra.losses)).toEqual(Array.from(rb.losses));
    expect(Array.from(ra.lrs)).toEqual(Array.from(rb.lrs));
  });

  it('reports divergence: a huge endLr blows the network up (stopped early, no non-finite point kept); a tiny range runs every step', async () => {
    const config = { data: { idxDir: dir }, batch: { classes: 4, perClass: 8 }, model: { dim: 16 }, steps: 24, device: 'cpu' } as const;
    // Rates up to 1e30: AdamW's decay alone multiplies weights by |1 - lr·0.01| per step,
    // past float32's 3.4e38 within a few steps once lr passes ~1e3. The triplet loss on unit
    // vectors stays below margin + 2 = 3, so only the network's output can blow up.
    const huge = await lrFind({ ...config, startLr: 1e-3, endLr: 1e30 });
    expect(huge.diverged).toBe(true);
    expect(huge.lrs.length).toBeLessThan(24);
    expect(huge.losses.every(Number.isFinite)).toBe(true);
    expect(huge.smoothed.every(Number.isFinite)).toBe(true);
    // Rates of 1e-9..1e-8 move each weight by at most ~1e-8 a step (Adam's steps are about
    // lr): the loss stays the initial network's on each batch, and no smoothed point reaches
    // 4× the lowest before it (the stop rule, checked here as defined).
    const tiny = await lrFind({ ...config, startLr: 1e-9, endLr: 1e-8 });
    expect(tiny.diverged).toBe(false);
    expect(tiny.lrs.length).toBe(24);
    tiny.smoothed.forEach((v, i) => expect(v).toBeLessThanOrEqual(4 * Math.min(...tiny.smoothed.slice(0, Math.max(i, 1)))));
  });

  it('rejects bad ranges', async () => {
    await expect(lrFind({ data: { idxDir: dir }, startLr: 1, endLr: 0.1 })).rejects.toMatchObject({ name: 'RangeError', argument: 'config.endLr' });
    await expect(lrFind({ data: { idxDir: dir }, steps: 2 })).rejects.toMatchObject({ name: 'RangeError', argument: 'config.steps' });
  });
});

describe("the suggestion's rule (valley), on hand-made curves", () => {
  // Rates 10^(i - 7): 1e-7, 1e-6, ... The answer is always one of them, so checks are exact.
  const suggest = (smoothed: number[]) =>
    binding.lrSuggestion(Float64Array.from(smoothed, (_, i) => 10 ** (i - 7)), Float64Array.from(smoothed));

  it('a noisy flat start, a descent, a rise: the middle of the longest fall, the first such to end', () => {
    // Longest strictly falling: 1.02 1.01 0.99 0.9 0.7 0.5 0.4 0.39 (steps 1 3 4 5 6 7 8 9),
    // L = 8; 0.395 at step 10 ends another of 8, later. b = 9: step 9 - floor(7/2) = 6.
    expect(suggest([1.0, 1.02, 1.0, 1.01, 0.99, 0.9, 0.7, 0.5, 0.4, 0.39, 0.395, 0.41])).toBe(10 ** (6 - 7));
  });

  it('a bounded curve that only flattens: the middle of the whole range, not its steepest point', () => {
    // Falls at every step (L = 12, b = 11: step 11 - 5 = 6); steepest between steps 9 and 10.
    const smoothed = [1.0, 0.999, 0.998, 0.997, 0.996, 0.995, 0.994, 0.993, 0.99, 0.9, 0.5, 0.49];
    expect(suggest(smoothed)).toBe(10 ** (6 - 7));
  });

  it('counts strict falls only; nothing falls or too short: 0 (no suggestion)', () => {
    expect(suggest([2, 2, 2, 1, 1, 1])).toBe(10 ** (3 - 7)); // 2 then 1: L = 2, b = 3
    expect(suggest([1, 1, 1, 1])).toBe(0);
    expect(suggest([1, 2, 3, 4])).toBe(0);
    expect(suggest([2, 1])).toBe(0);
    expect(suggest([])).toBe(0);
  });

  it('uses the finite prefix only', () => {
    expect(suggest([3, 2, 1, NaN, 0])).toBe(10 ** (1 - 7)); // 3 2 1: L = 3, b = 2
    expect(suggest([3, Infinity, 1, 0])).toBe(0); // one finite point
  });

  it('agrees with the brute-force definition on random walks', () => {
    let state = 12345;
    const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const n = 3 + (trial % 40);
      const smoothed: number[] = [100];
      // Integer steps of -5..+3: exact ties, which do not count as falls, are common.
      for (let i = 1; i < n; i++) smoothed.push(smoothed[i - 1] + Math.floor(uniform() * 9) - 5);
      const at = valleyIndex(smoothed);
      expect(suggest(smoothed)).toBe(at < 0 ? 0 : 10 ** (at - 7));
    }
  });

  it('refuses what would read memory wrongly: other typed arrays, unequal lengths', () => {
    expect(() => binding.lrSuggestion(new Float32Array(3) as unknown as Float64Array, new Float64Array(3))).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'lrs' }),
    );
    expect(() => binding.lrSuggestion(new Float64Array(3), new Float64Array(2))).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'smoothed' }),
    );
  });
});

describe('plotHistory()', () => {
  it('draws the curves of a checkpoint, per epoch and per step', async () => {
    const ckpt = path.join(tmp, 'ck');
    const r = await train({ data: { idxDir: dir }, batch: { classes: 4, perClass: 8 }, model: { dim: 8 }, phases: [{ epochs: 2, maxLr: 1e-3, freeze: 'none' }], device: 'cpu', checkpointDir: ckpt, maxSteps: 16 });
    expect(r.history[0].stepLosses.length).toBeGreaterThan(0);
    const out = await plotHistory(r.checkpoint, { out: path.join(tmp, 'history.svg') });
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('valid');
    expect(svg).toContain('training curves');
  });
});
