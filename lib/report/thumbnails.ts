// The report's thumbnails: small images, base64, one per point of the map, all WebP (every
// current browser decodes it). Greyscale pixels held in memory (IDX data) are stored losslessly
// at their size: lossless WebP takes half of PNG's bytes (28 × 28 digits: 206 against 442 bytes
// on average, Fashion-MNIST's clothes 448 against 930, measured on 200 of each). Colour images
// are lossy WebP (quality 80). A streamed image folder's files are decoded again by sharp (EXIF
// orientation applied, alpha flattened). A side longer than `size` is scaled down to fit it.
import sharp, { type Sharp } from 'sharp';
import type { ImageSet } from '../data/datasets';

export interface Thumbnails {
  data: string[];
  type: 'image/webp';
}

/** Thumbnails encoded at once (sharp runs them on libuv's threads). */
const PARALLEL = 16;

function encode(image: Sharp, lossless: boolean, size: number, resize: boolean): Promise<Buffer> {
  let s = image;
  if (resize) s = s.resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
  return (lossless ? s.webp({ lossless: true, effort: 6 }) : s.webp({ quality: 80 })).toBuffer();
}

/** Thumbnails of the set's images at `rows`, in that order. */
export async function makeThumbnails(
  set: ImageSet,
  rows: readonly number[],
  geometry: { storedHeight: number; storedWidth: number; channels: 1 | 3 },
  size: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Thumbnails> {
  const images = set.images;
  const lossless = images !== null && geometry.channels === 1;
  const { storedHeight: height, storedWidth: width, channels } = geometry;
  const resize = Math.max(height, width) > size;
  const one = (row: number): Promise<Buffer> => {
    if (images === null) {
      const file = set.files?.[row];
      if (file === undefined) throw new Error(`internal: sample ${row} has neither pixels nor a file`);
      const image = sharp(file, { failOn: 'none' }).rotate().flatten({ background: '#000000' });
      return encode(image, false, size, true);
    }
    const bytes = height * width * channels;
    const pixels = images instanceof Uint8Array ? images.subarray(row * bytes, (row + 1) * bytes) : images.read(row);
    return encode(sharp(pixels, { raw: { width, height, channels } }), lossless, size, resize);
  };
  const data: string[] = new Array(rows.length);
  for (let start = 0; start < rows.length; start += PARALLEL) {
    const batch = rows.slice(start, start + PARALLEL);
    const encoded = await Promise.all(batch.map(one));
    encoded.forEach((buffer, i) => (data[start + i] = buffer.toString('base64')));
    onProgress?.(Math.min(start + PARALLEL, rows.length), rows.length);
  }
  return { data, type: 'image/webp' };
}
