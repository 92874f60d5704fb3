// The IDX format of MNIST and Fashion-MNIST (gzipped or not): a magic number with the
// element type and rank, big-endian uint32 dimensions, then the data.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { SemihardError } from '../errors';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

function corrupt(file: string, why: string): SemihardError {
  return new SemihardError('ERR_SEMIHARD_DATA', `Corrupt or truncated IDX file ${file}: ${why}`);
}

/** Parses an IDX byte buffer holding unsigned bytes (the only type MNIST-style sets use). */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw corrupt(file, `only ${bytes.length} bytes, not even a header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw corrupt(file, 'the magic number does not start with two zero bytes');
  if (bytes[2] !== UBYTE) throw corrupt(file, `element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const rank = bytes[3];
  if (rank < 1 || rank > 4) throw corrupt(file, `rank ${rank} is not between 1 and 4`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw corrupt(file, `the header needs ${headerBytes} bytes but the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const available = bytes.length - headerBytes;
  if (available !== count) {
    throw corrupt(file, `dimensions ${dims.join(' x ')} need ${count} data bytes but ${available} follow the header`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads an IDX file, gunzipping it when it is gzipped (by content, not by name). */
export function readIdxFile(file: string): IdxArray {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    throw new SemihardError('ERR_SEMIHARD_DATA', `Cannot read IDX file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = zlib.gunzipSync(raw);
    } catch (err) {
      throw corrupt(file, `gzip data is damaged (${(err as Error).message})`);
    }
  }
  return parseIdx(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), file);
}
