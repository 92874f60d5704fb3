// The raw addon's stored-size colour images (issue 12): what validation and embedding feed the
// network (centre crop, per-channel normalisation) against a brute-force loop, the train set's
// own statistics against a JS sum, every backbone on colour images of several sizes, the
// geometry saved with the state and read back by the embedder (and a state saved before
// colour images by an older build), and setData's guards.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeImageGeometry } from '../binding';
import { U32, UNIT_NORM_TOLERANCE } from './helpers/tolerance';
import { addon, bitsOf, centreCrop, colourImages, expectedNetworkInput, trainerOptions } from './helpers/native-images';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { oldStateImages } = require('../scripts/fixtures/old-state-images') as {
  oldStateImages: () => { images: Uint8Array; labels: Int32Array };
};

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

describe('what validation and embedding feed the network', () => {
  // Odd margins put the torchvision offset on a half: round((21 - 16) / 2) = round(2.5) = 2,
  // round((19 - 16) / 2) = round(1.5) = 2 (ties to even), round((30 - 25) / 2) = 2.
  const cases: NativeImageGeometry[] = [
    { channels: 3, storedHeight: 21, storedWidth: 19, height: 16, width: 16 },
    { channels: 3, storedHeight: 32, storedWidth: 30, height: 24, width: 25 },
    { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 },
    { channels: 1, storedHeight: 13, storedWidth: 18, height: 10, width: 11 },
  ];
  it.each(cases)('centre crop and per-channel normalisation: %o', (g) => {
    const count = 3;
    const { images } = colourImages(count, g.storedHeight, g.storedWidth, g.channels);
    const mean = MEAN.slice(0, g.channels);
    const std = STD.slice(0, g.channels);
    for (const [pixels, scale] of [
      [images, 255],
      [Float32Array.from(images, (v) => v / 255), 1],
    ] as const) {
      const got = addon.networkInputForTesting({ images: pixels, count, geometry: g, normalisation: { mean, std } });
      const want = expectedNetworkInput(pixels, count, g, mean, std, scale);
      expect(got.length).toBe(want.length);
      // float32: v = pixel / 255 (one rounding, relative u; none for 0..1 floats), mean and std
      // rounded to float32 (relative u each), v − mean (one rounding of |v − mean|), the
      // quotient (one rounding): |error| ≤ (|v|·u + |mean|·u + |v − mean|·u) / std + 2u·|exact|,
      // with |v| ≤ 1; a factor 2 for the second-order terms.
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        const c = Math.floor(i / (g.height * g.width)) % g.channels;
        const bound = 2 * (((1 + mean[c] + Math.abs(want[i] * std[c])) * U32) / std[c] + 2 * U32 * Math.abs(want[i]));
        worst = Math.max(worst, Math.abs(got[i] - want[i]) / bound);
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it("the train set's own normalisation is the mean and deviation of all its pixels, one value for every channel", async () => {
    const g: NativeImageGeometry = { channels: 3, storedHeight: 14, storedWidth: 12, height: 12, width: 12 };
    const { images, labels } = colourImages(12, 14, 12, 3);
    let sum = 0;
    let sumSq = 0;
    for (const v of images) {
      sum += v;
      sumSq += v * v;
    }
    // The definition: over all n pixel values p/255, mean and sqrt(E[x²] − mean²) (at least 1e-6).
    const n = images.length;
    const mean = sum / n / 255;
    const std = Math.max(Math.sqrt(Math.max(sumSq / n / (255 * 255) - mean * mean, 0)), 1e-6);
    const own = new addon.Trainer(trainerOptions({ channels: 3 }));
    own.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: null });
    const given = new addon.Trainer(trainerOptions({ channels: 3 }));
    const m = Math.fround(mean);
    const s = Math.fround(std);
    given.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: { mean: [m, m, m], std: [s, s, s] } });
    // Same seed, same weights: the same normalisation gives the same embeddings, bit for bit.
    expect(bitsOf(await own.embed(images, 12)).equals(bitsOf(await given.embed(images, 12)))).toBe(true);
    const other = new addon.Trainer(trainerOptions({ channels: 3 }));
    other.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: { mean: [m, m, m], std: [s, s, 2 * s] } });
    expect(bitsOf(await own.embed(images, 12)).equals(bitsOf(await other.embed(images, 12)))).toBe(false);
  });

  it('embed centre-crops stored-size images as the brute-force crop does', async () => {
    const stored: NativeImageGeometry = { channels: 3, storedHeight: 21, storedWidth: 19, height: 16, width: 16 };
    const cropped: NativeImageGeometry = { channels: 3, storedHeight: 16, storedWidth: 16, height: 16, width: 16 };
    const { images, labels } = colourImages(6, 21, 19, 3);
    const normalisation = { mean: MEAN, std: STD };
    const a = new addon.Trainer(trainerOptions({ channels: 3 }));
    a.setData({ train: { labels, images }, valid: null, geometry: stored, normalisation });
    const small = centreCrop(images, 6, stored);
    const b = new addon.Trainer(trainerOptions({ channels: 3 }));
    b.setData({ train: { labels, images: small }, valid: null, geometry: cropped, normalisation });
    expect(bitsOf(await a.embed(images, 6)).equals(bitsOf(await b.embed(small, 6)))).toBe(true);
  });
});

describe('every backbone on colour images', () => {
  it.each([
    ['convnet', 32, 32],
    ['convnet-spatial', 32, 32],
    ['resnet18', 32, 32],
    ['resnet34', 32, 32],
    ['convnet', 24, 40],
    ['convnet-spatial', 40, 24],
    ['resnet18', 20, 28],
  ] as const)('%s at %i × %i RGB: a step with a random resized crop, then unit embeddings', async (backbone, height, width) => {
    const storedHeight = Math.round((height * 8) / 7);
    const storedWidth = Math.round((width * 8) / 7);
    const g: NativeImageGeometry = { channels: 3, storedHeight, storedWidth, height, width };
    const { images, labels } = colourImages(8, storedHeight, storedWidth, 3);
    const trainer = new addon.Trainer(
      trainerOptions({ backbone, channels: 3, crop: { minScale: 0.25, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 } }),
    );
    trainer.setData({ train: { labels, images }, valid: { labels, images }, geometry: g, normalisation: { mean: MEAN, std: STD } });
    trainer.beginPhase('none', 1e-3, 1);
    const r = await trainer.run('train', Int32Array.from({ length: 8 }, (_, i) => i), 8);
    // The mean of loss terms each within [0, margin + 2] (distances between unit vectors ≤ 2).
    expect(r.losses[0]).toBeGreaterThanOrEqual(0);
    expect(r.losses[0]).toBeLessThanOrEqual(3);
    const v = await trainer.run('valid', Int32Array.from({ length: 8 }, (_, i) => i), 8);
    expect(Number.isFinite(v.losses[0])).toBe(true);
    const e = await trainer.embed(images, 8);
    expect(e.length).toBe(8 * 8);
    for (let i = 0; i < 8; i++) expect(Math.abs(Math.hypot(...e.subarray(i * 8, i * 8 + 8)) - 1)).toBeLessThanOrEqual(UNIT_NORM_TOLERANCE);
  });
});

describe('the geometry in the state', () => {
  const g: NativeImageGeometry = { channels: 3, storedHeight: 18, storedWidth: 20, height: 16, width: 16 };
  const { images, labels } = colourImages(8, 18, 20, 3);

  it('an embedder reads it and embeds stored-size images as the trainer did; a trainer of other images refuses it', async () => {
    const trainer = new addon.Trainer(trainerOptions({ channels: 3 }));
    trainer.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: { mean: MEAN, std: STD } });
    trainer.beginPhase('none', 1e-3, 2);
    await trainer.run('train', Int32Array.from({ length: 8 }, (_, i) => i), 8);
    const state = await trainer.saveState();
    const embedder = await addon.createEmbedder({ backbone: 'convnet', dim: 8, channels: 3, device: 'cpu' }, state);
    expect(embedder.geometry).toEqual(g);
    const want = await trainer.embed(images, 8);
    expect(bitsOf(await embedder.embed(images, 8)).equals(bitsOf(want))).toBe(true);
    expect(() => embedder.embed(images.subarray(0, 16 * 16 * 3 * 8), 8)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'images', message: expect.stringMatching(/\(8 x 18 x 20 x 3\) but received 6144/) }),
    );

    const resumed = new addon.Trainer(trainerOptions({ channels: 3, seed: 99 }));
    resumed.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: null });
    await resumed.loadState(state, false);
    expect(bitsOf(await resumed.embed(images, 8)).equals(bitsOf(want))).toBe(true);

    const elsewhere = new addon.Trainer(trainerOptions({ channels: 3 }));
    const small = colourImages(8, 16, 16, 3);
    elsewhere.setData({
      train: small,
      valid: null,
      geometry: { channels: 3, storedHeight: 16, storedWidth: 16, height: 16, width: 16 },
      normalisation: null,
    });
    await expect(elsewhere.loadState(state)).rejects.toMatchObject({ code: 'ERR_SEMIHARD_TORCH', message: expect.stringMatching(/saved for images of 18 x 20 cropped to 16 x 16/) });
    await expect(addon.createEmbedder({ backbone: 'convnet', dim: 8, device: 'cpu' }, state)).rejects.toMatchObject({
      code: 'ERR_SEMIHARD_TORCH',
    });
  });

  it('a state saved before colour images (1-D normalisation, no geometry) loads: greyscale, stored size = network size', async () => {
    // test/fixtures/old-state-convnet.bin: scripts/fixtures/make-old-state.js run on commit
    // 1026b14's addon: convnet, dim 4, seed 11, saved right after setData on these digits. A
    // trainer of today built the same way holds the same initial weights and the same
    // statistics of the same pixels, so the embedder must embed exactly as it does.
    const state = fs.readFileSync(path.join(__dirname, 'fixtures', 'old-state-convnet.bin'));
    const { images, labels } = oldStateImages();
    const embedder = await addon.createEmbedder({ backbone: 'convnet', dim: 4, device: 'cpu' }, state);
    expect(embedder.geometry).toEqual({ channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 });
    const fresh = new addon.Trainer(trainerOptions({ dim: 4, seed: 11, augment: false, weightDecay: 0 }));
    fresh.setData({
      train: { labels, images },
      valid: null,
      geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 },
      normalisation: null,
    });
    const want = await fresh.embed(images, 40);
    expect(bitsOf(await embedder.embed(images, 40)).equals(bitsOf(want))).toBe(true);
    // And a trainer resumes from it.
    const resumed = new addon.Trainer(trainerOptions({ dim: 4, seed: 12 }));
    resumed.setData({ train: { labels, images }, valid: null, geometry: embedder.geometry, normalisation: { mean: [0], std: [1] } });
    await resumed.loadState(state);
    expect(bitsOf(await resumed.embed(images, 40)).equals(bitsOf(want))).toBe(true);
  });
});

describe("setData's guards", () => {
  const g: NativeImageGeometry = { channels: 3, storedHeight: 6, storedWidth: 5, height: 4, width: 4 };
  const { images, labels } = colourImages(4, 6, 5, 3);
  const trainer = new addon.Trainer(trainerOptions({ channels: 3 }));

  it('refuses lengths that do not match count × stored size × channels, and wrong kinds, naming the argument', () => {
    expect(() => trainer.setData({ train: { labels, images: images.subarray(1) }, valid: null, geometry: g, normalisation: null })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.train.images', message: expect.stringMatching(/count x height x width x channels \(4 x 6 x 5 x 3\) but received 359/) }),
    );
    expect(() =>
      trainer.setData({ train: { labels, images }, valid: { labels: labels.subarray(1), images }, geometry: g, normalisation: null }),
    ).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'options.valid.images' }));
    expect(() =>
      trainer.setData({ train: { labels, images: new Float32Array(images) as unknown as Uint8Array }, valid: null, geometry: g, normalisation: null }),
    ).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'options.train.images', message: 'Expected a Uint8Array, an image store or null for options.train.images' }));
    expect(() => trainer.setData({ train: { labels, images }, valid: null, geometry: { ...g, storedWidth: 0 }, normalisation: null })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.geometry.storedWidth' }),
    );
    expect(() =>
      trainer.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: { mean: [0.5, 0.5, 'x'] as unknown as number[], std: [1, 1, 1] } }),
    ).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'options.normalisation.mean' }));
  });

  it("states the core's preconditions in its words", () => {
    const internal = (message: RegExp) => expect.objectContaining({ code: 'ERR_SEMIHARD_TORCH', message: expect.stringMatching(message) });
    expect(() => trainer.setData({ train: { labels, images: null }, valid: null, geometry: g, normalisation: null })).toThrow(
      internal(/the train set's own normalisation needs its images, but they are streamed/),
    );
    expect(() => trainer.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: { mean: [0.5], std: [1] } })).toThrow(
      internal(/need 3 means and standard deviations, got 1 and 1/),
    );
    expect(() =>
      trainer.setData({ train: { labels, images }, valid: null, geometry: g, normalisation: { mean: [0, 0, 0], std: [1, 0, 1] } }),
    ).toThrow(internal(/channel 1 needs a finite mean and a finite positive standard deviation/));
    const grey = colourImages(4, 6, 5, 1);
    expect(() => trainer.setData({ train: grey, valid: null, geometry: { ...g, channels: 1 }, normalisation: null })).toThrow(
      internal(/the images have 1 channels but the network takes 3/),
    );
    expect(() => trainer.setData({ train: { labels, images }, valid: null, geometry: { ...g, height: 7 }, normalisation: null })).toThrow(
      internal(/need 0 < height x width <= stored size/),
    );
  });
});
