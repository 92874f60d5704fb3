// The report's thumbnails, decoded again by sharp: greyscale pixels in memory come back exactly
// (lossless WebP at their own size); an image store's colour pixels and a streamed folder's
// files (no pixels in memory) come back as WebP whose longer side is at most the size asked
// for, the aspect kept, close to the source (lossy quality 80: compared by mean error).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { makeThumbnails } from '../../lib/report/thumbnails';
import type { ImageSet } from '../../lib/data/datasets';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-thumbs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function decode(base64: string): Promise<{ data: Buffer; width: number; height: number; channels: number; format: string | undefined }> {
  const bytes = Buffer.from(base64, 'base64');
  const format = (await sharp(bytes).metadata()).format;
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels, format };
}

/** A smooth test pattern (gradients compress well and survive lossy WebP closely). */
function pattern(height: number, width: number, channels: number, seed: number): Uint8Array {
  const px = new Uint8Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) px[(y * width + x) * channels + c] = (x * 7 + y * 3 + c * 60 + seed * 25) % 256;
    }
  }
  return px;
}

/** Smooth colour ramps without wrap-around (lossy WebP keeps them within a few levels). */
function ramps(height: number, width: number, flip: boolean): Uint8Array {
  const px = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = flip ? 1 - x / (width - 1) : x / (width - 1);
      const v = y / (height - 1);
      px.set([Math.round(255 * u), Math.round(255 * v), Math.round(127 * (u + v))], (y * width + x) * 3);
    }
  }
  return px;
}

describe('makeThumbnails', () => {
  it('greyscale pixels in memory: lossless WebP at their own size, the rows asked for in order', async () => {
    const count = 5;
    const images = new Uint8Array(count * 28 * 28);
    for (let i = 0; i < count; i++) images.set(pattern(28, 28, 1, i).map((v, j) => (v + (j % 13) * 17) % 256), i * 784);
    const set: ImageSet = { images, labels: new Int32Array(count), count };
    const thumbs = await makeThumbnails(set, [3, 0, 4], { storedHeight: 28, storedWidth: 28, channels: 1 }, 64);
    expect(thumbs.type).toBe('image/webp');
    for (const [k, row] of [3, 0, 4].entries()) {
      const d = await decode(thumbs.data[k]);
      expect([d.format, d.width, d.height]).toEqual(['webp', 28, 28]);
      // WebP decodes to RGB: every channel holds the grey value, exactly.
      const grey = Array.from({ length: 784 }, (_, p) => d.data[p * d.channels]);
      expect(grey).toEqual(Array.from(images.subarray(row * 784, (row + 1) * 784)));
    }
  });

  it('colour pixels larger than the size (an image store): lossy WebP of longer side = size, aspect kept', async () => {
    const [h, w] = [96, 128];
    const pixels = [ramps(h, w, false), ramps(h, w, true)];
    const store = { count: 2, storedHeight: h, storedWidth: w, channels: 3, bytes: 2 * h * w * 3, read: (i: number) => pixels[i], write: () => undefined };
    const set = { images: store, labels: new Int32Array(2), count: 2 } as unknown as ImageSet;
    const thumbs = await makeThumbnails(set, [1], { storedHeight: h, storedWidth: w, channels: 3 }, 64);
    const d = await decode(thumbs.data[0]);
    expect([d.format, d.width, d.height]).toEqual(['webp', 64, 48]);
    // Against sharp's own downscale of the same pixels: lossy quality 80 on smooth ramps stays
    // within a few levels on average (image 0, the mirror image, is off by about 64: 127.5 in
    // red, 0 in green, 63.5 in blue).
    const reference = await sharp(Buffer.from(pixels[1]), { raw: { width: w, height: h, channels: 3 } }).resize({ width: 64, height: 64, fit: 'inside' }).raw().toBuffer();
    let error = 0;
    for (let i = 0; i < reference.length; i++) error += Math.abs(reference[i] - d.data[i]);
    expect(error / reference.length).toBeLessThan(8);
  });

  it('a streamed folder (files only): each file decoded again, EXIF orientation applied, scaled to fit', async () => {
    const file = path.join(tmp, 'tall.jpg');
    // Stored 80 wide × 40 high with orientation 6 (rotate 90° clockwise): shown 40 wide × 80 high.
    await sharp(Buffer.from(pattern(40, 80, 3, 3)), { raw: { width: 80, height: 40, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
    const set: ImageSet = { images: null, labels: new Int32Array(1), count: 1, files: [file] };
    const thumbs = await makeThumbnails(set, [0], { storedHeight: 224, storedWidth: 224, channels: 3 }, 32);
    const d = await decode(thumbs.data[0]);
    expect([d.format, d.width, d.height]).toEqual(['webp', 16, 32]);
  });
});
