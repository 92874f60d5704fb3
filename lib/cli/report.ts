// `semihard report`: the self-contained HTML report of a trained model (report() in the API),
// with a progress bar per stage on stderr; `semihard eval --report <file>` runs the same.
import * as path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { DEVICES, PRECISIONS, PROJECTION_METHODS, report, type Device, type Precision, type ProjectionMethod, type ReportProgressEvent, type ReportResult } from '../index';
import { dataSource, number } from './parse';

export interface ReportFlags {
  checkpoint: string;
  data?: string;
  out?: string;
  method?: ProjectionMethod;
  maxPoints?: number;
  k?: number;
  neighbours?: number;
  thumbnailSize?: number;
  device?: Device;
  precision?: Precision;
  title?: string;
  json?: boolean;
}

const STAGES: Record<ReportProgressEvent['stage'], string> = {
  'embed-train': 'embedding train',
  'embed-valid': 'embedding valid',
  evaluate: 'evaluating',
  project: 'projecting the map',
  neighbours: 'nearest neighbours',
  thumbnails: 'thumbnails',
  write: 'writing',
};

/** report.html beside the checkpoint unless told. */
export function defaultReportFile(checkpoint: string): string {
  return path.join(path.dirname(path.resolve(checkpoint)), 'report.html');
}

/** Writes the report with a bar per stage (none when quiet); what report() resolves to. */
export async function writeReport(flags: ReportFlags, out: string, quiet: boolean): Promise<ReportResult> {
  let bar: SingleBar | null = null;
  let stage: string | null = null;
  const onProgress = (e: ReportProgressEvent): void => {
    if (quiet) return;
    if (stage !== e.stage) {
      bar?.stop();
      stage = e.stage;
      bar = new SingleBar({ format: `${STAGES[e.stage]} |{bar}| {value}/{total}`, stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
      bar.start(e.total, e.done);
    } else {
      bar?.update(e.done);
    }
  };
  try {
    return await report({
      checkpoint: flags.checkpoint,
      out,
      data: flags.data === undefined ? undefined : dataSource(flags.data),
      method: flags.method,
      maxPoints: flags.maxPoints,
      k: flags.k,
      neighbours: flags.neighbours,
      thumbnailSize: flags.thumbnailSize,
      device: flags.device,
      precision: flags.precision,
      title: flags.title,
      onProgress,
    });
  } finally {
    (bar as SingleBar | null)?.stop();
  }
}

/** "2.4 MB" */
export function formatBytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
}

async function runReport(flags: ReportFlags): Promise<number> {
  const quiet = !!flags.json;
  const out = path.resolve(flags.out ?? defaultReportFile(flags.checkpoint));
  const r = await writeReport(flags, out, quiet);
  if (quiet) {
    process.stdout.write(`${JSON.stringify({ file: r.file, bytes: r.bytes, points: r.points, metrics: r.metrics }, null, 2)}\n`);
  } else {
    process.stdout.write(`report: ${r.file} (${formatBytes(r.bytes)}, ${r.points} points; kNN accuracy ${(r.metrics.knnAccuracy * 100).toFixed(2)}%)\n`);
  }
  return 0;
}

export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description('one self-contained HTML page of a trained model: run, curves, metrics, confusion, an interactive embedding map with neighbours')
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .option('--data <source>', "data set (default: the one the model was trained on): 'mnist', 'fashion-mnist', an IDX folder or an image folder")
    .option('--out <file>', 'the .html file (default: report.html beside the checkpoint)')
    .addOption(new Option('--method <m>', 'the map\'s projection').choices(PROJECTION_METHODS))
    .option('--max-points <n>', 'validation samples on the map at most', number)
    .option('--k <n>', 'neighbours for kNN accuracy', number)
    .option('--neighbours <n>', 'neighbours listed for a clicked point', number)
    .option('--thumbnail-size <px>', 'thumbnails\' longer side at most', number)
    .addOption(new Option('--device <d>', 'where to compute (auto: CUDA when available)').choices(DEVICES))
    .addOption(new Option('--precision <p>', 'the network\'s arithmetic when embedding').choices(PRECISIONS))
    .option('--title <text>', 'the page\'s title')
    .option('--json', 'print the file, its size and the metrics as JSON on stdout, no progress output')
    .addHelpText('after', '\nA setting not given takes the default of report() (README: The report).')
    .action(async (flags: ReportFlags) => {
      process.exitCode = await runReport(flags);
    });
}
