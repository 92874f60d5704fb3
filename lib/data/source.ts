// Where training data comes from, as a caller writes it (DataSource) and with every default
// filled in (ResolvedDataSource: what a checkpoint records). One owner for the data options'
// types, ranges, defaults and messages.
import * as os from 'node:os';
import * as path from 'node:path';
import { BAD_IMAGE_POLICIES, NAMED_DATA_SETS, isMember, type BadImagePolicy, type NamedDataSet } from '../enums';
import { rangeError, typeError } from '../errors';
import { finiteNumber, isPlainObject, checkKnownKeys, oneOf, positiveInteger } from '../validate';

/** A folder of photos: class = the first-level folder under the root that holds the image. */
export interface ImageFolderSource {
  imageFolder: string;
  /** The validation images' folder (same class folders); else root/{valid,val} next to root/train, else a split. */
  validFolder?: string;
  /** Fraction of each class held out for validation, seeded (default 0.2). */
  validFraction?: number;
  /** These files (paths relative to imageFolder, or a text file listing them one a line) are the validation set. */
  validFiles?: string | string[];
  /** Height × width the network sees (default: the images' own size when all are equal, else 224). */
  imageSize?: number | [number, number];
  /** 3 (default: greyscale sources replicated) or 1 (colour converted to grey). */
  channels?: 1 | 3;
  /** A corrupt, truncated or empty image: an error naming it (default), or left out and listed in `skipped`. */
  badImages?: BadImagePolicy;
  /** Decoded images are kept in memory when they fit under this many bytes (default a quarter of RAM), else streamed. */
  cacheBytes?: number;
}

export type DataSource = NamedDataSet | { idxDir: string } | ImageFolderSource;

export interface ResolvedImageFolderSource {
  imageFolder: string;
  validFolder: string | null;
  validFraction: number;
  validFiles: string | string[] | null;
  /** null: the images' own size when all are equal, else 224 × 224. */
  imageSize: [number, number] | null;
  channels: 1 | 3;
  badImages: BadImagePolicy;
  /** Not part of what a run computes: a resumed run may cache or stream differently. */
  cacheBytes: number;
}

export type ResolvedDataSource = NamedDataSet | { idxDir: string } | ResolvedImageFolderSource;

export const DEFAULT_VALID_FRACTION = 0.2;
/** Larger than any photo a network is trained on; a typo (224000) is a RangeError, not an allocation failure. */
export const MAX_IMAGE_SIDE = 4096;

export function defaultCacheBytes(): number {
  return Math.floor(os.totalmem() / 4);
}

export function isImageFolderSource<T extends DataSource | ResolvedDataSource>(source: T): source is Extract<T, { imageFolder: string }> {
  return typeof source === 'object' && source !== null && 'imageFolder' in source;
}

const DATA_EXPECTED = `${NAMED_DATA_SETS.map((name) => `'${name}'`).join(', ')}, { idxDir } or { imageFolder }`;

function folderPath(value: unknown, argument: string): string {
  if (typeof value !== 'string' || value.length === 0) throw typeError(argument, 'a folder path', value);
  return path.resolve(value);
}

function imageSide(value: unknown, argument: string): number {
  const side = positiveInteger(value, argument);
  if (side > MAX_IMAGE_SIDE) throw rangeError(argument, `a side of at most ${MAX_IMAGE_SIDE} pixels`, value);
  return side;
}

function resolveImageSize(value: unknown): [number, number] | null {
  const argument = 'config.data.imageSize';
  if (value === undefined) return null;
  if (Array.isArray(value)) {
    if (value.length !== 2) throw rangeError(argument, 'a side or a [height, width] pair', value);
    return [imageSide(value[0], `${argument}[0]`), imageSide(value[1], `${argument}[1]`)];
  }
  const side = imageSide(value, argument);
  return [side, side];
}

function resolveValidFiles(value: unknown): string | string[] | null {
  const argument = 'config.data.validFiles';
  if (value === undefined) return null;
  if (typeof value === 'string') {
    if (value.length === 0) throw typeError(argument, 'a text file of paths or an array of paths', value);
    return path.resolve(value);
  }
  if (!Array.isArray(value)) throw typeError(argument, 'a text file of paths or an array of paths', value);
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.length === 0) throw typeError(`${argument}[${i}]`, 'a path relative to imageFolder', v);
  });
  return [...(value as string[])];
}

function resolveImageFolder(given: Record<string, unknown>): ResolvedImageFolderSource {
  // A resolved source (a checkpoint's) comes back through here: its nulls mean 'not given'.
  const value = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null));
  checkKnownKeys(value, ['imageFolder', 'validFolder', 'validFraction', 'validFiles', 'imageSize', 'channels', 'badImages', 'cacheBytes'], 'config.data');
  const validFraction = finiteNumber(value.validFraction, 'config.data.validFraction', DEFAULT_VALID_FRACTION);
  if (validFraction < 0 || validFraction >= 1) throw rangeError('config.data.validFraction', 'a fraction from 0 (inclusive) to 1 (exclusive)', value.validFraction);
  if (value.validFolder !== undefined && value.validFiles !== undefined) {
    throw typeError('config.data.validFiles', 'no validFiles when validFolder is given (each says what the validation set is)', value.validFiles);
  }
  const channels = value.channels === undefined ? 3 : value.channels;
  if (channels !== 1 && channels !== 3) {
    if (typeof channels !== 'number') throw typeError('config.data.channels', '1 or 3', channels);
    throw rangeError('config.data.channels', '1 or 3', channels);
  }
  let cacheBytes = defaultCacheBytes();
  if (value.cacheBytes !== undefined) {
    cacheBytes = finiteNumber(value.cacheBytes, 'config.data.cacheBytes', 0);
    if (cacheBytes < 0 || !Number.isSafeInteger(cacheBytes)) throw rangeError('config.data.cacheBytes', 'a whole number of bytes, 0 or more', value.cacheBytes);
  }
  return {
    imageFolder: folderPath(value.imageFolder, 'config.data.imageFolder'),
    validFolder: value.validFolder === undefined ? null : folderPath(value.validFolder, 'config.data.validFolder'),
    validFraction,
    validFiles: resolveValidFiles(value.validFiles),
    imageSize: resolveImageSize(value.imageSize),
    channels,
    badImages: oneOf(value.badImages, 'config.data.badImages', BAD_IMAGE_POLICIES, 'error'),
    cacheBytes,
  };
}

export function resolveDataSource(value: unknown): ResolvedDataSource {
  if (isMember(NAMED_DATA_SETS, value)) return value;
  if (isPlainObject(value)) {
    if ('imageFolder' in value) return resolveImageFolder(value);
    checkKnownKeys(value, ['idxDir'], 'config.data');
    return { idxDir: folderPath(value.idxDir, 'config.data.idxDir') };
  }
  if (typeof value === 'string') throw rangeError('config.data', DATA_EXPECTED, value);
  throw typeError('config.data', DATA_EXPECTED, value);
}

/** What must match for a checkpoint to be resumed (the cache size does not change any number). */
export function dataIdentity(source: ResolvedDataSource): unknown {
  if (!isImageFolderSource(source)) return source;
  const { cacheBytes: _cache, ...identity } = source;
  return identity;
}
