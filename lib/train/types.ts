// train()'s types: the configuration a caller gives, the events and result it gets, the
// resolved configuration a checkpoint records and the checkpoint's header.
import type { AugmentConfig, ResolvedAugment } from '../augment';
import type { CheckpointHeader } from '../checkpoint';
import type { DataSource, DecodeProgressEvent, ResolvedDataSource } from '../data/datasets';
import type { DistributedConfig, ResolvedDistributed } from '../distributed';
import type { Backbone, BatchNormStatistics, CollapsePolicy, Device, Distance, Freeze, LossKind, Pool, Precision, Sampler, Stem } from '../enums';

export type { Backbone, BatchNormStatistics, CollapsePolicy, Freeze, Pool, Stem } from '../enums';

export interface PhaseConfig {
  epochs: number;
  maxLr: number;
  freeze: Freeze;
  /**
   * The backbone's learning rate as a factor of the phase's (default 1; positive), through the
   * whole one-cycle schedule: the head learns at maxLr, the body (its BatchNorm layers
   * included) at backboneLrFactor × maxLr (fastai's discriminative rates, slice(lo, hi)).
   */
  backboneLrFactor?: number;
}

/** A phase with every default filled in. */
export type ResolvedPhaseConfig = Required<PhaseConfig>;

/** The network: body, stem and fastai's head. */
export interface ModelConfig {
  backbone?: Backbone;
  dim?: number;
  /**
   * BatchNorm's statistics in training: 'sync' (default: the global batch's, also across
   * ranks), 'local' (each rank's own, like DDP without SyncBatchNorm), 'frozen' (the running
   * statistics, not updated: every sample's embedding depends on that sample only).
   */
  batchNorm?: BatchNormStatistics;
  /**
   * ResNets only: 'imagenet' (torchvision's 7×7 stride-2 conv and max-pool) or 'small' (3×3
   * stride-1, no max-pool). Default: 'imagenet' with pretrained weights or images of at
   * least 64 px on their shorter side, else 'small'.
   */
  stem?: Stem;
  /** The head's pooling: 'concat' ([average, max], fastai's; the ResNets' default) or 'avg' (the convnets' default). */
  pool?: Pool;
  /** A BatchNorm over the pooled features before the linear layer (default: true for ResNets, false for convnets). */
  headBatchNorm?: boolean;
  /** Dropout before the linear layer, in [0, 1) (default: 0.25 for ResNets, 0 for convnets). */
  dropout?: number;
  /**
   * A torchvision ResNet weight file (.pth or .safetensors: the state_dict of
   * torchvision.models.resnetXX, fc dropped) the backbone starts from. ResNets only. Then the
   * network takes 3 channels (1-channel images are replicated) normalised with ImageNet's
   * statistics, and the stem defaults to 'imagenet'.
   */
  pretrained?: string;
}

/** The network with every default filled in (stem null: a convnet, which has none). */
export interface ResolvedModelConfig {
  backbone: Backbone;
  dim: number;
  batchNorm: BatchNormStatistics;
  stem: Stem | null;
  pool: Pool;
  headBatchNorm: boolean;
  dropout: number;
  /** The weight file's path (absolute), or null. */
  pretrained: string | null;
  /** The network's input channels when they are not the images': a pretrained file's conv1 (null: the images'). */
  inputChannels: 1 | 3 | null;
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
  /**
   * What the loss mined in the steps since the previous report, on the last step of each
   * report window (every step on the CPU; the steps of about a quarter second on CUDA), else null.
   */
  stats: TrainingStats | null;
}

/**
 * What the triplet loss mined over some training steps (summed over the steps, then
 * summarised natively, as LossStats of one call): null where a value is not defined.
 */
export interface TrainingStats {
  /** The training steps these stats cover. */
  steps: number;
  /** Terms of the loss that are > 0, over all terms (positive pairs; anchors for the hard loss). */
  activeFraction: number | null;
  /** Positive pairs that found a semi-hard negative (null for the hard loss). */
  semiHardFraction: number | null;
  meanPositiveDistance: number | null;
  /** Mean distance of the chosen negatives. */
  meanNegativeDistance: number | null;
  /** Mean Euclidean distance of the embeddings to their batch's centroid: near 0, the embeddings collapsed. */
  spread: number | null;
  /** Anchors without a positive in their batch, summed over the steps. */
  noPositiveAnchors: number;
}

/**
 * The embeddings collapsed (train({ onCollapse }) 'warn' or 'stop'): their spread stayed
 * below 0.1 while the loss stayed within 5% of the margin (log 2 for the soft hard loss) for
 * `steps` consecutive steps up to `step` (README: Diagnostics and collapse).
 */
export interface CollapseEvent {
  stage: 'collapse';
  phase: number;
  epoch: number;
  /** 1-based step within the epoch at which it was declared. */
  step: number;
  /** The collapsed streak's mean spread and loss, and the loss of a collapsed batch. */
  spread: number;
  loss: number;
  margin: number;
  /** How many consecutive steps the streak spans. */
  steps: number;
  /** What to try. */
  advice: string[];
}

/** train()'s progress: image folders' decoding first ('decode', from loadDataset), then every step ('train'), and any collapse ('collapse'). */
export type ProgressEvent = StepProgressEvent | DecodeProgressEvent | CollapseEvent;

export interface EpochEvent {
  phase: number;
  epoch: number;
  trainLoss: number;
  validLoss: number;
  seconds: number;
  /** What the loss mined over the epoch's steps run (null when none ran). */
  stats: TrainingStats | null;
}

export interface TrainConfig {
  data: DataSource;
  model?: ModelConfig;
  loss?: { kind?: LossKind; margin?: number; distance?: Distance; soft?: boolean };
  /**
   * P classes × K samples per batch; default 8 × 16 (P capped at the number of classes).
   * chunk: gradient-cached batches (GradCache): each process embeds its rows of a batch
   * `chunk` images at a time, twice (without, then with autograd), so that a batch bigger
   * than the network's activations allow still has its loss and mining over every sample and
   * one optimiser step; default: the whole batch in one forward. Gradients are the unchunked
   * step's with batchNorm 'frozen'; with batch statistics each chunk is normalised by its own.
   */
  batch?: { classes?: number; perClass?: number; sampler?: Sampler; chunk?: number };
  /** Default: one frozen epoch at 1e-2, then four unfrozen at 1e-3. */
  phases?: PhaseConfig[];
  seed?: number;
  device?: Device;
  /**
   * The network's arithmetic in training, validation and embedding: 'fp32' (default), 'bf16'
   * or 'fp16' (autocast; the triplet loss, weights, gradients and optimiser stay float32;
   * fp16 scales the loss dynamically and skips a step whose gradients overflow). On the CPU
   * bf16 is fast only with AMX or AVX512-BF16, and fp16 is emulated (slow): both are meant for
   * CUDA. A resumed run must have the checkpoint's precision.
   */
  precision?: Precision;
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
  /**
   * When the embeddings collapse (README: Diagnostics and collapse): 'warn' (default: a
   * 'collapse' progress event), 'stop' (the event, then a checkpoint, and the run returns
   * stoppedEarly 'collapse'), 'ignore'. A policy, not recorded: a resumed run may change it.
   */
  onCollapse?: CollapsePolicy;
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
  /** The head's learning rate of every step, as stepLosses (absent in checkpoints written before it was recorded). */
  stepLrs?: number[];
  /** What the loss mined over the entry's steps (absent in older checkpoints; null when no step ran). */
  stats?: TrainingStats | null;
}

export interface TrainResult {
  checkpoint: string;
  history: HistoryEntry[];
  /** Training steps run in this call (after any resumption). */
  steps: number;
  /** What stopped the run before all phases finished: maxSteps, a collapse (onCollapse 'stop'), or nothing (false). */
  stoppedEarly: false | 'maxSteps' | 'collapse';
}

/** The configuration with every default filled in: what a checkpoint records. */
export interface ResolvedTrainConfig {
  data: ResolvedDataSource;
  model: ResolvedModelConfig;
  loss: { kind: LossKind; margin: number; distance: Distance; soft: boolean };
  /** chunk: null without chunking. */
  batch: { classes: number; perClass: number; sampler: Sampler; chunk: number | null };
  phases: ResolvedPhaseConfig[];
  seed: number;
  device: Device;
  precision: Precision;
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
  /** Where the last stretch of training ran, in words ('CPU, 2 threads', 'CUDA (NVIDIA H200)', ', 2 processes'); absent in older checkpoints. */
  ranOn?: string;
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
