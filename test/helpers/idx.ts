// Writes MNIST-format IDX files (independently of lib/data/idx.ts) for tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** A folder with the four standard files, from count × side × side images. */
export function writeIdxDir(
  dir: string,
  sets: { train: { images: Uint8Array; labels: ArrayLike<number> }; test: { images: Uint8Array; labels: ArrayLike<number> } },
  side: number,
  gzip: boolean,
): void {
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, bytes: Buffer) =>
    fs.writeFileSync(path.join(dir, gzip ? `${name}.gz` : name), gzip ? zlib.gzipSync(bytes) : bytes);
  for (const [prefix, set] of [
    ['train', sets.train],
    ['t10k', sets.test],
  ] as const) {
    const n = set.labels.length;
    write(`${prefix}-images-idx3-ubyte`, idxBytes([n, side, side], set.images));
    write(`${prefix}-labels-idx1-ubyte`, idxBytes([n], Uint8Array.from(set.labels)));
  }
}

/** The first `perClass` images of each of the ten classes of a set, in set order. */
export function takePerClass(set: { images: Uint8Array; labels: Int32Array; count: number }, perClass: number) {
  const picked: number[] = [];
  const counts = new Array(10).fill(0);
  for (let i = 0; i < set.count && picked.length < perClass * 10; i++) {
    if (counts[set.labels[i]] < perClass) {
      counts[set.labels[i]]++;
      picked.push(i);
    }
  }
  const images = new Uint8Array(picked.length * 784);
  picked.forEach((i, row) => images.set(set.images.subarray(i * 784, (i + 1) * 784), row * 784));
  return { images, labels: picked.map((i) => set.labels[i]) };
}
