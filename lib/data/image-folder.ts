// A folder of photos as a Dataset: the scan (layouts, classes, split: folder-scan.ts), the
// geometry (what the network sees and what is kept), one decoding pass over every image
// (sharp: decode.ts) that finds the bad ones and, when everything fits under cacheBytes,
// keeps the pixels in native memory; otherwise the images are streamed while training.
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { binding } from '../binding';
import { SemihardError } from '../errors';
import { decodeImages, imageSizeOf } from './decode';
import type { Dataset, DecodeProgressEvent, ImageSet, ImageStore, LoadDatasetOptions } from './datasets';
import { scanImageFolder } from './folder-scan';
import type { ResolvedImageFolderSource } from './source';

/** Bytes of images copied between two turns of the event loop when the cache is compacted. */
const COPY_BYTES_PER_TURN = 8 << 20;

/** The side the network sees when the images differ in size and no imageSize was given (torchvision's 224). */
export const DEFAULT_IMAGE_SIDE = 224;

/** Images are kept (and streamed) at 8/7 of the network's input, as torchvision's Resize(256) + CenterCrop(224). */
export function storedSide(side: number): number {
  return Math.round((side * 8) / 7);
}

export interface FolderGeometry {
  height: number;
  width: number;
  storedHeight: number;
  storedWidth: number;
  channels: 1 | 3;
}

/** ImageNet's per-channel statistics (the pretrained backbones' input); greyscale: their means. */
export function imagenetNormalisation(channels: 1 | 3): { mean: number[]; std: number[] } {
  return channels === 3 ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } : { mean: [0.449], std: [0.226] };
}

function concurrency(options: LoadDatasetOptions): number {
  return Math.max(1, options.concurrency ?? os.availableParallelism());
}

/** The geometry: imageSize as given (kept at 8/7), else the images' own size when all agree (kept as is), else 224. */
async function geometryOf(source: ResolvedImageFolderSource, files: string[], options: LoadDatasetOptions): Promise<FolderGeometry> {
  const channels = source.channels;
  if (source.imageSize) {
    const [height, width] = source.imageSize;
    return { height, width, storedHeight: storedSide(height), storedWidth: storedSide(width), channels };
  }
  // Headers only; an unreadable one is the decoding pass's to report.
  let common: { height: number; width: number } | null | undefined;
  let next = 0;
  let read = 0;
  const every = Math.max(1, Math.floor(files.length / 200));
  const worker = async (): Promise<void> => {
    while (next < files.length && common !== null) {
      const file = files[next++];
      const size = await imageSizeOf(file).catch(() => undefined);
      if (++read % every === 0) options.onProgress?.({ stage: 'decode', what: 'sizes', done: read, total: files.length, cached: false, skipped: 0, firstSkipped: [] });
      if (!size) continue;
      if (common === undefined) common = size;
      else if (common && (common.height !== size.height || common.width !== size.width)) common = null;
      options.signal?.throwIfAborted();
    }
  };
  await Promise.all(Array.from({ length: concurrency(options) }, worker));
  if (common) return { height: common.height, width: common.width, storedHeight: common.height, storedWidth: common.width, channels };
  return { height: DEFAULT_IMAGE_SIDE, width: DEFAULT_IMAGE_SIDE, storedHeight: storedSide(DEFAULT_IMAGE_SIDE), storedWidth: storedSide(DEFAULT_IMAGE_SIDE), channels };
}

interface Decoded {
  files: string[];
  labels: Int32Array;
  images: ImageStore | null;
}

export async function loadImageFolder(source: ResolvedImageFolderSource, seed: number, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const scan = await scanImageFolder({
    imageFolder: source.imageFolder,
    seed,
    ...(source.validFolder !== null ? { validFolder: source.validFolder } : {}),
    ...(source.validFiles !== null ? { validFiles: source.validFiles } : {}),
    ...(source.validFolder === null && source.validFiles === null ? { validFraction: source.validFraction } : {}),
  });
  const all = [...scan.train.files, ...scan.valid.files];
  const geometry = options.geometry ? { ...options.geometry } : await geometryOf(source, all, options);
  const imageBytes = geometry.storedHeight * geometry.storedWidth * geometry.channels;
  const cached = all.length * imageBytes <= source.cacheBytes;
  const target = { height: geometry.storedHeight, width: geometry.storedWidth, channels: geometry.channels };
  const skipped: { file: string; reason: string }[] = [];
  const total = all.length;
  let done = 0;
  let reported = -1;
  const report = (): void => {
    // At most ~200 events per pass (and the last one), whatever the folder's size.
    if (!options.onProgress || (done !== total && done - reported < Math.max(1, Math.floor(total / 200)))) return;
    reported = done;
    const event: DecodeProgressEvent = { stage: 'decode', what: 'pixels', done, total, cached, skipped: skipped.length, firstSkipped: skipped.slice(0, 5) };
    options.onProgress(event);
  };

  const decodeSet = async (set: { files: string[]; labels: Int32Array }): Promise<Decoded> => {
    const store = cached && set.files.length > 0 ? binding.createImageStore(set.files.length, target.height, target.width, target.channels) : null;
    const bad = new Set<number>();
    await decodeImages(set.files, target, {
      concurrency: concurrency(options),
      signal: options.signal,
      onImage: (i, pixels) => {
        store?.write(i, pixels);
        done++;
        report();
      },
      onError: (i, error) => {
        if (source.badImages === 'error') return 'throw';
        bad.add(i);
        skipped.push({ file: set.files[i], reason: error.message });
        done++;
        report();
        return 'skip';
      },
    });
    if (bad.size === 0) return { files: set.files, labels: set.labels, images: store };
    const keep = set.files.map((_, i) => i).filter((i) => !bad.has(i));
    let images: ImageStore | null = null;
    if (store && keep.length > 0) {
      // The kept images, contiguous (a transient second copy; bad images are rare), copied a
      // few megabytes at a time between turns of the event loop.
      const kept = binding.createImageStore(keep.length, target.height, target.width, target.channels);
      const perTurn = Math.max(1, Math.floor(COPY_BYTES_PER_TURN / imageBytes));
      for (let to = 0; to < keep.length; to++) {
        kept.write(to, store.read(keep[to]));
        if ((to + 1) % perTurn === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      images = kept;
    }
    return { files: keep.map((i) => set.files[i]), labels: Int32Array.from(keep, (i) => set.labels[i]), images };
  };
  const train = await decodeSet(scan.train);
  const valid = await decodeSet(scan.valid);
  report();
  // Decodes finish in any order: the list in the folder's order.
  skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  checkClasses(scan.classNames, scan.root, train.labels, valid.labels, skipped.length > 0);
  const imageSet = (d: Decoded): ImageSet => ({ images: d.images, labels: d.labels, count: d.labels.length, files: d.files });
  return {
    name: scan.root,
    source: 'folder',
    height: geometry.height,
    width: geometry.width,
    storedHeight: geometry.storedHeight,
    storedWidth: geometry.storedWidth,
    channels: geometry.channels,
    classes: scan.classNames.length,
    classNames: scan.classNames,
    train: imageSet(train),
    valid: imageSet(valid),
    skipped,
    ignored: scan.ignored,
    normalisation: imagenetNormalisation(geometry.channels),
    cached,
    fingerprint: fingerprint(scan.root, scan.classNames, train, valid),
  };
}

function fingerprint(root: string, classNames: string[], train: Decoded, valid: Decoded): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(classNames));
  for (const set of [train, valid]) {
    hash.update('\0split');
    set.files.forEach((file, i) => hash.update(`\0${path.relative(root, file)}\0${set.labels[i]}`));
  }
  return hash.digest('hex');
}

/** After bad images were left out: every class still has a training image and a positive. */
function checkClasses(classNames: string[], root: string, train: Int32Array, valid: Int32Array, afterSkipping: boolean): void {
  const trainCount = new Array<number>(classNames.length).fill(0);
  const allCount = new Array<number>(classNames.length).fill(0);
  for (const l of train) {
    trainCount[l]++;
    allCount[l]++;
  }
  for (const l of valid) allCount[l]++;
  const why = afterSkipping ? ' once its bad images were left out' : '';
  classNames.forEach((name, c) => {
    if (allCount[c] < 2) {
      throw new SemihardError('ERR_SEMIHARD_DATA', `The class folder ${root}/${name} has ${allCount[c]} image(s)${why}: a class needs at least 2 (an image and a positive for it)`);
    }
    if (trainCount[c] === 0) {
      throw new SemihardError('ERR_SEMIHARD_DATA', `The class ${name} of ${root} has no training image${why}`);
    }
  });
}
