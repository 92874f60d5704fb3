// `semihard eval`, spawned as a user runs it, on a model trained a few steps by `semihard train`:
// --k, --json, --out and the default metrics.json, --data, --plot with --method and
// --max-points, and the API's argument errors as exit 2.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadIdxDataset } from '../../lib/data/datasets';
import { loadModel } from '../../lib/model';
import { takePerClass, writeIdxDir } from '../helpers/idx';
import { train } from '../../lib';
import { writeImageFolder } from '../helpers/image-folder';
import { writeSmallDigits } from '../helpers/small-training';
import { expectNoErrorText, runCli, testTimeout } from './run-cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-eval-'));
const dir = path.join(tmp, 'digits');
const ckptDir = path.join(tmp, 'run');
const ckpt = path.join(ckptDir, 'last.ckpt');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// 40 steps (about an epoch): after a few only, the embeddings still lie so close together
// that nearest neighbours are near-ties and a kNN reference could not tell k = 1 from k = 5.
beforeAll(() => {
  writeSmallDigits(dir);
  const r = runCli(['train', '--data', dir, '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckptDir, '--max-steps', '40', '--json']);
  if (r.status !== 0) throw new Error(`training the model to evaluate failed: ${r.stderr}`);
});

interface Report {
  checkpoint: string;
  data: string;
  k: number;
  knnAccuracy: number;
  perClass: { label: number; knnAccuracy: number; count: number }[];
  metricsFile?: string;
  plot?: string;
  plotPoints?: number;
}

/** Squared Euclidean distance in float64 between row i of a and row j of b. */
function squaredDistance(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += (a[i * dim + d] - b[j * dim + d]) ** 2;
  return s;
}

describe('semihard eval', () => {
  it('--k 1 --json --out: the 1-NN accuracy of the checkpoint\'s embeddings (brute force), the same JSON in the file', async () => {
    const out = path.join(tmp, 'reports', 'k1.json');
    const r = runCli(['eval', '--checkpoint', ckpt, '--k', '1', '--json', '--out', out, '--device', 'cpu']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    const printed = JSON.parse(r.stdout) as Report;
    expect(printed).toMatchObject({ checkpoint: ckpt, data: dir, k: 1, metricsFile: out });
    expect(printed.plot).toBeUndefined();
    const { metricsFile, ...report } = printed;
    expect(metricsFile).toBe(out);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(report);
    expect(report.perClass.reduce((n, c) => n + c.count, 0)).toBe(200);

    // The reference: the same model and data embedded here, each validation image labelled
    // by its nearest training image, distances in float64.
    const model = await loadModel(ckpt, { device: 'cpu' });
    const data = loadIdxDataset({ idxDir: dir }, model.checkpoint.config.seed);
    const train = await model.embed(data.train.images, data.train.count);
    const valid = await model.embed(data.valid.images, data.valid.count);
    // Queries whose nearest other-label distance is within delta of the nearest one may flip
    // between the two processes: float32 squared distances of unit vectors (<= 4) summed over
    // dim = 8 terms err by <= 8 x 1.19e-7 x 4 = 3.8e-6, and the embeddings' own rounding adds
    // as much again; delta = 1e-5 covers both.
    const delta = 1e-5;
    let correct = 0;
    let ambiguous = 0;
    for (let q = 0; q < data.valid.count; q++) {
      let best = Infinity;
      let bestLabel = -1;
      for (let t = 0; t < data.train.count; t++) {
        const d = squaredDistance(valid, q, train, t, model.dim);
        if (d < best) [best, bestLabel] = [d, data.train.labels[t]];
      }
      let otherBest = Infinity;
      for (let t = 0; t < data.train.count; t++) {
        if (data.train.labels[t] !== bestLabel) otherBest = Math.min(otherBest, squaredDistance(valid, q, train, t, model.dim));
      }
      if (bestLabel === data.valid.labels[q]) correct++;
      if (otherBest - best < delta) ambiguous++;
    }
    // The comparison has teeth only if few queries are ambiguous (near-ties are rare among 200 once trained).
    expect(ambiguous).toBeLessThan(data.valid.count / 10);
    expect(Math.abs(Math.round(report.knnAccuracy * data.valid.count) - correct)).toBeLessThanOrEqual(ambiguous);
  });

  it('defaults: the table with k = 5, metrics.json beside the checkpoint; --plot .png with --max-points', () => {
    const picture = path.join(tmp, 'pictures', 'valid.png');
    const r = runCli(['eval', '--checkpoint', ckpt, '--plot', picture, '--max-points', '40', '--device', 'cpu']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^kNN accuracy \(k=5\) +\d+\.\d\d%\nlinear accuracy +\d+\.\d\d%/);
    const metrics = path.join(ckptDir, 'metrics.json');
    expect(r.stdout).toContain(`metrics: ${metrics}\n`);
    expect(JSON.parse(fs.readFileSync(metrics, 'utf8'))).toMatchObject({ k: 5, data: dir, checkpoint: ckpt });
    const points = Number(/picture: (.*) \((\d+) points\)\n/.exec(r.stdout)?.[2]);
    expect(r.stdout).toContain(`picture: ${picture} (`);
    expect(points).toBeGreaterThanOrEqual(2);
    expect(points).toBeLessThanOrEqual(40);
    expect(fs.readFileSync(picture).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('--method pca --plot .svg without --max-points draws every validation embedding', () => {
    const picture = path.join(tmp, 'pictures', 'pca.svg');
    const r = runCli(['eval', '--checkpoint', ckpt, '--plot', picture, '--method', 'pca', '--json', '--out', path.join(tmp, 'reports', 'pca.json'), '--device', 'cpu']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ plot: picture, plotPoints: 200 });
    expect(fs.readFileSync(picture, 'utf8')).toMatch(/<svg[\s\S]*PCA of validation embeddings/);
  });

  it('--data evaluates on another folder than the one the model was trained on', () => {
    const other = path.join(tmp, 'other-digits');
    const mnist = loadIdxDataset('mnist', 3);
    writeIdxDir(other, { train: takePerClass(mnist.train, 30), test: takePerClass(mnist.valid, 10) }, 28, false);
    const r = runCli(['eval', '--checkpoint', ckpt, '--data', other, '--json', '--out', path.join(tmp, 'reports', 'other.json'), '--device', 'cpu']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.data).toBe(other);
    expect(report.perClass.map((c) => c.count)).toEqual(new Array(10).fill(10));
  });

  // The API's argument errors: exit 2, "Expected ... for <setting> but received <value>".
  it.each([
    [['--k', '0'], 'options.k', '0 of type number'],
    [['--k', '1.5'], 'options.k', '1.5 of type number'],
    [['--plot', path.join(tmp, 'x.svg'), '--max-points', '0'], 'options.maxPoints', '0 of type number'],
    [['--plot', path.join(tmp, 'x.gif')], 'options.out', `'${path.join(tmp, 'x.gif')}`],
  ])('%j: exit 2, naming %s', (flags, setting, received) => {
    const r = runCli(['eval', '--checkpoint', ckpt, '--out', path.join(tmp, 'reports', 'bad.json'), ...flags]);
    const line = r.stderr.split('\n').find((l) => l.startsWith('semihard: Expected '));
    expect(line).toContain(` for ${setting} but received ${received}`);
    expect(r.status).toBe(2);
  });

  // A value outside a flag's choices (the tuples evaluate() and plotEmbeddings() validate
  // against, written out here) is commander's error, exit 2, before anything is written.
  it.each([
    ['--device <d>', 'tpu', 'cpu, cuda, auto'],
    ['--method <m>', 'umap', 'tsne, pca'],
  ])('%s %s: exit 2, listing the choices', (flag, value, choices) => {
    const out = path.join(tmp, 'reports', `choice-${value}.json`);
    const picture = path.join(tmp, `choice-${value}.svg`);
    const r = runCli(['eval', '--checkpoint', ckpt, '--out', out, '--plot', picture, flag.split(' ')[0], value]);
    expect(r.stderr.split('\n')[0]).toBe(`error: option '${flag}' argument '${value}' is invalid. Allowed choices are ${choices}.`);
    expect(r.status).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(picture)).toBe(false);
  });

  it('a missing data folder, a missing checkpoint: exit 1 naming it; no --checkpoint: exit 2', () => {
    const missing = path.join(tmp, 'nothing-here');
    const noData = runCli(['eval', '--checkpoint', ckpt, '--data', missing, '--out', path.join(tmp, 'reports', 'none.json')]);
    expect(noData.status).toBe(1);
    expect(noData.stderr).toContain(`semihard: The image folder ${missing} does not exist`);
    const noCkpt = runCli(['eval', '--checkpoint', path.join(tmp, 'no.ckpt')]);
    expect(noCkpt.status).toBe(1);
    expect(noCkpt.stderr).toMatch(/semihard: Cannot read checkpoint .*no\.ckpt/);
    const noFlag = runCli(['eval']);
    expect(noFlag.status).toBe(2);
    expect(noFlag.stderr).toMatch(/required option '--checkpoint <file>' not specified/);
  }, testTimeout(3));

  it('an image-folder checkpoint: the folder\'s split embedded (cached or streamed), its class names in the report and picture', async () => {
    const photos = path.join(tmp, 'photos');
    await writeImageFolder(photos, { classes: 3, perClass: 10, layout: 'train-valid', validPerClass: 4 });
    const run = path.join(tmp, 'photo-run');
    await train({
      data: { imageFolder: photos, imageSize: 24, cacheBytes: 0 },
      batch: { classes: 3, perClass: 4 },
      model: { dim: 8 },
      phases: [{ epochs: 1, maxLr: 1e-2, freeze: 'none' }],
      device: 'cpu',
      threads: 1,
      checkpointDir: run,
      maxSteps: 4,
    });
    for (const streamed of [false, true]) {
      const picture = path.join(tmp, `photos-${streamed}.svg`);
      const args = ['eval', '--checkpoint', path.join(run, 'last.ckpt'), '--json', '--out', path.join(tmp, 'reports', `photos-${streamed}.json`), '--plot', picture, '--method', 'pca'];
      // --data names the folder itself: a default (a quarter of RAM) cache; the recorded source with cacheBytes 0 would stream.
      const r = runCli(streamed ? args : [...args, '--data', photos]);
      expectNoErrorText(r.stderr);
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout) as Report & { classNames: string[] };
      expect(report.classNames).toEqual(['class-0', 'class-1', 'class-2']);
      // The train/valid layout: valid/<class>/ holds 4 images of each class.
      expect(report.perClass.map((c) => [c.label, c.count])).toEqual([[0, 4], [1, 4], [2, 4]]);
      expect(report.plotPoints).toBe(12);
      expect(fs.readFileSync(picture, 'utf8')).toContain('class-2');
    }
  }, testTimeout(3));
});
