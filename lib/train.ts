// train(): drives a native trainer through phases and epochs: data, batches, frozen and
// unfrozen phases, validation, progress events, atomic checkpoints, exact resumption and
// cancellation. The numerics (model, loss, optimiser, schedule, augmentation) are native.
import * as path from 'node:path';
import type { NativeTrainerOptions } from '../binding';
import { binding, createTrainer, packageVersion } from './binding';
import { CHECKPOINT_FORMAT, readCheckpoint, writeCheckpoint, type CheckpointHeader } from './checkpoint';
import { loadDataset, type DataSource, type Dataset } from './data/datasets';
import { balancedEpoch, shuffledEpoch, validationBatches, type BatchPlan } from './data/sampler';
import { SemihardError, rangeError, typeError } from './errors';
import { DEFAULT_AUGMENT, resolveAugment, type AugmentConfig } from './augment';
import { resolveDistributed, type DistributedConfig, type ResolvedDistributed } from './distributed';
import type { Device, Distance } from './loss';
import { booleanOption, checkKnownKeys, finiteNumber, isPlainObject, nonNegativeInteger, oneOf, optionsObject, positiveInteger } from './validate';
import * as fs from 'node:fs';

export type Backbone = 'convnet' | 'convnet-spatial' | 'resnet18' | 'resnet34';
export type Freeze = 'backbone' | 'none';
export type BatchNormStatistics = 'sync' | 'local' | 'frozen';

export interface PhaseConfig {
  epochs: number;
  maxLr: number;
  freeze: Freeze;
}

export interface ProgressEvent {
  phase: number;
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  /** Steps in the epoch. */
  steps: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
}

export interface EpochEvent {
  phase: number;
  epoch: number;
  trainLoss: number;
  validLoss: number;
  seconds: number;
}

export interface TrainConfig {
  data: DataSource;
  /**
   * batchNorm: BatchNorm's statistics in training: 'sync' (default: the global batch's, also
   * across ranks), 'local' (each rank's own, like DDP without SyncBatchNorm), 'frozen' (the
   * running statistics, not updated: every sample's embedding depends on that sample only).
   */
  model?: { backbone?: Backbone; dim?: number; batchNorm?: BatchNormStatistics };
  loss?: { kind?: 'semihard' | 'hard'; margin?: number; distance?: Distance; soft?: boolean };
  /** P classes × K samples per batch; default 8 × 16 (P capped at the number of classes). */
  batch?: { classes?: number; perClass?: number; sampler?: 'balanced' | 'shuffled' };
  /** Default: one frozen epoch at 1e-2, then four unfrozen at 1e-3. */
  phases?: PhaseConfig[];
  seed?: number;
  device?: Device;
  threads?: number;
  /** AdamW weight decay (default 0.01). */
  weightDecay?: number;
  /** Max global gradient norm; 0 = off (default). */
  gradClip?: number;
  /**
   * Random affine augmentation of training images: true (default: the digit-safe ranges of
   * AugmentConfig's defaults), false, or the ranges (omitted fields take those defaults).
   */
  augment?: boolean | AugmentConfig;
  /** Where checkpoints go (default ./semihard-checkpoints); last.ckpt is the latest. */
  checkpointDir?: string;
  /** Continue from checkpointDir/last.ckpt when it exists. */
  resume?: boolean;
  /** Stop after this many training steps in all (the state is checkpointed). */
  maxSteps?: number;
  /**
   * Train in several processes (one per rank) on c10d: each embeds its share of every global
   * batch, the loss mines over the gathered global batch and gradients are those of one
   * process holding it all. 'env' reads torchrun's variables (RANK, WORLD_SIZE, ...).
   * Only rank 0 writes checkpoints; every rank must see the same data and checkpointDir.
   */
  distributed?: DistributedConfig | 'env';
  onProgress?: (event: ProgressEvent) => void;
  onEpoch?: (event: EpochEvent) => void;
  signal?: AbortSignal;
}

export interface HistoryEntry {
  phase: number;
  epoch: number;
  trainLoss: number;
  validLoss: number;
  seconds: number;
  /** The training loss of every step of the epoch run in this entry. */
  stepLosses: number[];
}

export interface TrainResult {
  checkpoint: string;
  history: HistoryEntry[];
  /** Training steps run in this call (after any resumption). */
  steps: number;
  /** True when maxSteps stopped the run before all phases finished. */
  stoppedEarly: boolean;
}

/** The configuration with every default filled in: what a checkpoint records. */
export interface ResolvedTrainConfig {
  data: DataSource;
  model: { backbone: Backbone; dim: number; batchNorm: BatchNormStatistics };
  loss: { kind: 'semihard' | 'hard'; margin: number; distance: Distance; soft: boolean };
  batch: { classes: number; perClass: number; sampler: 'balanced' | 'shuffled' };
  phases: PhaseConfig[];
  seed: number;
  device: Device;
  threads: number | null;
  weightDecay: number;
  gradClip: number;
  /** false, or every range filled in. */
  augment: false | Required<AugmentConfig>;
  checkpointDir: string;
  resume: boolean;
  maxSteps: number | null;
  distributed: ResolvedDistributed | null;
}

/** Where the next step is: phase, epoch within the phase, batch within the epoch. */
export interface TrainPosition {
  phase: number;
  epoch: number;
  step: number;
}

export interface TrainCheckpointHeader extends CheckpointHeader {
  kind: 'semihard-train';
  config: ResolvedTrainConfig;
  dataset: { name: string; height: number; width: number; classes: number; classNames: string[] };
  next: TrainPosition;
  finished: boolean;
  globalStep: number;
  history: HistoryEntry[];
}

export const DEFAULT_PHASES: PhaseConfig[] = [
  { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
  { epochs: 4, maxLr: 1e-3, freeze: 'none' },
];

// Fields that must match for a checkpoint to be resumed: everything that shapes the run.
const RESUME_KEYS = ['data', 'model', 'loss', 'batch', 'phases', 'seed', 'weightDecay', 'gradClip', 'augment'] as const;

function resolveData(value: unknown): DataSource {
  if (value === 'mnist' || value === 'fashion-mnist') return value;
  if (isPlainObject(value)) {
    checkKnownKeys(value, ['idxDir'], 'config.data');
    if (typeof value.idxDir !== 'string' || value.idxDir.length === 0) {
      throw typeError('config.data.idxDir', 'a folder path', value.idxDir);
    }
    return { idxDir: path.resolve(value.idxDir) };
  }
  if (typeof value === 'string') throw rangeError('config.data', "'mnist', 'fashion-mnist' or { idxDir }", value);
  throw typeError('config.data', "'mnist', 'fashion-mnist' or { idxDir }", value);
}

function resolvePhases(value: unknown): PhaseConfig[] {
  if (value === undefined) return DEFAULT_PHASES.map((p) => ({ ...p }));
  if (!Array.isArray(value)) throw typeError('config.phases', 'an array of { epochs, maxLr, freeze }', value);
  if (value.length === 0) throw rangeError('config.phases', 'at least one phase', value);
  return value.map((p: unknown, i) => {
    const name = `config.phases[${i}]`;
    const o = optionsObject(p, name, true);
    checkKnownKeys(o, ['epochs', 'maxLr', 'freeze'], name);
    const maxLr = finiteNumber(o.maxLr, `${name}.maxLr`, NaN);
    if (!(maxLr > 0)) throw rangeError(`${name}.maxLr`, 'a positive number', o.maxLr);
    return {
      epochs: positiveInteger(o.epochs, `${name}.epochs`),
      maxLr,
      freeze: oneOf(o.freeze, `${name}.freeze`, ['backbone', 'none'] as const, 'none'),
    };
  });
}

export function resolveTrainConfig(config: unknown): ResolvedTrainConfig {
  const c = optionsObject(config, 'config', true);
  checkKnownKeys(
    c,
    [
      'data', 'model', 'loss', 'batch', 'phases', 'seed', 'device', 'threads', 'weightDecay', 'gradClip', 'augment',
      'checkpointDir', 'resume', 'maxSteps', 'distributed', 'onProgress', 'onEpoch', 'signal',
    ],
    'config',
  );
  const model = optionsObject(c.model, 'config.model', false);
  checkKnownKeys(model, ['backbone', 'dim', 'batchNorm'], 'config.model');
  const loss = optionsObject(c.loss, 'config.loss', false);
  checkKnownKeys(loss, ['kind', 'margin', 'distance', 'soft'], 'config.loss');
  const batch = optionsObject(c.batch, 'config.batch', false);
  checkKnownKeys(batch, ['classes', 'perClass', 'sampler'], 'config.batch');
  for (const [key, value] of [['onProgress', c.onProgress], ['onEpoch', c.onEpoch]] as const) {
    if (value !== undefined && typeof value !== 'function') throw typeError(`config.${key}`, 'a function', value);
  }
  if (c.signal !== undefined && !(c.signal instanceof AbortSignal)) throw typeError('config.signal', 'an AbortSignal', c.signal);
  const seed = nonNegativeInteger(c.seed, 'config.seed', 0);
  const nonNegative = (value: unknown, name: string, fallback: number): number => {
    const v = finiteNumber(value, name, fallback);
    if (v < 0) throw rangeError(name, 'a non-negative number', value);
    return v;
  };
  const kind = oneOf(loss.kind, 'config.loss.kind', ['semihard', 'hard'] as const, 'semihard');
  if (kind === 'semihard' && loss.soft !== undefined) {
    throw typeError('config.loss.soft', "no such option for loss.kind 'semihard' (only 'hard' has soft)", loss.soft);
  }
  if (c.checkpointDir !== undefined && (typeof c.checkpointDir !== 'string' || c.checkpointDir.length === 0)) {
    throw typeError('config.checkpointDir', 'a folder path', c.checkpointDir);
  }
  return {
    data: resolveData(c.data),
    model: {
      backbone: oneOf(model.backbone, 'config.model.backbone', ['convnet', 'convnet-spatial', 'resnet18', 'resnet34'] as const, 'convnet'),
      dim: model.dim === undefined ? 128 : positiveInteger(model.dim, 'config.model.dim'),
      batchNorm: oneOf(model.batchNorm, 'config.model.batchNorm', ['sync', 'local', 'frozen'] as const, 'sync'),
    },
    loss: {
      kind,
      margin: finiteNumber(loss.margin, 'config.loss.margin', 1.0),
      distance: oneOf(loss.distance, 'config.loss.distance', ['L2', 'squared-L2', 'angular'] as const, 'L2'),
      soft: booleanOption(loss.soft, 'config.loss.soft', false),
    },
    batch: {
      classes: batch.classes === undefined ? 8 : positiveInteger(batch.classes, 'config.batch.classes'),
      perClass: batch.perClass === undefined ? 16 : positiveInteger(batch.perClass, 'config.batch.perClass'),
      sampler: oneOf(batch.sampler, 'config.batch.sampler', ['balanced', 'shuffled'] as const, 'balanced'),
    },
    phases: resolvePhases(c.phases),
    seed,
    device: oneOf(c.device, 'config.device', ['cpu', 'cuda', 'auto'] as const, 'auto'),
    threads: c.threads === undefined ? null : positiveInteger(c.threads, 'config.threads'),
    weightDecay: nonNegative(c.weightDecay, 'config.weightDecay', 0.01),
    gradClip: nonNegative(c.gradClip, 'config.gradClip', 0),
    augment: resolveAugment(c.augment, 'config.augment'),
    checkpointDir: path.resolve((c.checkpointDir as string | undefined) ?? 'semihard-checkpoints'),
    resume: booleanOption(c.resume, 'config.resume', false),
    maxSteps: c.maxSteps === undefined ? null : positiveInteger(c.maxSteps, 'config.maxSteps'),
    distributed: resolveDistributed(c.distributed),
  };
}

export function nativeTrainerOptions(config: ResolvedTrainConfig): NativeTrainerOptions {
  return {
    backbone: config.model.backbone,
    dim: config.model.dim,
    batchNorm: config.model.batchNorm,
    lossKind: config.loss.kind,
    margin: config.loss.margin,
    soft: config.loss.soft,
    distance: config.loss.distance,
    weightDecay: config.weightDecay,
    gradClip: config.gradClip,
    augment: config.augment !== false,
    ...(config.augment !== false ? { affine: config.augment } : {}),
    device: config.device,
    deviceIndex: config.distributed ? config.distributed.localRank : -1,
    seed: config.seed,
  };
}

/** The training batches of one epoch (the epoch counted over all phases). */
export function epochPlan(config: ResolvedTrainConfig, dataset: Dataset, globalEpoch: number): BatchPlan {
  const classes = Math.min(config.batch.classes, dataset.classes);
  if (config.batch.sampler === 'shuffled') {
    return shuffledEpoch(dataset.train.count, classes * config.batch.perClass, config.seed, globalEpoch);
  }
  return balancedEpoch(dataset.train.labels, classes, config.batch.perClass, config.seed, globalEpoch);
}

function describeDifference(a: unknown, b: unknown, prefix: string): string | null {
  if (JSON.stringify(a) === JSON.stringify(b)) return null;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = describeDifference(a[key], b[key], `${prefix}.${key}`);
      if (d) return d;
    }
  }
  return `${prefix} was ${JSON.stringify(a)} in the checkpoint but is ${JSON.stringify(b)} now`;
}

/**
 * A checkpoint's config in today's shape: before model.batchNorm existed every run trained
 * with 'sync'; before the augmentation had ranges, `augment: true` meant the defaults.
 */
export function upgradeConfig(config: ResolvedTrainConfig): ResolvedTrainConfig {
  const augment = (config.augment as unknown) === true ? { ...DEFAULT_AUGMENT } : config.augment;
  return { ...config, model: { ...config.model, batchNorm: config.model.batchNorm ?? 'sync' }, augment };
}

function checkResumable(file: string, header: TrainCheckpointHeader, config: ResolvedTrainConfig): void {
  if (header.kind !== 'semihard-train') {
    throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} is not a training checkpoint`);
  }
  const recorded = upgradeConfig(header.config);
  for (const key of RESUME_KEYS) {
    const d = describeDifference(recorded[key], config[key], key);
    if (d) throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} cannot be resumed with this configuration: ${d}`);
  }
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length > 0 ? s / values.length : NaN;
}

function abortError(signal: AbortSignal, checkpoint: string): SemihardError {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  const error = new SemihardError('ABORT_ERR', `Training was cancelled${reason}; the state is in ${checkpoint}`);
  error.name = 'AbortError';
  return Object.assign(error, { checkpoint });
}

/** Trains an embedding network with a triplet loss; resolves when all phases are done. */
export async function train(config: TrainConfig): Promise<TrainResult> {
  const resolved = resolveTrainConfig(config);
  const { signal, onProgress, onEpoch } = config;
  if (signal?.aborted) throw abortError(signal, '(nothing was written)');
  if (resolved.threads !== null) binding.setNumThreads(resolved.threads);
  const checkpointFile = path.join(resolved.checkpointDir, 'last.ckpt');

  let previous: { header: TrainCheckpointHeader; state: Buffer } | null = null;
  if (resolved.resume && fs.existsSync(checkpointFile)) {
    previous = await readCheckpoint<TrainCheckpointHeader>(checkpointFile);
    checkResumable(checkpointFile, previous.header, resolved);
  }

  const dataset = loadDataset(resolved.data, resolved.seed);
  const trainer = createTrainer(nativeTrainerOptions(resolved));
  trainer.setData(dataset.train.images, dataset.train.labels, dataset.valid.images, dataset.valid.labels, dataset.height, dataset.width);
  const batchSize = Math.min(resolved.batch.classes, dataset.classes) * resolved.batch.perClass;
  const dist = resolved.distributed;
  if (dist && batchSize % dist.worldSize !== 0) {
    throw rangeError('config.batch', `a global batch (classes × perClass) divisible by the ${dist.worldSize} ranks`, batchSize);
  }
  const valid = validationBatches(dataset.valid.count, batchSize, resolved.seed);
  if (dist) await trainer.connect(dist);
  // Rank 0 alone writes checkpoints; the others keep in step with it.
  const writes = !dist || dist.rank === 0;

  const history: HistoryEntry[] = previous ? [...previous.header.history] : [];
  let position: TrainPosition = previous ? { ...previous.header.next } : { phase: 0, epoch: 0, step: 0 };
  let globalStep = previous ? previous.header.globalStep : 0;
  const torchVersion = binding.info().torchVersion;

  const save = async (finished: boolean): Promise<void> => {
    if (!writes) return;
    const header: TrainCheckpointHeader = {
      format: CHECKPOINT_FORMAT,
      version: packageVersion(),
      torchVersion,
      createdAt: new Date().toISOString(),
      stateBytes: 0,
      kind: 'semihard-train',
      config: resolved,
      dataset: { name: dataset.name, height: dataset.height, width: dataset.width, classes: dataset.classes, classNames: dataset.classNames },
      next: position,
      finished,
      globalStep,
      history,
    };
    await writeCheckpoint(checkpointFile, header, await trainer.saveState());
  };

  if (previous?.header.finished) {
    return { checkpoint: checkpointFile, history, steps: 0, stoppedEarly: false };
  }
  if (resolved.maxSteps !== null && globalStep >= resolved.maxSteps) {
    return { checkpoint: checkpointFile, history, steps: 0, stoppedEarly: true };
  }

  const abortListener = (): void => trainer.cancel();
  signal?.addEventListener('abort', abortListener);
  let stepsThisCall = 0;
  try {
    for (let phase = position.phase; phase < resolved.phases.length; phase++) {
      const p = resolved.phases[phase];
      const epochsBefore = resolved.phases.slice(0, phase).reduce((n, q) => n + q.epochs, 0);
      const stepsPerEpoch = epochPlan(resolved, dataset, epochsBefore).steps;
      trainer.beginPhase(p.freeze, p.maxLr, p.epochs * stepsPerEpoch);
      if (previous && phase === previous.header.next.phase) {
        // Mid-phase: the phase's optimiser and schedule continue; at a phase's start they are fresh.
        const midPhase = previous.header.next.epoch > 0 || previous.header.next.step > 0;
        await trainer.loadState(previous.state, midPhase);
      }
      for (let epoch = phase === position.phase ? position.epoch : 0; epoch < p.epochs; epoch++) {
        const plan = epochPlan(resolved, dataset, epochsBefore + epoch);
        const first = phase === position.phase && epoch === position.epoch ? position.step : 0;
        let last = plan.steps;
        if (resolved.maxSteps !== null) last = Math.min(last, first + (resolved.maxSteps - globalStep));
        const started = performance.now();
        const todo = plan.indices.subarray(first * plan.batchSize, last * plan.batchSize);
        const run = await trainer.run('train', todo, plan.batchSize, (r) => {
          const seconds = (performance.now() - started) / 1000;
          onProgress?.({
            phase,
            epoch,
            step: first + r.step + 1,
            steps: plan.steps,
            loss: r.loss,
            lr: r.lr,
            imagesPerSecond: ((r.step + 1) * plan.batchSize) / Math.max(seconds, 1e-9),
          });
        });
        const done = run.losses.length;
        globalStep += done;
        stepsThisCall += done;
        position = { phase, epoch, step: first + done };
        if (run.cancelled || signal?.aborted) {
          await save(false);
          throw abortError(signal ?? new AbortController().signal, checkpointFile);
        }
        const validRun = await trainer.run('valid', valid.indices, valid.batchSize);
        const entry: HistoryEntry = {
          phase,
          epoch,
          trainLoss: mean(run.losses),
          validLoss: mean(validRun.losses),
          seconds: (performance.now() - started) / 1000,
          stepLosses: Array.from(run.losses),
        };
        history.push(entry);
        onEpoch?.(entry);
        const epochDone = first + done === plan.steps;
        if (epochDone) {
          position = epoch + 1 < p.epochs ? { phase, epoch: epoch + 1, step: 0 } : { phase: phase + 1, epoch: 0, step: 0 };
        }
        const finished = epochDone && phase === resolved.phases.length - 1 && epoch === p.epochs - 1;
        await save(finished);
        if (resolved.maxSteps !== null && globalStep >= resolved.maxSteps && !finished) {
          return { checkpoint: checkpointFile, history, steps: stepsThisCall, stoppedEarly: true };
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', abortListener);
  }
  return { checkpoint: checkpointFile, history, steps: stepsThisCall, stoppedEarly: false };
}

