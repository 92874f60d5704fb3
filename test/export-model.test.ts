// exportModel() and `semihard export`: a checkpoint's network in a .safetensors that PyTorch
// loads with the README's own lines (run here exactly as the README shows them), giving the
// embeddings loadModel(c).embed() gives; after the frozen phase the export holds the starting
// file's convolutions bit for bit, after the unfrozen one every tensor has moved; an export
// used as pretrained weights starts the next run from its backbone with its own statistics.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { descriptionFile, exportModel, loadModel, readSafetensors, train, type TrainConfig } from '../lib';
import { readCheckpoint } from '../lib/checkpoint';
import { loadIdxDataset } from '../lib/data/datasets';
import type { TrainCheckpointHeader } from '../lib/train';
import { takePerClass, writeIdxDir } from './helpers/idx';
import { pretrainedRunConfig } from './helpers/pretrained-run';
import { referenceScripts, runPython } from './helpers/torch-reference';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-export-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const weights = path.join(tmp, 'weights');
const pth = path.join(weights, 'resnet18.pth');
const dataDir = path.join(tmp, 'digits');
const readmeBlock = path.join(tmp, 'readme.py');
const mnist = loadIdxDataset('mnist', 0);
const valid = takePerClass(mnist.valid, 2);
const count = valid.labels.length;

// The Python block of README.md between its export-python markers, as a user copies it.
function readmePython(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /<!-- export-python:start -->\n```python\n([\s\S]*?)```\n<!-- export-python:end -->/.exec(readme);
  if (!m) throw new Error('README.md has no ```python block between <!-- export-python:start --> and <!-- export-python:end -->');
  return m[1];
}

beforeAll(() => {
  runPython([path.join(referenceScripts, 'pretrained_resnet18.py'), weights]);
  writeIdxDir(dataDir, { train: takePerClass(mnist.train, 8), test: takePerClass(mnist.valid, 4) }, 28, false);
  fs.writeFileSync(readmeBlock, readmePython());
}, 600_000);

function config(name: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return pretrainedRunConfig({ dataDir, pth, checkpointDir: path.join(tmp, name), seed: 5 }, extra);
}

interface PythonReport {
  imageSize: [number, number];
  dim: number;
  same: string[];
  changed: string[];
}

/** The README's Python on `model`: its embeddings of the validation digits (as floats in [0, 1]) and its report. */
function python(model: string, original?: string): { embeddings: Float32Array; report: PythonReport } {
  const images = path.join(tmp, 'images.bin');
  const out = path.join(tmp, `out-${path.basename(model)}.bin`);
  fs.writeFileSync(images, Buffer.from(Float32Array.from(valid.images, (v) => v / 255).buffer));
  const stdout = runPython([path.join(referenceScripts, 'load_export.py'), readmeBlock, model, images, String(count), '1', '28', '28', out, ...(original ? [original] : [])]);
  const bytes = fs.readFileSync(out);
  return { embeddings: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), report: JSON.parse(stdout) as PythonReport };
}

// Unit-norm embeddings through ResNet-18 in float32 by two different builds (LibTorch 2.13 here,
// PyTorch 2.14 there; other convolution kernels and summation orders): each of ~20 layers adds a
// relative rounding error of about sqrt(K)·2⁻²⁴ for its K ≤ 4,608-term sums (≈ 4e-6), BatchNorm
// in eval mode is affine, so the embedding's error is ≲ 20 × 4e-6 ≈ 1e-4 relative at worst, far
// less in practice (the errors are random in sign); unit norm makes relative = absolute. 1e-4.
const ROUND_TRIP_TOLERANCE = 1e-4;

describe('exportModel', () => {
  it('after the frozen phase: the file\'s convolutions bit for bit, BatchNorm moved; the README\'s Python embeds as loadModel does', async () => {
    const r = await train(config('phase1', { maxSteps: 5 }));
    const out = path.join(tmp, 'phase1.safetensors');
    const exported = await exportModel(r.checkpoint, out);
    expect(exported.file).toBe(out);
    expect(exported.json).toBe(path.join(tmp, 'phase1.json'));
    const description = JSON.parse(fs.readFileSync(exported.json, 'utf8'));
    expect(description).toMatchObject({
      format: 'semihard-model', backbone: 'resnet18', stem: 'imagenet', pool: 'concat', headBatchNorm: true, dropout: 0.25,
      features: 1024, dim: 16, channels: 1, inputChannels: 3, imageSize: [28, 28], storedSize: [28, 28],
    });
    // float32 ImageNet statistics, as the network normalises.
    expect(description.mean).toEqual([0.485, 0.456, 0.406].map(Math.fround));
    const { metadata, tensors } = await readSafetensors(out);
    expect(JSON.parse(metadata.semihard)).toEqual(description);
    expect(tensors.map((t) => t.name)).toEqual(expect.arrayContaining(['conv1.weight', 'layer4.1.bn2.running_var', 'head.bn.weight', 'head.linear.weight']));

    const { embeddings, report } = python(out, pth);
    expect(report.imageSize).toEqual([28, 28]);
    const convolution = (n: string): boolean => /conv\d\.weight$|downsample\.0\.weight$/.test(n);
    expect(report.same.filter(convolution).length).toBe(20);
    expect(report.changed.filter(convolution)).toEqual([]);
    // Every BatchNorm weight, bias and running statistic moved (num_batches_tracked too).
    expect(report.changed.length).toBe(20 * 5);
    const model = await loadModel(r.checkpoint, { device: 'cpu' });
    const ours = await model.embed(valid.images, count);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - embeddings[i]));
    expect(worst).toBeLessThanOrEqual(ROUND_TRIP_TOLERANCE);
  }, 300_000);

  it('after both phases: every tensor moved, and Python still embeds as loadModel does', async () => {
    const r = await train(config('both'));
    const out = path.join(tmp, 'both.safetensors');
    await exportModel(r.checkpoint, out);
    const { embeddings, report } = python(out, pth);
    expect(report.same).toEqual([]);
    // 20 convolutions and 20 BatchNorms of 5 tensors each (fc.* is not compared).
    expect(report.changed.length).toBe(20 + 20 * 5);
    const model = await loadModel(r.checkpoint, { device: 'cpu' });
    const ours = await model.embed(valid.images, count);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - embeddings[i]));
    expect(worst).toBeLessThanOrEqual(ROUND_TRIP_TOLERANCE);

    // The export as the next run's pretrained weights: its backbone (head.* dropped), its input
    // channels and its normalisation.
    const next = await train(config('next', { model: { backbone: 'resnet18', dim: 8, pretrained: out }, maxSteps: 1 }));
    const { header } = await readCheckpoint<TrainCheckpointHeader>(next.checkpoint);
    expect(header.config.model).toMatchObject({ pretrained: out, inputChannels: 3 });
    const nextModel = await loadModel(next.checkpoint, { device: 'cpu' });
    expect(nextModel.normalisation).toEqual({ mean: model.normalisation.mean, std: model.normalisation.std });
  }, 300_000);

  it('refuses bad arguments and a checkpoint that is not one, naming them', async () => {
    await expect(exportModel('', 'x.safetensors')).rejects.toThrow(TypeError);
    await expect(exportModel('a.ckpt', 7 as unknown as string)).rejects.toThrow(/out/);
    await expect(exportModel('a.ckpt', 'a.ckpt')).rejects.toThrow(RangeError);
    await expect(exportModel('a.ckpt', 'x.safetensors', { colour: 1 } as never)).rejects.toThrow(/options\.colour/);
    const missing = path.join(tmp, 'missing.ckpt');
    await expect(exportModel(missing, path.join(tmp, 'm.safetensors'))).rejects.toMatchObject({ code: 'ERR_SEMIHARD_CHECKPOINT' });
    expect(fs.existsSync(path.join(tmp, 'm.safetensors'))).toBe(false);
    expect(descriptionFile('/a/model.safetensors')).toBe('/a/model.json');
    expect(descriptionFile('/a/model.bin')).toBe('/a/model.bin.json');
  });
});

describe('semihard export', () => {
  it('writes the file and its description, and exits 1 naming a missing checkpoint', async () => {
    const r = await train(config('cli', { maxSteps: 1 }));
    const cli = path.join(root, 'dist', 'lib', 'cli.js');
    const out = path.join(tmp, 'cli.safetensors');
    const ok = spawnSync(process.execPath, [cli, 'export', '--checkpoint', r.checkpoint, '--out', out], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`wrote ${out}`);
    expect(ok.stdout).toContain(`wrote ${path.join(tmp, 'cli.json')}`);
    expect((await readSafetensors(out)).metadata.format).toBe('pt');
    const bad = spawnSync(process.execPath, [cli, 'export', '--checkpoint', path.join(tmp, 'none.ckpt'), '--out', out], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(path.join(tmp, 'none.ckpt'));
  }, 120_000);
});
