// lrFind(): the range test's curve, smoothing, suggestion, restoration; plotHistory().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lrFind, plotHistory, train } from '../lib';
import { createTrainer } from '../lib/binding';
import { loadDataset } from '../lib/data/datasets';
import { writeIdxDir } from './helpers/idx';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-lr-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const mnist = loadDataset('mnist', 0);
const dir = path.join(tmp, 'digits');
writeIdxDir(
  dir,
  {
    train: { images: mnist.train.images.subarray(0, 400 * 784), labels: mnist.train.labels.subarray(0, 400) },
    test: { images: mnist.valid.images.subarray(0, 100 * 784), labels: mnist.valid.labels.subarray(0, 100) },
  },
  28,
  false,
);

describe('lrFind()', () => {
  it('grows the learning rate exponentially, smooths the loss as defined, suggests the steepest descent, draws it', async () => {
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
    // Steepest descent of smoothed loss against log(lr), central differences.
    let best = 1;
    let slope = Infinity;
    for (let i = 1; i + 1 < n; i++) {
      const s = (r.smoothed[i + 1] - r.smoothed[i - 1]) / (Math.log(r.lrs[i + 1]) - Math.log(r.lrs[i - 1]));
      if (s < slope) {
        slope = s;
        best = i;
      }
    }
    expect(r.suggestion).toBe(r.lrs[best]);
    const png = fs.readFileSync(out);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(800);
  });

  it('leaves the trainer exactly as it was: weights, optimiser, schedule, generator', async () => {
    const options = { backbone: 'convnet', dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0.01, gradClip: 0, augment: true, device: 'cpu', seed: 4 } as const;
    const a = createTrainer(options);
    const b = createTrainer(options);
    const images = mnist.train.images.subarray(0, 200 * 784);
    const labels = mnist.train.labels.subarray(0, 200);
    const indices = Int32Array.from({ length: 32 * 4 }, (_, i) => (i * 13) % 200);
    for (const t of [a, b]) {
      t.setData(images, labels, null, null, 28, 28);
      t.beginPhase('none', 1e-3, 10);
      await t.run('train', indices.subarray(0, 64), 32);
    }
    const before = a.getParameter('head.weight');
    await a.lrFind(indices, 32, 'backbone', 1e-6, 1);
    expect(a.getParameter('head.weight')).toEqual(before);
    expect(a.parameterInfo().every((p) => p.requiresGrad)).toBe(true); // the 'none' phase again
    const ra = await a.run('train', indices.subarray(64), 32);
    const rb = await b.run('train', indices.subarray(64), 32);
    expect(Array.from(ra.losses)).toEqual(Array.from(rb.losses));
    expect(Array.from(ra.lrs)).toEqual(Array.from(rb.lrs));
  });

  it('rejects bad ranges', async () => {
    await expect(lrFind({ data: { idxDir: dir }, startLr: 1, endLr: 0.1 })).rejects.toMatchObject({ name: 'RangeError', argument: 'config.endLr' });
    await expect(lrFind({ data: { idxDir: dir }, steps: 2 })).rejects.toMatchObject({ name: 'RangeError', argument: 'config.steps' });
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
