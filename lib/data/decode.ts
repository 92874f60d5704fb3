// Decoding encoded images (JPEG, PNG, WebP, GIF, TIFF, AVIF) into the raw pixels every other
// layer works on: height × width × channels uint8, row-major, channels interleaved (HWC), of
// exactly the size asked for. sharp (libvips) does all the work on libuv's thread pool, off the
// event loop; this file only states the pipeline, checks arguments and names the file in errors.
//
// The pipeline, in the order libvips applies it:
// - failOn 'warning': libvips' most sensitive level. It rejects a truncated JPEG ("premature end
//   of JPEG image") and one whose entropy-coded data is garbage ("Corrupt JPEG data: bad Huffman
//   code"), which 'truncated' and 'error' decode into garbage pixels without complaint; trailing
//   bytes after the end marker and ancillary PNG chunks with bad checksums still decode.
// - autoOrient: the EXIF Orientation tag is applied (orientations 5–8 swap height and width).
// - The first frame (page 0) of an animated GIF or WebP.
// - flatten on black: an alpha channel is composited over black, c·a/255 (libvips computes it
//   in integer arithmetic and truncates: ⌊c·a/255⌋).
// - 3 channels: to 8-bit sRGB (greyscale is replicated, CMYK goes through libvips' CMYK
//   profile or the embedded ICC profile, 16-bit samples come to 8 bits within 1 of v/257).
//   1 channel: libvips' greyscale: the luminance Y = 0.2126 R + 0.7152 G + 0.0722 B of the
//   linear-light (sRGB-decoded) values, encoded back with the sRGB curve (so pure red gives
//   127, not PIL's 76).
// - resize with fit 'cover', position 'centre' (scale so the image covers the target, Lanczos-3,
//   then crop the centre; an odd difference cuts its extra pixel at the top/left: offset
//   ⌈d/2⌉) to exactly the target size; an image already of that size is not resampled: its
//   pixels come out untouched.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SemihardError, rangeError, typeError } from '../errors';
import { positiveInteger } from '../validate';

/** The size and channels decoded images come out at (the stored size). */
export interface DecodeTarget {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** File name endings (lower case) of the formats this build of sharp decodes and photos come in. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'] as const;

/**
 * Whether a file name names an image: its extension (any case) is one of IMAGE_EXTENSIONS and
 * it is not hidden (a name starting with '.', such as macOS's '._photo.jpg' resource forks, is not).
 */
export function isImageFile(name: string): boolean {
  const base = path.basename(name);
  if (base.startsWith('.')) return false;
  return (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(base).toLowerCase());
}

type SharpFactory = typeof import('sharp').default;
let sharpModule: SharpFactory | undefined;
/** sharp (and libvips with it) is loaded on first use, not when the library is required. */
function sharp(): SharpFactory {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sharpModule ??= require('sharp') as SharpFactory;
  return sharpModule;
}

function isInput(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || value instanceof Uint8Array;
}

function checkInput(value: unknown, argument: string): string | Buffer {
  if (!isInput(value)) throw typeError(argument, 'a file path or a Buffer', value);
  return value;
}

function checkTarget(target: unknown, argument: string): DecodeTarget {
  if (typeof target !== 'object' || target === null) throw typeError(argument, 'an object { height, width, channels }', target);
  const t = target as Record<string, unknown>;
  const height = positiveInteger(t.height, `${argument}.height`);
  const width = positiveInteger(t.width, `${argument}.width`);
  if (typeof t.channels !== 'number') throw typeError(`${argument}.channels`, '1 or 3', t.channels);
  if (t.channels !== 1 && t.channels !== 3) throw rangeError(`${argument}.channels`, '1 or 3', t.channels);
  return { height, width, channels: t.channels };
}

function imageError(name: string, what: string, cause?: unknown): SemihardError {
  return new SemihardError('ERR_SEMIHARD_IMAGE', `${name}: ${what}`, cause === undefined ? undefined : { cause });
}

/** libvips' message: its lines (it repeats some), once each, joined by '; '. */
function libvipsSaid(error: unknown): string {
  const text = error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error) ? String((error as Error).message) : String(error);
  return [...new Set(text.split('\n').map((line) => line.trim()).filter((line) => line.length > 0))].join('; ');
}

/** The error for a failed decode: names the file and says what libvips said (or that the file is empty or missing). */
async function failure(input: string | Buffer, name: string, error: unknown): Promise<SemihardError> {
  if (typeof input === 'string') {
    const found = await fs.promises.stat(input).then(
      (stat) => ({ stat, code: undefined }),
      (e: NodeJS.ErrnoException) => ({ stat: undefined, code: e.code }),
    );
    if (!found.stat) return imageError(name, found.code === 'ENOENT' ? 'no such file' : `cannot be read (${found.code})`, error);
    if (!found.stat.isFile()) return imageError(name, 'not a file', error);
    if (found.stat.size === 0) return imageError(name, 'empty file', error);
  }
  return imageError(name, libvipsSaid(error), error);
}

/**
 * sharp keeps libvips' error text and warnings in process-wide buffers that each request clears
 * or drains as it ends: with decodes side by side, a failed one can lose what libvips said about
 * it (leaving "Warning treated as error due to failOn setting") or carry another's words. So
 * decodes pass this gate, and one that fails is decoded again alone: its message is its own.
 */
class Gate {
  private running = 0;
  private idle: (() => void)[] = [];
  private exclusive: Promise<void> | undefined;

  async shared<T>(job: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    this.running++;
    try {
      return await job();
    } finally {
      if (--this.running === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  async alone<T>(job: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise((resolve) => (release = resolve));
    try {
      if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      return await job();
    } finally {
      this.exclusive = undefined;
      release();
    }
  }
}
const gate = new Gate();

/** Shared first; after a failure, alone, and that failure (or its success) is the answer. */
async function throughGate<T>(input: string | Buffer, name: string, job: () => Promise<T>): Promise<T> {
  try {
    return await gate.shared(job);
  } catch {
    try {
      return await gate.alone(job);
    } catch (error) {
      throw await failure(input, name, error);
    }
  }
}

type RawOutput = { data: Buffer; info: { width: number; height: number; channels: number } };

/** decodeImage without the argument checks (they were made by the caller). */
async function decode(input: string | Buffer, target: DecodeTarget, name: string): Promise<Uint8Array> {
  if (typeof input !== 'string' && input.length === 0) throw imageError(name, 'empty file');
  const { data, info } = await throughGate(input, name, (): Promise<RawOutput> => {
    let pipeline = sharp()(input, { failOn: 'warning', autoOrient: true }).flatten({ background: { r: 0, g: 0, b: 0 } });
    pipeline = target.channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
    pipeline = pipeline.resize(target.width, target.height, { fit: 'cover', position: 'centre' }).raw({ depth: 'uchar' });
    return pipeline.toBuffer({ resolveWithObject: true });
  });
  if (info.width !== target.width || info.height !== target.height || info.channels !== target.channels) {
    throw imageError(name, `decoded to ${info.height}×${info.width}×${info.channels}, not ${target.height}×${target.width}×${target.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function nameOf(input: string | Buffer, label: string | undefined): string {
  return label ?? (typeof input === 'string' ? input : 'image buffer');
}

/**
 * Decodes one image to raw HWC uint8 pixels of exactly `target`'s size (see the pipeline above).
 * `label` names the image in errors (default: the path, or 'image buffer').
 * Throws SemihardError 'ERR_SEMIHARD_IMAGE' ("<file>: <what libvips said>") for a corrupt,
 * truncated, empty, missing or undecodable image.
 */
export async function decodeImage(input: string | Buffer, target: DecodeTarget, label?: string): Promise<Uint8Array> {
  checkInput(input, 'input');
  const t = checkTarget(target, 'target');
  if (label !== undefined && typeof label !== 'string') throw typeError('label', 'a string', label);
  return decode(input, t, nameOf(input, label));
}

/** An image's height and width after its EXIF orientation is applied, from its header alone. */
export async function imageSizeOf(input: string | Buffer, label?: string): Promise<{ height: number; width: number }> {
  checkInput(input, 'input');
  const name = nameOf(input, label);
  if (typeof input !== 'string' && input.length === 0) throw imageError(name, 'empty file');
  const meta = await throughGate(input, name, () => sharp()(input).metadata());
  return { height: meta.autoOrient.height, width: meta.autoOrient.width };
}

export interface DecodeImagesOptions {
  /** How many images are decoded at once (default os.availableParallelism()); sharp runs them on libuv's thread pool (UV_THREADPOOL_SIZE threads, 4 unless set). */
  concurrency?: number;
  /**
   * Receives each image as it is decoded, in the order they finish (not input order). Awaited when
   * it returns a Promise: a worker decodes its next image only after that, so at most
   * `concurrency` decoded images exist that onImage has not been given or not yet finished with.
   */
  onImage?: (index: number, pixels: Uint8Array) => void | Promise<void>;
  /** What to do with an image that fails to decode (its SemihardError 'ERR_SEMIHARD_IMAGE'): 'skip' it, or 'throw' (the default, also without onError). */
  onError?: (index: number, error: SemihardError) => 'skip' | 'throw';
  /** Stops starting new decodes; the call rejects with SemihardError 'ABORT_ERR' once those in flight end. */
  signal?: AbortSignal;
}

export interface DecodeImagesResult {
  /** Images handed to onImage. */
  decoded: number;
  /** Images onError said to skip, in input order. */
  skipped: { index: number; error: SemihardError }[];
}

function checkDecodeImagesOptions(options: unknown): DecodeImagesOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw typeError('options', 'an object', options);
  const o = options as Record<string, unknown>;
  if (o.concurrency !== undefined) positiveInteger(o.concurrency, 'options.concurrency');
  for (const key of ['onImage', 'onError'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'function') throw typeError(`options.${key}`, 'a function', o[key]);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', o.signal);
  return o as DecodeImagesOptions;
}

/**
 * Decodes many images with bounded concurrency (see DecodeImagesOptions). An image error is
 * passed to onError; the first error not skipped (or thrown by onImage) stops the pool: no new
 * decodes start, no more onImage calls are made, and the call rejects with it once the decodes in
 * flight have ended. Buffers are named 'image <index>' in errors.
 */
export async function decodeImages(inputs: readonly (string | Buffer)[], target: DecodeTarget, options?: DecodeImagesOptions): Promise<DecodeImagesResult> {
  if (!Array.isArray(inputs)) throw typeError('inputs', 'an Array of file paths or Buffers', inputs);
  inputs.forEach((input, i) => checkInput(input, `inputs[${i}]`));
  const t = checkTarget(target, 'target');
  const { concurrency = os.availableParallelism(), onImage, onError, signal } = checkDecodeImagesOptions(options);

  const result: DecodeImagesResult = { decoded: 0, skipped: [] };
  let next = 0;
  let stopped: { error: unknown } | undefined;
  const stop = (error: unknown): void => {
    stopped ??= { error };
  };
  const aborted = (): boolean => {
    if (signal?.aborted) stop(new SemihardError('ABORT_ERR', 'Decoding was cancelled', { cause: signal.reason }));
    return stopped !== undefined;
  };

  const worker = async (): Promise<void> => {
    while (next < inputs.length && !aborted()) {
      const index = next++;
      const input = inputs[index];
      let pixels: Uint8Array;
      try {
        pixels = await decode(input, t, typeof input === 'string' ? input : `image ${index}`);
      } catch (error) {
        if (stopped) return;
        const isImageError = error instanceof SemihardError && error.code === 'ERR_SEMIHARD_IMAGE';
        if (isImageError && onError) {
          let action: unknown;
          try {
            action = onError(index, error);
          } catch (thrown) {
            stop(thrown);
            return;
          }
          if (action === 'skip') {
            result.skipped.push({ index, error });
            continue;
          }
        }
        stop(error);
        return;
      }
      if (aborted()) return;
      try {
        await onImage?.(index, pixels);
      } catch (error) {
        stop(error);
        return;
      }
      result.decoded++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  if (stopped) throw stopped.error;
  result.skipped.sort((a, b) => a.index - b.index);
  return result;
}
