// loadModel(): the native inference Embedder against the trainer whose state it loads, its
// embeddings' properties, its argument errors, and the files it refuses.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NativeBinding } from '../binding';
import { info, loadModel, train, type Model } from '../lib';
import { addonPath, createTrainer } from '../lib/binding';
import { encodeCheckpoint, readCheckpoint } from '../lib/checkpoint';
import { loadIdxDataset } from '../lib/data/datasets';
import { nativeTrainerOptions, upgradeConfig, type TrainCheckpointHeader } from '../lib/train';
import { takePerClass } from './helpers/idx';
import { smallTrainConfig, writeSmallDigits } from './helpers/small-training';
import { UNIT_NORM_TOLERANCE } from './helpers/tolerance';
import { expectIdentical } from './helpers/expect';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require(addonPath()) as NativeBinding;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-model-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mnist = loadIdxDataset('mnist', 0);
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const DIM = 32; // smallTrainConfig's model.dim
// More images than one native chunk (1024, native/core/model_state.cc): both chunks are compared.
const COUNT = 1030;
const images = mnist.valid.images.subarray(0, COUNT * PIXELS);

let file: string;
let header: TrainCheckpointHeader;
let state: Buffer;
let model: Model;

beforeAll(async () => {
  const dataDir = path.join(tmp, 'digits');
  writeSmallDigits(dataDir);
  // A few steps into phase 2 (each epoch has 600 / 32 = 18 batches), so that the backbone,
  // the head and the BatchNorm statistics have all moved from their initial values.
  const result = await train({ ...smallTrainConfig(dataDir, path.join(tmp, 'run'), 2), maxSteps: 24 });
  file = result.checkpoint;
  ({ header, state } = await readCheckpoint<TrainCheckpointHeader>(file));
  model = await loadModel(file, { device: 'cpu' });
}, 300_000);


describe('loadModel().embed() against the trainer', () => {
  // Both run the same float32 operations (native/core/model_state.cc: the same normalisation,
  // network and chunks) in the same order, in one process at one thread count, on the same
  // weights: their embeddings must be bit for bit the same, so no tolerance is allowed.
  it('equals the embeddings of a Trainer restored from the checkpoint (createTrainer + loadState)', async () => {
    const trainer = createTrainer({ ...nativeTrainerOptions(upgradeConfig(header.config)), device: 'cpu' });
    await trainer.loadState(state, false);
    const expected = await trainer.embed(images, COUNT);
    expect(expected.length).toBe(COUNT * DIM);
    expectIdentical(await model.embed(images, COUNT), expected);
  });

  it('equals the embeddings of the trainer that saved the state, before any loading', async () => {
    // A trainer that learns a few steps of its own, embeds in memory, then saves: the
    // embedder sees only the saved bytes.
    const trainer = createTrainer({ ...nativeTrainerOptions(upgradeConfig(header.config)), device: 'cpu', seed: 5 });
    const set = takePerClass(mnist.train, 8);
    trainer.setData({ train: { images: set.images, labels: Int32Array.from(set.labels) }, valid: null, geometry: { channels: 1, storedHeight: SIDE, storedWidth: SIDE, height: SIDE, width: SIDE }, normalisation: null });
    trainer.beginPhase('none', 1e-3, 4);
    const indices = Int32Array.from({ length: 4 * 16 }, (_, i) => (i * 7) % set.labels.length);
    await trainer.run('train', indices, 16);
    const expected = await trainer.embed(images, COUNT);
    const own = path.join(tmp, 'own.ckpt');
    fs.writeFileSync(own, encodeCheckpoint(header, await trainer.saveState()));
    const loaded = await loadModel(own, { device: 'cpu' });
    expectIdentical(await loaded.embed(images, COUNT), expected);
    // And not by accident: this network is not the checkpoint's.
    const other = await model.embed(images, COUNT);
    expect(other.some((v, i) => v !== expected[i])).toBe(true);
  });
});

describe('loadModel().embed()', () => {
  it('describes the network from the checkpoint', () => {
    expect(model.dim).toBe(DIM);
    expect([model.height, model.width]).toEqual([SIDE, SIDE]);
    expect(model.classNames).toEqual(header.dataset.classNames);
    expect(model.checkpoint.kind).toBe('semihard-train');
  });

  it('gives rows of unit norm', async () => {
    const out = await model.embed(images, COUNT);
    for (let r = 0; r < COUNT; r++) {
      let sq = 0;
      for (let k = 0; k < DIM; k++) sq += out[r * DIM + k] ** 2;
      // UNIT_NORM_TOLERANCE bounds rows of up to 128 entries; these have 32.
      expect(Math.abs(Math.sqrt(sq) - 1)).toBeLessThanOrEqual(UNIT_NORM_TOLERANCE);
    }
  });

  it('is deterministic', async () => {
    const some = images.subarray(0, 200 * PIXELS);
    expectIdentical(await model.embed(some, 200), await model.embed(some, 200));
  });

  it('gives Uint8Array pixels and the same pixels as Float32Array 0..1 the same embeddings', async () => {
    const count = 50;
    const bytes = images.subarray(0, count * PIXELS);
    const floats = Float32Array.from(bytes, (v) => v / 255);
    // The native side turns a byte v into float32 v / 255 (one correctly rounded division). The
    // Float32Array holds v / 255 rounded to double, then to float32: the same value unless the
    // double lands on a float32 tie. Checked here exactly (each product below is exact in
    // double): the stored value is the float32 nearest v / 255. So the inputs are equal, and so
    // must the embeddings be.
    for (let v = 0; v < 256; v++) {
      const f = Math.fround(v / 255);
      if (f === 0) continue; // v = 0: exact
      const exponent = Math.floor(Math.log2(f));
      const up = f + 2 ** (exponent - 23); // the neighbouring float32s (below a power of two they are closer)
      const down = f - 2 ** (f === 2 ** exponent ? exponent - 24 : exponent - 23);
      expect(Math.abs(f * 255 - v)).toBeLessThanOrEqual(Math.abs(up * 255 - v));
      expect(Math.abs(f * 255 - v)).toBeLessThanOrEqual(Math.abs(down * 255 - v));
    }
    expectIdentical(await model.embed(floats, count), await model.embed(bytes, count));
  });

  it('runs calls made together one after another, on the images as they were when called', async () => {
    const a = images.slice(0, 20 * PIXELS);
    const b = images.slice(20 * PIXELS, 40 * PIXELS);
    const [ea, eb] = [await model.embed(a, 20), await model.embed(b, 20)];
    const first = model.embed(a, 20);
    const second = model.embed(b, 20);
    b.fill(0); // after the call: the queued call embeds the images it was given
    const [ca, cb] = await Promise.all([first, second]);
    expectIdentical(ca, ea);
    expectIdentical(cb, eb);
  });

  it('refuses bad arguments with the argument named', async () => {
    await expect(model.embed([1, 2] as unknown as Uint8Array, 1)).rejects.toMatchObject({
      name: 'TypeError',
      argument: 'images',
      message: 'Expected a Uint8Array or Float32Array for images but received an Array of length 2',
    });
    await expect(model.embed(images.subarray(0, PIXELS), 2)).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'images',
      message: `Expected images.length to be count × 28 × 28 = ${2 * PIXELS} but received ${PIXELS}`,
    });
    await expect(model.embed(images.subarray(0, PIXELS), 0)).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'count',
      message: 'Expected a positive integer for count but received 0 of type number',
    });
    await expect(model.embed(images.subarray(0, PIXELS), '1' as unknown as number)).rejects.toMatchObject({
      name: 'TypeError',
      argument: 'count',
    });
  });
});

describe('loadModel() arguments', () => {
  it('names the argument and what was expected', async () => {
    await expect(loadModel('')).rejects.toMatchObject({
      name: 'TypeError',
      argument: 'checkpoint',
      message: "Expected a file path for checkpoint but received '' of type string",
    });
    await expect(loadModel(file, { device: 'tpu' as 'cpu' })).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'options.device',
      message: "Expected one of 'cpu', 'cuda', 'auto' for options.device but received 'tpu' of type string",
    });
    await expect(loadModel(file, { devise: 'cpu' } as unknown as { device: 'cpu' })).rejects.toMatchObject({
      name: 'TypeError',
      argument: 'options.devise',
    });
    await expect(loadModel(file, 'cpu' as unknown as { device: 'cpu' })).rejects.toMatchObject({ name: 'TypeError', argument: 'options' });
  });

  const noCuda = !info().cudaAvailable;
  (noCuda ? it : it.skip)('refuses device cuda where there is none, as the caller\'s error (not the file\'s)', async () => {
    await expect(loadModel(file, { device: 'cuda' })).rejects.toMatchObject({
      name: 'RangeError',
      message: expect.stringContaining("Expected a usable CUDA device for device 'cuda'"),
    });
  });
});

describe('loadModel() refuses what is not a training checkpoint', () => {
  const write = (name: string, bytes: Uint8Array | string): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, bytes);
    return p;
  };
  const refused = async (p: string, why: RegExp): Promise<void> => {
    await expect(loadModel(p, { device: 'cpu' })).rejects.toMatchObject({ name: 'SemihardError', code: 'ERR_SEMIHARD_CHECKPOINT' });
    const err = (await loadModel(p, { device: 'cpu' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(p);
    expect(err.message).toMatch(why);
  };

  it('a missing file', async () => {
    await refused(path.join(tmp, 'nowhere', 'last.ckpt'), /Cannot read checkpoint .*ENOENT/);
  });

  it('a file of random bytes', async () => {
    const bytes = new Uint8Array(4096);
    let x = 12345; // a fixed linear congruential sequence: the same bytes on every run
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    await refused(write('random.bin', bytes), /does not start with a semihard checkpoint header/);
  });

  it('a truncated checkpoint', async () => {
    const whole = fs.readFileSync(file);
    await refused(write('truncated.ckpt', whole.subarray(0, Math.floor(whole.length / 2))), /checksum does not match/);
    await refused(write('header-only.ckpt', whole.subarray(0, 20)), /does not start with a semihard checkpoint header/);
  });

  it('a JSON file, a zip file and an empty file', async () => {
    await refused(write('config.json', JSON.stringify({ kind: 'semihard-train', config: header.config })), /does not start with/);
    // The smallest zip archive there is: an end-of-central-directory record and no entries.
    await refused(write('empty.zip', Uint8Array.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)])), /does not start with/);
    await refused(write('empty.ckpt', ''), /does not start with/);
  });

  it('a sound semihard checkpoint of another kind', async () => {
    const p = write('other-kind.ckpt', encodeCheckpoint({ ...header, kind: 'semihard-lr-find' }, state));
    await refused(p, /is not a training checkpoint/);
  });

  it('a training checkpoint whose network this semihard cannot build', async () => {
    const config = { ...header.config, model: { ...header.config.model, backbone: 'vgg16' } };
    await refused(write('vgg.ckpt', encodeCheckpoint({ ...header, config } as unknown as TrainCheckpointHeader, state)), /cannot build.*vgg16/);
  });

  it('a training checkpoint whose state is not a network state', async () => {
    await refused(write('garbage-state.ckpt', encodeCheckpoint(header, Buffer.from('not a LibTorch archive'))), /holds no loadable network/);
  });

  it('a training checkpoint whose state is another network (another width)', async () => {
    const config = { ...header.config, model: { ...header.config.model, dim: 16 } };
    const trainer = createTrainer({ ...nativeTrainerOptions(upgradeConfig(config)), device: 'cpu' });
    const set = takePerClass(mnist.train, 2);
    trainer.setData({ train: { images: set.images, labels: Int32Array.from(set.labels) }, valid: null, geometry: { channels: 1, storedHeight: SIDE, storedWidth: SIDE, height: SIDE, width: SIDE }, normalisation: null });
    const p = write('other-width.ckpt', encodeCheckpoint(header, await trainer.saveState()));
    await refused(p, /holds no loadable network: the state's head\.linear\.weight has shape \[16, 128\] but this network's has \[32, 128\]/);
  });
});

describe('the raw embedder (native/binding/embedder_binding.cc)', () => {
  const options = { backbone: 'convnet', dim: DIM, device: 'cpu' } as const;

  it('re-checks only kinds, enumeration names and lengths: options, backbone, state, images, count', async () => {
    expect(() => addon.createEmbedder(options, [1, 2, 3] as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'state' }),
    );
    expect(() => addon.createEmbedder(null as unknown as typeof options, state)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'options' }),
    );
    expect(() => addon.createEmbedder({ ...options, backbone: 'vgg16' as 'convnet' }, state)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.backbone' }),
    );
    const embedder = await addon.createEmbedder(options, state);
    expect(() => embedder.embed(new Int16Array(PIXELS) as unknown as Uint8Array, 1)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'images' }),
    );
    expect(() => embedder.embed(new Uint8Array(PIXELS - 1), 1)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'images' }));
    expect(() => embedder.embed(new Uint8Array(PIXELS), 0)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'count' }));
  });

  it('runs one job at a time', async () => {
    const embedder = await addon.createEmbedder(options, state);
    const first = embedder.embed(images.subarray(0, 10 * PIXELS), 10);
    expect(() => embedder.embed(images.subarray(0, PIXELS), 1)).toThrow(expect.objectContaining({ code: 'ERR_SEMIHARD_BUSY' }));
    expect((await first).length).toBe(10 * DIM);
  });

  it('rejects a state that is not one, as a LibTorch error', async () => {
    await expect(addon.createEmbedder(options, Buffer.from('garbage'))).rejects.toMatchObject({ code: 'ERR_SEMIHARD_TORCH' });
  });
});
