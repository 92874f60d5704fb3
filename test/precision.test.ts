// precision: 'bf16' and 'fp16' (autocast on the network's forward; the loss, weights,
// gradients and optimiser in float32; fp16 with a dynamic gradient scaler) on the CPU. The
// forward is checked against PyTorch's own torch.autocast('cpu') running the exported network
// through the README's Python lines; resumption stays exact; the option is validated.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PRECISIONS, exportModel, loadModel, train, type TrainConfig } from '../lib';
import { createTrainer } from '../lib/binding';
import { readCheckpoint, writeCheckpoint } from '../lib/checkpoint';
import { loadIdxDataset } from '../lib/data/datasets';
import type { TrainCheckpointHeader } from '../lib/train';
import { takePerClass, writeIdxDir } from './helpers/idx';
import { referenceScripts, runPython } from './helpers/torch-reference';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-precision-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const dataDir = path.join(tmp, 'digits');
const readmeBlock = path.join(tmp, 'readme.py');
const mnist = loadIdxDataset('mnist', 0);
const valid = takePerClass(mnist.valid, 2);
const count = valid.labels.length;

beforeAll(() => {
  // 20 train and 2 validation digits a class: each run validates once, on 20 images.
  writeIdxDir(dataDir, { train: takePerClass(mnist.train, 20), test: valid }, 28, false);
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /<!-- export-python:start -->\n```python\n([\s\S]*?)```\n<!-- export-python:end -->/.exec(readme);
  if (!m) throw new Error('README.md has no export-python block');
  fs.writeFileSync(readmeBlock, m[1]);
});

// The convnet (cheap on 2 cores; fp16 is emulated on this CPU), or ResNet-18 with ImageNet's
// stem (28×28 becomes 7×7 at once) and fastai's head where the forward is compared.
function config(name: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    data: { idxDir: dataDir },
    model: { backbone: 'convnet', dim: 16 },
    batch: { classes: 4, perClass: 4 },
    phases: [{ epochs: 1, maxLr: 1e-3, freeze: 'none' }],
    seed: 3,
    device: 'cpu',
    threads: 2,
    checkpointDir: path.join(tmp, name),
    ...extra,
  };
}

function pythonEmbeddings(model: string, precision: string): Float32Array {
  const images = path.join(tmp, 'images.bin');
  const out = path.join(tmp, `out-${precision}.bin`);
  fs.writeFileSync(images, Buffer.from(Float32Array.from(valid.images, (v) => v / 255).buffer));
  runPython([path.join(referenceScripts, 'autocast_embed.py'), readmeBlock, model, images, String(count), '1', '28', '28', precision, out]);
  const bytes = fs.readFileSync(out);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('precision', () => {
  it("is one of PRECISIONS: train(), lrFind's shared check and loadModel refuse others naming the option", async () => {
    expect(PRECISIONS).toEqual(['fp32', 'bf16', 'fp16']);
    await expect(train({ ...config('bad'), precision: 'fp64' as never })).rejects.toThrow(RangeError);
    await expect(train({ ...config('bad'), precision: 'fp64' as never })).rejects.toThrow(
      "Expected one of 'fp32', 'bf16', 'fp16' for config.precision but received 'fp64' of type string",
    );
    await expect(train({ ...config('bad'), precision: 16 as never })).rejects.toThrow(TypeError);
    await expect(train({ ...config('bad'), precision: 16 as never })).rejects.toThrow(
      "Expected one of 'fp32', 'bf16', 'fp16' for config.precision but received 16 of type number",
    );
    await expect(loadModel(path.join(tmp, 'none.ckpt'), { precision: 'half' as never })).rejects.toThrow(
      "Expected one of 'fp32', 'bf16', 'fp16' for options.precision but received 'half' of type string",
    );
  });

  // Unit-norm embeddings of ResNet-18 (20 layers that round to the lower precision) computed by
  // LibTorch 2.13 here and PyTorch 2.14 there, both with oneDNN's kernels accumulating in
  // float32: where the two round an intermediate differently it differs by one unit in its last
  // place, 2^-8 relative for bfloat16 (8 significant bits), 2^-11 for float16. Such a difference
  // passes through the later layers (BatchNorm in eval mode is affine, ReLU 1-Lipschitz) and
  // through the normalisation, so L = 20 layers bound an entry's difference by about L × ulp:
  // 20 × 2^-8 ≈ 0.08 (bf16), 20 × 2^-11 ≈ 0.01 (fp16). Rounding differences are rare and of
  // random sign, so the measured difference is far smaller; the bound is what is asserted. The
  // forward must also have run in the lower precision: against PyTorch's float32 forward, the
  // bf16 embeddings differ by more than float32's rounding could (1e-4, test/export-model's bound).
  it('bf16 and fp16 embed as PyTorch autocast on the CPU does with the same exported weights', async () => {
    const r = await train(config('embed', { maxSteps: 2, model: { backbone: 'resnet18', stem: 'imagenet', dim: 16 } }));
    const file = path.join(tmp, 'embed.safetensors');
    await exportModel(r.checkpoint, file);
    const images = Uint8Array.from(valid.images);
    const ours: Record<string, Float32Array> = {};
    for (const precision of PRECISIONS) {
      const model = await loadModel(r.checkpoint, { device: 'cpu', precision });
      ours[precision] = await model.embed(images, count);
    }
    const layers = 20;
    const theirs32 = pythonEmbeddings(file, 'fp32');
    expect(maxAbsDifference(ours.fp32, theirs32)).toBeLessThan(1e-4);
    expect(maxAbsDifference(ours.bf16, pythonEmbeddings(file, 'bf16'))).toBeLessThan(layers * 2 ** -8);
    expect(maxAbsDifference(ours.fp16, pythonEmbeddings(file, 'fp16'))).toBeLessThan(layers * 2 ** -11);
    // Both reduced precisions really ran (a no-op autocast would pass the bounds above).
    expect(maxAbsDifference(ours.bf16, theirs32)).toBeGreaterThan(1e-4);
    expect(maxAbsDifference(ours.fp16, theirs32)).toBeGreaterThan(1e-5);
  }, 300_000);

  // One batch's loss and gradients, without a step, from the same initial weights (same
  // seed), in each precision. fp16 scales the loss by 65,536 before backward and unscales the
  // gradients after it: computeGradients must return the gradient itself. An untrained
  // network's embeddings are nearly collapsed (the loss is about the margin), so semi-hard
  // mining chooses among near-tied negatives and a rounding can switch the choice: the
  // gradients then differ element by element far beyond rounding, but not in size (the
  // active terms are as many), so their norms are compared (a missing or doubled unscale is a
  // factor of 65,536). The loss is continuous in the distances: the 6 layers' roundings
  // (unit roundoff u = 2^-9 for bf16, 2^-12 for fp16) move a unit embedding's entry by at
  // most 6u relative, a 16-wide embedding by 4 × 6u, a distance by twice that and a
  // term margin + d(a, p) − d(a, n) by twice again: |Δloss| ≤ 2 × 2 × 4 × 6u.
  it('computeGradients gives the unscaled gradient; the loss within the lower precision of float32\'s', async () => {
    const batch = takePerClass(mnist.train, 4);
    const n = batch.labels.length;
    const options = (precision: 'fp32' | 'bf16' | 'fp16') => ({
      backbone: 'convnet' as const, dim: 16, lossKind: 'semihard' as const, margin: 1, soft: false, distance: 'L2' as const,
      weightDecay: 0.01, gradClip: 0, augment: false, device: 'cpu' as const, seed: 9, precision,
    });
    const results: Record<string, { loss: number; norm: number }> = {};
    for (const precision of PRECISIONS) {
      const trainer = createTrainer(options(precision));
      trainer.setData({
        train: { images: Uint8Array.from(batch.images), labels: Int32Array.from(batch.labels) },
        valid: null,
        geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 },
        normalisation: null,
      });
      trainer.beginPhase('none', 1e-3, 10);
      const { gradients, loss } = await trainer.computeGradients(Int32Array.from({ length: n }, (_, i) => i));
      let squares = 0;
      for (const g of Object.values(gradients)) for (const v of g) squares += v * v;
      results[precision] = { loss, norm: Math.sqrt(squares) };
    }
    const unit = { bf16: 2 ** -9, fp16: 2 ** -12 };
    for (const precision of ['bf16', 'fp16'] as const) {
      expect(Math.abs(results[precision].loss - results.fp32.loss)).toBeLessThan(2 * 2 * 4 * 6 * unit[precision]);
      const ratio = results[precision].norm / results.fp32.norm;
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    }
  }, 120_000);

  it.each(['bf16', 'fp16'] as const)('%s: a run resumed from its checkpoint is the uninterrupted run', async (precision) => {
    const whole = await train(config(`whole-${precision}`, { precision, maxSteps: 4 }));
    await train(config(`parts-${precision}`, { precision, maxSteps: 2 }));
    const parts = await train(config(`parts-${precision}`, { precision, maxSteps: 4, resume: true }));
    const losses = (h: typeof whole.history): number[] => h.flatMap((e) => e.stepLosses);
    expect(losses(parts.history)).toEqual(losses(whole.history));
    expect(losses(whole.history).every(Number.isFinite)).toBe(true);
    const images = Uint8Array.from(valid.images.subarray(0, 4 * 784));
    const a = await (await loadModel(whole.checkpoint, { device: 'cpu', precision })).embed(images, 4);
    const b = await (await loadModel(parts.checkpoint, { device: 'cpu', precision })).embed(images, 4);
    expect(Array.from(b)).toEqual(Array.from(a));
  }, 300_000);

  it('a checkpoint resumes only with its own precision; one from before precision existed is fp32', async () => {
    const r = await train(config('switch', { precision: 'bf16', maxSteps: 1 }));
    await expect(train(config('switch', { maxSteps: 2, resume: true }))).rejects.toThrow(
      `Checkpoint ${r.checkpoint} cannot be resumed with this configuration: precision was "bf16" in the checkpoint but is "fp32" now`,
    );
    // The same checkpoint as an older semihard wrote it (no precision in its configuration).
    const { header, state } = await readCheckpoint<TrainCheckpointHeader>(r.checkpoint);
    const { precision: _, ...older } = header.config;
    await writeCheckpoint(r.checkpoint, { ...header, config: older as TrainCheckpointHeader['config'] }, state);
    await expect(train(config('switch', { precision: 'bf16', maxSteps: 2, resume: true }))).rejects.toThrow('precision was "fp32" in the checkpoint');
    const resumed = await train(config('switch', { maxSteps: 2, resume: true }));
    expect(resumed.steps).toBe(1);
  }, 300_000);
});
