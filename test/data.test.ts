// Data: IDX parsing (hand-made files, gzipped or not, corrupt ones), the data sets, and the
// batch samplers' properties.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadDataset, loadIdxDataset, fashionMnistDirs, FASHION_MNIST_CLASSES } from '../lib/data/datasets';
import { parseIdx, readIdxFile } from '../lib/data/idx';
import { balancedEpoch, shuffledEpoch, validationBatches } from '../lib/data/sampler';
import { idxBytes, writeIdxDir } from './helpers/idx';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('IDX files', () => {
  const images = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 7);

  it('parses a hand-made file, plain and gzipped', () => {
    const plain = path.join(tmp, 'a-idx3-ubyte');
    fs.writeFileSync(plain, idxBytes([3, 2, 2], images));
    const gz = path.join(tmp, 'a-idx3-ubyte.gz');
    fs.writeFileSync(gz, zlib.gzipSync(idxBytes([3, 2, 2], images)));
    for (const file of [plain, gz]) {
      const r = readIdxFile(file);
      expect(r.dims).toEqual([3, 2, 2]);
      expect(Array.from(r.data)).toEqual(Array.from(images));
    }
  });

  it.each([
    ['truncated data', idxBytes([3, 2, 2], images).subarray(0, 20), /need 12 data bytes but 4 follow/],
    ['trailing bytes', Buffer.concat([idxBytes([3, 2, 2], images), Buffer.from([1])]), /need 12 data bytes but 13/],
    ['no header', Buffer.from([0, 0]), /only 2 bytes/],
    ['bad magic', Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), /magic number/],
    ['not unsigned bytes', Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), /element type 0xd/],
    ['header cut short', Buffer.from([0, 0, 8, 3, 0, 0, 0, 1]), /header needs 16 bytes/],
  ])('rejects %s with a clear error naming the file', (_name, bytes, message) => {
    expect(() => parseIdx(new Uint8Array(bytes), 'some/file-idx3-ubyte')).toThrow(
      expect.objectContaining({ code: 'ERR_SEMIHARD_DATA', message: expect.stringMatching(/some\/file-idx3-ubyte/) }),
    );
    expect(() => parseIdx(new Uint8Array(bytes), 'f')).toThrow(message);
  });

  it('names a damaged gzip file', () => {
    const file = path.join(tmp, 'broken.gz');
    fs.writeFileSync(file, zlib.gzipSync(idxBytes([3, 2, 2], images)).subarray(0, 15));
    expect(() => readIdxFile(file)).toThrow(expect.objectContaining({ code: 'ERR_SEMIHARD_DATA', message: expect.stringContaining(file) }));
  });

  it('loads a folder of the four standard files, gzipped or not', () => {
    for (const gzip of [false, true]) {
      const dir = path.join(tmp, `set-${gzip}`);
      const train = { images: Uint8Array.from({ length: 6 * 16 }, (_, i) => i % 251), labels: [0, 1, 2, 0, 1, 2] };
      const test = { images: Uint8Array.from({ length: 2 * 16 }, (_, i) => 255 - i), labels: [1, 0] };
      writeIdxDir(dir, { train, test }, 4, gzip);
      const d = loadIdxDataset({ idxDir: dir }, 0);
      expect(d).toMatchObject({ height: 4, width: 4, classes: 3 });
      expect(Array.from(d.train.labels)).toEqual(train.labels);
      expect(Array.from(d.valid.images)).toEqual(Array.from(test.images));
    }
  });

  it('says which files a folder lacks', () => {
    const dir = path.join(tmp, 'half');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idxBytes([1, 1, 1], new Uint8Array(1)));
    expect(() => loadIdxDataset({ idxDir: dir }, 0)).toThrow(/lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte/);
  });

  it('rejects images and labels of different counts', () => {
    const dir = path.join(tmp, 'mismatch');
    writeIdxDir(dir, { train: { images: new Uint8Array(2 * 4), labels: [0, 1] }, test: { images: new Uint8Array(4), labels: [0] } }, 2, false);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idxBytes([3, 2, 2], new Uint8Array(12)));
    expect(() => loadIdxDataset({ idxDir: dir }, 0)).toThrow(/has 3 images but .* has 2 labels/);
  });
});

describe('loadDataset (the public, asynchronous entry)', () => {
  it('resolves every source to a Promise of the same data set, and rejects what the loaders throw', async () => {
    const promised = loadDataset('mnist', 1);
    expect(promised).toBeInstanceOf(Promise);
    const d = await promised;
    expect(Buffer.from(d.valid.images as Uint8Array).equals(Buffer.from(loadIdxDataset('mnist', 1).valid.images))).toBe(true);
    expect(d).toMatchObject({ source: 'idx', channels: 1, storedHeight: 28, storedWidth: 28, skipped: [], normalisation: null, cached: true });
    await expect(loadDataset({ idxDir: path.join(tmp, 'no-such-folder') }, 0)).rejects.toMatchObject({ code: 'ERR_SEMIHARD_DATA' });
    await expect(loadDataset('emnist' as never, 0)).rejects.toThrow(RangeError);
  });
});

describe('data sets', () => {
  it('embedded MNIST: 10,000 real digits split 8,000 / 2,000 per class, by seed', () => {
    const a = loadIdxDataset('mnist', 1);
    expect(a.train.count).toBe(8000);
    expect(a.valid.count).toBe(2000);
    expect(a.train.images.length).toBe(8000 * 784);
    const perClass = (labels: Int32Array) => Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
    const train = perClass(a.train.labels);
    const valid = perClass(a.valid.labels);
    // Stratified: each class keeps round(0.2 · its count) for validation, within half an image.
    train.forEach((n, c) => expect(Math.abs(valid[c] - 0.2 * (n + valid[c]))).toBeLessThanOrEqual(0.5 + 1e-9));
    const b = loadIdxDataset('mnist', 1);
    expect(Buffer.from(b.valid.images).equals(Buffer.from(a.valid.images))).toBe(true);
    const c = loadIdxDataset('mnist', 2);
    expect(Buffer.from(c.valid.images).equals(Buffer.from(a.valid.images))).toBe(false);
    // Real digits: ink is sparse, the border is blank.
    const mean = a.train.images.reduce((s, v) => s + v, 0) / a.train.images.length;
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(45);
  });

  const fashion = fashionMnistDirs().some((d) => fs.existsSync(path.join(d, 'train-images-idx3-ubyte.gz')));
  (fashion ? it : it.skip)('Fashion-MNIST from Debian: 60,000 / 10,000 with class names', () => {
    const d = loadIdxDataset('fashion-mnist', 0);
    expect(d.train.count).toBe(60000);
    expect(d.valid.count).toBe(10000);
    expect(d.classNames).toEqual(FASHION_MNIST_CLASSES);
  });

  it('explains how to get Fashion-MNIST when it is absent', () => {
    const saved = process.env.SEMIHARD_FASHION_MNIST_DIR;
    process.env.SEMIHARD_FASHION_MNIST_DIR = path.join(tmp, 'nowhere');
    try {
      expect(() => loadIdxDataset('fashion-mnist', 0)).toThrow(
        expect.objectContaining({ code: 'ERR_SEMIHARD_DATA', message: expect.stringMatching(/nowhere.*apt-get install dataset-fashion-mnist/) }),
      );
    } finally {
      if (saved === undefined) delete process.env.SEMIHARD_FASHION_MNIST_DIR;
      else process.env.SEMIHARD_FASHION_MNIST_DIR = saved;
    }
  });
});

describe('samplers', () => {
  // 10 classes of uneven sizes.
  const labels = Int32Array.from({ length: 530 }, (_, i) => (i < 80 ? 0 : i % 10));

  it('balanced: P×K shape, P distinct classes with K samples each', () => {
    const plan = balancedEpoch(labels, 4, 8, 7, 0);
    expect(plan.batchSize).toBe(32);
    expect(plan.indices.length).toBe(plan.steps * 32);
    for (let s = 0; s < plan.steps; s++) {
      const batch = Array.from(plan.indices.subarray(s * 32, (s + 1) * 32), (i) => labels[i]);
      const counts = new Map<number, number>();
      batch.forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
      expect(counts.size).toBe(4);
      expect([...counts.values()].every((n) => n === 8)).toBe(true);
    }
  });

  it('balanced: an epoch visits every sample at least once, without much waste', () => {
    const plan = balancedEpoch(labels, 4, 8, 7, 3);
    const seen = new Set(plan.indices);
    expect(seen.size).toBe(labels.length);
    expect(plan.steps).toBeLessThanOrEqual(Math.ceil(labels.length / 32) + 3);
  });

  it('balanced: deterministic per (seed, epoch), different across epochs and seeds', () => {
    expect(balancedEpoch(labels, 4, 8, 7, 1).indices).toEqual(balancedEpoch(labels, 4, 8, 7, 1).indices);
    expect(balancedEpoch(labels, 4, 8, 7, 1).indices).not.toEqual(balancedEpoch(labels, 4, 8, 7, 2).indices);
    expect(balancedEpoch(labels, 4, 8, 7, 1).indices).not.toEqual(balancedEpoch(labels, 4, 8, 8, 1).indices);
  });

  it('balanced: more classes per batch than the data has is a RangeError', () => {
    expect(() => balancedEpoch(labels, 11, 2, 0, 0)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'batch.classes' }),
    );
  });

  it('shuffled: every sample once, the last batch topped up', () => {
    const plan = shuffledEpoch(530, 64, 3, 0);
    expect(plan.steps).toBe(9);
    expect(new Set(plan.indices).size).toBe(530);
    expect(shuffledEpoch(530, 64, 3, 0).indices).toEqual(plan.indices);
  });

  it('validation: shuffled (a class-sorted set still gives batches with positives), fixed per seed', () => {
    const sorted = Int32Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100));
    const plan = validationBatches(1000, 128, 5);
    expect(new Set(plan.indices).size).toBe(1000);
    for (let s = 0; s < plan.steps; s++) {
      const batch = Array.from(plan.indices.subarray(s * 128, (s + 1) * 128), (i) => sorted[i]);
      expect(new Set(batch).size).toBeGreaterThan(5); // mixed classes ...
      expect(new Set(batch).size).toBeLessThan(batch.length); // ... and positives
    }
    expect(validationBatches(1000, 128, 5).indices).toEqual(plan.indices);
  });
});
