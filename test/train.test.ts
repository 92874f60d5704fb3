// train(), resume, cancel, checkpoints and loadModel on a small real-digit data set.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, train, type ProgressEvent, type StepProgressEvent, type TrainConfig } from '../lib';
import { createTrainer } from '../lib/binding';
import { loadIdxDataset } from '../lib/data/datasets';
import { takePerClass } from './helpers/idx';
import { smallTrainConfig, writeSmallDigits } from './helpers/small-training';
import { UNIT_NORM_TOLERANCE, sumError } from './helpers/tolerance';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const smallDir = path.join(tmp, 'small-mnist');
writeSmallDigits(smallDir);
const mnist = loadIdxDataset('mnist', 0);

function config(name: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return { ...smallTrainConfig(smallDir, path.join(tmp, name), 2), ...extra };
}

interface Recorded {
  losses: Map<string, number>;
  events: StepProgressEvent[];
}
function recorder(): Recorded & { onProgress: (e: ProgressEvent) => void } {
  const r: Recorded = { losses: new Map(), events: [] };
  return {
    ...r,
    onProgress: (e) => {
      if (e.stage !== 'train') return; // IDX data has no decoding stage
      r.events.push(e);
      r.losses.set(`${e.phase}/${e.epoch}/${e.step}`, e.loss);
    },
  };
}

describe('train()', () => {
  let uninterrupted: { losses: Map<string, number>; history: { validLoss: number; trainLoss: number }[]; steps: number; collapses: ProgressEvent[] };

  beforeAll(async () => {
    const rec = recorder();
    const collapses: ProgressEvent[] = [];
    const onProgress = (e: ProgressEvent): void => {
      if (e.stage === 'collapse') collapses.push(e);
      rec.onProgress(e);
    };
    const result = await train({ ...config('uninterrupted'), onProgress });
    uninterrupted = { losses: rec.losses, history: result.history, steps: result.steps, collapses };
  });

  it('learns: the validation loss falls epoch after epoch, the training loss falls within the run', () => {
    const valid = uninterrupted.history.map((h) => h.validLoss);
    expect(valid).toHaveLength(3);
    expect(valid[2]).toBeLessThan(valid[0]);
    const train = [...uninterrupted.losses.values()];
    const head = train.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = train.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail).toBeLessThan(head);
    expect(uninterrupted.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.validLoss))).toBe(true);
    // A normal run raises no collapse (README: Diagnostics and collapse).
    expect(uninterrupted.collapses).toHaveLength(0);
  });

  it('resumes exactly: every step after a stop has the loss the uninterrupted run had', async () => {
    const total = uninterrupted.steps;
    const perEpoch = total / 3;
    // Stop mid-epoch in the frozen phase, exactly at the phase boundary, then mid-epoch unfrozen.
    const stops = [Math.floor(perEpoch / 2), perEpoch, perEpoch + Math.floor(perEpoch * 1.5)];
    const rec = recorder();
    let history: { validLoss: number }[] = [];
    for (const [i, maxSteps] of [...stops, undefined].entries()) {
      const r = await train({ ...config('resumed'), resume: i > 0, maxSteps, onProgress: rec.onProgress });
      history = r.history;
      if (maxSteps !== undefined) expect(r.stoppedEarly).toBe('maxSteps');
    }
    expect(rec.losses.size).toBe(uninterrupted.losses.size);
    for (const [key, loss] of uninterrupted.losses) expect([key, rec.losses.get(key)]).toEqual([key, loss]);
    // Epochs cut by a stop record a partial history entry; the full epochs' validation losses agree.
    expect(history[history.length - 1].validLoss).toBe(uninterrupted.history[2].validLoss);
  });

  it('cancels through an AbortSignal; the checkpoint stays valid and resumes exactly', async () => {
    const controller = new AbortController();
    const rec = recorder();
    const cancelled = train({
      ...config('cancelled'),
      signal: controller.signal,
      onProgress: (e) => {
        rec.onProgress(e);
        if (rec.events.length === 3) controller.abort();
      },
    });
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(rec.events.length).toBeGreaterThanOrEqual(3);
    const resumed = await train({ ...config('cancelled'), resume: true, onProgress: rec.onProgress });
    expect(resumed.stoppedEarly).toBe(false);
    for (const [key, loss] of uninterrupted.losses) expect([key, rec.losses.get(key)]).toEqual([key, loss]);
  });

  it('resuming with a maxSteps already reached does nothing more', async () => {
    const first = await train({ ...config('maxed'), maxSteps: 3 });
    expect(first.steps).toBe(3);
    const again = await train({ ...config('maxed'), maxSteps: 3, resume: true });
    expect(again).toMatchObject({ steps: 0, stoppedEarly: 'maxSteps' });
    expect(again.history).toEqual(first.history);
  });

  it('a finished run resumed does nothing more', async () => {
    const r = await train({ ...config('uninterrupted'), resume: true });
    expect(r.steps).toBe(0);
    expect(r.history).toHaveLength(3);
  });

  it('refuses corrupt, truncated or incompatible checkpoints and leaves them as they are', async () => {
    const dir = path.join(tmp, 'corrupt');
    fs.mkdirSync(dir);
    const good = fs.readFileSync(path.join(tmp, 'uninterrupted', 'last.ckpt'));
    const file = path.join(dir, 'last.ckpt');
    for (const bytes of [good.subarray(0, good.length - 100), Buffer.concat([good.subarray(0, 200), Buffer.from('x'), good.subarray(201)]), Buffer.from('not a checkpoint')]) {
      fs.writeFileSync(file, bytes);
      await expect(train({ ...config('corrupt'), resume: true })).rejects.toMatchObject({
        code: 'ERR_SEMIHARD_CHECKPOINT',
        message: expect.stringContaining(file),
      });
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    }
    fs.writeFileSync(file, good);
    await expect(train({ ...config('corrupt'), model: { dim: 16 }, resume: true })).rejects.toMatchObject({
      code: 'ERR_SEMIHARD_CHECKPOINT',
      message: expect.stringMatching(/model\.dim was 32 in the checkpoint but is 16 now/),
    });
    expect(fs.readdirSync(dir)).toEqual(['last.ckpt']); // no temporary files left behind
  });

  it('loadModel embeds images: unit rows, deterministic, same as the trainer would', async () => {
    const model = await loadModel(path.join(tmp, 'uninterrupted', 'last.ckpt'), { device: 'cpu' });
    expect(model.dim).toBe(32);
    const images = mnist.valid.images.subarray(0, 5 * 784);
    const a = await model.embed(images, 5);
    const b = await model.embed(Float32Array.from(images, (v) => v / 255), 5);
    expect(a.length).toBe(5 * 32);
    for (let r = 0; r < 5; r++) {
      const norm = Math.hypot(...a.subarray(r * 32, (r + 1) * 32));
      expect(Math.abs(norm - 1)).toBeLessThanOrEqual(UNIT_NORM_TOLERANCE);
    }
    // Uint8 and Float32 pixels differ by one rounding of v / 255 at most: the network, a
    // Lipschitz map, passes on a difference of the order of its own rounding, which a
    // forward pass of dot products of up to 9·64 terms over five layers bounds.
    const forward = 2 * 5 * sumError(9 * 64, 1);
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i] - a[i])).toBeLessThanOrEqual(forward);
    await expect(model.embed(images, 4)).rejects.toMatchObject({ name: 'RangeError', argument: 'images' });
    await expect(model.embed([1, 2] as unknown as Uint8Array, 1)).rejects.toMatchObject({ name: 'TypeError', argument: 'images' });
  });

  it('runs off the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await train({ ...config('loop'), maxSteps: 6 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });
});

describe('phase 1 freezing', () => {
  it('keeps the backbone fixed while BatchNorm and the head learn; phase 2 moves everything', async () => {
    const trainer = createTrainer({
      backbone: 'convnet',
      dim: 16,
      lossKind: 'semihard',
      margin: 1,
      soft: false,
      distance: 'L2',
      weightDecay: 0.01,
      gradClip: 0,
      augment: true,
      device: 'cpu',
      seed: 3,
    });
    const set = takePerClass(mnist.train, 10);
    trainer.setData({ train: { images: set.images, labels: Int32Array.from(set.labels) }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation: null });
    const info = trainer.parameterInfo();
    expect(new Set(info.map((p) => p.group))).toEqual(new Set(['backbone', 'batchnorm', 'head']));
    const snapshot = () => new Map(info.map((p) => [p.name, trainer.getParameter(p.name)]));
    const indices = Int32Array.from({ length: 3 * 40 }, (_, i) => (i * 7) % 100);

    trainer.beginPhase('backbone', 1e-2, 3);
    expect(trainer.parameterInfo().map((p) => [p.name, p.requiresGrad])).toEqual(info.map((p) => [p.name, p.group !== 'backbone']));
    const before = snapshot();
    await trainer.run('train', indices, 40);
    const after = snapshot();
    for (const p of info) {
      const changed = !Buffer.from(before.get(p.name)!.buffer).equals(Buffer.from(after.get(p.name)!.buffer));
      expect([p.name, changed]).toEqual([p.name, p.group !== 'backbone']);
    }

    trainer.beginPhase('none', 1e-3, 3);
    await trainer.run('train', indices, 40);
    const unfrozen = snapshot();
    for (const p of info) {
      expect([p.name, Buffer.from(after.get(p.name)!.buffer).equals(Buffer.from(unfrozen.get(p.name)!.buffer))]).toEqual([p.name, false]);
    }
  });

  it.each(['resnet18', 'resnet34'] as const)('%s (small-input stem) trains a step and embeds 28×28 digits', async (backbone) => {
    const trainer = createTrainer({
      backbone, dim: 16, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2',
      weightDecay: 0.01, gradClip: 0, augment: true, device: 'cpu', seed: 5,
    });
    const set = takePerClass(mnist.train, 2);
    trainer.setData({ train: { images: set.images, labels: Int32Array.from(set.labels) }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation: null });
    const groups = trainer.parameterInfo();
    expect(groups.filter((p) => p.name.includes('downsample') && p.group === 'batchnorm').length).toBeGreaterThan(0);
    expect(groups.find((p) => p.name === 'head.linear.weight')).toMatchObject({ group: 'head', numel: 512 * 16 });
    trainer.beginPhase('backbone', 1e-2, 1);
    const r = await trainer.run('train', Int32Array.from({ length: 8 }, (_, i) => i * 2), 8);
    expect(Number.isFinite(r.losses[0])).toBe(true);
    // A batch of 8 from 4 classes, 2 each: the mean of 8 terms, each within [0, margin + 2].
    expect(r.losses[0]).toBeGreaterThanOrEqual(0);
    expect(r.losses[0]).toBeLessThanOrEqual(3);
    const e = await trainer.embed(set.images.subarray(0, 3 * 784), 3);
    expect(e.length).toBe(3 * 16);
    for (let i = 0; i < 3; i++) expect(Math.abs(Math.hypot(...e.subarray(i * 16, (i + 1) * 16)) - 1)).toBeLessThanOrEqual(UNIT_NORM_TOLERANCE);
  });

  it('convnet-spatial keeps the 7×7 layout of its last feature map: 6272 features, any input size', async () => {
    const make = () => createTrainer({
      backbone: 'convnet-spatial', dim: 16, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2',
      weightDecay: 0.01, gradClip: 0, augment: true, affine: { rotation: 0, scale: 0, translate: 0.1, flip: true }, device: 'cpu', seed: 5,
    });
    const trainer = make();
    const set = takePerClass(mnist.train, 2);
    trainer.setData({ train: { images: set.images, labels: Int32Array.from(set.labels) }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation: null });
    expect(trainer.parameterInfo().find((p) => p.name === 'head.linear.weight')).toMatchObject({ group: 'head', numel: 128 * 7 * 7 * 16 });
    trainer.beginPhase('none', 1e-3, 1);
    const r = await trainer.run('train', Int32Array.from({ length: 8 }, (_, i) => i * 2), 8);
    expect(Number.isFinite(r.losses[0])).toBe(true);
    const e = await trainer.embed(set.images.subarray(0, 3 * 784), 3);
    for (let i = 0; i < 3; i++) expect(Math.abs(Math.hypot(...e.subarray(i * 16, (i + 1) * 16)) - 1)).toBeLessThanOrEqual(UNIT_NORM_TOLERANCE);
    // 12 × 12 images: the 3 × 3 map is pooled up to 7 × 7, so the head still fits.
    const small = make();
    const pixels = new Uint8Array(4 * 144).map((_, i) => (i * 37) % 256);
    small.setData({ train: { images: pixels, labels: Int32Array.from([0, 0, 1, 1]) }, valid: null, geometry: { channels: 1, storedHeight: 12, storedWidth: 12, height: 12, width: 12 }, normalisation: null });
    expect((await small.embed(pixels, 4)).length).toBe(4 * 16);
  });

  it('one job at a time: a second call while a run is going is an ERR_SEMIHARD_BUSY error', async () => {
    const trainer = createTrainer({
      backbone: 'convnet', dim: 8, lossKind: 'hard', margin: 1, soft: true, distance: 'angular',
      weightDecay: 0, gradClip: 1, augment: false, device: 'cpu', seed: 1,
    });
    const set = takePerClass(mnist.train, 4);
    trainer.setData({ train: { images: set.images, labels: Int32Array.from(set.labels) }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation: null });
    trainer.beginPhase('none', 1e-3, 2);
    const running = trainer.run('train', Int32Array.from({ length: 80 }, (_, i) => i % 40), 40);
    expect(() => trainer.getParameter('head.linear.weight')).toThrow(expect.objectContaining({ code: 'ERR_SEMIHARD_BUSY' }));
    const r = await running;
    expect(r.losses).toHaveLength(2);
    expect(Array.from(r.losses).every(Number.isFinite)).toBe(true);
  });
});
