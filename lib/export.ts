// Writing embeddings where other tools read them: a NumPy .npy array (numpy.load) and the
// TensorBoard Embedding Projector's two TSV files (vectors and metadata). Every file is written
// to a temporary name and renamed into place, in chunks, so that neither a crash nor a large
// array leaves a half-written file or needs a second copy of the data in memory.
import * as os from 'node:os';
import * as path from 'node:path';
import { rangeErrorWithMessage, typeError } from './errors';
import { writeFileAtomic } from './files';
import { nonNegativeInteger, positiveInteger } from './validate';

/** Bytes of an array handed to the file system at a time. */
const CHUNK_BYTES = 1 << 20;
/**
 * Characters of text made between two writes: formatting runs on the event loop, and 64 Ki
 * characters (about 6,000 numbers, a few milliseconds) keep it responsive.
 */
const TEXT_CHUNK = 1 << 16;

function filePath(value: unknown, argument: string): string {
  if (typeof value !== 'string') throw typeError(argument, 'a file path', value);
  if (value.length === 0) throw rangeErrorWithMessage(argument, `Expected a file path for ${argument} but received an empty string`);
  return value;
}

// ---- NumPy .npy ---------------------------------------------------------------------------

/**
 * numpy leaves room after the dict for the first dimension to grow to this many digits
 * (numpy/lib/format.py's GROWTH_AXIS_MAX_DIGITS), so that an appending writer can rewrite it.
 */
const GROWTH_AXIS_MAX_DIGITS = 21;

/**
 * The .npy format 1.0 header of a C-ordered little-endian float32 array of `shape`, byte for
 * byte as numpy's np.save writes it: magic, version, header length, the dict, room for the
 * first dimension to grow, then spaces and a newline up to a multiple of 64 bytes in all.
 */
export function npyHeader(shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const prefix = 10; // magic (6) + version (2) + header length (2)
  // numpy's padding rule, which adds a whole 64 bytes when the text already ends on a boundary.
  const padding = 64 - ((prefix + dict.length + 1) % 64);
  const total = prefix + dict.length + padding + 1;
  const headerLength = total - prefix;
  if (headerLength > 0xffff) throw rangeErrorWithMessage('shape', `Expected a shape whose .npy header fits 65535 bytes but received ${shape.length} dimensions`);
  const bytes = Buffer.alloc(total, 0x20);
  bytes.write('\x93NUMPY', 0, 'latin1');
  bytes[6] = 1;
  bytes[7] = 0;
  bytes.writeUInt16LE(headerLength, 8);
  bytes.write(dict, prefix, 'latin1');
  bytes[total - 1] = 0x0a;
  return bytes;
}

/** `data`'s bytes in little-endian order, a chunk at a time (a view on little-endian hosts, a swapped copy otherwise). */
function* littleEndianFloat32(data: Float32Array): Generator<Uint8Array> {
  const perChunk = CHUNK_BYTES / 4;
  for (let start = 0; start < data.length; start += perChunk) {
    const part = data.subarray(start, Math.min(data.length, start + perChunk));
    if (os.endianness() === 'LE') {
      yield new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    } else {
      const out = new DataView(new ArrayBuffer(part.byteLength));
      for (let i = 0; i < part.length; i++) out.setFloat32(i * 4, part[i], true);
      yield new Uint8Array(out.buffer);
    }
  }
}

/**
 * Writes `data` as a float32 array of `shape` (row-major) in NumPy's .npy format 1.0, which
 * `numpy.load(file)` reads back bit for bit. The product of `shape` must be `data.length`.
 */
export async function writeNpy(file: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  filePath(file, 'file');
  if (!(data instanceof Float32Array)) throw typeError('data', 'a Float32Array', data);
  if (!Array.isArray(shape)) throw typeError('shape', 'an Array of non-negative integers', shape);
  let count = 1;
  shape.forEach((n, i) => (count *= nonNegativeInteger(n, `shape[${i}]`, 0)));
  if (count !== data.length) {
    throw rangeErrorWithMessage('data', `Expected data.length to be the product of shape [${shape.join(', ')}] = ${count} but received ${data.length}`);
  }
  const header = npyHeader(shape);
  await writeFileAtomic(file, (function* () {
    yield header;
    yield* littleEndianFloat32(data);
  })());
}

// ---- TensorBoard Projector TSV --------------------------------------------------------------

/**
 * The shortest decimal that reads back (as float64, then rounded to float32) as the float32
 * `value`: at most 9 significant digits, which always suffice for float32.
 */
export function float32Text(value: number): string {
  if (Object.is(value, -0)) return '-0';
  if (value === 0 || !Number.isFinite(value)) return String(value);
  for (let digits = 1; digits < 9; digits++) {
    const near = Number(value.toPrecision(digits));
    if (Math.fround(near) === value) return String(near);
  }
  return String(Number(value.toPrecision(9)));
}

/** A metadata value on one TSV cell: backslash, tab, newline and carriage return written as \\, \t, \n, \r. */
export function tsvCell(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Text lines joined into chunks of about TEXT_CHUNK characters, as UTF-8. */
function* textChunks(lines: Iterable<string>): Generator<Uint8Array> {
  let pending: string[] = [];
  let size = 0;
  for (const line of lines) {
    pending.push(line);
    size += line.length;
    if (size >= TEXT_CHUNK) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield Buffer.from(pending.join(''), 'utf8');
}

export interface ProjectorRow {
  /** The image's file. */
  path: string;
  /** Its class name ('' when it has none). */
  class: string;
}

export interface ProjectorFiles {
  vectors: string;
  metadata: string;
}

/**
 * Where writeProjector puts its two files: for `out` ending in `.tsv`, the vectors in `out`
 * and the metadata beside it in `<out without .tsv>.metadata.tsv`; for any other `out`, a
 * folder holding `vectors.tsv` and `metadata.tsv`.
 */
export function projectorFiles(out: string): ProjectorFiles {
  if (out.toLowerCase().endsWith('.tsv')) {
    return { vectors: out, metadata: `${out.slice(0, -4)}.metadata.tsv` };
  }
  return { vectors: path.join(out, 'vectors.tsv'), metadata: path.join(out, 'metadata.tsv') };
}

/**
 * Writes TensorBoard Embedding Projector files (projector.tensorflow.org's "Load", or a
 * projector_config.pbtxt): vectors — one line per row of `vectors` (count × dim, row-major),
 * its `dim` values tab-separated as the shortest decimals that read back as the same float32,
 * no header; metadata — the header `path<TAB>class`, then one line per row (values escaped by
 * tsvCell). Returns the two files' paths (projectorFiles(out)).
 */
export async function writeProjector(out: string, vectors: Float32Array, dim: number, rows: readonly ProjectorRow[]): Promise<ProjectorFiles> {
  filePath(out, 'out');
  if (!(vectors instanceof Float32Array)) throw typeError('vectors', 'a Float32Array', vectors);
  positiveInteger(dim, 'dim');
  if (!Array.isArray(rows)) throw typeError('rows', 'an Array of { path, class }', rows);
  if (vectors.length !== rows.length * dim) {
    throw rangeErrorWithMessage('vectors', `Expected vectors.length to be rows.length × dim = ${rows.length * dim} but received ${vectors.length}`);
  }
  rows.forEach((row, i) => {
    if (typeof row?.path !== 'string' || typeof row?.class !== 'string') throw typeError(`rows[${i}]`, 'an object { path: string, class: string }', row);
  });
  const files = projectorFiles(out);
  await writeFileAtomic(files.vectors, textChunks((function* () {
    const cells: string[] = new Array<string>(dim);
    for (let r = 0; r < rows.length; r++) {
      for (let d = 0; d < dim; d++) cells[d] = float32Text(vectors[r * dim + d]);
      yield `${cells.join('\t')}\n`;
    }
  })()));
  await writeFileAtomic(files.metadata, textChunks((function* () {
    yield 'path\tclass\n';
    for (const row of rows) yield `${tsvCell(row.path)}\t${tsvCell(row.class)}\n`;
  })()));
  return files;
}
