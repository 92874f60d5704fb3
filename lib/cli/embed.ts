// `semihard embed`: embeds every image under a folder with a trained model and writes the
// embeddings where other tools read them: a NumPy .npy (with <file>.labels.json beside it) or
// TensorBoard Projector TSVs. Class folders are optional: the top-level folders that hold
// images are the classes; images lying loose in the folder itself have none.
import * as path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { writeFileAtomic } from '../files';
import { DEVICES, PRECISIONS, SemihardError, listImages, loadModel, writeNpy, writeProjector, type Device, type Precision } from '../index';
import { number } from './parse';

/** The flags as commander hands them over; the API checks their values. */
export interface EmbedFlags {
  checkpoint: string;
  images: string;
  out: string;
  device?: Device;
  precision?: Precision;
  batchSize?: number;
  quiet?: boolean;
}

/** What the command writes for `out`: a .npy and its labels, or the Projector's two TSVs (a .tsv file, or a folder). */
function outputKind(out: string): 'npy' | 'projector' {
  return out.toLowerCase().endsWith('.npy') ? 'npy' : 'projector';
}

async function runEmbed(flags: EmbedFlags): Promise<number> {
  const root = path.resolve(flags.images);
  const listing = await listImages(root);
  if (listing.files.length === 0) throw new SemihardError('ERR_SEMIHARD_DATA', `${root} holds no images (JPEG, PNG, WebP, GIF, TIFF or AVIF files)`);
  const model = await loadModel(flags.checkpoint, { device: flags.device, precision: flags.precision });
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
    .addOption(new Option('--precision <p>', "the network's arithmetic: fp32 (default), bf16 or fp16").choices(PRECISIONS))
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
