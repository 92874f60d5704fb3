// Hugging Face's safetensors format, read and written here: 8 bytes of little-endian u64 header
// length N, N bytes of a JSON header ({ name: { dtype, shape, data_offsets: [begin, end] },
// optional "__metadata__": { string: string } }), then the tensors' bytes, little-endian and
// C-ordered, indexed from the end of the header, with neither holes nor overlaps.
import * as fs from 'node:fs';
import { SemihardError, rangeError, rangeErrorWithMessage, typeError } from '../errors';
import { writeFileAtomic } from '../files';
import { isPlainObject } from '../validate';
import { DTYPE_BYTES, TENSOR_DTYPES, type NamedTensor, type TensorDtype } from './named-tensor';

/** Headers longer than this are refused (safetensors' own limit). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

const SAFETENSORS_DTYPE: Record<TensorDtype, string> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64',
  int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_SAFETENSORS = new Map<string, TensorDtype>(TENSOR_DTYPES.map((d) => [SAFETENSORS_DTYPE[d], d]));

// The order safetensors.torch.save_file lays tensors out in: larger elements first (each then
// starts aligned to its element size, the header being padded to 8 bytes), ties by name.
const LAYOUT_ORDER: readonly TensorDtype[] = ['int64', 'float64', 'float32', 'int32', 'bfloat16', 'float16', 'int16', 'int8', 'uint8', 'bool'];

export interface SafetensorsContent {
  /** In the order of their bytes in the file. */
  tensors: NamedTensor[];
  /** The header's "__metadata__" ({} when absent). */
  metadata: Record<string, string>;
}

function weightsError(file: string, message: string, cause?: unknown): SemihardError {
  return new SemihardError('ERR_SEMIHARD_WEIGHTS', `${file}: ${message}`, cause === undefined ? undefined : { cause });
}

async function readAt(handle: fs.promises.FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < buffer.length; ) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new Error(`the file ended after ${position + done} bytes`);
    done += bytesRead;
  }
}

interface Entry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  begin: number;
  end: number;
}

function headerEntry(file: string, name: string, value: unknown, dataLength: number): Entry {
  const what = `the tensor '${name}'`;
  if (!isPlainObject(value)) throw weightsError(file, `${what} is not described by an object in the header`);
  const dtype = FROM_SAFETENSORS.get(value.dtype as string);
  if (typeof value.dtype !== 'string' || dtype === undefined) {
    throw weightsError(file, `${what} has the dtype ${JSON.stringify(value.dtype)}; known: ${[...FROM_SAFETENSORS.keys()].join(', ')}`);
  }
  const shape = value.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw weightsError(file, `${what} has the shape ${JSON.stringify(shape)}, not an array of non-negative integers`);
  }
  const offsets = value.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) || offsets[0] > offsets[1]) {
    throw weightsError(file, `${what} has the data_offsets ${JSON.stringify(offsets)}, not [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const bytes = (shape as number[]).reduce((a, d) => a * d, DTYPE_BYTES[dtype]);
  if (end - begin !== bytes) {
    throw weightsError(file, `${what} (${value.dtype} ${JSON.stringify(shape)}) needs ${bytes} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  if (end > dataLength) {
    throw weightsError(file, `${what} has data_offsets [${begin}, ${end}] that run past the file's ${dataLength} bytes of data (truncated?)`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function headerMetadata(file: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw weightsError(file, 'has a "__metadata__" that is not an object of strings');
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

/** Every tensor of a .safetensors file and its metadata; each tensor's bytes are read into its own Uint8Array. */
export async function readSafetensors(file: string): Promise<SafetensorsContent> {
  if (typeof file !== 'string' || file === '') throw typeError('file', 'a path string', file);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    throw weightsError(file, `cannot be opened: ${(err as Error).message}`, err);
  }
  try {
    const size = (await handle.stat()).size;
    if (size < 8) throw weightsError(file, `is ${size} bytes long, shorter than a safetensors file's 8-byte header length`);
    const prefix = new Uint8Array(8);
    await readAt(handle, prefix, 0);
    const declared = Buffer.from(prefix).readBigUInt64LE(0);
    if (declared > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) throw weightsError(file, `declares a header of ${declared} bytes, over the ${MAX_SAFETENSORS_HEADER_BYTES} allowed`);
    const headerLength = Number(declared);
    if (headerLength > size - 8) throw weightsError(file, `declares a header of ${headerLength} bytes but holds only ${size - 8} after its length (truncated?)`);
    const headerBytes = new Uint8Array(headerLength);
    await readAt(handle, headerBytes, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (err) {
      throw weightsError(file, `has a header that is not UTF-8 JSON: ${(err as Error).message}`, err);
    }
    if (!isPlainObject(header)) throw weightsError(file, 'has a header that is not a JSON object');
    const dataStart = 8 + headerLength;
    const dataLength = size - dataStart;
    let metadata: Record<string, string> = {};
    const entries: Entry[] = [];
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') metadata = headerMetadata(file, value);
      else entries.push(headerEntry(file, name, value, dataLength));
    }
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    let covered = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.begin < covered) {
        throw weightsError(file, `the tensors '${entries[i - 1].name}' and '${e.name}' overlap (data_offsets [${entries[i - 1].begin}, ${entries[i - 1].end}] and [${e.begin}, ${e.end}])`);
      }
      if (e.begin > covered) throw weightsError(file, `leaves the data bytes [${covered}, ${e.begin}) to no tensor (safetensors allows no holes)`);
      covered = e.end;
    }
    if (covered !== dataLength) throw weightsError(file, `leaves the data bytes [${covered}, ${dataLength}) to no tensor (safetensors allows no holes)`);
    const tensors: NamedTensor[] = [];
    for (const e of entries) {
      const data = new Uint8Array(e.end - e.begin);
      await readAt(handle, data, dataStart + e.begin);
      tensors.push({ name: e.name, dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata };
  } catch (err) {
    if (err instanceof SemihardError) throw err;
    throw weightsError(file, `cannot be read: ${(err as Error).message}`, err);
  } finally {
    await handle.close();
  }
}

function checkTensors(tensors: unknown): NamedTensor[] {
  if (!Array.isArray(tensors)) throw typeError('tensors', 'an array of { name, dtype, shape, data }', tensors);
  const names = new Set<string>();
  tensors.forEach((t: unknown, i) => {
    const at = `tensors[${i}]`;
    if (!isPlainObject(t)) throw typeError(at, 'an object { name, dtype, shape, data }', t);
    if (typeof t.name !== 'string') throw typeError(`${at}.name`, 'a string', t.name);
    if (t.name === '' || t.name === '__metadata__') throw rangeError(`${at}.name`, "a tensor name other than '' and '__metadata__'", t.name);
    if (names.has(t.name)) throw rangeError(`${at}.name`, 'a name no other tensor has', t.name);
    names.add(t.name);
    if (!(TENSOR_DTYPES as readonly unknown[]).includes(t.dtype)) throw rangeError(`${at}.dtype`, `one of ${TENSOR_DTYPES.join(', ')}`, t.dtype);
    const shape = t.shape;
    if (!Array.isArray(shape)) throw typeError(`${at}.shape`, 'an array of non-negative integers', shape);
    if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw rangeError(`${at}.shape`, 'an array of non-negative integers', shape);
    if (!(t.data instanceof Uint8Array)) throw typeError(`${at}.data`, 'a Uint8Array', t.data);
    const bytes = (shape as number[]).reduce((a, d) => a * d, DTYPE_BYTES[t.dtype as TensorDtype]);
    if (t.data.byteLength !== bytes) {
      throw rangeErrorWithMessage(`${at}.data`, `Expected ${at}.data to hold ${bytes} bytes (${t.dtype as string} ${JSON.stringify(shape)}) but it holds ${t.data.byteLength}`);
    }
  });
  return tensors as NamedTensor[];
}

function checkMetadata(metadata: unknown): Record<string, string> {
  if (!isPlainObject(metadata)) throw typeError('metadata', 'an object of strings', metadata);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw typeError(`metadata.${key}`, 'a string', value);
  }
  return metadata as Record<string, string>;
}

/**
 * Writes `tensors` and `metadata` as a .safetensors file laid out as safetensors.torch.save_file
 * lays it out (larger elements first, then by name; header padded with spaces to 8 bytes),
 * atomically: `file` is the old content or the whole new one.
 */
export async function writeSafetensors(file: string, tensors: NamedTensor[], metadata: Record<string, string> = {}): Promise<void> {
  if (typeof file !== 'string' || file === '') throw typeError('file', 'a path string', file);
  const ordered = [...checkTensors(tensors)].sort(
    (a, b) => LAYOUT_ORDER.indexOf(a.dtype) - LAYOUT_ORDER.indexOf(b.dtype) || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );
  const fields: string[] = [];
  const meta = Object.entries(checkMetadata(metadata));
  if (meta.length > 0) fields.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let offset = 0;
  for (const t of ordered) {
    const end = offset + t.data.byteLength;
    fields.push(`${JSON.stringify(t.name)}:{"dtype":"${SAFETENSORS_DTYPE[t.dtype]}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const header = Buffer.alloc(8 + Math.ceil(json.length / 8) * 8, 0x20);
  header.writeBigUInt64LE(BigInt(header.length - 8), 0);
  json.copy(header, 8);
  await writeFileAtomic(file, [header, ...ordered.map((t) => t.data)]);
}
