// embedImageSet(): embeds a loaded data set's split (Dataset.train or .valid) with a trained
// model, wherever its images are: in memory (IDX data), in a native image store (a cached
// image folder) or only as files (a streamed one). eval and report share it.
import type { ImageSet } from './data/datasets';
import type { Model } from './model';

/** Images copied out of a store and embedded at a time. */
const CHUNK = 512;

/** count × dim float32, in the set's order; onProgress(done, total) after each chunk. */
export async function embedImageSet(model: Model, set: ImageSet, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<Float32Array> {
  const count = set.count;
  const onProgress = options.onProgress;
  const images = set.images;
  if (images === null) {
    if (!set.files) throw new Error('internal: the set has neither images nor files');
    return model.embed(set.files, { onProgress });
  }
  const out = new Float32Array(count * model.dim);
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    let pixels: Uint8Array;
    if (images instanceof Uint8Array) {
      const size = images.length / count;
      pixels = images.subarray(start * size, (start + n) * size);
    } else {
      const size = images.bytes / images.count;
      pixels = new Uint8Array(n * size);
      for (let i = 0; i < n; i++) pixels.set(images.read(start + i), i * size);
    }
    out.set(await model.embed(pixels, n), start * model.dim);
    onProgress?.(start + n, count);
  }
  return out;
}
