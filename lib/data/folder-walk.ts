// Walking a folder tree for images: which files below a folder are images (isImageFile), which
// are not (listed as ignored), and sorting long path lists. No layout or class rules here (see
// folder-scan.ts); nothing is decoded (see decode.ts).
//
// - Hidden folders are skipped; hidden files are never images (isImageFile). Symbolic links are
//   followed, except a link back to a folder above it (a loop), which is not; a broken link is
//   neither file nor folder.
// - The walk is asynchronous (fs.promises, directories read in batches, a few at a time), and
//   the sort runs in slices, so a tree of 100,000 files never holds the event loop for long.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SemihardError } from '../errors';
import { isImageFile } from './decode';

/** Directories read at once, and entries read per batch. */
export const OPEN_DIRECTORIES = 8;
const ENTRIES_PER_READ = 256;
/** sortInSlices: strings sorted natively at once, and strings moved between turns of the event loop. */
const SORT_RUN = 2048;
const SORT_SLICE = 32768;

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A few directory reads at a time: each holds a file descriptor open while it is read. */
export class Limiter {
  private active = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export type EntryKind = 'file' | 'directory' | 'other';
export interface FolderEntry {
  name: string;
  full: string;
  kind: EntryKind;
}

/** A folder's entries, read in batches; symbolic links are followed (a broken one is 'other'). */
export async function listFolder(dir: string, limiter: Limiter): Promise<FolderEntry[]> {
  return limiter.run(async () => {
    const entries: FolderEntry[] = [];
    try {
      const handle = await fs.promises.opendir(dir, { bufferSize: ENTRIES_PER_READ });
      for await (const entry of handle) {
        const full = path.join(dir, entry.name);
        let kind: EntryKind = entry.isDirectory() ? 'directory' : entry.isFile() ? 'file' : 'other';
        if (entry.isSymbolicLink()) {
          const stat = await fs.promises.stat(full).catch(() => undefined);
          kind = stat?.isDirectory() ? 'directory' : stat?.isFile() ? 'file' : 'other';
        }
        entries.push({ name: entry.name, full, kind });
      }
    } catch (e) {
      throw new SemihardError('ERR_SEMIHARD_DATA', `The folder ${dir} cannot be read: ${(e as Error).message}`);
    }
    return entries;
  });
}

/** A folder's identity (dev:ino), the same through every link to it. */
export async function folderKey(dir: string): Promise<string> {
  const stat = await fs.promises.stat(dir, { bigint: true });
  return `${stat.dev}:${stat.ino}`;
}

export interface Walk {
  images: string[];
  ignored: string[];
  limiter: Limiter;
}

/**
 * Every image below `dir` (any depth) into walk.images, every other file into walk.ignored.
 * `ancestors` are the folders above it on this path: a link back to one of them is not
 * followed (a loop). Any other folder is walked once per path that reaches it, as the links say.
 */
export async function walkFolder(dir: string, ancestors: ReadonlySet<string>, walk: Walk): Promise<void> {
  const key = await folderKey(dir);
  if (ancestors.has(key)) return;
  const above = new Set(ancestors).add(key);
  const subfolders: string[] = [];
  for (const entry of await listFolder(dir, walk.limiter)) {
    if (entry.kind === 'directory') {
      if (!entry.name.startsWith('.')) subfolders.push(entry.full);
    } else if (entry.kind === 'file' && isImageFile(entry.name)) walk.images.push(entry.full);
    else walk.ignored.push(entry.full);
  }
  await Promise.all(subfolders.map((sub) => walkFolder(sub, above, walk)));
}

/** Every image below `dir` (any depth, `dir` itself included), absolute paths in no set order. */
export async function imagesUnder(dir: string): Promise<string[]> {
  const walk: Walk = { images: [], ignored: [], limiter: new Limiter(OPEN_DIRECTORIES) };
  await walkFolder(dir, new Set(), walk);
  return walk.images;
}

/** Code-unit order, as Python's sorted() and torchvision's ImageFolder sort names (not the locale's). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The strings in code-unit order (Python's sorted()), sorted in slices between which the event
 * loop turns: runs of SORT_RUN sorted natively, then merged pairwise, yielding every
 * SORT_SLICE strings moved. Sorting 100,000 paths at once would hold the loop for ~100 ms.
 */
export async function sortInSlices(items: readonly string[]): Promise<string[]> {
  let from = items.slice();
  let work = 0;
  const step = async (moved: number): Promise<void> => {
    work += moved;
    if (work >= SORT_SLICE) {
      work = 0;
      await yieldToLoop();
    }
  };
  for (let lo = 0; lo < from.length; lo += SORT_RUN) {
    const run = from.slice(lo, lo + SORT_RUN).sort(compareCodeUnits);
    for (let k = 0; k < run.length; k++) from[lo + k] = run[k];
    await step(run.length);
  }
  let to = new Array<string>(from.length);
  for (let width = SORT_RUN; width < from.length; width *= 2) {
    for (let lo = 0; lo < from.length; lo += 2 * width) {
      const mid = Math.min(lo + width, from.length);
      const hi = Math.min(lo + 2 * width, from.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) to[k++] = from[j] < from[i] ? from[j++] : from[i++];
      while (i < mid) to[k++] = from[i++];
      while (j < hi) to[k++] = from[j++];
      await step(hi - lo);
    }
    [from, to] = [to, from];
  }
  return from;
}
