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

function expectIdentical(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let differing = 0;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) differing++;
  expect(differing).toBe(0);
}

/** model.embed(pixels, n) batch by batch, as embed(files, { batchSize }) calls it. */
async function embedInBatches(images: Uint8Array, count: number, batchSize: number): Promise<Float32Array> {
  const out = new Float32Array(count * model.dim);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    out.set(await model.embed(images.subarray(start * PIXELS, (start + n) * PIXELS), n), start * model.dim);
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
    for (const batchSize of [1, 7, COUNT, 1000]) {
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

describe('Model geometry from the checkpoint header', () => {
  it('storedHeight, storedWidth and channels come from the header\'s dataset when present; pixel lengths follow them', async () => {
    const { header, state } = await readCheckpoint<TrainCheckpointHeader>(file);
    const f = path.join(tmp, 'stored.ckpt');
    fs.writeFileSync(f, encodeCheckpoint({ ...header, dataset: { ...header.dataset, storedHeight: 32, storedWidth: 30, channels: 3 } }, state));
    const m = await loadModel(f, { device: 'cpu' });
    expect([m.channels, m.storedHeight, m.storedWidth, m.height, m.width]).toEqual([3, 32, 30, SIDE, SIDE]);
    await expect(m.embed(new Uint8Array(2 * PIXELS), 2)).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'images',
      message: `Expected images.length to be count × 32 × 30 × 3 = ${2 * 32 * 30 * 3} but received ${2 * PIXELS}`,
    });
  });
});
