// Any folder of images as a list to embed: class folders optional (torchvision ImageFolder's
// rule, with loose images allowed), in a stable order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SemihardError } from '../errors';
import { compareCodeUnits as byName, imagesUnder } from './folder-walk';

/** The images of a folder, in the order they are embedded and written. */
export interface ImageListing {
  /** Absolute paths. */
  files: string[];
  /** Paths relative to the folder, '/'-separated (what the outputs record). */
  paths: string[];
  /** The top-level folders that hold images, sorted. */
  classNames: string[];
  /** Each image's index in classNames; -1 for an image lying in the folder itself. */
  labels: number[];
}

/**
 * Lists the images of `root` (torchvision ImageFolder's rule, with loose images allowed): each
 * top-level folder holding images is a class, its images found at any depth; images in `root`
 * itself come first, with no class. Which files are images is folder-walk.ts's rule, as for
 * training folders (hidden folders skipped, hidden files and non-images never images, links
 * followed but not round a loop); only the classes differ: scanImageFolder ignores loose images.
 */
export async function listImages(root: string): Promise<ImageListing> {
  const stat = await fs.promises.stat(root).catch(() => null);
  if (!stat?.isDirectory()) throw new SemihardError('ERR_SEMIHARD_DATA', `${root} is not a folder`);
  const all = (await imagesUnder(root)).map((file) => path.relative(root, file).split(path.sep).join('/'));
  // Loose images first, then each class's; within each, by folder, then by name (torchvision's order).
  const classOf = (p: string): string => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '');
  const folderOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
  const paths = all.sort((a, b) => byName(classOf(a), classOf(b)) || byName(folderOf(a), folderOf(b)) || byName(a, b));
  const classNames = [...new Set(paths.map(classOf).filter((c) => c !== ''))];
  const labels = paths.map((p) => classNames.indexOf(classOf(p)));
  return { files: paths.map((p) => path.join(root, ...p.split('/'))), paths, classNames, labels };
}

