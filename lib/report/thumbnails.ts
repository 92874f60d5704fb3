// The report's thumbnails: small images, base64, one per point of the map. Pixels held in
// memory (IDX data, a cached image folder) are encoded as they are stored (greyscale as
// lossless PNG: a 28 × 28 digit is a few hundred bytes; colour as WebP); a streamed image
// folder's files are decoded again by sharp (EXIF orientation applied, alpha flattened).
// A side longer than `size` is scaled down to fit it.
import sharp, { type Sharp } from 'sharp';
import type { ImageSet } from '../data/datasets';

export interface Thumbnails {
  data: string[];
  type: 'image/png' | 'image/webp';
}

/** Thumbnails encoded at once (sharp runs them on libuv's threads). */
const PARALLEL = 16;

function encode(image: Sharp, type: Thumbnails['type'], size: number, resize: boolean): Promise<Buffer> {
  let s = image;
  if (resize) s = s.resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
  return (type === 'image/png' ? s.png({ compressionLevel: 9 }) : s.webp({ quality: 80 })).toBuffer();
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
  const type: Thumbnails['type'] = images !== null && geometry.channels === 1 ? 'image/png' : 'image/webp';
  const { storedHeight: height, storedWidth: width, channels } = geometry;
  const resize = Math.max(height, width) > size;
  const one = (row: number): Promise<Buffer> => {
    if (images === null) {
      const file = set.files?.[row];
      if (file === undefined) throw new Error(`internal: sample ${row} has neither pixels nor a file`);
      const image = sharp(file, { failOn: 'none' }).rotate().flatten({ background: '#000000' });
      return encode(image, type, size, true);
    }
    const bytes = height * width * channels;
    const pixels = images instanceof Uint8Array ? images.subarray(row * bytes, (row + 1) * bytes) : images.read(row);
    return encode(sharp(pixels, { raw: { width, height, channels } }), type, size, resize);
  };
  const data: string[] = new Array(rows.length);
  for (let start = 0; start < rows.length; start += PARALLEL) {
    const batch = rows.slice(start, start + PARALLEL);
    const encoded = await Promise.all(batch.map(one));
    encoded.forEach((buffer, i) => (data[start + i] = buffer.toString('base64')));
    onProgress?.(Math.min(start + PARALLEL, rows.length), rows.length);
  }
  return { data, type };
}
