// train()'s types: the configuration a caller gives, the events and result it gets, the
// resolved configuration a checkpoint records and the checkpoint's header.
import type { AugmentConfig, ResolvedAugment } from '../augment';
import type { CheckpointHeader } from '../checkpoint';
import type { DataSource, DecodeProgressEvent, ResolvedDataSource } from '../data/datasets';
import type { DistributedConfig, ResolvedDistributed } from '../distributed';
import type { Backbone, BatchNormStatistics, Device, Distance, Freeze, LossKind, Sampler } from '../enums';

export type { Backbone, BatchNormStatistics, Freeze } from '../enums';

export interface PhaseConfig {
  epochs: number;
  maxLr: number;
  freeze: Freeze;
}

/** A training step done. */
export interface StepProgressEvent {
  stage: 'train';
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

/** train()'s progress: image folders' decoding first ('decode', from loadDataset), then every step ('train'). */
export type ProgressEvent = StepProgressEvent | DecodeProgressEvent;

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
  loss?: { kind?: LossKind; margin?: number; distance?: Distance; soft?: boolean };
  /** P classes × K samples per batch; default 8 × 16 (P capped at the number of classes). */
  batch?: { classes?: number; perClass?: number; sampler?: Sampler };
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
   * Random augmentation of training images: true (default: for IDX data the digit-safe ranges
   * of DEFAULT_AUGMENT; for image folders DEFAULT_PHOTO_AUGMENT: random resized crop, flip,
   * rotation), false, or the ranges (omitted fields take those defaults).
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
  data: ResolvedDataSource;
  model: { backbone: Backbone; dim: number; batchNorm: BatchNormStatistics };
  loss: { kind: LossKind; margin: number; distance: Distance; soft: boolean };
  batch: { classes: number; perClass: number; sampler: Sampler };
  phases: PhaseConfig[];
  seed: number;
  device: Device;
  threads: number | null;
  weightDecay: number;
  gradClip: number;
  /** false, or every range filled in. */
  augment: false | ResolvedAugment;
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
  /** storedHeight, storedWidth, channels and source: absent in checkpoints from before image folders (then: height, width, 1, 'idx'). */
  dataset: {
    name: string;
    height: number;
    width: number;
    classes: number;
    classNames: string[];
    storedHeight?: number;
    storedWidth?: number;
    channels?: 1 | 3;
    source?: 'idx' | 'folder';
    /** Image folders: the files' fingerprint (Dataset.fingerprint). */
    fingerprint?: string;
  };
  next: TrainPosition;
  finished: boolean;
  globalStep: number;
  history: HistoryEntry[];
}
