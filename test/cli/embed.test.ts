// `semihard embed`, spawned as a user runs it, on a folder of digit PNGs (class folders, loose
// images, a nested folder, hidden and non-image files): the .npy that numpy reads back equals
// the model's embeddings of the same pixels bit for bit, the labels JSON lists the images in
// that order, the Projector TSVs hold one line per image, and bad arguments fail with exit codes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadModel, train, type Model } from '../../lib';
import { loadDataset } from '../../lib/data/datasets';
import { smallTrainConfig, writeSmallDigits } from '../helpers/small-training';
import { expectNoErrorText, runCli, testTimeout } from './run-cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-embed-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const images = path.join(tmp, 'images');

/**
 * The folder, and the order the command must list it in: loose images first (no class), then
 * each class folder in name order, and within a class its own images before its subfolders'
 * (torchvision ImageFolder's order). Hidden files and folders and non-images are left out.
 */
const LAYOUT: string[] = [
  '00.png',
  '01.png',
  '02.png',
  ...Array.from({ length: 30 }, (_, i) => `eight/${String(i).padStart(2, '0')}.png`),
  'eight/more/a.png',
  'eight/more/b.png',
  ...Array.from({ length: 40 }, (_, i) => `five/${String(i).padStart(2, '0')}.png`),
  'zero/a b\tc.png',
  'zero/only.png',
];
const CLASS_NAMES = ['eight', 'five', 'zero'];
const LABELS = LAYOUT.map((p) => (p.includes('/') ? CLASS_NAMES.indexOf(p.split('/')[0]) : -1));
const COUNT = LAYOUT.length;

let ckpt: string;
let model: Model;
/** The images' pixels in LAYOUT order (PNG is lossless: the files decode to exactly these). */
let pixels: Uint8Array;

beforeAll(async () => {
  const dataDir = path.join(tmp, 'digits');
  writeSmallDigits(dataDir);
  const result = await train({ ...smallTrainConfig(dataDir, path.join(tmp, 'run'), 2), maxSteps: 24 });
  ckpt = result.checkpoint;
  model = await loadModel(ckpt, { device: 'cpu' });
  const mnist = await loadDataset('mnist', 0);
  // The embedded MNIST set is held as plain bytes (not an image store, not streamed).
  const valid = mnist.valid.images;
  if (!ArrayBuffer.isView(valid)) throw new Error('expected the MNIST validation images as a Uint8Array');
  pixels = (valid as Uint8Array).slice(0, COUNT * PIXELS);
  // Written in shuffled order, so that the listing's order is the command's, not the file system's.
  const order = LAYOUT.map((_, i) => (i * 37) % COUNT);
  expect(new Set(order).size).toBe(COUNT);
  for (const i of order) {
    const file = path.join(images, ...LAYOUT[i].split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await sharp(Buffer.from(pixels.subarray(i * PIXELS, (i + 1) * PIXELS)), { raw: { width: SIDE, height: SIDE, channels: 1 } })
      .png()
      .toFile(file);
  }
  fs.writeFileSync(path.join(images, '.DS_Store'), 'not an image');
  fs.writeFileSync(path.join(images, 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(images, 'five', '._00.png'), 'a resource fork');
  fs.mkdirSync(path.join(images, '.hidden'));
  fs.copyFileSync(path.join(images, '00.png'), path.join(images, '.hidden', 'x.png'));
  fs.mkdirSync(path.join(images, 'empty-class'));
}, 300_000);

/** model.embed(pixels) in the batches `semihard embed` uses (64 unless --batch-size): the embeddings it must write. */
async function expectedEmbeddings(batchSize = 64): Promise<Float32Array> {
  const out = new Float32Array(COUNT * model.dim);
  for (let start = 0; start < COUNT; start += batchSize) {
    const n = Math.min(batchSize, COUNT - start);
    out.set(await model.embed(pixels.subarray(start * PIXELS, (start + n) * PIXELS), n), start * model.dim);
  }
  return out;
}

/** What numpy loads from `npy`: its shape, dtype, and whether its bits equal `expected`'s (this host is little-endian, as '<f4'). */
function numpyEquals(npy: string, expected: Float32Array): { shape: number[]; dtype: string; bitsEqual: boolean } {
  const raw = `${npy}.expected.raw`;
  fs.writeFileSync(raw, new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength));
  const r = spawnSync(
    'python3',
    [
      '-c',
      `import json, sys
import numpy as np
a = np.load(sys.argv[1])
raw = np.fromfile(sys.argv[2], dtype='<u4')
print(json.dumps({'shape': list(a.shape), 'dtype': a.dtype.str, 'bitsEqual': bool(np.array_equal(a.reshape(-1).view('<u4'), raw))}))`,
      npy,
      raw,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  expect(os.endianness()).toBe('LE');
  return JSON.parse(r.stdout);
}

describe('semihard embed', () => {
  it(
    '--out x.npy: numpy reads back the model\'s embeddings of the same pixels bit for bit; x.npy.labels.json lists the images in that order',
    async () => {
      const out = path.join(tmp, 'out', 'emb.npy');
      const r = runCli(['embed', '--checkpoint', ckpt, '--images', images, '--out', out, '--device', 'cpu']);
      expectNoErrorText(r.stderr);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`embedded ${COUNT} images in 3 classes (${model.dim} values each)\nwrote ${out}\nwrote ${out}.labels.json\n`);
      expect(numpyEquals(out, await expectedEmbeddings())).toEqual({ shape: [COUNT, model.dim], dtype: '<f4', bitsEqual: true });
      expect(JSON.parse(fs.readFileSync(`${out}.labels.json`, 'utf8'))).toEqual({ images, paths: LAYOUT, classNames: CLASS_NAMES, labels: LABELS });
    },
    testTimeout(1),
  );

  it(
    '--batch-size 10: the embeddings of batches of 10',
    async () => {
      const out = path.join(tmp, 'b10.npy');
      const r = runCli(['embed', '--checkpoint', ckpt, '--images', images, '--out', out, '--device', 'cpu', '--batch-size', '10', '--quiet']);
      expect(r.status).toBe(0);
      expect(numpyEquals(out, await expectedEmbeddings(10))).toMatchObject({ bitsEqual: true });
    },
    testTimeout(1),
  );

  it(
    '--out x.tsv and --out <folder>: Projector vectors (one line per image, the same float32 values) and metadata (path, class)',
    async () => {
      const expected = await expectedEmbeddings();
      const metadata = ['path\tclass', ...LAYOUT.map((p, i) => `${p.replace(/\t/g, '\\t')}\t${LABELS[i] < 0 ? '' : CLASS_NAMES[LABELS[i]]}`), ''].join('\n');
      const folder = path.join(tmp, 'projector');
      for (const [out, vectors, meta] of [
        [path.join(tmp, 'emb.tsv'), path.join(tmp, 'emb.tsv'), path.join(tmp, 'emb.metadata.tsv')],
        [folder, path.join(folder, 'vectors.tsv'), path.join(folder, 'metadata.tsv')],
      ]) {
        const r = runCli(['embed', '--checkpoint', ckpt, '--images', images, '--out', out, '--device', 'cpu', '--quiet']);
        expectNoErrorText(r.stderr);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`wrote ${vectors}\nwrote ${meta}\n`);
        const lines = fs.readFileSync(vectors, 'utf8').split('\n');
        expect(lines.pop()).toBe('');
        expect(lines).toHaveLength(COUNT);
        const values = Float32Array.from(lines.flatMap((l) => l.split('\t').map(Number)));
        expect(values.length).toBe(COUNT * model.dim);
        let differing = 0;
        for (let i = 0; i < values.length; i++) if (!Object.is(values[i], expected[i])) differing++;
        expect(differing).toBe(0);
        expect(fs.readFileSync(meta, 'utf8')).toBe(metadata);
      }
    },
    testTimeout(2),
  );

  it(
    'fails with exit 2 for a malformed command or a bad value, 1 for a missing folder, no images, a bad image or a bad checkpoint; writes nothing',
    () => {
      const out = path.join(tmp, 'bad', 'x.npy');
      const base = ['embed', '--checkpoint', ckpt, '--out', out, '--device', 'cpu'];
      const cases: [string[], number, RegExp][] = [
        [['embed', '--checkpoint', ckpt, '--out', out], 2, /required option '--images <dir>' not specified/],
        [['embed', '--images', images, '--out', out], 2, /required option '--checkpoint <file>' not specified/],
        [['embed', '--checkpoint', ckpt, '--images', images], 2, /required option '--out <file>' not specified/],
        [[...base, '--images', images, '--batch-size', 'many'], 2, /'many' is not a number/],
        [[...base, '--images', images, '--batch-size', '0'], 2, /semihard: Expected a positive integer for options\.batchSize but received 0 of type number/],
        [[...base, '--images', path.join(tmp, 'nowhere')], 1, new RegExp(`semihard: ${path.join(tmp, 'nowhere')} is not a folder`)],
        [[...base, '--images', path.join(images, 'empty-class')], 1, /holds no images \(JPEG, PNG, WebP, GIF, TIFF or AVIF files\)/],
        [['embed', '--checkpoint', path.join(tmp, 'none.ckpt'), '--images', images, '--out', out], 1, /semihard: .*none\.ckpt/],
      ];
      for (const [args, status, message] of cases) {
        const r = runCli(args);
        expect({ args, status: r.status }).toEqual({ args, status });
        expect(r.stderr).toMatch(message);
      }
      const corrupt = path.join(tmp, 'corrupt');
      fs.mkdirSync(path.join(corrupt, 'a'), { recursive: true });
      fs.copyFileSync(path.join(images, '00.png'), path.join(corrupt, 'a', 'good.png'));
      fs.writeFileSync(path.join(corrupt, 'a', 'bad.png'), fs.readFileSync(path.join(images, '00.png')).subarray(0, 50));
      const r = runCli([...base, '--images', corrupt, '--quiet']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`semihard: ${path.join(corrupt, 'a', 'bad.png')}: `);
      expect(fs.existsSync(path.dirname(out))).toBe(false);
    },
    testTimeout(9),
  );
});
