// The random resized crop of training images (native core/random_resized_crop.cc through the
// raw addon): the boxes drawn stay inside the image with area and aspect ratio in range over
// many draws, the no-fit fallback is torchvision's, and augmentImages with the affine at rest
// resamples each box exactly as a brute-force bilinear resize of it (mirrored when flipped).
import type { NativeAffine, NativeCrop } from '../binding';
import { U32 } from './helpers/tolerance';
import { addon, bitsOf, colourImages, resizedCrop, type Box } from './helpers/native-images';

const still: NativeAffine = { rotation: 0, scale: 0, translate: 0, flip: false };

function boxes(count: number, height: number, width: number, crop: NativeCrop, seed: number): Box[] {
  const b = addon.cropBoxesForTesting({ count, height, width, crop, seed });
  return Array.from({ length: count }, (_, i) => ({ top: b[4 * i], left: b[4 * i + 1], height: b[4 * i + 2], width: b[4 * i + 3] }));
}

/**
 * How far augmentImages may be from the exact bilinear resize (float64) of a box of an image
 * whose sides are at most `side`. The sampling position: theta (float64 rounded to float32,
 * relative u), affine_grid's base coordinates and its 3-term product (values ≤ 1, ≤ 12u
 * absolute in [-1, 1] units), unnormalising by ((x + 1)·W − 1) / 2 (which scales that by W/2
 * and adds a few roundings of values ≤ W): at most 12u·side pixels off in each direction.
 * Bilinear interpolation of pixels in 0..1 changes by at most the neighbours' difference (≤ 1)
 * per pixel moved, in each of two directions; its weights and 4-term blend add ≤ 8u.
 */
const tolerance = (side: number) => 2 * 12 * U32 * side + 8 * U32;

/** torchvision's box when none of the 10 tries fits: the whole image cut to the nearest allowed ratio, centred. */
function fallback(height: number, width: number, crop: NativeCrop): Box {
  let w = width;
  let h = height;
  if (width / height < crop.minRatio) h = Math.round(width / crop.minRatio);
  else if (width / height > crop.maxRatio) w = Math.round(height * crop.maxRatio);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

describe('random resized crop boxes', () => {
  it('stay inside the image with area fraction and aspect ratio in range, over many draws and shapes', () => {
    for (const [height, width, crop] of [
      [64, 48, { minScale: 0.08, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 }],
      [37, 91, { minScale: 0.3, maxScale: 0.6, minRatio: 0.5, maxRatio: 2 }],
      [256, 256, { minScale: 0.08, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 }],
    ] as const) {
      const drawn = boxes(2000, height, width, crop, 17);
      const tops = new Set<number>();
      const rest = fallback(height, width, crop);
      const outside: Box[] = [];
      const areas: number[] = [];
      for (const b of drawn) {
        tops.add(b.top);
        if (b.top === rest.top && b.left === rest.left && b.height === rest.height && b.width === rest.width) continue;
        areas.push((b.width * b.height) / (width * height));
        // w = round(sqrt(A·r)), h = round(sqrt(A/r)): each side off its real value by ≤ ½, so
        // the area w·h and ratio w/h may leave the range by what half a pixel on each side does.
        const inside = b.top >= 0 && b.left >= 0 && b.height > 0 && b.width > 0 && b.top + b.height <= height && b.left + b.width <= width;
        const loose = ((b.width + 0.5) * (b.height + 0.5)) / (width * height);
        const tight = (Math.max(b.width - 0.5, 0) * Math.max(b.height - 0.5, 0)) / (width * height);
        const ratioHigh = (b.width + 0.5) / Math.max(b.height - 0.5, 0.5);
        const ratioLow = Math.max(b.width - 0.5, 0) / (b.height + 0.5);
        if (!inside || loose < crop.minScale || tight > crop.maxScale || ratioHigh < crop.minRatio || ratioLow > crop.maxRatio) outside.push(b);
      }
      expect(outside).toEqual([]);
      // Places and areas are drawn across their ranges (area ~ U(minScale, maxScale) before the
      // rounding and the rejection of boxes that do not fit; 2000 draws reach both ends' tenths).
      expect(tops.size).toBeGreaterThan(5);
      const span = crop.maxScale - crop.minScale;
      expect(Math.min(...areas)).toBeLessThan(crop.minScale + 0.1 * span);
      expect(Math.max(...areas)).toBeGreaterThan(crop.maxScale - 0.1 * span);
    }
  });

  it('the same seed draws the same boxes; another seed others', () => {
    const crop = { minScale: 0.08, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 };
    expect(boxes(50, 40, 30, crop, 3)).toEqual(boxes(50, 40, 30, crop, 3));
    expect(boxes(50, 40, 30, crop, 3)).not.toEqual(boxes(50, 40, 30, crop, 4));
  });

  it("falls back to torchvision's centre crop at the nearest allowed ratio when no try fits", () => {
    // The whole area at ratio ≥ 2 never fits a square: w = round(sqrt(A·r)) > side.
    // torchvision: in_ratio 1 < min ratio 2, so w = W, h = round(W / 2), top = (H − h) // 2.
    expect(boxes(3, 30, 30, { minScale: 1, maxScale: 1, minRatio: 2, maxRatio: 3 }, 1)).toEqual(
      Array(3).fill({ top: 7, left: 0, height: 15, width: 30 }),
    );
    // in_ratio 3 > max ratio 1.5: h = H, w = round(H · 1.5) = 15, left = (30 − 15) // 2 = 7.
    expect(boxes(2, 10, 30, { minScale: 1, maxScale: 1, minRatio: 0.5, maxRatio: 1.5 }, 1)).toEqual(
      Array(2).fill({ top: 0, left: 7, height: 10, width: 15 }),
    );
  });
});

describe('augmentImages with a crop', () => {
  const H = 40;
  const W = 34;
  const C = 3;
  const count = 12;
  const { images } = colourImages(count, H, W, C);
  const crop = { minScale: 0.2, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 };
  const image = (i: number) => images.subarray(i * H * W * C, (i + 1) * H * W * C);

  it.each([
    [24, 24],
    [16, 30],
    [40, 34],
  ])('resamples each drawn box to %i × %i as a brute-force bilinear resize does', async (outHeight, outWidth) => {
    const out = await addon.augmentImages({ images, count, height: H, width: W, channels: C, affine: still, crop, outHeight, outWidth, seed: 9 });
    expect(out.length).toBe(count * outHeight * outWidth * C);
    const drawn = boxes(count, H, W, crop, 9);
    const size = outHeight * outWidth * C;
    for (let i = 0; i < count; i++) {
      const want = resizedCrop(image(i), H, W, C, drawn[i], outHeight, outWidth);
      let worst = 0;
      for (let k = 0; k < size; k++) worst = Math.max(worst, Math.abs(out[i * size + k] - want[k]));
      expect(worst).toBeLessThanOrEqual(tolerance(Math.max(H, W)));
    }
  });

  it('with flips, each image is its box resized or that mirrored, both happening', async () => {
    const out = await addon.augmentImages({
      images, count, height: H, width: W, channels: C, affine: { ...still, flip: true }, crop, outHeight: 20, outWidth: 20, seed: 5,
    });
    const drawn = boxes(count, H, W, crop, 5);
    const size = 20 * 20 * C;
    let mirrored = 0;
    for (let i = 0; i < count; i++) {
      const worst = (mirror: boolean) => {
        const want = resizedCrop(image(i), H, W, C, drawn[i], 20, 20, mirror);
        let w = 0;
        for (let k = 0; k < size; k++) w = Math.max(w, Math.abs(out[i * size + k] - want[k]));
        return w;
      };
      const [plain, flipped] = [worst(false), worst(true)];
      expect(Math.min(plain, flipped)).toBeLessThanOrEqual(tolerance(Math.max(H, W)));
      if (flipped < plain) mirrored++;
    }
    expect(mirrored).toBeGreaterThan(0);
    expect(mirrored).toBeLessThan(count);
  });

  it('without a crop, a smaller output is the centre crop (the affine at rest samples pixel centres)', async () => {
    const out = await addon.augmentImages({ images: images.subarray(0, 2 * H * W * C), count: 2, height: H, width: W, channels: C, affine: still, outHeight: 31, outWidth: 27, seed: 1 });
    // torchvision's offsets: round((40 − 31) / 2) = round(4.5) = 4, round((34 − 27) / 2) = round(3.5) = 4.
    const box = { top: 4, left: 4, height: 31, width: 27 };
    const size = 31 * 27 * C;
    for (let i = 0; i < 2; i++) {
      const want = resizedCrop(image(i), H, W, C, box, 31, 27);
      let worst = 0;
      for (let k = 0; k < size; k++) worst = Math.max(worst, Math.abs(out[i * size + k] - want[k]));
      expect(worst).toBeLessThanOrEqual(tolerance(Math.max(H, W)));
    }
  });

  it('is a function of the seed', async () => {
    const options = { images, count, height: H, width: W, channels: C, affine: { rotation: 10, scale: 0.1, translate: 0.1, flip: true }, crop, outHeight: 24, outWidth: 24 };
    const a = await addon.augmentImages({ ...options, seed: 21 });
    expect(bitsOf(await addon.augmentImages({ ...options, seed: 21 })).equals(bitsOf(a))).toBe(true);
    expect(bitsOf(await addon.augmentImages({ ...options, seed: 22 })).equals(bitsOf(a))).toBe(false);
  });

  it('refuses crop ranges outside the preconditions in the core\'s words', async () => {
    await expect(
      addon.augmentImages({ images, count, height: H, width: W, channels: C, affine: still, crop: { ...crop, maxScale: 1.5 }, seed: 1 }),
    ).rejects.toMatchObject({ code: 'ERR_SEMIHARD_TORCH', message: expect.stringMatching(/need 0 < min_scale <= max_scale <= 1/) });
    expect(() => addon.augmentImages({ images, count, height: H, width: W, channels: C, affine: still, crop: { minScale: 0.5 } as NativeCrop, seed: 1 })).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'options.crop.maxScale' }),
    );
  });
});
