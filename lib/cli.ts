#!/usr/bin/env node
// The `semihard` command line. It uses only the public API (./index).
//
// Libraries: commander (argument parsing, help, errors for unknown flags) and cli-progress
// (a maintained, dependency-light progress bar that redraws in place and degrades to no
// output when stdout is not a terminal with --json).
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import * as path from 'node:path';
import {
  DEFAULT_AUGMENT,
  DEFAULT_PHASES,
  distributedFromEnv,
  evaluate,
  info,
  loadDataset,
  loadModel,
  launchRanks,
  lrFind,
  plotEmbeddings,
  plotHistory,
  train,
  type EpochEvent,
  type Metrics,
  type Model,
  type PhaseConfig,
  type ProgressEvent,
  type TrainConfig,
} from './index';
import { writeFileAtomic } from './checkpoint';
import * as os from 'node:os';

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${value}' is not a number.`);
  return n;
}

function integer(value: string): number {
  const n = number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is not an integer.`);
  return n;
}

interface TrainFlags {
  data: string;
  backbone: 'convnet' | 'convnet-spatial' | 'resnet18' | 'resnet34';
  dim: number;
  loss: 'semihard' | 'hard';
  margin: number;
  distance: 'L2' | 'squared-L2' | 'angular';
  soft?: boolean;
  classes: number;
  perClass: number;
  sampler: 'balanced' | 'shuffled';
  frozenEpochs: number;
  frozenLr: number;
  epochs: number;
  lr: number;
  seed: number;
  device: 'cpu' | 'cuda' | 'auto';
  threads?: number;
  weightDecay: number;
  gradClip: number;
  augment: boolean;
  rotation: number;
  scale: number;
  translate: number;
  flip?: boolean;
  checkpointDir: string;
  resume?: boolean;
  maxSteps?: number;
  json?: boolean;
  batchNorm: 'sync' | 'local' | 'frozen';
  nproc: number;
  masterAddr?: string;
  masterPort?: number;
  distBackend?: 'gloo' | 'nccl' | 'auto';
  distTimeout?: number;
}

export function trainConfigFromFlags(flags: TrainFlags): TrainConfig {
  const phases: PhaseConfig[] = [];
  if (flags.frozenEpochs > 0) phases.push({ epochs: flags.frozenEpochs, maxLr: flags.frozenLr, freeze: 'backbone' });
  if (flags.epochs > 0) phases.push({ epochs: flags.epochs, maxLr: flags.lr, freeze: 'none' });
  const data = flags.data === 'mnist' || flags.data === 'fashion-mnist' ? flags.data : { idxDir: flags.data };
  return {
    data,
    model: { backbone: flags.backbone, dim: flags.dim, batchNorm: flags.batchNorm },
    loss: { kind: flags.loss, margin: flags.margin, distance: flags.distance, ...(flags.loss === 'hard' ? { soft: !!flags.soft } : {}) },
    batch: { classes: flags.classes, perClass: flags.perClass, sampler: flags.sampler },
    phases,
    seed: flags.seed,
    device: flags.device,
    threads: flags.threads,
    weightDecay: flags.weightDecay,
    gradClip: flags.gradClip,
    augment: flags.augment && { rotation: flags.rotation, scale: flags.scale, translate: flags.translate, flip: !!flags.flip },
    checkpointDir: flags.checkpointDir,
    resume: !!flags.resume,
    maxSteps: flags.maxSteps,
  };
}

// A rank started by `--nproc` or torchrun: torchrun's variables, with the flags' overrides.
function distributedFromFlags(flags: TrainFlags): TrainConfig['distributed'] {
  const env = distributedFromEnv(process.env);
  if (!env) return undefined;
  return {
    ...env,
    ...(flags.distBackend ? { backend: flags.distBackend } : {}),
    ...(flags.distTimeout !== undefined ? { timeoutMs: flags.distTimeout } : {}),
  };
}

// argv without --nproc (the ranks run the same command alone), with --threads split among them.
function rankArgs(argv: string[], nproc: number, threads: number | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--nproc=')) continue;
    out.push(argv[i]);
  }
  if (threads === undefined) out.push('--threads', String(Math.max(1, Math.floor((os.availableParallelism?.() ?? os.cpus().length) / nproc))));
  return out;
}

function formatEpoch(e: EpochEvent, phases: number): string {
  return `phase ${e.phase + 1}/${phases} epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)}, valid loss ${e.validLoss.toFixed(4)} (${e.seconds.toFixed(1)} s)`;
}

async function runTrain(flags: TrainFlags): Promise<number> {
  if (flags.nproc > 1) {
    if (process.env.WORLD_SIZE) throw new InvalidArgumentError('--nproc inside a rank (WORLD_SIZE is set): start the ranks one way only');
    return launchRanks({
      nproc: flags.nproc,
      script: process.argv[1],
      args: rankArgs(process.argv.slice(2), flags.nproc, flags.threads),
      masterAddr: flags.masterAddr,
      masterPort: flags.masterPort,
    });
  }
  const config = { ...trainConfigFromFlags(flags), distributed: distributedFromFlags(flags) };
  const rank = config.distributed && typeof config.distributed === 'object' ? config.distributed.rank : 0;
  const phases = config.phases!.length;
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted (Ctrl-C)'));
  process.once('SIGINT', onSigint);
  let bar: SingleBar | null = null;
  // The other ranks stay quiet unless something fails: rank 0 speaks for the group.
  const quiet = !!flags.json || rank > 0;
  if (!quiet) {
    const i = info();
    const d = config.distributed && typeof config.distributed === 'object' ? config.distributed : null;
    process.stderr.write(
      `semihard: LibTorch ${i.torchVersion}, ${i.cudaAvailable && flags.device !== 'cpu' ? 'CUDA' : 'CPU'}, ${flags.threads ?? i.threads} threads` +
        (d ? `, rank 0 of ${d.worldSize} (${d.backend === 'auto' ? 'c10d' : d.backend} via ${d.masterAddr}:${d.masterPort})` : '') +
        '\n',
    );
  }
  const onProgress = (e: ProgressEvent): void => {
    if (quiet) return;
    if (!bar) {
      bar = new SingleBar(
        {
          format: `phase ${e.phase + 1}/${phases} epoch ${e.epoch + 1} |{bar}| {value}/{total} loss {loss} lr {lr} {ips} img/s eta {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      );
      bar.start(e.steps, e.step - 1, { loss: '-', lr: '-', ips: '-' });
    }
    bar.update(e.step, { loss: e.loss.toFixed(4), lr: e.lr.toExponential(2), ips: e.imagesPerSecond.toFixed(0) });
  };
  const onEpoch = (e: EpochEvent): void => {
    if (bar) {
      bar.stop();
      bar = null;
    }
    if (!quiet) process.stderr.write(`${formatEpoch(e, phases)}\n`);
  };
  const started = performance.now();
  try {
    const result = await train({ ...config, onProgress, onEpoch, signal: controller.signal });
    const seconds = (performance.now() - started) / 1000;
    if (rank > 0) return 0;
    if (quiet) {
      process.stdout.write(`${JSON.stringify({ ...result, seconds }, null, 2)}\n`);
    } else {
      const last = result.history[result.history.length - 1];
      process.stdout.write(
        `\ntrained ${result.steps} steps in ${seconds.toFixed(1)} s${result.stoppedEarly ? ' (stopped by --max-steps)' : ''}\n` +
          (last ? `final valid loss ${last.validLoss.toFixed(4)}\n` : '') +
          `checkpoint: ${result.checkpoint}\n`,
      );
    }
    return 0;
  } catch (err) {
    (bar as SingleBar | null)?.stop();
    const e = err as Error & { code?: string };
    if (e.code === 'ABORT_ERR') {
      process.stderr.write(`\n${e.message}\nresume with the same command and --resume\n`);
      return 130;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

interface EvalFlags {
  checkpoint: string;
  data?: string;
  k: number;
  device: 'cpu' | 'cuda' | 'auto';
  plot?: string;
  method: 'tsne' | 'pca';
  maxPoints: number;
  out?: string;
  json?: boolean;
}

async function embedAll(model: Model, images: Uint8Array, count: number, label: string, quiet: boolean): Promise<Float32Array> {
  const pixels = model.height * model.width;
  const out = new Float32Array(count * model.dim);
  const chunk = 2048;
  const bar = quiet ? null : new SingleBar({ format: `embedding ${label} |{bar}| {value}/{total} images`, stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
  bar?.start(count, 0);
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    out.set(await model.embed(images.subarray(start * pixels, (start + n) * pixels), n), start * model.dim);
    bar?.update(start + n);
  }
  bar?.stop();
  return out;
}

export function formatMetrics(m: Metrics, classNames: string[], k: number): string {
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  const lines = [
    `kNN accuracy (k=${k})   ${pct(m.knnAccuracy)}`,
    `linear accuracy        ${pct(m.linearAccuracy)}`,
    `precision@1            ${pct(m.precisionAt1)}`,
    `R-precision            ${pct(m.rPrecision)}`,
    `MAP@R                  ${pct(m.mapAtR)}`,
    '',
    'class                  kNN accuracy   count',
    ...m.perClass.map((c) => `${(classNames[c.label] ?? String(c.label)).padEnd(22)} ${pct(c.knnAccuracy).padStart(12)}   ${String(c.count).padStart(5)}`),
  ];
  return lines.join('\n');
}

async function runEval(flags: EvalFlags): Promise<number> {
  const quiet = !!flags.json;
  const model = await loadModel(flags.checkpoint, { device: flags.device });
  const config = model.checkpoint.config;
  const data = flags.data === undefined ? config.data : flags.data === 'mnist' || flags.data === 'fashion-mnist' ? flags.data : { idxDir: flags.data };
  const dataset = loadDataset(data, config.seed);
  const train = await embedAll(model, dataset.train.images, dataset.train.count, 'train', quiet);
  const valid = await embedAll(model, dataset.valid.images, dataset.valid.count, 'valid', quiet);
  const started = performance.now();
  const metrics = await evaluate(
    { train: { embeddings: train, labels: dataset.train.labels, dim: model.dim }, valid: { embeddings: valid, labels: dataset.valid.labels, dim: model.dim } },
    { k: flags.k, device: flags.device },
  );
  const seconds = (performance.now() - started) / 1000;
  const out = flags.out ?? path.join(path.dirname(path.resolve(flags.checkpoint)), 'metrics.json');
  const report = { checkpoint: path.resolve(flags.checkpoint), data: dataset.name, k: flags.k, ...metrics, classNames: dataset.classNames, seconds };
  await writeFileAtomic(out, Buffer.from(`${JSON.stringify(report, null, 2)}\n`));
  let plot: string | undefined;
  if (flags.plot) {
    if (!quiet) process.stderr.write(`drawing ${flags.method === 'tsne' ? 't-SNE' : 'PCA'} of ${Math.min(dataset.valid.count, flags.maxPoints)} validation embeddings...\n`);
    const r = await plotEmbeddings(
      { embeddings: valid, labels: dataset.valid.labels, dim: model.dim },
      {
        out: flags.plot,
        method: flags.method,
        maxPoints: flags.maxPoints,
        title: `${dataset.name}: ${flags.method === 'tsne' ? 't-SNE' : 'PCA'} of validation embeddings`,
        classNames: dataset.classNames,
        seed: config.seed,
      },
    );
    plot = r.file;
  }
  if (quiet) {
    process.stdout.write(`${JSON.stringify({ ...report, metricsFile: out, plot }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatMetrics(metrics, dataset.classNames, flags.k)}\n\nmetrics: ${out}\n${plot ? `picture: ${plot}\n` : ''}`);
  }
  return 0;
}

interface LrFindFlags {
  data: string;
  backbone: 'convnet' | 'convnet-spatial' | 'resnet18' | 'resnet34';
  dim: number;
  classes: number;
  perClass: number;
  freeze: 'backbone' | 'none';
  startLr: number;
  endLr: number;
  steps: number;
  seed: number;
  device: 'cpu' | 'cuda' | 'auto';
  threads?: number;
  out: string;
  json?: boolean;
}

async function runLrFind(flags: LrFindFlags): Promise<number> {
  if (!flags.json) process.stderr.write(`learning-rate range test (${flags.steps} steps at most)...\n`);
  const r = await lrFind({
    data: flags.data === 'mnist' || flags.data === 'fashion-mnist' ? flags.data : { idxDir: flags.data },
    model: { backbone: flags.backbone, dim: flags.dim },
    batch: { classes: flags.classes, perClass: flags.perClass },
    freeze: flags.freeze,
    startLr: flags.startLr,
    endLr: flags.endLr,
    steps: flags.steps,
    seed: flags.seed,
    device: flags.device,
    threads: flags.threads,
    out: flags.out,
  });
  if (flags.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else {
    process.stdout.write(
      `suggested learning rate: ${r.suggestion.toExponential(2)} (steepest descent of the smoothed loss)\n` +
        `${r.lrs.length} steps${r.diverged ? ', stopped when the loss diverged' : ''}\npicture: ${r.plot}\n`,
    );
  }
  return 0;
}

export function buildProgram(): Command {
  const program = new Command('semihard')
    .description('Semi-hard triplet loss embeddings (TensorFlow Addons semantics) on LibTorch')
    .showHelpAfterError();
  const frozen = DEFAULT_PHASES[0];
  const unfrozen = DEFAULT_PHASES[1];
  program
    .command('train')
    .description('train an embedding CNN with the semi-hard (or hard) triplet loss, in two phases')
    .option('--data <source>', "'mnist' (embedded), 'fashion-mnist' (Debian's), or a folder of MNIST-format IDX files", 'mnist')
    .addOption(new Option('--backbone <name>', 'CNN backbone').choices(['convnet', 'convnet-spatial', 'resnet18', 'resnet34']).default('convnet'))
    .option('--dim <n>', 'embedding width', integer, 128)
    .addOption(new Option('--loss <kind>', 'triplet loss').choices(['semihard', 'hard']).default('semihard'))
    .option('--margin <m>', 'margin', number, 1.0)
    .addOption(new Option('--distance <d>', 'distance').choices(['L2', 'squared-L2', 'angular']).default('L2'))
    .option('--soft', 'soft-margin hard loss (with --loss hard)')
    .option('--classes <P>', 'classes per batch', integer, 8)
    .option('--per-class <K>', 'samples per class per batch', integer, 16)
    .addOption(new Option('--sampler <kind>', 'batch sampler').choices(['balanced', 'shuffled']).default('balanced'))
    .option('--frozen-epochs <n>', 'phase 1 epochs: only the head and BatchNorm learn (0 skips it)', integer, frozen.epochs)
    .option('--frozen-lr <lr>', 'phase 1 peak learning rate', number, frozen.maxLr)
    .option('--epochs <n>', 'phase 2 epochs: everything learns (0 skips it)', integer, unfrozen.epochs)
    .option('--lr <lr>', 'phase 2 peak learning rate (one-cycle)', number, unfrozen.maxLr)
    .option('--seed <n>', 'seed of the data split, batches, augmentation and initial weights', integer, 0)
    .addOption(new Option('--device <d>', 'where to train').choices(['cpu', 'cuda', 'auto']).default('auto'))
    .option('--threads <n>', 'CPU threads', integer)
    .option('--weight-decay <w>', 'AdamW weight decay', number, 0.01)
    .option('--grad-clip <norm>', 'clip the global gradient norm (0: off)', number, 0)
    .option('--no-augment', 'no random affine augmentation')
    .option('--rotation <degrees>', 'augmentation: rotate by up to ± this many degrees', number, DEFAULT_AUGMENT.rotation)
    .option('--scale <s>', 'augmentation: scale by 1 ± up to s', number, DEFAULT_AUGMENT.scale)
    .option('--translate <f>', 'augmentation: shift by up to ± f image sides', number, DEFAULT_AUGMENT.translate)
    .option('--flip', 'augmentation: mirror left-right half the time (clothes yes, digits no)')
    .option('--checkpoint-dir <dir>', 'where checkpoints go (last.ckpt)', 'semihard-checkpoints')
    .option('--resume', 'continue from <checkpoint-dir>/last.ckpt')
    .option('--max-steps <n>', 'stop after this many training steps in all', integer)
    .option('--json', 'print the result as JSON on stdout, no progress output')
    .addOption(new Option('--batch-norm <stats>', "BatchNorm statistics in training: the global batch's, each rank's, or the running ones").choices(['sync', 'local', 'frozen']).default('sync'))
    .option('--nproc <n>', 'train in n processes on this machine (ranks of one global batch, c10d Gloo/NCCL)', integer, 1)
    .option('--master-addr <host>', 'with --nproc: the rendezvous host (default 127.0.0.1)')
    .option('--master-port <port>', 'with --nproc: the rendezvous port (default: a free one)', integer)
    .addOption(new Option('--dist-backend <name>', 'collectives backend (default: nccl on CUDA, else gloo)').choices(['gloo', 'nccl', 'auto']))
    .option('--dist-timeout <ms>', 'how long a rank waits for a silent peer before failing (default 60000)', integer)
    .action(async (flags: TrainFlags) => {
      process.exitCode = await runTrain(flags);
    });
  program
    .command('lr-find')
    .description("learning-rate range test (fastai's lr_find) for the frozen or the unfrozen phase, with a picture")
    .option('--data <source>', "'mnist', 'fashion-mnist' or a folder of MNIST-format IDX files", 'mnist')
    .addOption(new Option('--backbone <name>', 'CNN backbone').choices(['convnet', 'convnet-spatial', 'resnet18', 'resnet34']).default('convnet'))
    .option('--dim <n>', 'embedding width', integer, 128)
    .option('--classes <P>', 'classes per batch', integer, 8)
    .option('--per-class <K>', 'samples per class per batch', integer, 16)
    .addOption(new Option('--freeze <what>', "'backbone': phase 1 (head + BatchNorm learn); 'none': phase 2").choices(['backbone', 'none']).default('none'))
    .option('--start-lr <lr>', 'first learning rate', number, 1e-7)
    .option('--end-lr <lr>', 'last learning rate', number, 10)
    .option('--steps <n>', 'steps at most', integer, 100)
    .option('--seed <n>', 'seed', integer, 0)
    .addOption(new Option('--device <d>', 'where to compute').choices(['cpu', 'cuda', 'auto']).default('auto'))
    .option('--threads <n>', 'CPU threads', integer)
    .option('--out <file>', 'the picture (.png or .svg)', 'lr-find.png')
    .option('--json', 'print the curve and suggestion as JSON')
    .action(async (flags: LrFindFlags) => {
      process.exitCode = await runLrFind(flags);
    });
  program
    .command('plot-history')
    .description('draw the training curves (per epoch, and per step smoothed) of a training checkpoint')
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .option('--out <file>', 'the picture (.png or .svg)', 'history.png')
    .action(async (flags: { checkpoint: string; out: string }) => {
      process.stdout.write(`picture: ${await plotHistory(flags.checkpoint, { out: flags.out })}\n`);
    });
  program
    .command('eval')
    .description('embed the train and validation sets with a trained model; kNN, linear and retrieval metrics; optional picture')
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .option('--data <source>', "data set (default: the one the model was trained on): 'mnist', 'fashion-mnist' or an IDX folder")
    .option('--k <n>', 'neighbours for kNN accuracy', integer, 5)
    .addOption(new Option('--device <d>', 'where to compute').choices(['cpu', 'cuda', 'auto']).default('auto'))
    .option('--plot <file>', 'write a picture of the validation embeddings (.png or .svg)')
    .addOption(new Option('--method <m>', 'projection for --plot').choices(['tsne', 'pca']).default('tsne'))
    .option('--max-points <n>', 'points in the picture at most', integer, 10000)
    .option('--out <file>', 'metrics JSON (default: metrics.json beside the checkpoint)')
    .option('--json', 'print the metrics as JSON on stdout, no progress output')
    .action(async (flags: EvalFlags) => {
      process.exitCode = await runEval(flags);
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`semihard: ${e.message}\n`);
    process.exitCode = e.name === 'TypeError' || e.name === 'RangeError' ? 2 : 1;
  }
}

if (require.main === module) void main(process.argv);
