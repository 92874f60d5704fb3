// Training steps' stats (native/core/trainer.h StepResult::stats, summed per report window in
// native/binding/run_worker.cc): each step's against the public loss's own stats of the same
// batch on embeddings recomputed independently (the raw trainer's embed() of the batch's
// images before the step: BatchNorm frozen, no augmentation, no dropout, so the training
// forward computes the same embeddings), unchunked and chunked; a run's summary against the
// sum of its steps; train()'s history and epoch events; two ranks against one process.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, train, tripletSemiHardLoss, type EpochEvent, type LossStats, type StepProgressEvent, type TrainResult } from '../lib';
import { createTrainer } from '../lib/binding';
import type { NativeStepReport, NativeTrainer, NativeTrainerOptions, NativeTrainingStats } from '../binding';
import { loadIdxDataset } from '../lib/data/datasets';
import { smallTrainConfig, writeSmallDigits } from './helpers/small-training';
import { U32, sumError } from './helpers/tolerance';

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-train-stats-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mnist = loadIdxDataset('mnist', 0);
const COUNT = 300;
const trainImages = mnist.train.images.subarray(0, COUNT * 784);
const trainLabels = mnist.train.labels.subarray(0, COUNT);
const DIM = 16;

// P x K batches of the first 300 digits: step s takes the s-th run of K rows of each of P classes.
function batch(step: number, classes: number, perClass: number): Int32Array {
  const rows: number[] = [];
  for (let c = 0; c < classes; c++) {
    const ofClass: number[] = [];
    for (let i = 0; i < COUNT; i++) if (trainLabels[i] === c) ofClass.push(i);
    for (let k = 0; k < perClass; k++) rows.push(ofClass[(step * perClass + k) % ofClass.length]);
  }
  return Int32Array.from(rows);
}

function options(extra: Partial<NativeTrainerOptions> = {}): NativeTrainerOptions {
  return {
    backbone: 'convnet', dim: DIM, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0.01,
    gradClip: 0, augment: false, device: 'cpu', seed: 3, batchNorm: 'frozen', ...extra,
  };
}

function trainerFor(o: NativeTrainerOptions): NativeTrainer {
  const trainer = createTrainer(o);
  trainer.setData({
    train: { images: trainImages, labels: trainLabels },
    valid: { images: trainImages, labels: trainLabels },
    geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 },
    normalisation: null,
  });
  return trainer;
}

function imagesOf(rows: Int32Array): Uint8Array {
  const out = new Uint8Array(rows.length * 784);
  rows.forEach((r, i) => out.set(trainImages.subarray(r * 784, (r + 1) * 784), i * 784));
  return out;
}

// Embeddings have norm 1 and the spread, distances and their means are sums of up to
// B² = 4,096 products of float32 values of magnitude <= 2: the two computations (embed()'s
// forward and the training forward, float64 accumulation of the stats in both) differ by the
// float32 rounding of the embeddings and of the distances, within sumError(DIM, 1) per
// coordinate; a distance of unit vectors moves by at most 2 x that x sqrt(DIM), a mean of
// distances no more. Counts must agree exactly: the steps run after 20 training steps, when
// no decision is near its threshold (checked: the two sides' counts are equal, which a
// decision resting on rounding would have broken at random).
const DISTANCE_TOLERANCE = 2 * sumError(DIM, 1) * Math.sqrt(DIM) * 4;

function expectSameStats(got: NativeTrainingStats, want: LossStats): void {
  expect(got.steps).toBe(1);
  expect(got.positivePairs).toBe(want.positivePairs);
  expect(got.activePairs).toBe(want.activePairs);
  expect(got.semiHardPairs).toBe(want.semiHardPairs);
  expect(got.noPositiveAnchors).toBe(want.noPositiveAnchors);
  expect(got.activeFraction).toBe(want.activeFraction);
  expect(got.semiHardFraction).toBe(want.semiHardFraction);
  expect(Math.abs(got.meanPositiveDistance! - want.meanPositiveDistance!)).toBeLessThanOrEqual(DISTANCE_TOLERANCE);
  expect(Math.abs(got.meanNegativeDistance! - want.meanNegativeDistance!)).toBeLessThanOrEqual(DISTANCE_TOLERANCE);
  expect(Math.abs(got.spread! - want.spread!)).toBeLessThanOrEqual(DISTANCE_TOLERANCE);
}

async function warmUp(trainer: NativeTrainer, steps: number, classes: number, perClass: number): Promise<void> {
  const b = classes * perClass;
  const all = new Int32Array(steps * b);
  for (let s = 0; s < steps; s++) all.set(batch(100 + s, classes, perClass), s * b);
  await trainer.run('train', all, b, undefined, { onCollapse: 'ignore' });
}

describe.each([
  ['unchunked', {}],
  ['chunked by 12', { chunk: 12 }],
  ['the tensor miners, what CUDA runs: stats summed on the device', { tensorMining: true }],
])('each step\'s stats = the loss stats of the same batch (%s)', (_name, extra) => {
  test('three steps, 6 classes x 8 (and a class of 1: an anchor without a positive)', async () => {
    const trainer = trainerFor(options(extra));
    trainer.beginPhase('none', 2e-3, 40);
    await warmUp(trainer, 20, 6, 8);
    for (let s = 0; s < 3; s++) {
      // 6 x 8 rows, then one more row of a seventh class: 49 rows, one without a positive.
      const rows = Int32Array.from([...batch(s, 6, 8), batch(s, 7, 1)[6]]);
      const labels = Int32Array.from(rows, (r) => trainLabels[r]);
      // A copy in this realm's Float32Array (jest runs tests in their own context).
      const embeddings = Float32Array.from(await trainer.embed(imagesOf(rows), rows.length));
      const want = tripletSemiHardLoss(embeddings, labels, { dim: DIM, device: 'cpu' }).stats;
      expect(want.noPositiveAnchors).toBe(1);
      const reports: NativeStepReport[] = [];
      const run = await trainer.run('train', rows, rows.length, (r) => reports.push(r), { onCollapse: 'ignore' });
      expect(reports).toHaveLength(1);
      expectSameStats(reports[0].stats!, want);
      expectSameStats(run.stats!, want);
    }
  });
});

test('a run\'s stats are the sum of its steps\' (counts exact), and validation has none', async () => {
  const trainer = trainerFor(options({ augment: true }));
  trainer.beginPhase('none', 2e-3, 10);
  const steps = 6;
  const b = 32;
  const all = new Int32Array(steps * b);
  for (let s = 0; s < steps; s++) all.set(batch(s, 4, 8), s * b);
  const reports: NativeStepReport[] = [];
  const run = await trainer.run('train', all, b, (r) => reports.push(r));
  // On the CPU every step is its own report window.
  expect(reports.map((r) => r.stats!.steps)).toEqual(Array(steps).fill(1));
  const sum = (f: (s: NativeTrainingStats) => number): number => reports.reduce((n, r) => n + f(r.stats!), 0);
  const total = run.stats!;
  expect(total.steps).toBe(steps);
  for (const key of ['terms', 'positivePairs', 'activePairs', 'semiHardPairs', 'noPositiveAnchors'] as const) {
    expect(total[key]).toBe(sum((s) => s[key]!));
  }
  expect(total.terms).toBe(steps * 4 * 8 * 7);
  expect(total.activeFraction).toBe(sum((s) => s.activePairs) / sum((s) => s.terms));
  expect(total.semiHardFraction).toBe(sum((s) => s.semiHardPairs!) / sum((s) => s.positivePairs));
  // Means: the step means weighted by their counts (every pair has a positive distance and a
  // negative here; every row is an anchor for the spread), in float64: a few ulps of the sums.
  const weighted = (f: (s: NativeTrainingStats) => number, w: (s: NativeTrainingStats) => number): number =>
    sum((s) => f(s) * w(s)) / sum(w);
  const rel = 1e-12;
  expect(total.meanPositiveDistance!).toBeCloseTo(weighted((s) => s.meanPositiveDistance!, (s) => s.positivePairs), -Math.log10(rel));
  expect(total.meanNegativeDistance!).toBeCloseTo(weighted((s) => s.meanNegativeDistance!, (s) => s.positivePairs), -Math.log10(rel));
  expect(total.spread!).toBeCloseTo(weighted((s) => s.spread!, () => b), -Math.log10(rel));
  const valid = await trainer.run('valid', all.subarray(0, b), b, (r) => expect(r.stats).toBeNull());
  expect(valid.stats).toBeNull();
});

test('stats: false (the benchmark hook) gathers none', async () => {
  const trainer = trainerFor(options({ stats: false }));
  trainer.beginPhase('none', 2e-3, 2);
  const reports: NativeStepReport[] = [];
  const run = await trainer.run('train', batch(0, 4, 8), 32, (r) => reports.push(r));
  expect(reports[0].stats).toBeNull();
  expect(run.stats).toBeNull();
});

test('train(): every step event and epoch carries stats; the epoch\'s is its steps\' summed', async () => {
  const data = path.join(tmp, 'digits');
  writeSmallDigits(data);
  const steps: StepProgressEvent[] = [];
  const epochs: EpochEvent[] = [];
  const config = smallTrainConfig(data, path.join(tmp, 'ckpt'), 2);
  const result = await train({
    ...config,
    phases: [{ epochs: 2, maxLr: 2e-3, freeze: 'none' }],
    onProgress: (e) => {
      if (e.stage === 'train') steps.push(e);
    },
    onEpoch: (e) => epochs.push(e),
  });
  expect(epochs).toHaveLength(2);
  result.history.forEach((h, i) => {
    const own = steps.filter((s) => s.epoch === h.epoch);
    expect(own.every((s) => s.stats !== null && s.stats.steps === 1)).toBe(true);
    expect(h.stats!.steps).toBe(h.stepLosses.length);
    expect(h.stats!.noPositiveAnchors).toBe(own.reduce((n, s) => n + s.stats!.noPositiveAnchors, 0));
    expect(epochs[i].stats).toEqual(h.stats);
    for (const key of ['activeFraction', 'semiHardFraction', 'meanPositiveDistance', 'meanNegativeDistance', 'spread'] as const) {
      const v = h.stats![key]!;
      expect(v).toBeGreaterThan(0);
      // Fractions in [0, 1]; distances of unit vectors in [0, 2].
      expect(v).toBeLessThanOrEqual(key.endsWith('Fraction') ? 1 : 2);
    }
  });
});

// One rank of test/helpers/distributed-rank.js (train() on the built package): its result.
function rank(job: Record<string, unknown>): Promise<TrainResult> {
  const child = spawn(process.execPath, [path.join(__dirname, 'helpers', 'distributed-rank.js'), JSON.stringify(job)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(fs.readFileSync(job.out as string, 'utf8')) as TrainResult) : reject(new Error(`a rank failed: ${stderr}`)))),
  );
}

test('two ranks: the ranks\' shares add (inside the gradients\' all-reduce) to one process\'s stats of the same first step', async () => {
  const data = path.join(tmp, 'digits-dist');
  writeSmallDigits(data);
  const config = (name: string) => ({ ...smallTrainConfig(data, path.join(tmp, name), 1), maxSteps: 1 });
  const port = await freePort();
  const dist = (r: number) => ({ rank: r, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, backend: 'gloo', timeoutMs: 60_000, connectTimeoutMs: 60_000 });
  const [r0, r1] = await Promise.all([0, 1].map((r) => rank({ mode: 'train', out: path.join(tmp, `rank-${r}.json`), config: { ...config('two'), distributed: dist(r) } })));
  const one = await train(config('one'));
  const want = one.history[0].stats!;
  for (const r of [r0, r1]) {
    const got = r.history[0].stats!;
    expect(got.steps).toBe(1);
    // Counts (exact in the float32 all-reduce below 2^24) give the same fractions.
    expect(got.activeFraction).toBe(want.activeFraction);
    expect(got.semiHardFraction).toBe(want.semiHardFraction);
    expect(got.noPositiveAnchors).toBe(want.noPositiveAnchors);
    // Means of distances of unit vectors (<= 2): the embeddings differ by the summation order
    // of BatchNorm's statistics across ranks, at most 5 layers x sumError(32·28·28, 1)
    // relative (test/distributed.test.ts's FORWARD_TOLERANCE, derived there), so a distance
    // by twice that times 2; the float32 all-reduce adds 3 roundings (two conversions, one
    // addition) of sums whose mean is <= 2: 3 · 2 · U32 more.
    const tolerance = 2 * 2 * 5 * sumError(32 * 28 * 28, 1) + 3 * 2 * U32;
    for (const key of ['meanPositiveDistance', 'meanNegativeDistance', 'spread'] as const) {
      expect(Math.abs(got[key]! - want[key]!)).toBeLessThanOrEqual(tolerance);
    }
  }
});
