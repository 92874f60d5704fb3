// lib/export.ts against NumPy itself (the system python3's numpy): .npy files that numpy.load
// reads back bit for bit with the right shape, headers byte for byte as np.save writes them,
// float text that numpy parses back to the same float32 and is as short as numpy's own
// shortest repr, Projector TSVs one line per row, and the argument errors.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { float32Text, npyHeader, projectorFiles, tsvCell, writeNpy, writeProjector } from '../lib/export';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-export-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs a Python script with numpy; returns its stdout parsed as JSON. */
function python<T>(script: string, ...args: string[]): T {
  const r = spawnSync('python3', ['-c', `import json, sys\nimport numpy as np\n${script}`, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Random float32 values spread over many binades, both signs, plus the special ones. */
function awkwardFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < count; i++) out[i] = (next() - 0.5) * 2 ** Math.floor(next() * 60 - 30);
  const special = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 1.1754942e-38, 1.17549435e-38, 3.4028235e38, -3.4028235e38, 0.1, 1 / 3, 16777216, 16777217];
  special.forEach((v, i) => (out[i] = v));
  return out;
}

/** The raw bytes of `data` in a file, for numpy to compare bits against (this host is little-endian, as numpy's '<f4'). */
function writeRaw(file: string, data: Float32Array): void {
  expect(os.endianness()).toBe('LE');
  fs.writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

interface Loaded {
  shape: number[];
  dtype: string;
  cContiguous: boolean;
  bitsEqual: boolean;
  headerEqualsNpSave: boolean;
}

// numpy loads the file; its bits are compared (as uint32, so NaN and -0 count) with the raw
// bytes; np.save writes the same shape and its header is compared byte for byte.
const LOAD = `
a = np.load(sys.argv[1])
raw = np.fromfile(sys.argv[2], dtype='<u4')
shape = tuple(json.loads(sys.argv[3]))
np.save(sys.argv[4], np.zeros(shape, dtype='<f4'))
mine = open(sys.argv[1], 'rb').read()
theirs = open(sys.argv[4], 'rb').read()
n = 10 + int.from_bytes(theirs[8:10], 'little')
print(json.dumps({
  'shape': list(a.shape), 'dtype': a.dtype.str, 'cContiguous': bool(a.flags['C_CONTIGUOUS']),
  'bitsEqual': bool(np.array_equal(a.reshape(-1).view('<u4'), raw)),
  'headerEqualsNpSave': mine[:n] == theirs[:n],
}))
`;

async function roundTrip(name: string, data: Float32Array, shape: number[]): Promise<Loaded> {
  const file = path.join(tmp, `${name}.npy`);
  await writeNpy(file, data, shape);
  const raw = path.join(tmp, `${name}.raw`);
  writeRaw(raw, data);
  return python<Loaded>(LOAD, file, raw, JSON.stringify(shape), path.join(tmp, `${name}.np-save.npy`));
}

describe('writeNpy', () => {
  it.each([
    ['2-D', [37, 5]],
    ['1-D', [11]],
    ['3-D', [3, 4, 5]],
    ['empty rows', [0, 8]],
    ['21 dimensions (a header past one 64-byte block)', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 7]],
  ])('%s: numpy.load gives the same float32 bits and shape; the header is np.save\'s', async (name, shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = awkwardFloats(count, count + 1);
    const loaded = await roundTrip(name.replace(/\W+/g, '-'), data, shape);
    expect(loaded).toEqual({ shape, dtype: '<f4', cContiguous: true, bitsEqual: true, headerEqualsNpSave: true });
  });

  it('a large array (1,000,000 × 3 floats, 12 write chunks) reads back bit for bit', async () => {
    const data = awkwardFloats(3_000_000, 7);
    const loaded = await roundTrip('large', data, [1_000_000, 3]);
    expect(loaded).toEqual({ shape: [1_000_000, 3], dtype: '<f4', cContiguous: true, bitsEqual: true, headerEqualsNpSave: true });
    expect(fs.statSync(path.join(tmp, 'large.npy')).size).toBe(128 + 12_000_000);
  });

  it('a view into a larger buffer writes only its own elements', async () => {
    const whole = awkwardFloats(100, 3);
    const view = whole.subarray(10, 40);
    expect(await roundTrip('view', view, [6, 5])).toMatchObject({ bitsEqual: true, shape: [6, 5] });
  });

  it('replaces an existing file whole, leaves no temporary file, and makes missing folders', async () => {
    const dir = path.join(tmp, 'replace', 'deeper');
    const file = path.join(dir, 'x.npy');
    await writeNpy(file, new Float32Array(1000).fill(1), [1000]);
    await writeNpy(file, new Float32Array([1, 2]), [2]);
    expect(fs.readdirSync(dir)).toEqual(['x.npy']);
    expect(fs.statSync(file).size).toBe(128 + 2 * 4);
  });

  it('headers equal numpy.lib.format.write_array_header_1_0\'s for 0 to 40 dimensions of 1 to 12 digits (every 64-byte boundary case)', () => {
    const shapes: number[][] = [];
    for (let ndim = 0; ndim <= 40; ndim++) {
      for (const digits of [1, 2, 5, 12]) shapes.push(Array.from({ length: ndim }, (_, i) => Number('9'.repeat(digits)) - i));
    }
    const theirs = python<string[]>(
      `
import io
out = []
for shape in json.loads(sys.argv[1]):
  b = io.BytesIO()
  np.lib.format.write_array_header_1_0(b, {'descr': '<f4', 'fortran_order': False, 'shape': tuple(shape)})
  out.append(b.getvalue().hex())
print(json.dumps(out))
`,
      JSON.stringify(shapes),
    );
    const ours = shapes.map((s) => Buffer.from(npyHeader(s)).toString('hex'));
    expect(ours).toEqual(theirs);
  });

  it('refuses bad arguments with the argument named', async () => {
    const file = path.join(tmp, 'bad.npy');
    await expect(writeNpy(file, new Float32Array(6), [2, 4])).rejects.toThrow(
      new RangeError('Expected data.length to be the product of shape [2, 4] = 8 but received 6'),
    );
    await expect(writeNpy(file, new Float64Array(6) as unknown as Float32Array, [6])).rejects.toThrow(
      new TypeError('Expected a Float32Array for data but received a Float64Array of length 6'),
    );
    await expect(writeNpy(file, new Float32Array(6), [6.5] as number[])).rejects.toThrow(
      new RangeError('Expected a non-negative integer for shape[0] but received 6.5 of type number'),
    );
    await expect(writeNpy(file, new Float32Array(6), '6' as unknown as number[])).rejects.toThrow(TypeError);
    await expect(writeNpy('', new Float32Array(6), [6])).rejects.toThrow(new RangeError('Expected a file path for file but received an empty string'));
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('float32Text', () => {
  it('numpy parses every text back to the same float32 bits, with no more digits than numpy\'s own shortest repr', () => {
    const values = awkwardFloats(20_000, 99);
    const texts = Array.from(values, float32Text);
    const raw = path.join(tmp, 'floats.raw');
    writeRaw(raw, values);
    const textFile = path.join(tmp, 'floats.txt');
    fs.writeFileSync(textFile, texts.join('\n'));
    // Python parses each text as a double, rounds it to float32 (as the Projector's
    // parseFloat + Float32Array does) and compares bits; np.format_float_scientific(unique=True)
    // is numpy's shortest round-trip repr (Dragon4), counted in significant digits.
    const r = python<{ mismatched: number; digits: number[] }>(
      `
raw = np.fromfile(sys.argv[1], dtype='<f4')
texts = open(sys.argv[2]).read().split('\\n')
parsed = np.array([float(t) for t in texts], dtype=np.float64).astype(np.float32)
same = (parsed.view('<u4') == raw.view('<u4')) | (np.isnan(parsed) & np.isnan(raw))
def digits(v):
  if not np.isfinite(v) or v == 0: return 0
  return len(np.format_float_scientific(v, unique=True).split('e')[0].replace('-', '').replace('.', '').rstrip('0'))
print(json.dumps({'mismatched': int((~same).sum()), 'digits': [digits(v) for v in raw]}))
`,
      raw,
      textFile,
    );
    expect(r.mismatched).toBe(0);
    const ours = texts.map((t) => (/^-?\d/.test(t) ? t.split('e')[0].replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length : 0));
    const longer = ours.filter((d, i) => d > r.digits[i]).length;
    expect(longer).toBe(0);
  });

  it('known values', () => {
    expect([0.1, 1 / 3, 16777216, 1e-45, 3.4028235e38, 0.5, -0, 0, NaN].map((v) => float32Text(Math.fround(v)))).toEqual([
      '0.1',
      '0.33333334',
      '16777216',
      '1e-45',
      '3.4028235e+38',
      '0.5',
      '-0',
      '0',
      'NaN',
    ]);
  });
});

describe('writeProjector', () => {
  const rows = [
    { path: 'cats/a.jpg', class: 'cats' },
    { path: 'dogs/tab\there.png', class: 'dogs\nand more' },
    { path: 'loose\\b.webp', class: '' },
  ];

  it('vectors.tsv: one line per row, numpy reads back the float32 values; metadata.tsv: header and one escaped line per row', async () => {
    const dim = 7;
    const vectors = awkwardFloats(rows.length * dim, 5).map((v) => (Number.isFinite(v) ? v : 0.25));
    const files = await writeProjector(path.join(tmp, 'projector'), vectors, dim, rows);
    expect(files).toEqual({ vectors: path.join(tmp, 'projector', 'vectors.tsv'), metadata: path.join(tmp, 'projector', 'metadata.tsv') });
    const raw = path.join(tmp, 'projector.raw');
    writeRaw(raw, vectors);
    const r = python<{ shape: number[]; bitsEqual: boolean }>(
      `
a = np.loadtxt(sys.argv[1], delimiter='\\t', dtype=np.float64, ndmin=2).astype(np.float32)
raw = np.fromfile(sys.argv[2], dtype='<u4')
print(json.dumps({'shape': list(a.shape), 'bitsEqual': bool(np.array_equal(a.reshape(-1).view('<u4'), raw))}))
`,
      files.vectors,
      raw,
    );
    expect(r).toEqual({ shape: [rows.length, dim], bitsEqual: true });
    const vectorText = fs.readFileSync(files.vectors, 'utf8');
    expect(vectorText.endsWith('\n')).toBe(true);
    expect(vectorText.split('\n')).toHaveLength(rows.length + 1);
    expect(fs.readFileSync(files.metadata, 'utf8')).toBe('path\tclass\ncats/a.jpg\tcats\ndogs/tab\\there.png\tdogs\\nand more\nloose\\\\b.webp\t\n');
  });

  it('many rows: one line each, every value back exactly', async () => {
    const count = 5_000; // 80,000 values: more than one 64 Ki-character write chunk
    const dim = 16;
    const vectors = awkwardFloats(count * dim, 8).map((v) => (Number.isFinite(v) ? v : -1));
    const many = Array.from({ length: count }, (_, i) => ({ path: `c${i % 3}/${i}.png`, class: `c${i % 3}` }));
    const files = await writeProjector(path.join(tmp, 'many.tsv'), vectors, dim, many);
    expect(files).toEqual({ vectors: path.join(tmp, 'many.tsv'), metadata: path.join(tmp, 'many.metadata.tsv') });
    const lines = fs.readFileSync(files.vectors, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(count);
    let wrong = 0;
    lines.forEach((line, r) => {
      const cells = line.split('\t');
      if (cells.length !== dim) wrong++;
      cells.forEach((c, d) => (Object.is(Math.fround(Number(c)), vectors[r * dim + d]) ? 0 : wrong++));
    });
    expect(wrong).toBe(0);
    const meta = fs.readFileSync(files.metadata, 'utf8').split('\n');
    expect(meta).toHaveLength(count + 2);
    expect(meta[0]).toBe('path\tclass');
    expect(meta[count]).toBe(`c${(count - 1) % 3}/${count - 1}.png\tc${(count - 1) % 3}`);
  });

  it('projectorFiles: a .tsv names the vectors file, anything else a folder', () => {
    expect(projectorFiles('out/emb.tsv')).toEqual({ vectors: 'out/emb.tsv', metadata: 'out/emb.metadata.tsv' });
    expect(projectorFiles('out/emb')).toEqual({ vectors: path.join('out/emb', 'vectors.tsv'), metadata: path.join('out/emb', 'metadata.tsv') });
    expect(tsvCell('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
  });

  it('refuses bad arguments with the argument named', async () => {
    const out = path.join(tmp, 'bad-projector');
    await expect(writeProjector(out, new Float32Array(5), 2, rows)).rejects.toThrow(
      new RangeError('Expected vectors.length to be rows.length × dim = 6 but received 5'),
    );
    await expect(writeProjector(out, new Float32Array(6), 0, rows)).rejects.toThrow(new RangeError('Expected a positive integer for dim but received 0 of type number'));
    await expect(writeProjector(out, new Float32Array(2), 2, [{ path: 'a' }] as never)).rejects.toThrow(
      new TypeError("Expected an object { path: string, class: string } for rows[0] but received an object ([object Object])"),
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});
