// Checkpoint files: a JSON header (configuration, progress, history, versions) and the
// native trainer state, sealed by a SHA-256 of everything before it. Written atomically
// (files.ts: temporary file, fsync, rename, fsync of the folder), so a crash never leaves
// a half-written file where a good one was.
//
// Layout: "SEMIHARD-CKPT\n" | uint32 LE header length | header JSON (UTF-8) | state bytes |
//         32-byte SHA-256 of all preceding bytes.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { SemihardError } from './errors';
import { writeFileAtomic } from './files';

const MAGIC = Buffer.from('SEMIHARD-CKPT\n', 'ascii');
export const CHECKPOINT_FORMAT = 1;

export interface CheckpointHeader {
  format: number;
  version: string; // semihard's package version
  torchVersion: string;
  createdAt: string;
  stateBytes: number;
  [key: string]: unknown;
}

export interface Checkpoint<H extends CheckpointHeader = CheckpointHeader> {
  header: H;
  state: Buffer;
}

function corrupt(file: string, why: string): SemihardError {
  return new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} is corrupt or truncated: ${why}`);
}

export function encodeCheckpoint(header: CheckpointHeader, state: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify({ ...header, stateBytes: state.byteLength }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  const body = Buffer.concat([MAGIC, length, json, state]);
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

export function decodeCheckpoint<H extends CheckpointHeader>(bytes: Buffer, file: string): Checkpoint<H> {
  if (bytes.length < MAGIC.length + 4 + 32 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupt(file, 'it does not start with a semihard checkpoint header');
  }
  const body = bytes.subarray(0, bytes.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - 32))) throw corrupt(file, 'its SHA-256 checksum does not match');
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  if (headerStart + headerLength > body.length) throw corrupt(file, 'the header runs past the end');
  let header: H;
  try {
    header = JSON.parse(body.subarray(headerStart, headerStart + headerLength).toString('utf8')) as H;
  } catch {
    throw corrupt(file, 'the header is not valid JSON');
  }
  const state = body.subarray(headerStart + headerLength);
  if (state.length !== header.stateBytes) throw corrupt(file, `expected ${header.stateBytes} state bytes, found ${state.length}`);
  if (header.format !== CHECKPOINT_FORMAT) {
    throw new SemihardError(
      'ERR_SEMIHARD_CHECKPOINT',
      `Checkpoint ${file} has format ${String(header.format)}; this semihard reads format ${CHECKPOINT_FORMAT}`,
    );
  }
  return { header, state: Buffer.from(state) };
}

export async function writeCheckpoint(file: string, header: CheckpointHeader, state: Uint8Array): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(header, state));
}

export async function readCheckpoint<H extends CheckpointHeader>(file: string): Promise<Checkpoint<H>> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Cannot read checkpoint ${file}: ${(err as Error).message}`, { cause: err });
  }
  return decodeCheckpoint<H>(bytes, file);
}
