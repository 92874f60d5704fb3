// `semihard embed`: embeds every image under a folder with a trained model and writes the
// embeddings where other tools read them: a NumPy .npy (with <file>.labels.json beside it) or
// TensorBoard Projector TSVs. Class folders are optional: the top-level folders that hold
// images are the classes; images lying loose in the folder itself have none.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { compareCodeUnits as byName, imagesUnder } from '../data/folder-walk';
import { writeFileAtomic } from '../files';
import { DEVICES, SemihardError, loadModel, writeNpy, writeProjector, type Device } from '../index';
import { number } from './parse';

/** The flags as commander hands them over; the API checks their values. */
export interface EmbedFlags {
  checkpoint: string;
  images: string;
  out: string;
  device?: Device;
  batchSize?: number;
  quiet?: boolean;
}

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

/** What the command writes for `out`: a .npy and its labels, or the Projector's two TSVs (a .tsv file, or a folder). */
function outputKind(out: string): 'npy' | 'projector' {
  return out.toLowerCase().endsWith('.npy') ? 'npy' : 'projector';
}

async function runEmbed(flags: EmbedFlags): Promise<number> {
  const root = path.resolve(flags.images);
  const listing = await listImages(root);
  if (listing.files.length === 0) throw new SemihardError('ERR_SEMIHARD_DATA', `${root} holds no images (JPEG, PNG, WebP, GIF, TIFF or AVIF files)`);
  const model = await loadModel(flags.checkpoint, { device: flags.device });
  const count = listing.files.length;
  const bar = flags.quiet
    ? null
    : new SingleBar({ format: 'embedding |{bar}| {value}/{total} images eta {eta_formatted}', stream: process.stderr, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
  bar?.start(count, 0);
  let embeddings: Float32Array;
  try {
    embeddings = await model.embed(listing.files, { batchSize: flags.batchSize, onProgress: (done) => bar?.update(done) });
  } finally {
    bar?.stop();
  }
  const out = path.resolve(flags.out);
  const written: string[] = [];
  if (outputKind(out) === 'npy') {
    await writeNpy(out, embeddings, [count, model.dim]);
    const labels = { images: root, paths: listing.paths, classNames: listing.classNames, labels: listing.labels };
    await writeFileAtomic(`${out}.labels.json`, Buffer.from(`${JSON.stringify(labels)}\n`));
    written.push(out, `${out}.labels.json`);
  } else {
    const rows = listing.paths.map((p, i) => ({ path: p, class: listing.labels[i] < 0 ? '' : listing.classNames[listing.labels[i]] }));
    const files = await writeProjector(out, embeddings, model.dim, rows);
    written.push(files.vectors, files.metadata);
  }
  const classes = listing.classNames.length > 0 ? ` in ${listing.classNames.length} classes` : '';
  process.stdout.write(`embedded ${count} images${classes} (${model.dim} values each)\n${written.map((f) => `wrote ${f}\n`).join('')}`);
  return 0;
}

export function addEmbedCommand(program: Command): void {
  program
    .command('embed')
    .description('embed every image under a folder (class folders optional) with a trained model; write a .npy or TensorBoard Projector TSVs')
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .requiredOption('--images <dir>', 'a folder of images (JPEG, PNG, WebP, GIF, TIFF, AVIF), optionally in one folder per class')
    .requiredOption(
      '--out <file>',
      'x.npy: a count × dim float32 array, and x.npy.labels.json (paths, classNames, labels); x.tsv: Projector vectors in x.tsv, metadata in x.metadata.tsv; a folder: vectors.tsv and metadata.tsv in it',
    )
    .addOption(new Option('--device <d>', 'where to compute (auto: CUDA when available)').choices(DEVICES))
    .option('--batch-size <n>', 'images decoded and embedded at a time', number)
    .option('--quiet', 'no progress bar')
    .addHelpText(
      'after',
      '\nImages are decoded and centre-cropped as the model\'s validation images were. The labels JSON lists the paths relative to --images, the class names (the top-level folders holding images, sorted) and each image\'s index in them (-1: an image in --images itself).',
    )
    .action(async (flags: EmbedFlags) => {
      process.exitCode = await runEmbed(flags);
    });
}
