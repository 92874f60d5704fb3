// Turning command-line strings into the values the API takes. Only the syntax is checked
// here (is it a number at all?); whether a value is allowed is the API's to say, so that
// `--dim 1.5` and `train({ model: { dim: 1.5 } })` get the same RangeError. (Enumerated
// flags are commander's `.choices()` of the API's own tuples: the same list, listed in --help.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { NAMED_DATA_SETS, type DataSource, type ImageFolderSource } from '../index';

/** A decimal number, as commander's option parser ('wide' is rejected as a syntax error). */
export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) throw new InvalidArgumentError(`'${value}' is not a number.`);
  return n;
}

/** Whether a folder holds MNIST-format IDX files (train-images-idx3-ubyte, optionally .gz). */
function holdsIdxFiles(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((name) => /^train-images[.-]idx3-ubyte(\.gz)?$/.test(name));
  } catch {
    return false;
  }
}

/** The image-folder flags, as train() takes them (unchecked). */
export type ImageFolderFlags = Omit<ImageFolderSource, 'imageFolder'>;

/**
 * `--data`: the two named sets by name; a folder holding IDX files is { idxDir }; any other
 * path is an image folder (with `folder`'s options). A path that does not exist goes to
 * train() as an image folder, which names it in its error.
 */
export function dataSource(value: string, folder: ImageFolderFlags = {}): DataSource {
  if ((NAMED_DATA_SETS as readonly string[]).includes(value)) return value as DataSource;
  if (holdsIdxFiles(path.resolve(value))) return { idxDir: value };
  return { imageFolder: value, ...given(folder) };
}

/** `--image-size`: a side (`224`) or height × width (`224x160`). */
export function imageSize(value: string): number | [number, number] {
  const parts = value.split(/[x×,]/);
  if (parts.length === 1) return number(value);
  if (parts.length === 2) return [number(parts[0]), number(parts[1])];
  throw new InvalidArgumentError(`'${value}' is not a side or HEIGHTxWIDTH.`);
}

/** The object without its undefined fields, or undefined when none is left (the API's defaults then apply). */
export function given<T extends object>(fields: T): Partial<T> | undefined {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as Partial<T>) : undefined;
}
