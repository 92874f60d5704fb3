// Where a trainer's images come from (raw addon): held in a Uint8Array, in an image store in
// native memory (shared, not copied), or streamed batch by batch through feed(). The contract:
// the same seed and indices give bit-identical losses and gradients whichever holds them, on
// every path (train and valid runs, computeGradients, lrFind). abortFeed rejects a waiting job
// with its message, cancel() ends a waiting run, and the store's and feed's guards.
import type { NativeDataSet, NativeImageGeometry, NativeTrainer } from '../binding';
import { addon, bitsOf, colourImages, gatherRows, trainerOptions } from './helpers/native-images';

const g: NativeImageGeometry = { channels: 3, storedHeight: 18, storedWidth: 20, height: 16, width: 16 };
const BYTES = 18 * 20 * 3;
const COUNT = 24;
const BATCH = 8;
const { images, labels } = colourImages(COUNT, 18, 20, 3);
const valid = colourImages(16, 18, 20, 3, 4, 2);
const normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const options = trainerOptions({
  channels: 3,
  crop: { minScale: 0.3, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 },
  affine: { rotation: 10, scale: 0.1, translate: 0.1, flip: true },
  seed: 13,
});
// Five steps whose rows repeat and reorder images.
const indices = Int32Array.from({ length: 5 * BATCH }, (_, i) => (i * 7 + Math.floor(i / BATCH)) % COUNT);
const validIndices = Int32Array.from({ length: 2 * BATCH }, (_, i) => (i * 5) % 16);

type Source = 'array' | 'store' | 'feed';

function storeOf(pixels: Uint8Array, count: number) {
  const store = addon.createImageStore(count, 18, 20, 3);
  for (let i = 0; i < count; i++) store.write(i, pixels.subarray(i * BYTES, (i + 1) * BYTES));
  return store;
}

function trainerWith(source: Source): NativeTrainer {
  const set = (pixels: Uint8Array, l: Int32Array, count: number): NativeDataSet => ({
    labels: l,
    images: source === 'array' ? pixels : source === 'store' ? storeOf(pixels, count) : null,
  });
  const trainer = new addon.Trainer(options);
  trainer.setData({ train: set(images, labels, COUNT), valid: set(valid.images, valid.labels, 16), geometry: g, normalisation });
  return trainer;
}

/** Feeds the rows of each batch of `rows` to `set`, one batch a turn of the event loop, after the job has started waiting. */
async function feedBatches(trainer: NativeTrainer, set: 'train' | 'valid', pixels: Uint8Array, rows: Int32Array): Promise<void> {
  for (let s = 0; s < rows.length / BATCH; s++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    trainer.feed(set, gatherRows(pixels, BYTES, rows.subarray(s * BATCH, (s + 1) * BATCH)), BATCH);
  }
}

describe('held, stored or fed: the same numbers', () => {
  it('train and valid runs: bit-identical losses', async () => {
    const results = new Map<Source, Buffer[]>();
    for (const source of ['array', 'store', 'feed'] as const) {
      const trainer = trainerWith(source);
      trainer.beginPhase('none', 1e-3, 5);
      const train = trainer.run('train', indices, BATCH);
      if (source === 'feed') await feedBatches(trainer, 'train', images, indices);
      const t = await train;
      const v = trainer.run('valid', validIndices, BATCH);
      if (source === 'feed') await feedBatches(trainer, 'valid', valid.images, validIndices);
      const r = await v;
      expect([t.losses.length, r.losses.length, t.cancelled, r.cancelled]).toEqual([5, 2, false, false]);
      results.set(source, [bitsOf(t.losses), bitsOf(r.losses), bitsOf(await trainer.embed(images, COUNT))]);
    }
    for (const source of ['store', 'feed'] as const) {
      results.get(source)!.forEach((bits, k) => expect([source, k, bits.equals(results.get('array')![k])]).toEqual([source, k, true]));
    }
  });

  it('computeGradients: the same loss and gradients', async () => {
    const rows = indices.subarray(0, BATCH);
    const out: { loss: number; bits: Buffer }[] = [];
    for (const source of ['array', 'store', 'feed'] as const) {
      const trainer = trainerWith(source);
      trainer.beginPhase('none', 1e-3, 5);
      // A batch fed before the job starts waits in the queue for it.
      if (source === 'feed') trainer.feed('train', gatherRows(images, BYTES, rows), BATCH);
      const r = await trainer.computeGradients(rows);
      out.push({ loss: r.loss, bits: Buffer.concat(Object.keys(r.gradients).sort().map((k) => bitsOf(r.gradients[k]))) });
    }
    expect(out[1]).toEqual(out[0]);
    expect(out[2]).toEqual(out[0]);
  });

  it('lrFind: the same curve', async () => {
    const out: Buffer[] = [];
    for (const source of ['array', 'store', 'feed'] as const) {
      const trainer = trainerWith(source);
      const found = trainer.lrFind({ indices, batchSize: BATCH, freeze: 'none', startLr: 1e-5, endLr: 1e-2 });
      if (source === 'feed') await feedBatches(trainer, 'train', images, indices);
      const r = await found;
      expect(r.losses.length).toBe(5);
      out.push(Buffer.concat([bitsOf(r.losses), bitsOf(r.smoothed)]));
    }
    expect(out[1].equals(out[0])).toBe(true);
    expect(out[2].equals(out[0])).toBe(true);
  });

  it('a store is shared, not copied: images written after setData are the ones trained on', async () => {
    const store = storeOf(valid.images, 16);
    const trainer = new addon.Trainer(options);
    trainer.setData({ train: { labels, images }, valid: { labels: valid.labels, images: store }, geometry: g, normalisation });
    const before = await trainer.run('valid', validIndices, BATCH);
    for (let i = 0; i < 16; i++) store.write(i, images.subarray(i * BYTES, (i + 1) * BYTES));
    const after = await trainer.run('valid', validIndices, BATCH);
    const reference = new addon.Trainer(options);
    reference.setData({ train: { labels, images }, valid: { labels: valid.labels, images: images.subarray(0, 16 * BYTES) }, geometry: g, normalisation });
    expect(bitsOf(after.losses).equals(bitsOf((await reference.run('valid', validIndices, BATCH)).losses))).toBe(true);
    expect(bitsOf(after.losses).equals(bitsOf(before.losses))).toBe(false);
  });
});

describe('waiting for fed images', () => {
  it('abortFeed rejects the waiting job with its message and leaves the trainer as it was', async () => {
    const trainer = trainerWith('feed');
    trainer.beginPhase('none', 1e-3, 5);
    const running = trainer.run('train', indices, BATCH);
    setTimeout(() => trainer.abortFeed('photo.jpg: VipsJpeg: premature end of JPEG file'), 20);
    await expect(running).rejects.toMatchObject({ name: 'Error', message: 'photo.jpg: VipsJpeg: premature end of JPEG file' });
    // No step was taken: fed properly now, the run is the held trainer's.
    const again = trainer.run('train', indices, BATCH);
    await feedBatches(trainer, 'train', images, indices);
    const held = trainerWith('array');
    held.beginPhase('none', 1e-3, 5);
    expect(bitsOf((await again).losses).equals(bitsOf((await held.run('train', indices, BATCH)).losses))).toBe(true);
    // An abort while no job runs is forgotten by the next one.
    trainer.abortFeed('stale');
    const gradients = trainer.computeGradients(indices.subarray(0, BATCH));
    trainer.feed('train', gatherRows(images, BYTES, indices.subarray(0, BATCH)), BATCH);
    expect(Number.isFinite((await gradients).loss)).toBe(true);
  });

  it('abortFeed rejects a waiting lrFind and computeGradients too', async () => {
    const trainer = trainerWith('feed');
    const found = trainer.lrFind({ indices, batchSize: BATCH, freeze: 'none', startLr: 1e-5, endLr: 1e-2 });
    trainer.feed('train', gatherRows(images, BYTES, indices.subarray(0, BATCH)), BATCH);
    setTimeout(() => trainer.abortFeed('decoding stopped'), 20);
    await expect(found).rejects.toMatchObject({ message: 'decoding stopped' });
    trainer.beginPhase('none', 1e-3, 5);
    const gradients = trainer.computeGradients(indices.subarray(0, BATCH));
    setTimeout(() => trainer.abortFeed('decoding stopped again'), 20);
    await expect(gradients).rejects.toMatchObject({ message: 'decoding stopped again' });
  });

  it('cancel() ends a waiting run: it resolves cancelled with the steps it took', async () => {
    const trainer = trainerWith('feed');
    trainer.beginPhase('none', 1e-3, 5);
    const running = trainer.run('train', indices, BATCH);
    trainer.feed('train', gatherRows(images, BYTES, indices.subarray(0, BATCH)), BATCH);
    trainer.feed('train', gatherRows(images, BYTES, indices.subarray(BATCH, 2 * BATCH)), BATCH);
    setTimeout(() => trainer.cancel(), 50);
    const r = await running;
    expect(r.cancelled).toBe(true);
    expect(r.losses.length).toBe(2);
    const idle = trainer.run('valid', validIndices, BATCH);
    setTimeout(() => trainer.cancel(), 20);
    expect(await idle).toMatchObject({ cancelled: true, losses: new Float32Array(0) });
  });

  it('batches left over when a job ends are dropped; queued() counts what waits', async () => {
    const trainer = trainerWith('feed');
    trainer.beginPhase('none', 1e-3, 5);
    for (let s = 0; s < 3; s++) trainer.feed('train', gatherRows(images, BYTES, indices.subarray(s * BATCH, (s + 1) * BATCH)), BATCH);
    expect([trainer.queued('train'), trainer.queued('valid')]).toEqual([3, 0]);
    const r = await trainer.run('train', indices.subarray(0, 2 * BATCH), BATCH);
    expect(r.losses.length).toBe(2);
    expect(trainer.queued('train')).toBe(0);
  });

  it('a fed batch of the wrong count fails the step; feeding a held set or the wrong length is refused', async () => {
    const trainer = trainerWith('feed');
    trainer.beginPhase('none', 1e-3, 5);
    const running = trainer.run('train', indices, BATCH);
    trainer.feed('train', gatherRows(images, BYTES, indices.subarray(0, 3)), 3);
    await expect(running).rejects.toMatchObject({
      code: 'ERR_SEMIHARD_TORCH',
      message: expect.stringMatching(/the fed batch holds 3 images but this step embeds 8 rows of the train set/),
    });
    expect(() => trainer.feed('train', new Uint8Array(2 * BYTES - 1), 2)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'images', message: expect.stringMatching(/\(2 x 18 x 20 x 3\) but received 2159/) }),
    );
    expect(() => trainer.feed('train', new Float32Array(BYTES) as unknown as Uint8Array, 1)).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'images' }));
    expect(() => trainer.feed('test' as 'train', new Uint8Array(BYTES), 1)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'set' }));
    expect(() => trainer.abortFeed(3 as unknown as string)).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'message' }));
    const held = trainerWith('array');
    expect(() => held.feed('valid', new Uint8Array(BYTES), 1)).toThrow(
      expect.objectContaining({ code: 'ERR_SEMIHARD_TORCH', message: expect.stringMatching(/the valid set is not streamed/) }),
    );
  });
});

describe('image stores', () => {
  it('hold count × stored size × channels zero bytes at first, written and read image by image', () => {
    const store = addon.createImageStore(3, 4, 5, 3);
    expect([store.count, store.storedHeight, store.storedWidth, store.channels, store.bytes]).toEqual([3, 4, 5, 3, 180]);
    expect(store.read(2)).toEqual(new Uint8Array(60));
    const pixels = Uint8Array.from({ length: 60 }, (_, i) => (i * 11) % 256);
    store.write(1, pixels);
    expect(store.read(1)).toEqual(pixels);
    expect(store.read(0)).toEqual(new Uint8Array(60));
    // read() is a copy.
    store.read(1)[0] = 99;
    expect(store.read(1)).toEqual(pixels);
  });

  it('refuse indices, pixels and sizes that would reach outside their memory, naming the argument', () => {
    const store = addon.createImageStore(3, 4, 5, 3);
    for (const index of [-1, 3, 1.5, NaN]) {
      expect(() => store.write(index, new Uint8Array(60))).toThrow(
        expect.objectContaining({ name: 'RangeError', argument: 'index', message: expect.stringMatching(/^Expected an integer from 0 to 2 for index/) }),
      );
      expect(() => store.read(index)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'index' }));
    }
    expect(() => store.read('1' as unknown as number)).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'index' }));
    expect(() => store.write(0, new Uint8Array(59))).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'pixels', message: expect.stringMatching(/\(60\) but received 59/) }),
    );
    expect(() => store.write(0, Array(60).fill(0) as unknown as Uint8Array)).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'pixels' }));
    expect(() => addon.createImageStore(3, 0, 5, 3)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'storedHeight' }));
  });

  it('a store too large for this machine is a RangeError, not an abort', () => {
    expect(() => addon.createImageStore(2 ** 40, 1024, 1024, 3)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'count', message: expect.stringMatching(/exceeds this machine's memory/) }),
    );
    expect(() => addon.createImageStore(2 ** 52, 2 ** 20, 1024, 3)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'count', message: expect.stringMatching(/overflows 64 bits/) }),
    );
  });

  it("setData refuses a store whose shape is not its labels' count and the geometry", () => {
    const trainer = new addon.Trainer(options);
    const store = addon.createImageStore(COUNT, 18, 20, 3);
    expect(() => trainer.setData({ train: { labels: labels.subarray(1), images: store }, valid: null, geometry: g, normalisation })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.train.images', message: expect.stringMatching(/to hold 23 images of 18 x 20 x 3 .* but it holds 24 of 18 x 20 x 3/) }),
    );
    expect(() => trainer.setData({ train: { labels, images: store }, valid: null, geometry: { ...g, storedWidth: 19 }, normalisation })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.train.images' }),
    );
    // Something that only looks like a store is not one.
    const fake = { count: COUNT, storedHeight: 18, storedWidth: 20, channels: 3, bytes: COUNT * BYTES, write: store.write, read: store.read };
    expect(() => trainer.setData({ train: { labels, images: fake }, valid: null, geometry: g, normalisation })).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'options.train.images' }),
    );
  });
});
