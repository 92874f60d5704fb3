// The network's architecture against torchvision's: ResNet keys and shapes (both stems), the
// pooled features of torchvision's ResNet-18/34/50 with the same weights, the all-or-nothing
// weight loading, the frozen phase, and the backbone's learning-rate factor.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NativeNamedTensor, NativeTrainer, NativeTrainerOptions } from '../binding';
import { createEmbedder, createTrainer } from '../lib/binding';
import { readWeightFile } from '../lib/model/weight-file';
import { referenceScripts, runPython } from './helpers/torch-reference';

const ARCHS = ['resnet18', 'resnet34', 'resnet50'] as const;
type Arch = (typeof ARCHS)[number];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-architecture-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BATCH = 2;
const SIZE = 64;

interface IndexEntry {
  name: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  file: string;
}
interface ReferenceIndex {
  tensors: IndexEntry[];
  input: IndexEntry;
  avg: IndexEntry;
  concat: IndexEntry;
}

let keys: Record<Arch, [string, number[]][]>;

beforeAll(() => {
  // torchvision's keys and, for each architecture, its weights, an input and its pooled features.
  runPython([path.join(referenceScripts, 'resnet_features.py'), tmp, '7', String(BATCH), String(SIZE)]);
  keys = JSON.parse(fs.readFileSync(path.join(tmp, 'keys.json'), 'utf8'));
}, 600_000);

function reference(arch: Arch): { index: ReferenceIndex; read: (e: IndexEntry) => Uint8Array; tensors: () => NativeNamedTensor[] } {
  const dir = path.join(tmp, arch);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as ReferenceIndex;
  const read = (e: IndexEntry): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, e.file)));
  return { index, read, tensors: () => index.tensors.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, data: read(e) })) };
}

function float32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function trainer(arch: Arch | 'convnet', extra: Partial<NativeTrainerOptions> = {}): NativeTrainer {
  return createTrainer({
    backbone: arch, dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2',
    weightDecay: 0, gradClip: 0, augment: false, device: 'cpu', seed: 1, channels: 3, ...extra,
  });
}

const sortedKeys = (entries: [string, number[]][]): string[] => entries.map(([k, s]) => `${k} [${s.join(', ')}]`).sort();

describe('ResNet keys', () => {
  it.each(ARCHS.flatMap((a) => [[a, 'imagenet'], [a, 'small']] as const))(
    "%s (stem '%s'): the backbone's parameters and buffers are torchvision's state_dict keys and shapes (minus fc.*; the small stem's conv1 is 3 × 3)",
    async (arch, stem) => {
      const t = trainer(arch, { stem, pool: 'concat', headBatchNorm: true, dropout: 0.25 });
      const exported = await t.exportWeights();
      const body = exported.filter((e) => !e.name.startsWith('head.'));
      const expected = keys[arch]
        .filter(([k]) => !k.startsWith('fc.'))
        .map(([k, s]): [string, number[]] => [k, stem === 'small' && k === 'conv1.weight' ? [64, 3, 3, 3] : s]);
      expect(sortedKeys(body.map((e) => [e.name, e.shape]))).toEqual(sortedKeys(expected));
      expect(exported.find((e) => e.name === 'bn1.num_batches_tracked')).toMatchObject({ dtype: 'int64', shape: [] });
      const features = arch === 'resnet50' ? 4096 : 1024;
      expect(sortedKeys(exported.filter((e) => e.name.startsWith('head.')).map((e) => [e.name, e.shape]))).toEqual(
        sortedKeys([
          ['head.bn.weight', [features]], ['head.bn.bias', [features]], ['head.bn.running_mean', [features]],
          ['head.bn.running_var', [features]], ['head.bn.num_batches_tracked', []], ['head.linear.weight', [8, features]],
        ]),
      );
    },
  );
});

describe('features parity with torchvision', () => {
  it.each(ARCHS.flatMap((a) => [[a, 'pth'], ...(a === 'resnet18' ? [[a, 'safetensors'] as const] : [])] as const))(
    "%s: the pooled features of torchvision's weights read from its .%s (torch.save's / save_file's) on a fixed input, avg and concat, agree to 1e-4 of their scale",
    async (arch, format) => {
      const ref = reference(arch);
      const file = await readWeightFile(path.join(tmp, arch, `${arch}.${format}`));
      const t = trainer(arch, { stem: 'imagenet', pool: 'concat' });
      await t.loadBackboneWeights(file);
      const input = float32(ref.read(ref.index.input));
      const concat = t.pooledFeaturesForTesting(input, BATCH, 3, SIZE, SIZE);
      const expected = float32(ref.read(ref.index.concat));
      const avg = float32(ref.read(ref.index.avg));
      const features = avg.length / BATCH;
      expect(concat.length).toBe(expected.length);
      // Same weights, same input: only float32 rounding differs, in a different order (oneDNN's
      // or LibTorch's convolution kernels against PyTorch's). Each output is a chain of ~50
      // layers of sums of up to 3·3·512 = 4608 products; sumError(4608, Σ|terms|) is about
      // 6·68·6e-8 ≈ 2.4e-5 of a layer's Σ|terms|, and BatchNorm keeps each layer's scale near
      // the previous one's, so the error relative to the features' largest value stays well
      // under 1e-4 (what the brief's parity goal asks); a wrong layer (stride, padding, order)
      // moves features by their whole scale.
      let scale = 0;
      for (const v of expected) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(concat[i] - expected[i]));
      expect(worst / scale).toBeLessThan(1e-4);
      // The first half of each row is the average pool (avg ⊕ max).
      for (let r = 0; r < BATCH; r++) {
        for (let j = 0; j < features; j++) expect(expected[r * 2 * features + j]).toBe(avg[r * features + j]);
      }
      const avgOnly = trainer(arch, { stem: 'imagenet', pool: 'avg' });
      await avgOnly.loadBackboneWeights(file);
      const pooled = avgOnly.pooledFeaturesForTesting(input, BATCH, 3, SIZE, SIZE);
      expect(pooled.length).toBe(avg.length);
      let worstAvg = 0;
      for (let i = 0; i < avg.length; i++) worstAvg = Math.max(worstAvg, Math.abs(pooled[i] - avg[i]));
      expect(worstAvg / scale).toBeLessThan(1e-4);
    },
  );
});

describe('loading weights', () => {
  it('refuses, with one error listing every missing, unexpected and mis-shaped key, and leaves the network unchanged', async () => {
    const ref = reference('resnet18');
    const t = trainer('resnet18', { stem: 'imagenet' });
    const before = await t.exportWeights();
    const tensors = ref.tensors().filter((e) => e.name !== 'bn1.running_var' && e.name !== 'layer4.1.conv2.weight');
    tensors.push({ name: 'extra.weight', dtype: 'float32', shape: [2], data: new Uint8Array(8) });
    const conv1 = tensors.findIndex((e) => e.name === 'conv1.weight');
    tensors[conv1] = { name: 'conv1.weight', dtype: 'float32', shape: [64, 3, 3, 3], data: new Uint8Array(64 * 27 * 4) };
    const error = await t.loadBackboneWeights(tensors).then(() => null, (e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = error!.message;
    expect(message).toMatch(/missing \(2\): bn1\.running_var layer4\.1\.conv2\.weight/);
    expect(message).toMatch(/unexpected \(1\): extra\.weight/);
    expect(message).toMatch(/mis-shaped \(1\): conv1\.weight \(given \[64, 3, 3, 3\], the network's \[64, 3, 7, 7\]\)/);
    const after = await t.exportWeights();
    expect(after.map((e) => e.name)).toEqual(before.map((e) => e.name));
    after.forEach((e, i) => expect([e.name, Buffer.from(e.data).equals(Buffer.from(before[i].data))]).toEqual([e.name, true]));
  });

  it("resnet18's weights into a resnet34 list the missing blocks; resnet50's into a resnet18 the mis-shaped and unexpected ones", async () => {
    const r18 = reference('resnet18').tensors();
    const e34 = await trainer('resnet34', { stem: 'imagenet' }).loadBackboneWeights(r18).then(() => null, (e: Error) => e);
    expect(e34!.message).toContain('missing');
    expect(e34!.message).toContain('layer1.2.conv1.weight');
    expect(e34!.message).toContain('layer3.5.bn2.num_batches_tracked');
    expect(e34!.message).not.toContain('unexpected');
    const r50 = reference('resnet50').tensors();
    const e18 = await trainer('resnet18', { stem: 'imagenet' }).loadBackboneWeights(r50).then(() => null, (e: Error) => e);
    expect(e18!.message).toContain("layer1.0.conv1.weight (given [64, 64, 1, 1], the network's [64, 64, 3, 3])");
    expect(e18!.message).toMatch(/unexpected \(\d+\):.* layer1\.0\.conv3\.weight/);
  });

  it('loads exactly: the exported backbone is the file, values and dtypes (num_batches_tracked int64)', async () => {
    const ref = reference('resnet18');
    const t = trainer('resnet18', { stem: 'imagenet' });
    await t.loadBackboneWeights(ref.tensors());
    const exported = new Map((await t.exportWeights()).map((e) => [e.name, e]));
    for (const e of ref.tensors()) {
      if (e.name.startsWith('fc.')) continue;
      const got = exported.get(e.name)!;
      expect([e.name, got.dtype, got.shape]).toEqual([e.name, e.dtype, e.shape]);
      expect([e.name, Buffer.from(got.data).equals(Buffer.from(e.data))]).toEqual([e.name, true]);
    }
  });
});

describe('the binding', () => {
  it('checks only what protects memory: an array of objects, a known dtype, shapes of safe integers, data of shape × dtype bytes', async () => {
    const t = trainer('resnet18', { stem: 'small' });
    const good = { name: 'conv1.weight', dtype: 'float32', shape: [64, 3, 3, 3], data: new Uint8Array(64 * 27 * 4) } as const;
    const refused = (tensors: unknown): unknown => {
      try {
        void t.loadBackboneWeights(tensors as NativeNamedTensor[]);
      } catch (err) {
        return err;
      }
      throw new Error('accepted');
    };
    expect(refused({})).toMatchObject({ name: 'TypeError', argument: 'tensors' });
    expect(refused([5])).toMatchObject({ name: 'TypeError', argument: 'tensors[0]' });
    expect(refused([{ ...good, name: 5 }])).toMatchObject({ name: 'TypeError', argument: 'tensors[0].name' });
    expect(refused([{ ...good, dtype: 'complex64' }])).toMatchObject({ name: 'RangeError', argument: 'tensors[0].dtype' });
    expect(refused([good, { ...good, shape: [64, -3] }])).toMatchObject({ name: 'RangeError', argument: 'tensors[1].shape' });
    expect(refused([{ ...good, shape: [64, 1.5] }])).toMatchObject({ name: 'RangeError', argument: 'tensors[0].shape' });
    expect(refused([{ ...good, data: new Float32Array(64 * 27) }])).toMatchObject({ name: 'TypeError', argument: 'tensors[0].data' });
    expect(refused([{ ...good, data: new Uint8Array(64 * 27 * 4 - 1) }])).toMatchObject({
      name: 'RangeError',
      argument: 'tensors[0].data',
      message: 'Expected tensors[0].data to hold 1728 float32 values (6912 bytes) but it holds 6911 bytes',
    });
    expect(refused([{ ...good, dtype: 'int64' }])).toMatchObject({ name: 'RangeError', argument: 'tensors[0].data' });
    // None of them left the trainer busy.
    await t.loadBackboneWeights((await t.exportWeights()).filter((e) => !e.name.startsWith('head.')));
  });

  it("an Embedder built from a trainer's state exports the trainer's weights", async () => {
    const t = trainer('resnet34', { stem: 'imagenet', pool: 'concat', headBatchNorm: true, dropout: 0.25 });
    t.setData({ train: { images: new Uint8Array(2 * 8 * 8 * 3), labels: Int32Array.from([0, 1]) }, valid: null, geometry: { channels: 3, storedHeight: 8, storedWidth: 8, height: 8, width: 8 }, normalisation: null });
    const embedder = await createEmbedder(
      { backbone: 'resnet34', dim: 8, stem: 'imagenet', pool: 'concat', headBatchNorm: true, dropout: 0.25, channels: 3, device: 'cpu' },
      await t.saveState(),
    );
    const a = await t.exportWeights();
    const b = await embedder.exportWeights();
    expect(b.map((e) => [e.name, e.dtype, e.shape])).toEqual(a.map((e) => [e.name, e.dtype, e.shape]));
    b.forEach((e, i) => expect([e.name, Buffer.from(e.data).equals(Buffer.from(a[i].data))]).toEqual([e.name, true]));
  });
});

describe('states of an older semihard', () => {
  it('a ResNet state of format 1 (semihard\'s own ResNet layout) is refused with a clear error; the network is unchanged', async () => {
    const saved = trainer('resnet18', { stem: 'small' });
    const file = path.join(tmp, 'state-format-2.bin');
    fs.writeFileSync(file, await saved.saveState());
    // The same state stamped with format 1 (its first record), as states were before torchvision's names.
    runPython([path.join(referenceScripts, 'restamp_state.py'), file, path.join(tmp, 'state-format-1.bin'), '1']);
    const t = trainer('resnet18', { stem: 'small', seed: 2 });
    const before = await t.exportWeights();
    await expect(t.loadState(fs.readFileSync(path.join(tmp, 'state-format-1.bin')))).rejects.toThrow(
      "the state was saved by an older semihard with another ResNet layout (before torchvision's names); this semihard cannot load it: train the network again",
    );
    const after = await t.exportWeights();
    after.forEach((e, i) => expect([e.name, Buffer.from(e.data).equals(Buffer.from(before[i].data))]).toEqual([e.name, true]));
    // The format-2 original loads.
    await t.loadState(fs.readFileSync(file));
    expect(Buffer.from((await t.exportWeights())[0].data).equals(Buffer.from((await saved.exportWeights())[0].data))).toBe(true);
  });
});

describe('phases', () => {
  // 16 random 3-channel 16 × 16 images of 4 classes: a batch of 16.
  const count = 16;
  const pixels = new Uint8Array(count * 16 * 16 * 3).map((_, i) => (i * 2654435761) >>> 24);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 4);
  const indices = Int32Array.from({ length: count }, (_, i) => i);
  function ready(extra: Partial<NativeTrainerOptions> = {}): NativeTrainer {
    const t = trainer('resnet18', { stem: 'small', pool: 'concat', headBatchNorm: true, dropout: 0.25, lossKind: 'hard', ...extra });
    t.setData({ train: { images: pixels, labels }, valid: null, geometry: { channels: 3, storedHeight: 16, storedWidth: 16, height: 16, width: 16 }, normalisation: null });
    return t;
  }
  const snapshot = (t: NativeTrainer): Map<string, Float32Array> => new Map(t.parameterInfo().map((p) => [p.name, t.getParameter(p.name)]));
  const same = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

  it('phase 1 moves only BatchNorm layers and the head (head BatchNorm included); phase 2 moves everything', async () => {
    const t = ready();
    const info = t.parameterInfo();
    expect(info.filter((p) => p.name.startsWith('head.')).map((p) => [p.name, p.group])).toEqual([
      ['head.bn.weight', 'head'], ['head.bn.bias', 'head'], ['head.linear.weight', 'head'],
    ]);
    expect(info.find((p) => p.name === 'backbone.layer2.0.downsample.1.weight')).toMatchObject({ group: 'batchnorm' });
    expect(info.find((p) => p.name === 'backbone.layer2.0.downsample.0.weight')).toMatchObject({ group: 'backbone' });
    t.beginPhase('backbone', 1e-2, 1);
    expect(t.parameterInfo().map((p) => [p.name, p.requiresGrad])).toEqual(info.map((p) => [p.name, p.group !== 'backbone']));
    const before = snapshot(t);
    await t.run('train', indices, count);
    const after = snapshot(t);
    for (const p of info) expect([p.name, !same(before.get(p.name)!, after.get(p.name)!)]).toEqual([p.name, p.group !== 'backbone']);
    t.beginPhase('none', 1e-3, 1);
    await t.run('train', indices, count);
    const unfrozen = snapshot(t);
    for (const p of info) expect([p.name, same(after.get(p.name)!, unfrozen.get(p.name)!)]).toEqual([p.name, false]);
  });

  it.each([0.1, 1, 3])("backboneLrFactor %p: the backbone's first AdamW step is the factor × the head's", async (factor) => {
    // AdamW's first step (weight decay 0) moves each weight by lr · m̂ / (√v̂ + ε) with m̂ = g and
    // v̂ = g² (bias-corrected): Δ = lr · g / (|g| + 1e-8), i.e. ±lr wherever |g| ≫ 1e-8, with lr
    // the head's rate and factor × it for the body (its BatchNorm layers included). g comes from
    // computeGradients on the same batch (no augmentation, no dropout: the step's own gradient).
    // Rounding: Δ's few operations (≤ 8u·|Δ|) and p − Δ's (half an ulp of the larger of the two
    // weights, ≤ u·max|p|), u = 2^-24.
    const t = ready({ dropout: 0 });
    t.beginPhase('none', 1e-3, 10, factor);
    // The head, and a sample of the body's layers (reading all 11 M weights takes seconds).
    const names = t.parameterInfo().map((p) => p.name).filter((n) => n.startsWith('head.') || /^backbone\.(conv1|bn1|layer1\.0\.\w+|layer4\.1\.bn2)\.weight$/.test(n));
    expect(names.filter((n) => n.startsWith('backbone.'))).toHaveLength(7);
    const snapshot = (): Map<string, Float32Array> => new Map(names.map((n) => [n, t.getParameter(n)]));
    const { gradients } = await t.computeGradients(indices);
    const before = snapshot();
    const run = await t.run('train', indices, count);
    const lr = run.lrs[0];
    const after = snapshot();
    const u = 2 ** -24;
    let moved = 0;
    for (const name of names) {
      const rate = name.startsWith('backbone.') ? factor * lr : lr;
      const g = gradients[name];
      const b = before.get(name)!;
      const a = after.get(name)!;
      let worst = 0;
      for (let i = 0; i < a.length; i++) {
        const predicted = (rate * g[i]) / (Math.abs(g[i]) + 1e-8);
        const tolerance = 8 * u * Math.abs(predicted) + u * Math.max(Math.abs(a[i]), Math.abs(b[i]));
        worst = Math.max(worst, Math.abs(b[i] - a[i] - predicted) / tolerance);
        if (Math.abs(predicted) > 0.5 * rate) moved++;
      }
      expect([name, worst <= 1]).toEqual([name, true]);
    }
    expect(moved).toBeGreaterThan(1000);
  });
});
