// `semihard train`: flags → train()'s configuration, untouched (an option not given stays
// undefined so train()'s default applies, and train() says what is wrong with a value; an
// enumerated flag offers the API's own tuple as commander's choices),
// progress on stderr, the result on stdout, Ctrl-C → a checkpoint and exit 130.
import { Command, Option } from 'commander';
import {
  BACKBONES,
  BATCH_NORM_STATISTICS,
  COLLAPSE_POLICIES,
  COLLECTIVE_BACKENDS,
  DEFAULT_AUGMENT,
  DEFAULT_PHASES,
  DEVICES,
  DISTANCES,
  LOSS_KINDS,
  POOLS,
  PRECISIONS,
  SAMPLERS,
  STEMS,
  info,
  train,
  type Backbone,
  type BatchNormStatistics,
  type CollapsePolicy,
  type Device,
  type Distance,
  type LossKind,
  type PhaseConfig,
  type Precision,
  type RuntimeInfo,
  type Pool,
  type Sampler,
  type Stem,
  type TrainConfig,
} from '../index';
import { formatCollapse } from './format';
import { dataSource, given, imageSize, number, type ImageFolderFlags } from './parse';
import { TrainingProgress } from './progress';
import { distributedFromFlags, launchFromFlags, type DistributedFlags } from './ranks';

/**
 * The flags as commander hands them over. The types are those train() declares; the values
 * are unchecked until train() checks them.
 */
export interface TrainFlags extends DistributedFlags {
  data: string;
  backbone?: Backbone;
  dim?: number;
  batchNorm?: BatchNormStatistics;
  stem?: Stem;
  pretrained?: string;
  pool?: Pool;
  dropout?: number;
  /** false with --no-head-batch-norm; true (commander's default for a --no- flag) means not given. */
  headBatchNorm?: boolean;
  backboneLrFactor?: number;
  loss?: LossKind;
  margin?: number;
  distance?: Distance;
  soft?: boolean;
  classes?: number;
  perClass?: number;
  sampler?: Sampler;
  chunk?: number;
  frozenEpochs?: number;
  frozenLr?: number;
  epochs?: number;
  lr?: number;
  seed?: number;
  device?: Device;
  precision?: Precision;
  threads?: number;
  weightDecay?: number;
  gradClip?: number;
  /** false with --no-augment. */
  augment: boolean;
  rotation?: number;
  scale?: number;
  translate?: number;
  flip?: boolean;
  checkpointDir?: string;
  resume?: boolean;
  maxSteps?: number;
  onCollapse?: CollapsePolicy;
  json?: boolean;
  imageSize?: number | [number, number];
  channels?: number;
  validFolder?: string;
  validFraction?: number;
  validFiles?: string;
  skipBadImages?: boolean;
  cacheGib?: number;
}

/** The image-folder flags as train()'s data options (used when --data is an image folder). */
export function imageFolderFlags(flags: Pick<TrainFlags, 'imageSize' | 'channels' | 'validFolder' | 'validFraction' | 'validFiles' | 'skipBadImages' | 'cacheGib'>): ImageFolderFlags {
  return {
    imageSize: flags.imageSize,
    channels: flags.channels as ImageFolderFlags['channels'],
    validFolder: flags.validFolder,
    validFraction: flags.validFraction,
    validFiles: flags.validFiles,
    badImages: flags.skipBadImages ? 'skip' : undefined,
    cacheBytes: flags.cacheGib === undefined ? undefined : Math.round(flags.cacheGib * 2 ** 30),
  };
}

/**
 * The two phases of the recipe from their flags: those not given take the values of
 * train()'s DEFAULT_PHASES; `0` epochs leaves a phase out; any other value goes to train()
 * as it is (so `--epochs -1` is train()'s RangeError). --backbone-lr-factor goes to the
 * unfrozen phase (fastai's slice(lo, hi) in phase 2; in the frozen one only the body's
 * BatchNorm layers learn). No phase flag: train()'s default.
 */
export function phasesFromFlags(flags: Pick<TrainFlags, 'frozenEpochs' | 'frozenLr' | 'epochs' | 'lr' | 'backboneLrFactor'>): PhaseConfig[] | undefined {
  if (flags.frozenEpochs === undefined && flags.frozenLr === undefined && flags.epochs === undefined && flags.lr === undefined && flags.backboneLrFactor === undefined) {
    return undefined;
  }
  const [frozen, unfrozen] = DEFAULT_PHASES;
  const phases: PhaseConfig[] = [];
  if (flags.frozenEpochs !== 0) phases.push({ epochs: flags.frozenEpochs ?? frozen.epochs, maxLr: flags.frozenLr ?? frozen.maxLr, freeze: frozen.freeze });
  if (flags.epochs !== 0) {
    phases.push({
      epochs: flags.epochs ?? unfrozen.epochs,
      maxLr: flags.lr ?? unfrozen.maxLr,
      freeze: unfrozen.freeze,
      ...(flags.backboneLrFactor !== undefined ? { backboneLrFactor: flags.backboneLrFactor } : {}),
    });
  }
  return phases;
}

/** The network flags as train()'s config.model (those not given left out). */
export function modelFromFlags(flags: Pick<TrainFlags, 'backbone' | 'dim' | 'batchNorm' | 'stem' | 'pretrained' | 'pool' | 'dropout' | 'headBatchNorm'>): TrainConfig['model'] {
  return given({
    backbone: flags.backbone,
    dim: flags.dim,
    batchNorm: flags.batchNorm,
    stem: flags.stem,
    pretrained: flags.pretrained,
    pool: flags.pool,
    dropout: flags.dropout,
    headBatchNorm: flags.headBatchNorm === false ? false : undefined,
  });
}

/** "CUDA 13.0 on NVIDIA H200" (the first visible device; cuda:N picks another). */
export function cudaSummary(i: Pick<RuntimeInfo, 'cudaVersion' | 'cudaDevices'>): string {
  const first = i.cudaDevices[0];
  const name = first?.name ? ` on ${first.name}${i.cudaDevices.length > 1 ? ` (+${i.cudaDevices.length - 1} more)` : ''}` : '';
  return `CUDA${i.cudaVersion ? ` ${i.cudaVersion}` : ''}${name}`;
}

export function trainConfigFromFlags(flags: TrainFlags): TrainConfig {
  return {
    data: dataSource(flags.data, imageFolderFlags(flags)),
    model: modelFromFlags(flags),
    loss: given({ kind: flags.loss, margin: flags.margin, distance: flags.distance, soft: flags.soft }),
    batch: given({ classes: flags.classes, perClass: flags.perClass, sampler: flags.sampler, chunk: flags.chunk }),
    phases: phasesFromFlags(flags),
    seed: flags.seed,
    device: flags.device,
    precision: flags.precision,
    threads: flags.threads,
    weightDecay: flags.weightDecay,
    gradClip: flags.gradClip,
    // --no-augment wins over the ranges; without a range flag, train()'s default augmentation.
    augment: flags.augment ? given({ rotation: flags.rotation, scale: flags.scale, translate: flags.translate, flip: flags.flip }) : false,
    checkpointDir: flags.checkpointDir,
    resume: flags.resume,
    maxSteps: flags.maxSteps,
    onCollapse: flags.onCollapse,
  };
}

/** The exit status of a run that stopped because its embeddings collapsed (--on-collapse stop). */
export const EXIT_COLLAPSE = 3;

const STOPPED = {
  no: '',
  maxSteps: ' (stopped by --max-steps)',
  collapse: ' (stopped: the embeddings collapsed, --on-collapse stop; exit status 3)',
} as const;

async function runTrain(flags: TrainFlags, command: Command): Promise<number> {
  const launched = await launchFromFlags(flags, command);
  if (launched !== null) return launched;
  const distributed = distributedFromFlags(flags, command);
  const config: TrainConfig = { ...trainConfigFromFlags(flags), distributed };
  const rank = distributed?.rank ?? 0;
  // The other ranks stay quiet unless something fails: rank 0 speaks for the group.
  const quiet = !!flags.json || rank > 0;
  if (!quiet) {
    const i = info();
    const d = distributed;
    process.stderr.write(
      `semihard: LibTorch ${i.torchVersion}, ${i.cudaAvailable && flags.device !== 'cpu' ? cudaSummary(i) : 'CPU'}, ${flags.threads ?? i.threads} threads` +
        (d ? `, rank 0 of ${d.worldSize} (${d.backend === 'auto' ? 'c10d' : d.backend} via ${d.masterAddr}:${d.masterPort})` : '') +
        '\n',
    );
  }
  const progress = new TrainingProgress((config.phases ?? DEFAULT_PHASES).length, quiet);
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted (Ctrl-C)'));
  process.once('SIGINT', onSigint);
  const started = performance.now();
  try {
    // A collapse is a warning on stderr from rank 0, with --json too (stdout stays the result).
    const onProgress: NonNullable<TrainConfig['onProgress']> = (e) => {
      if (e.stage !== 'collapse') return progress.onProgress(e);
      if (rank > 0) return;
      progress.stop();
      process.stderr.write(`${formatCollapse(e, (config.phases ?? DEFAULT_PHASES).length)}\n`);
    };
    const result = await train({ ...config, onProgress, onEpoch: progress.onEpoch, signal: controller.signal });
    const seconds = (performance.now() - started) / 1000;
    const status = result.stoppedEarly === 'collapse' ? EXIT_COLLAPSE : 0;
    if (rank > 0) return status;
    if (quiet) {
      process.stdout.write(`${JSON.stringify({ ...result, seconds }, null, 2)}\n`);
    } else {
      const last = result.history[result.history.length - 1];
      process.stdout.write(
        `\ntrained ${result.steps} steps in ${seconds.toFixed(1)} s${STOPPED[result.stoppedEarly ? result.stoppedEarly : 'no']}\n` +
          (last ? `final valid loss ${last.validLoss.toFixed(4)}\n` : '') +
          `checkpoint: ${result.checkpoint}\n`,
      );
    }
    return status;
  } catch (err) {
    progress.stop();
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

export function addTrainCommand(program: Command): void {
  const [frozen, unfrozen] = DEFAULT_PHASES;
  const command = program
    .command('train')
    .description('train an embedding CNN with the semi-hard (or hard) triplet loss, in two phases')
    .option('--data <source>', "'mnist' (embedded), 'fashion-mnist' (Debian's), a folder of MNIST-format IDX files, or a folder of photos in class folders", 'mnist')
    .option('--image-size <side|HxW>', 'image folders: the size the network sees (default: the images\' own when all equal, else 224)', imageSize)
    .option('--channels <n>', 'image folders: 3 (colour, default) or 1 (grey)', number)
    .option('--valid-folder <dir>', 'image folders: the validation images (same class folders)')
    .option('--valid-fraction <f>', 'image folders: the fraction of each class held out, seeded (default 0.2)', number)
    .option('--valid-files <file>', 'image folders: a text file of the validation images, paths relative to --data, one a line')
    .option('--skip-bad-images', 'image folders: leave out corrupt, truncated or empty images (listed) instead of stopping')
    .option('--cache-gib <n>', 'image folders: keep the decoded images in memory up to this size, else stream them (default: a quarter of RAM)', number)
    .addOption(new Option('--backbone <name>', 'CNN backbone').choices(BACKBONES))
    .option('--dim <n>', 'embedding width', number)
    .option('--pretrained <file>', "ResNets: start the backbone from a torchvision weight file (.pth or .safetensors); then 3 channels, ImageNet's normalisation, the 'imagenet' stem")
    .addOption(new Option('--stem <kind>', "ResNets: torchvision's 7×7 stride-2 stem with max-pool, or a 3×3 stride-1 one for small images (default: imagenet with --pretrained or images ≥ 64 px, else small)").choices(STEMS))
    .addOption(new Option('--pool <kind>', 'head: pool the last feature map by [average, max] (concat, the ResNets\' default) or average (avg, the convnets\')').choices(POOLS))
    .option('--dropout <p>', 'head: dropout before the linear layer, in [0, 1) (default 0.25 for ResNets, 0 for convnets)', number)
    .option('--no-head-batch-norm', 'head: no BatchNorm before the linear layer (the ResNets have one by default, the convnets none)')
    .option('--backbone-lr-factor <x>', 'phase 2: the backbone learns at x × the learning rate, the head at the rate (discriminative rates; default 1)', number)
    .addOption(new Option('--loss <kind>', 'triplet loss').choices(LOSS_KINDS))
    .option('--margin <m>', 'margin', number)
    .addOption(new Option('--distance <d>', 'distance between embeddings').choices(DISTANCES))
    .option('--soft', 'soft-margin hard loss (with --loss hard)')
    .option('--classes <P>', 'classes per batch', number)
    .option('--per-class <K>', 'samples per class per batch', number)
    .option('--chunk <n>', 'embed each batch n images at a time (gradient cache: big batches in bounded memory)', number)
    .addOption(new Option('--sampler <kind>', 'batch sampler: P classes × K samples, or shuffled').choices(SAMPLERS))
    .option('--frozen-epochs <n>', `phase 1 epochs: only the head and BatchNorm learn (default ${frozen.epochs}; 0 skips it)`, number)
    .option('--frozen-lr <lr>', `phase 1 peak learning rate (default ${frozen.maxLr})`, number)
    .option('--epochs <n>', `phase 2 epochs: everything learns (default ${unfrozen.epochs}; 0 skips it)`, number)
    .option('--lr <lr>', `phase 2 peak learning rate, one-cycle (default ${unfrozen.maxLr})`, number)
    .option('--seed <n>', 'seed of the data split, batches, augmentation and initial weights', number)
    .addOption(new Option('--device <d>', 'where to train (auto: CUDA when available)').choices(DEVICES))
    .addOption(new Option('--precision <p>', "the network's arithmetic: fp32 (default), bf16 or fp16 (autocast; loss and weights stay float32)").choices(PRECISIONS))
    .option('--threads <n>', 'CPU threads', number)
    .option('--weight-decay <w>', 'AdamW weight decay', number)
    .option('--grad-clip <norm>', 'clip the global gradient norm (0: off)', number)
    .option('--no-augment', 'no random affine augmentation (the range flags are then ignored)')
    .option('--rotation <degrees>', `augmentation: rotate by up to ± this many degrees (default ${DEFAULT_AUGMENT.rotation})`, number)
    .option('--scale <s>', `augmentation: scale by 1 ± up to s (default ${DEFAULT_AUGMENT.scale})`, number)
    .option('--translate <f>', `augmentation: shift by up to ± f image sides (default ${DEFAULT_AUGMENT.translate})`, number)
    .option('--flip', 'augmentation: mirror left-right half the time (clothes yes, digits no)')
    .option('--checkpoint-dir <dir>', 'where checkpoints go (last.ckpt)')
    .option('--resume', 'continue from <checkpoint-dir>/last.ckpt')
    .option('--max-steps <n>', 'stop after this many training steps in all', number)
    .addOption(new Option('--on-collapse <policy>', 'when the embeddings collapse: warn on stderr (default), stop (checkpoint, exit status 3) or ignore').choices(COLLAPSE_POLICIES))
    .option('--json', 'print the result as JSON on stdout, no progress output')
    .addOption(new Option('--batch-norm <stats>', "BatchNorm statistics in training: the global batch's (sync), each rank's (local) or the running ones (frozen)").choices(BATCH_NORM_STATISTICS))
    .option('--nproc <n>', 'train in n processes on this machine (ranks of one global batch, c10d Gloo/NCCL)', number)
    .option('--master-addr <host>', 'with --nproc: the rendezvous host (default 127.0.0.1)')
    .option('--master-port <port>', 'with --nproc: the rendezvous port (default: a free one)', number)
    .addOption(new Option('--dist-backend <name>', 'collectives backend (auto: nccl on CUDA, else gloo)').choices(COLLECTIVE_BACKENDS))
    .option('--dist-timeout <ms>', 'how long a rank waits for a silent peer before failing', number)
    .addHelpText('after', '\nA setting not given takes the default of train() (README: Training).')
    .action(async (flags: TrainFlags) => {
      process.exitCode = await runTrain(flags, command);
    });
}
