// `semihard eval`: embeds the train and validation sets with a trained model, prints kNN,
// linear, SVM and retrieval metrics, writes them as JSON (metrics.json beside the checkpoint by
// default), optionally draws the validation embeddings (--plot) and writes the HTML report
// (--report, as `semihard report`). Values go to the API untouched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { writeFileAtomic } from '../files';
import { DEFAULT_KNN_K, DEVICES, PROJECTION_METHODS, evaluate, loadDataset, loadModel, plotEmbeddings, type Device, type ProjectionMethod } from '../index';
import { formatMetrics } from './format';
import { formatBytes, writeReport } from './report';
import { dataSource, number } from './parse';
import { TrainingProgress, embedSet } from './progress';

/** The flags as commander hands them over, typed as the API declares them; the API checks them. */
export interface EvalFlags {
  checkpoint: string;
  data?: string;
  k?: number;
  device?: Device;
  plot?: string;
  method?: ProjectionMethod;
  maxPoints?: number;
  out?: string;
  report?: string;
  json?: boolean;
}

const METHOD_NAMES: Record<ProjectionMethod, string> = { tsne: 't-SNE', pca: 'PCA' };

async function runEval(flags: EvalFlags): Promise<number> {
  const quiet = !!flags.json;
  const model = await loadModel(flags.checkpoint, { device: flags.device });
  const config = model.checkpoint.config;
  const progress = new TrainingProgress(0, quiet);
  // An image folder is decoded to the model's geometry, whatever size its images have.
  const geometry = { height: model.height, width: model.width, storedHeight: model.storedHeight, storedWidth: model.storedWidth, channels: model.channels };
  const dataset = await loadDataset(flags.data === undefined ? config.data : dataSource(flags.data), config.seed, { onProgress: progress.onProgress, geometry });
  const train = await embedSet(model, dataset.train, 'train', quiet);
  const valid = await embedSet(model, dataset.valid, 'valid', quiet);
  const started = performance.now();
  const metrics = await evaluate(
    { train: { embeddings: train, labels: dataset.train.labels, dim: model.dim }, valid: { embeddings: valid, labels: dataset.valid.labels, dim: model.dim } },
    { k: flags.k, device: flags.device },
  );
  const seconds = (performance.now() - started) / 1000;
  // evaluate() accepted flags.k, or used its default.
  const k = flags.k ?? DEFAULT_KNN_K;
  const out = path.resolve(flags.out ?? path.join(path.dirname(path.resolve(flags.checkpoint)), 'metrics.json'));
  const report = { checkpoint: path.resolve(flags.checkpoint), data: dataset.name, k, ...metrics, classNames: dataset.classNames, seconds };
  await fs.promises.mkdir(path.dirname(out), { recursive: true });
  await writeFileAtomic(out, Buffer.from(`${JSON.stringify(report, null, 2)}\n`));
  let plot: { file: string; points: number } | undefined;
  if (flags.plot !== undefined) {
    const method = flags.method === undefined ? undefined : (METHOD_NAMES[flags.method] ?? flags.method);
    if (!quiet) process.stderr.write(`drawing the validation embeddings${method ? ` (${method})` : ''}...\n`);
    plot = await plotEmbeddings(
      { embeddings: valid, labels: dataset.valid.labels, dim: model.dim },
      {
        out: flags.plot,
        method: flags.method,
        maxPoints: flags.maxPoints,
        title: `${dataset.name}: ${method ? `${method} of ` : ''}validation embeddings`,
        classNames: dataset.classNames,
        seed: config.seed,
      },
    );
  }
  let page: { file: string; bytes: number; points: number } | undefined;
  if (flags.report !== undefined) {
    if (!quiet) process.stderr.write('writing the report...\n');
    const { checkpoint, data, method, maxPoints, device } = flags;
    page = await writeReport({ checkpoint, data, method, maxPoints, k, device }, path.resolve(flags.report), quiet);
  }
  if (quiet) {
    process.stdout.write(
      `${JSON.stringify({ ...report, metricsFile: out, plot: plot?.file, plotPoints: plot?.points, report: page?.file, reportBytes: page?.bytes }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(
      `${formatMetrics(metrics, dataset.classNames, k)}\n\nmetrics: ${out}\n` +
        (plot ? `picture: ${plot.file} (${plot.points} points)\n` : '') +
        (page ? `report: ${page.file} (${formatBytes(page.bytes)}, ${page.points} points)\n` : ''),
    );
  }
  return 0;
}

export function addEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('embed the train and validation sets with a trained model; kNN, linear, SVM and retrieval metrics; optional picture')
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .option('--data <source>', "data set (default: the one the model was trained on): 'mnist', 'fashion-mnist', an IDX folder or an image folder")
    .option('--k <n>', `neighbours for kNN accuracy (default ${DEFAULT_KNN_K})`, number)
    .addOption(new Option('--device <d>', 'where to compute (auto: CUDA when available)').choices(DEVICES))
    .option('--plot <file>', 'write a picture of the validation embeddings (.png or .svg)')
    .addOption(new Option('--method <m>', 'projection for --plot').choices(PROJECTION_METHODS))
    .option('--max-points <n>', 'points in the picture at most', number)
    .option('--out <file>', 'metrics JSON (default: metrics.json beside the checkpoint)')
    .option('--report <file>', 'also write the HTML report (as `semihard report`; its map takes --method and --max-points)')
    .option('--json', 'print the metrics as JSON on stdout, no progress output')
    .addHelpText('after', '\nA setting not given takes the default of evaluate() and plotEmbeddings() (README: Evaluation and pictures).')
    .action(async (flags: EvalFlags) => {
      process.exitCode = await runEval(flags);
    });
}
