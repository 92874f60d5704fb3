// Scanning an image folder: which files are images, which class each belongs to, and which
// are training and which validation images. Nothing is decoded here (see decode.ts).
//
// - A class is a first-level folder under the root; its images may sit at any depth below it.
//   Class names are the folders' names in code-unit order (Python's sorted()), over the training
//   and validation folders together.
// - Layouts: root/<class>/** split by seed (stratified per class); root/train/<class>/** with
//   root/valid/<class>/** (or root/val/…) next to it; root/<class>/** with validFolder/<class>/**;
//   root/<class>/** with validFiles naming the validation images.
// - Files are images by name (isImageFile); the others (.DS_Store, Thumbs.db, notes.txt, files
//   directly under the root, other entries next to train/ and valid/) are listed as ignored.
//   Hidden folders are skipped. Symbolic links are followed, except a link back to a folder above
//   it (a loop), which is not. The walk below each class folder, and the sort, are folder-walk.ts's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SemihardError, rangeError, rangeErrorWithMessage, typeError } from '../errors';
import { Random, derivedSeed } from '../random';
import { nonNegativeInteger } from '../validate';
import {
  Limiter,
  OPEN_DIRECTORIES,
  compareCodeUnits,
  folderKey,
  listFolder,
  sortInSlices,
  walkFolder,
  yieldToLoop,
  type FolderEntry,
  type Walk,
} from './folder-walk';

export interface ScanImageFolderOptions {
  imageFolder: string;
  validFolder?: string;
  /** Fraction of each class held out for validation when no validation set is given: [0, 1), default 0.2 (unused when the folder holds train/ and valid/). */
  validFraction?: number;
  /** Validation images as paths relative to imageFolder, or the path (from the working directory) of a text file listing them one a line (blank lines and #comments skipped). */
  validFiles?: string | string[];
  seed: number;
}

export type FolderLayout = 'split' | 'train-valid' | 'valid-folder' | 'valid-files';

export interface FolderSplit {
  /** Absolute paths, sorted by class, then by path. */
  files: string[];
  /** Class index of each file (into classNames). */
  labels: Int32Array;
}

export interface FolderScan {
  root: string;
  layout: FolderLayout;
  classNames: string[];
  train: FolderSplit;
  valid: FolderSplit;
  /** Absolute paths of what was not used: files that are not images, and entries outside the layout. */
  ignored: string[];
}

export const DEFAULT_VALID_FRACTION = 0.2;
/** derivedSeed purpose of the per-class validation split. */
const SPLIT_PURPOSE = 0x766c; // 'vl'

function dataError(message: string): SemihardError {
  return new SemihardError('ERR_SEMIHARD_DATA', message);
}

function pathOption(value: unknown, argument: string): string {
  if (typeof value !== 'string') throw typeError(argument, 'a folder path', value);
  if (value.length === 0) throw rangeError(argument, 'a non-empty folder path', value);
  return value;
}

interface CheckedOptions {
  root: string;
  validFolder?: string;
  validFraction?: number;
  validFiles?: string | string[];
  seed: number;
}

function checkOptions(options: unknown): CheckedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw typeError('data', 'an object', options);
  const o = options as Record<string, unknown>;
  const root = path.resolve(pathOption(o.imageFolder, 'data.imageFolder'));
  const validFolder = o.validFolder === undefined ? undefined : path.resolve(pathOption(o.validFolder, 'data.validFolder'));
  let validFraction: number | undefined;
  if (o.validFraction !== undefined) {
    if (typeof o.validFraction !== 'number') throw typeError('data.validFraction', 'a number in [0, 1)', o.validFraction);
    if (!(o.validFraction >= 0 && o.validFraction < 1)) throw rangeError('data.validFraction', 'a number in [0, 1)', o.validFraction);
    validFraction = o.validFraction;
  }
  let validFiles: string | string[] | undefined;
  if (o.validFiles !== undefined) {
    const v = o.validFiles;
    if (typeof v === 'string') validFiles = pathOption(v, 'data.validFiles');
    else if (Array.isArray(v)) {
      v.forEach((f, i) => {
        if (typeof f !== 'string') throw typeError(`data.validFiles[${i}]`, 'a path relative to data.imageFolder', f);
        if (f.length === 0) throw rangeError(`data.validFiles[${i}]`, 'a non-empty path relative to data.imageFolder', f);
      });
      validFiles = v as string[];
    } else throw typeError('data.validFiles', 'a path of a text file or an Array of paths', v);
  }
  const given = [validFolder && 'data.validFolder', validFiles && 'data.validFiles', validFraction !== undefined && 'data.validFraction'].filter(Boolean);
  if (given.length > 1) {
    throw rangeErrorWithMessage(String(given[1]), `Give one way to choose validation images, not ${given.join(' and ')}`);
  }
  if (o.seed === undefined) throw typeError('seed', 'a non-negative integer', o.seed);
  const seed = nonNegativeInteger(o.seed, 'seed', 0);
  return { root, validFolder, validFraction, validFiles, seed };
}

async function isDirectory(p: string): Promise<boolean> {
  return fs.promises.stat(p).then((s) => s.isDirectory(), () => false);
}

interface ClassFolders {
  /** Class name → its images (absolute, sorted). */
  classes: Map<string, string[]>;
  ignored: string[];
}

/** The class folders of a tree root/<class>/**, each with its images. */
async function scanClasses(root: string, limiter: Limiter): Promise<ClassFolders> {
  const ignored: string[] = [];
  const classDirs: FolderEntry[] = [];
  for (const entry of await listFolder(root, limiter)) {
    if (entry.kind === 'directory') {
      if (!entry.name.startsWith('.')) classDirs.push(entry);
    } else ignored.push(entry.full); // a file directly under the root belongs to no class
  }
  if (classDirs.length === 0) {
    throw dataError(`${root} holds no class folders: put each class's images in a folder of its own (${path.join(root, '<class>', '<image>')})`);
  }
  const rootKey = new Set([await folderKey(root)]);
  const classes = new Map<string, string[]>();
  await Promise.all(
    classDirs.map(async ({ name, full }) => {
      const walk: Walk = { images: [], ignored, limiter };
      await walkFolder(full, rootKey, walk);
      if (walk.images.length === 0) throw dataError(`The class folder ${full} holds no images`);
      classes.set(name, await sortInSlices(walk.images));
    }),
  );
  return { classes, ignored };
}

/** The classes' (sorted) files one after the other, with their labels; yields to the event loop between classes. */
async function splitOf(perClass: Map<string, string[]>, classNames: string[]): Promise<FolderSplit> {
  const files: string[] = [];
  const labels: number[] = [];
  for (let c = 0; c < classNames.length; c++) {
    for (const f of perClass.get(classNames[c]) ?? []) {
      files.push(f);
      labels.push(c);
    }
    await yieldToLoop();
  }
  return { files, labels: Int32Array.from(labels) };
}

/** The validation file list: lines of a text file (blank lines and #comments skipped) or the given Array, resolved against root. */
async function readValidFiles(validFiles: string | string[], root: string): Promise<string[]> {
  let names: string[];
  if (typeof validFiles === 'string') {
    const listFile = path.resolve(validFiles);
    const text = await fs.promises.readFile(listFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw dataError(`The validation file list ${listFile} cannot be read: ${e.message}`);
    });
    names = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith('#'));
  } else names = validFiles;
  return [...new Set(names.map((name) => path.resolve(root, name)))];
}

/** Scans an image folder: layout, classes, training and validation files, ignored files. */
export async function scanImageFolder(options: ScanImageFolderOptions): Promise<FolderScan> {
  const { root, validFolder, validFraction, validFiles, seed } = checkOptions(options);
  const rootStat = await fs.promises.stat(root).catch(() => undefined);
  if (!rootStat) throw dataError(`The image folder ${root} does not exist`);
  if (!rootStat.isDirectory()) throw dataError(`The image folder ${root} is not a folder`);

  const limiter = new Limiter(OPEN_DIRECTORIES);
  let layout: FolderLayout;
  let train: ClassFolders;
  let valid: ClassFolders | undefined;
  const ignored: string[] = [];

  const trainDir = path.join(root, 'train');
  const validName = !validFolder && !validFiles && (await isDirectory(trainDir))
    ? ((await isDirectory(path.join(root, 'valid'))) ? 'valid' : (await isDirectory(path.join(root, 'val'))) ? 'val' : undefined)
    : undefined;
  if (validName) {
    layout = 'train-valid';
    for (const entry of await listFolder(root, limiter)) {
      const used = entry.name === 'train' || entry.name === validName;
      if (!used && !(entry.kind === 'directory' && entry.name.startsWith('.'))) ignored.push(entry.full);
    }
    train = await scanClasses(trainDir, limiter);
    valid = await scanClasses(path.join(root, validName), limiter);
  } else if (validFolder) {
    layout = 'valid-folder';
    const stat = await fs.promises.stat(validFolder).catch(() => undefined);
    if (!stat) throw dataError(`The validation folder ${validFolder} does not exist`);
    if (!stat.isDirectory()) throw dataError(`The validation folder ${validFolder} is not a folder`);
    train = await scanClasses(root, limiter);
    valid = await scanClasses(validFolder, limiter);
  } else {
    layout = validFiles ? 'valid-files' : 'split';
    train = await scanClasses(root, limiter);
  }
  ignored.push(...train.ignored, ...(valid?.ignored ?? []));

  if (validFiles) {
    const listed = await readValidFiles(validFiles, root);
    const images = new Set<string>();
    for (const files of train.classes.values()) for (const f of files) images.add(f);
    for (const file of listed) {
      if (!images.has(file)) {
        const exists = await fs.promises.stat(file).then(() => true, () => false);
        throw dataError(
          exists
            ? `The validation file ${file} is not one of the images of ${root} (each must be an image inside a class folder)`
            : `The validation file ${file} does not exist`,
        );
      }
    }
    const chosen = new Set(listed);
    const validClasses = new Map<string, string[]>();
    for (const [name, files] of train.classes) {
      const own = files.filter((f) => chosen.has(f));
      if (own.length > 0) validClasses.set(name, own);
      train.classes.set(name, files.filter((f) => !chosen.has(f)));
      await yieldToLoop();
    }
    valid = { classes: validClasses, ignored: [] };
  }

  // Class names over both sets; a validation class the training set lacks is an error.
  for (const [name] of valid?.classes ?? []) {
    if ((train.classes.get(name)?.length ?? 0) === 0) {
      const where = layout === 'valid-files' ? `every image of the class ${name} is listed in data.validFiles` : `the validation class ${name} has no training folder`;
      throw dataError(`${root}: ${where}; each validation class needs training images`);
    }
  }
  const classNames = [...train.classes.keys()].sort(compareCodeUnits);
  for (const name of classNames) {
    const count = (train.classes.get(name)?.length ?? 0) + (valid?.classes.get(name)?.length ?? 0);
    if (count === 1) {
      const dir = layout === 'train-valid' ? trainDir : root;
      throw dataError(`The class folder ${path.join(dir, name)} holds a single image: a class needs at least two (an anchor and a positive)`);
    }
  }

  if (!valid) {
    // Seeded split, stratified: each class gives round(n · validFraction) images, at most n − 1.
    const fraction = validFraction ?? DEFAULT_VALID_FRACTION;
    const validClasses = new Map<string, string[]>();
    for (let c = 0; c < classNames.length; c++) {
      const files = train.classes.get(classNames[c])!;
      const nValid = Math.min(Math.round(files.length * fraction), files.length - 1);
      const chosen = new Set(new Random(derivedSeed(seed, SPLIT_PURPOSE, c)).shuffle([...files]).slice(0, nValid));
      validClasses.set(classNames[c], files.filter((f) => chosen.has(f)));
      train.classes.set(classNames[c], files.filter((f) => !chosen.has(f)));
      await yieldToLoop();
    }
    valid = { classes: validClasses, ignored: [] };
  }

  return {
    root,
    layout,
    classNames,
    train: await splitOf(train.classes, classNames),
    valid: await splitOf(valid.classes, classNames),
    ignored: await sortInSlices(ignored),
  };
}
