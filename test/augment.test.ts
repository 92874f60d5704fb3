// The training augmentation (native core/augment.cc) through augmentImages(): exact identities
// (no-op ranges, pure mirror flips, whole-pixel shifts) computed here by hand, determinism, and
// every bad argument a clear error.
import { augmentImages, DEFAULT_AUGMENT } from '../lib';
import { loadIdxDataset } from '../lib/data/datasets';
import { binding, createTrainer } from '../lib/binding';
import { U32 } from './helpers/tolerance';

const H = 28;
const W = 28;
const N = 64;
const digits = loadIdxDataset('mnist', 0).train.images.subarray(0, N * H * W);
const still = { rotation: 0, scale: 0, translate: 0, flip: false };

function image(pixels: Float32Array | Uint8Array, i: number): number[] {
  return Array.from(pixels.subarray(i * H * W, (i + 1) * H * W), (v) => (pixels instanceof Uint8Array ? v / 255 : v));
}

function mirrored(pixels: number[]): number[] {
  const out = new Array<number>(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = pixels[y * W + (W - 1 - x)];
  return out;
}

// Resampling at the identity (or a pure mirror) reads each pixel at a position computed in
// float32: the base grid ((2i + 1)/W − 1), the affine product and the unnormalisation
// ((x + 1)·W − 1)/2 err by at most a few roundings of values up to W + 2, ≤ 4(W + 2)u of a
// pixel; bilinear weights turn that into at most as much of the value range (1), plus three
// roundings of the blend.
const RESAMPLE_TOLERANCE = 4 * (W + 2) * U32 + 3 * U32;

function maxAbsDiff(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('augmentImages', () => {
  it('with every range zero returns the images unchanged (pixels / 255)', async () => {
    const out = await augmentImages(digits, { height: H, width: W, ...still });
    expect(out).toHaveLength(digits.length);
    for (let i = 0; i < N; i++) expect(maxAbsDiff(image(out, i), image(digits, i))).toBeLessThanOrEqual(RESAMPLE_TOLERANCE);
  });

  it('flip alone mirrors each image left-right or leaves it, about half of each', async () => {
    const out = await augmentImages(digits, { height: H, width: W, ...still, flip: true, seed: 3 });
    let flipped = 0;
    for (let i = 0; i < N; i++) {
      const original = image(digits, i);
      const mirror = mirrored(original);
      expect(maxAbsDiff(original, mirror)).toBeGreaterThan(0.5); // digits are not symmetric
      const got = image(out, i);
      const isMirror = maxAbsDiff(got, mirror) <= RESAMPLE_TOLERANCE;
      const isOriginal = maxAbsDiff(got, original) <= RESAMPLE_TOLERANCE;
      expect(isMirror !== isOriginal).toBe(true);
      if (isMirror) flipped++;
    }
    // Binomial(64, 1/2): 16..48 holds with probability > 0.9999.
    expect(flipped).toBeGreaterThanOrEqual(16);
    expect(flipped).toBeLessThanOrEqual(48);
  });

  it('moves the ink of a digit by at most the translation range', async () => {
    const t = 0.1;
    const out = await augmentImages(digits, { height: H, width: W, rotation: 0, scale: 0, translate: t, flip: false, seed: 1 });
    const centre = (p: number[]) => {
      let m = 0, cx = 0, cy = 0;
      p.forEach((v, k) => { m += v; cx += v * (k % W); cy += v * Math.floor(k / W); });
      return [cx / m, cy / m];
    };
    let moved = 0;
    for (let i = 0; i < N; i++) {
      const [x0, y0] = centre(image(digits, i));
      const [x1, y1] = centre(image(out, i));
      // Digits sit away from the border, so reflection adds no ink: the centre moves with the shift.
      expect(Math.abs(x1 - x0)).toBeLessThanOrEqual(t * W + 0.05);
      expect(Math.abs(y1 - y0)).toBeLessThanOrEqual(t * H + 0.05);
      if (Math.hypot(x1 - x0, y1 - y0) > 0.5) moved++;
    }
    expect(moved).toBeGreaterThan(N / 2);
  });

  it('is a function of the seed, and the default ranges change the images', async () => {
    const a = await augmentImages(digits, { height: H, width: W, seed: 7 });
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(bytes(await augmentImages(digits, { height: H, width: W, seed: 7 })).equals(bytes(a))).toBe(true);
    expect(bytes(await augmentImages(digits, { height: H, width: W, seed: 8 })).equals(bytes(a))).toBe(false);
    expect(maxAbsDiff(image(a, 0), image(digits, 0))).toBeGreaterThan(0.1);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    // Bilinear blends of values in 0..1 with weights adding up to 1, rounded three times.
    expect(Math.max(...a)).toBeLessThanOrEqual(1 + 3 * U32);
    expect(DEFAULT_AUGMENT).toEqual({ rotation: 10, scale: 0.1, translate: 0.1, flip: false, crop: false });
  });

  it('accepts Float32Array pixels in 0..1 like Uint8Array pixels', async () => {
    const f = Float32Array.from(digits, (v) => v / 255);
    // The two inputs differ by at most one rounding of v / 255 (float64 then float32 here,
    // float32 natively); the same blends of them differ by at most that plus their own three
    // roundings.
    expect(maxAbsDiff(Array.from(await augmentImages(f, { height: H, width: W, seed: 2 })), Array.from(await augmentImages(digits, { height: H, width: W, seed: 2 })))).toBeLessThanOrEqual(4 * U32);
  });

  it('the user-facing ranges are lib/augment.ts\'s alone; the native layer only guards its own preconditions', async () => {
    const raw = (affine: typeof still, seed = 0) => binding.augmentImages({ images: digits, count: N, height: H, width: W, affine, seed });
    // scale 0.95 is a valid transform (scales 0.05..1.95) but outside what users may ask for:
    // refused by the API with its message, computed by the raw addon.
    await expect(augmentImages(digits, { height: H, width: W, ...still, scale: 0.95 })).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'options.scale',
      message: 'Expected a number from 0 to 0.9 for options.scale but received 0.95 of type number',
    });
    expect(await raw({ ...still, scale: 0.95 })).toHaveLength(digits.length);
    // Past the core's preconditions the raw addon fails a TORCH_CHECK: an internal error in the
    // core's words, not an argument error naming a user option (lib/ would have caught it).
    const internal = (field: RegExp) => expect.objectContaining({ name: 'SemihardError', code: 'ERR_SEMIHARD_TORCH', message: expect.stringMatching(field) });
    await expect(raw({ ...still, rotation: 200 })).rejects.toEqual(internal(/max_rotation_degrees must be within \[0, 180\], got 200/));
    await expect(raw({ ...still, translate: -0.5 })).rejects.toEqual(internal(/max_translation/));
    const trainer = () => createTrainer({
      backbone: 'convnet', dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0, gradClip: 0,
      augment: true, affine: { ...still, scale: 1.5 }, device: 'cpu', seed: 0,
    });
    expect(trainer).toThrow(internal(/min_scale <= 1 <= max_scale, got min_scale -0\.5/));
    // What protects the conversion stays the binding's: a seed must be an integer.
    expect(() => raw(still, 1.5)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'options.seed' }));
    expect(() => raw({ ...still, flip: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'options.affine.flip' }));
  });

  const bad: [string, 'TypeError' | 'RangeError', () => unknown, RegExp][] = [
    ['images a plain array', 'TypeError', () => augmentImages([1, 2, 3] as unknown as Uint8Array, { height: 1, width: 3 }), /images/],
    ['images not whole', 'RangeError', () => augmentImages(new Uint8Array(10), { height: 3, width: 3 }), /images\.length/],
    ['no images', 'RangeError', () => augmentImages(new Uint8Array(0), { height: 3, width: 3 }), /images\.length/],
    ['no options', 'TypeError', () => augmentImages(digits, undefined as never), /options/],
    ['height 0', 'RangeError', () => augmentImages(digits, { height: 0, width: W }), /options\.height/],
    ['rotation 200', 'RangeError', () => augmentImages(digits, { height: H, width: W, rotation: 200 }), /options\.rotation/],
    ['scale NaN', 'RangeError', () => augmentImages(digits, { height: H, width: W, scale: NaN }), /options\.scale/],
    ['flip a string', 'TypeError', () => augmentImages(digits, { height: H, width: W, flip: 'yes' as unknown as boolean }), /options\.flip/],
    ['misspelt range', 'TypeError', () => augmentImages(digits, { height: H, width: W, shift: 0.1 } as never), /options\.shift/],
    ['seed -1', 'RangeError', () => augmentImages(digits, { height: H, width: W, seed: -1 }), /options\.seed/],
  ];
  it.each(bad)('%s: a %s naming the argument', async (_name, kind, call, message) => {
    await expect(call()).rejects.toThrow(kind === 'TypeError' ? TypeError : RangeError);
    await expect(call()).rejects.toThrow(message);
  });

  it('runs off the event loop: a timer fires while a large batch is transformed', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const big = new Uint8Array(20000 * H * W).map((_, i) => digits[i % digits.length]);
    const out = await augmentImages(big, { height: H, width: W, seed: 4 });
    clearInterval(timer);
    expect(out).toHaveLength(big.length);
    expect(ticks).toBeGreaterThan(0);
  });
});
