// Model.embed(files): encoded images (paths and Buffers) embedded as their pixels are, the
// geometry getters, progress, errors naming the image, and argument errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadModel, train, type Model } from '../lib';
import { encodeCheckpoint, readCheckpoint } from '../lib/checkpoint';
import { loadDataset } from '../lib/data/datasets';
import type { TrainCheckpointHeader } from '../lib/train';
import { smallTrainConfig, writeSmallDigits } from './helpers/small-training';
import { expectIdentical } from './helpers/expect';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-embed-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SIDE = 28;
const PIXELS = SIDE * SIDE;
// Three batches of the default 64, the last one short.
const COUNT = 150;

let file: string;
let model: Model;
let pixels: Uint8Array;
let pngs: string[];

/** `images` (count × 28 × 28 greyscale) as lossless PNG files, by sharp (an encoder independent of the code under test). */
async function writePngs(dir: string, images: Uint8Array, count: number): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const f = path.join(dir, `${String(i).padStart(4, '0')}.png`);
    await sharp(Buffer.from(images.subarray(i * PIXELS, (i + 1) * PIXELS)), { raw: { width: SIDE, height: SIDE, channels: 1 } })
      .png()
      .toFile(f);
    files.push(f);
  }
  return files;
}

beforeAll(async () => {
  const dataDir = path.join(tmp, 'digits');
  writeSmallDigits(dataDir);
  // A few steps into phase 2 (as test/model.test.ts), so that every weight has moved.
  const result = await train({ ...smallTrainConfig(dataDir, path.join(tmp, 'run'), 2), maxSteps: 24 });
  file = result.checkpoint;
  model = await loadModel(file, { device: 'cpu' });
  const mnist = await loadDataset('mnist', 0);
  // The embedded MNIST set is held as plain bytes (not an image store, not streamed).
  const valid = mnist.valid.images;
  if (!ArrayBuffer.isView(valid)) throw new Error('expected the MNIST validation images as a Uint8Array');
  pixels = (valid as Uint8Array).slice(0, COUNT * PIXELS);
  pngs = await writePngs(path.join(tmp, 'png'), pixels, COUNT);
}, 300_000);


/** m.embed(pixels, n) batch by batch, as embed(files, { batchSize }) calls it (images of `imageBytes` each). */
async function embedInBatches(images: Uint8Array, count: number, batchSize: number, m: Model = model, imageBytes = PIXELS): Promise<Float32Array> {
  const out = new Float32Array(count * m.dim);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    out.set(await m.embed(images.subarray(start * imageBytes, (start + n) * imageBytes), n), start * m.dim);
  }
  return out;
}

describe('Model.embed(files)', () => {
  it('an IDX checkpoint\'s geometry: 1 channel, stored at the network\'s size', () => {
    expect([model.channels, model.storedHeight, model.storedWidth, model.height, model.width]).toEqual([1, SIDE, SIDE, SIDE, SIDE]);
  });

  // PNG is lossless and the files are already the stored size, so they decode to exactly the
  // pixels written; embedding those pixels in the same batches runs the same native embedder on
  // the same bytes, so the embeddings must be bit for bit the same (no tolerance). (The batch
  // matters: LibTorch's convolutions may round differently for another batch size.)
  it('PNG files embed exactly as their pixels do, batch for batch, at the default batch size and others', async () => {
    expectIdentical(await model.embed(pngs), await embedInBatches(pixels, COUNT, 64));
    for (const batchSize of [1, 7, 1000]) {
      expectIdentical(await model.embed(pngs, { batchSize }), await embedInBatches(pixels, COUNT, batchSize));
    }
  });

  it('Buffers, and paths mixed with Buffers, embed as the same files do', async () => {
    const buffers = pngs.map((f) => fs.readFileSync(f));
    expectIdentical(await model.embed(buffers, { batchSize: 50 }), await embedInBatches(pixels, COUNT, 50));
    expectIdentical(await model.embed(pngs.map((f, i) => (i % 3 === 0 ? buffers[i] : f))), await embedInBatches(pixels, COUNT, 64));
  });

  it('JPEG files embed as sharp\'s own decoding of them does', async () => {
    const dir = path.join(tmp, 'jpeg');
    fs.mkdirSync(dir);
    const jpegs: string[] = [];
    const decoded = new Uint8Array(10 * PIXELS);
    for (let i = 0; i < 10; i++) {
      const f = path.join(dir, `${i}.jpg`);
      await sharp(pngs[i]).jpeg({ quality: 70 }).toFile(f);
      jpegs.push(f);
      const { data, info } = await sharp(f).greyscale().raw().toBuffer({ resolveWithObject: true });
      expect([info.height, info.width, info.channels]).toEqual([SIDE, SIDE, 1]);
      decoded.set(data, i * PIXELS);
    }
    // JPEG is lossy: the reference is what sharp decodes, not what was written.
    expect(Buffer.from(decoded).equals(Buffer.from(pixels.subarray(0, 10 * PIXELS)))).toBe(false);
    expectIdentical(await model.embed(jpegs, { batchSize: 4 }), await embedInBatches(decoded, 10, 4));
  });

  it('reports progress after each batch, and gives an empty list an empty result', async () => {
    const calls: [number, number][] = [];
    await model.embed(pngs, { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([
      [64, COUNT],
      [128, COUNT],
      [COUNT, COUNT],
    ]);
    expect(await model.embed([])).toEqual(new Float32Array(0));
  });

  it('an image that cannot be decoded rejects the call, naming the file (or the Buffer\'s index)', async () => {
    const corrupt = path.join(tmp, 'corrupt.png');
    fs.writeFileSync(corrupt, fs.readFileSync(pngs[0]).subarray(0, 40));
    const files = [...pngs.slice(0, 100), corrupt, ...pngs.slice(100)];
    await expect(model.embed(files, { batchSize: 16 })).rejects.toMatchObject({ name: 'SemihardError', code: 'ERR_SEMIHARD_IMAGE', message: expect.stringContaining(`${corrupt}: `) });
    const buffers = files.map((f) => fs.readFileSync(f));
    await expect(model.embed(buffers, { batchSize: 16 })).rejects.toMatchObject({ code: 'ERR_SEMIHARD_IMAGE', message: expect.stringMatching(/^image 100: /) });
    await expect(model.embed([path.join(tmp, 'missing.png')])).rejects.toMatchObject({ code: 'ERR_SEMIHARD_IMAGE', message: `${path.join(tmp, 'missing.png')}: no such file` });
    // The model still works after a failed call.
    expectIdentical(await model.embed(pngs.slice(0, 3)), await embedInBatches(pixels, 3, 64));
  });

  it('refuses bad arguments with the argument named', async () => {
    await expect(model.embed([pngs[0], 5] as unknown as string[])).rejects.toMatchObject({
      name: 'TypeError',
      argument: 'files[1]',
      message: 'Expected a file path or a Buffer for files[1] but received 5 of type number',
    });
    await expect(model.embed([''])).rejects.toMatchObject({ name: 'TypeError', argument: 'files[0]' });
    await expect(model.embed(pngs, { batchSize: 0 })).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'options.batchSize',
      message: 'Expected a positive integer for options.batchSize but received 0 of type number',
    });
    await expect(model.embed(pngs, { batch: 4 } as never)).rejects.toMatchObject({ name: 'TypeError', argument: 'options.batch' });
    await expect(model.embed(pngs, { onProgress: 1 } as never)).rejects.toMatchObject({
      name: 'TypeError',
      argument: 'options.onProgress',
      message: 'Expected a function for options.onProgress but received 1 of type number',
    });
    await expect(model.embed(pngs, 'x' as never)).rejects.toMatchObject({ name: 'TypeError', argument: 'options' });
  });
});

describe('Model geometry', () => {
  it('a header whose dataset fields match the network state loads; one that disagrees with it, or cannot be a geometry, is refused', async () => {
    const { header, state } = await readCheckpoint<TrainCheckpointHeader>(file);
    const write = (name: string, dataset: object): string => {
      const f = path.join(tmp, `${name}.ckpt`);
      fs.writeFileSync(f, encodeCheckpoint({ ...header, dataset: { ...header.dataset, ...dataset } } as TrainCheckpointHeader, state));
      return f;
    };
    const same = await loadModel(write('same', { storedHeight: SIDE, storedWidth: SIDE, channels: 1 }), { device: 'cpu' });
    expect([same.channels, same.storedHeight, same.storedWidth]).toEqual([1, SIDE, SIDE]);
    const other = write('other', { storedHeight: 32, storedWidth: 30 });
    await expect(loadModel(other, { device: 'cpu' })).rejects.toMatchObject({
      name: 'SemihardError',
      code: 'ERR_SEMIHARD_CHECKPOINT',
      message: `Checkpoint ${other} records 1-channel images stored at 32 × 30, seen at 28 × 28 but its network state holds 1-channel images stored at 28 × 28, seen at 28 × 28`,
    });
    for (const [name, dataset] of [
      ['two-channels', { channels: 2 }],
      ['smaller', { storedHeight: 20 }],
      ['text', { storedWidth: '28' }],
    ] as const) {
      const f = write(name, dataset);
      await expect(loadModel(f, { device: 'cpu' })).rejects.toMatchObject({
        code: 'ERR_SEMIHARD_CHECKPOINT',
        message: expect.stringContaining(`Checkpoint ${f} records an image geometry this semihard cannot use: `),
      });
    }
  });

  // A model trained on a folder of RGB images of assorted sizes (imageSize 32: stored at
  // round(32 · 8 / 7) = 37). Its validation images, as loadDataset decoded them for training,
  // are the reference: embed(files) must give exactly what embedding those pixels gives.
  it('an RGB folder model: embed(files) of its validation files equals embedding the pixels training validated on', async () => {
    const root = path.join(tmp, 'rgb');
    const mnist = await loadDataset('mnist', 0);
    const train28 = mnist.train.images as Uint8Array;
    const taken = [0, 0, 0, 0];
    let seed = 1;
    const next = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; taken.some((n) => n < 12); i++) {
      const label = mnist.train.labels[i];
      if (label >= 4 || taken[label] >= 12) continue;
      const k = taken[label]++;
      const rgb = Buffer.alloc(PIXELS * 3);
      const tint = [next(), next(), next()].map((t) => 0.4 + 0.6 * t);
      for (let p = 0; p < PIXELS; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(train28[i * PIXELS + p] * tint[c]);
      const [w, h] = [36 + Math.floor(next() * 30), 36 + Math.floor(next() * 30)];
      const image = sharp(rgb, { raw: { width: SIDE, height: SIDE, channels: 3 } }).resize(w, h, { fit: 'fill' });
      fs.mkdirSync(path.join(root, `d${label}`), { recursive: true });
      await (k % 2 === 0 ? image.png() : image.jpeg({ quality: 90 })).toFile(path.join(root, `d${label}`, `${k}.${k % 2 === 0 ? 'png' : 'jpg'}`));
    }
    const data = { imageFolder: root, imageSize: 32, validFraction: 0.25 };
    const result = await train({
      data,
      batch: { classes: 4, perClass: 4 },
      phases: [{ epochs: 1, maxLr: 1e-2, freeze: 'none' }],
      model: { dim: 16 },
      seed: 2,
      device: 'cpu',
      threads: 2,
      maxSteps: 2,
      checkpointDir: path.join(tmp, 'rgb-run'),
    });
    const m = await loadModel(result.checkpoint, { device: 'cpu' });
    expect([m.channels, m.storedHeight, m.storedWidth, m.height, m.width]).toEqual([3, 37, 37, 32, 32]);
    const dataset = await loadDataset(data, 2);
    expect([dataset.channels, dataset.storedHeight, dataset.storedWidth]).toEqual([3, 37, 37]);
    const { files, count, images } = dataset.valid;
    expect(files).toHaveLength(count);
    const imageBytes = 37 * 37 * 3;
    let pixelsOfValid: Uint8Array;
    if (images !== null && !ArrayBuffer.isView(images)) {
      pixelsOfValid = new Uint8Array(count * imageBytes);
      for (let i = 0; i < count; i++) pixelsOfValid.set(images.read(i), i * imageBytes);
    } else {
      pixelsOfValid = images as Uint8Array;
    }
    expect(pixelsOfValid.length).toBe(count * imageBytes);
    for (const batchSize of [5, 64]) {
      expectIdentical(await m.embed(files as string[], { batchSize }), await embedInBatches(pixelsOfValid, count, batchSize, m, imageBytes));
    }
    await expect(m.embed(new Uint8Array(2 * 32 * 32 * 3), 2)).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'images',
      message: `Expected images.length to be count × 37 × 37 × 3 = ${2 * imageBytes} but received ${2 * 32 * 32 * 3}`,
    });
  }, 120_000);
});
