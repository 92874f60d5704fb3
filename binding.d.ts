// The raw surface of build/Release/semihard.node (native/binding/). Only lib/binding.ts
// loads the addon; everything else goes through the typed public API in lib/.

export type NativeLabels = Int32Array | BigInt64Array;
export type NativeDistance = 'L2' | 'squared-L2' | 'angular';
export type NativeDevice = 'cpu' | 'cuda' | 'auto';

/** Fully defaulted options: lib/ fills every field before calling the addon. */
export interface NativeLossOptions {
  kind: 'semihard' | 'hard';
  margin: number;
  soft: boolean;
  distance: NativeDistance;
  device: NativeDevice;
  /** Testing hook: mine with the tensor-operation miners (semi-hard and hard) that CUDA always uses, on any device. */
  tensorMining?: boolean;
  /** Benchmark hook: false skips gathering the stats (to time their cost); the result then has no `stats`. */
  stats?: boolean;
}

/** What one loss call mined (native/core/triplet_stats.h); null where a value is not defined. */
export interface NativeLossStats {
  positivePairs: number;
  /** Terms > 0: positive pairs (semi-hard), anchors (hard). */
  activePairs: number;
  /** Pairs that found a semi-hard negative; null for the hard loss. */
  semiHardPairs: number | null;
  noPositiveAnchors: number;
  meanPositiveDistance: number | null;
  meanNegativeDistance: number | null;
  /** null when the loss was given distances. */
  spread: number | null;
  /** activePairs over the loss's terms (positive pairs, or anchors for the hard loss). */
  activeFraction: number | null;
  /** semiHardPairs / positivePairs; null for the hard loss. */
  semiHardFraction: number | null;
}

export interface NativeLossResult {
  loss: number;
  grad: Float32Array;
  positivePairs: number;
  /** Absent only under the benchmark hook `stats: false` (lib/ never sets it). */
  stats: NativeLossStats;
}

export interface NativeInfo {
  torchVersion: string;
  cudaAvailable: boolean;
  threads: number;
  parallelBackend: string;
  /** The CUDA runtime version this LibTorch carries ("13.0"); null for a CPU LibTorch. */
  cudaVersion: string | null;
  /** The cuDNN version this LibTorch was built with ("9.24.0"); null for a CPU LibTorch. */
  cudnnVersion: string | null;
  /** The visible CUDA devices (CUDA_VISIBLE_DEVICES applies); name, memory and capability are null where this build cannot ask. */
  cudaDevices: NativeCudaDevice[];
}

export interface NativeCudaDevice {
  index: number;
  name: string | null;
  /** Bytes. */
  totalMemory: number | null;
  /** Compute capability, "9.0". */
  capability: string | null;
}

export type NativeBackbone = 'convnet' | 'convnet-spatial' | 'resnet18' | 'resnet34' | 'resnet50';

/** A tensor by name (lib/model/named-tensor.ts's NamedTensor): data holds shape's product × the dtype's size bytes, little-endian, C order. */
export interface NativeNamedTensor {
  name: string;
  dtype: 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
  shape: number[];
  data: Uint8Array;
}

/** The network (native/core/embedding_net.h): body, stem, fastai's head. Absent fields: 'small' stem, 'avg' pool, no head BatchNorm, no dropout, inputChannels = channels. */
export interface NativeNetworkOptions {
  backbone: NativeBackbone;
  dim: number;
  /** ResNets: torchvision's 7×7 stride-2 stem with max-pool ('imagenet') or a 3×3 stride-1 one without ('small'). */
  stem?: 'imagenet' | 'small';
  /** The feature map pooled by adaptive average ('avg') or [average, max] concatenated ('concat'). */
  pool?: 'avg' | 'concat';
  headBatchNorm?: boolean;
  /** In [0, 1). */
  dropout?: number;
  /** The network's input channels: channels, or 3 for 1-channel images (replicated before normalisation). */
  inputChannels?: 1 | 3;
}

export type NativeFreeze = 'backbone' | 'none';

/** Random affine augmentation: rotation in ±degrees, scale in 1 ± scale, shift in ± translate image sides, flip left-right half the time. */
export interface NativeAffine {
  rotation: number;
  scale: number;
  translate: number;
  flip: boolean;
}

/** Fully defaulted trainer options (lib/train.ts fills them). */
export interface NativeTrainerOptions extends NativeNetworkOptions {
  /** BatchNorm's training statistics: global batch ('sync', default), each rank's ('local'), running ('frozen'). */
  batchNorm?: 'sync' | 'local' | 'frozen';
  lossKind: 'semihard' | 'hard';
  margin: number;
  soft: boolean;
  distance: NativeDistance;
  weightDecay: number;
  gradClip: number;
  augment: boolean;
  /** The augmentation's ranges (default: rotation 10, scale 0.1, translate 0.1, no flip). */
  affine?: NativeAffine;
  device: NativeDevice;
  /** The CUDA device's index (a rank's LOCAL_RANK); -1: the default. Ignored on the CPU. */
  deviceIndex?: number;
  seed: number;
  /** The forward's arithmetic (default 'fp32'; native/core/precision.h). */
  precision?: 'fp32' | 'bf16' | 'fp16';
  /** Image channels the network takes (default 1); setData's geometry must have as many. */
  channels?: 1 | 3;
  /** Random resized crop of training images (with augment) before flip and affine; absent: the centre crop of the network's size, as validation's. */
  crop?: NativeCrop;
  /** Testing hook: train with the loss's tensor miners (what CUDA always runs) on any device. */
  tensorMining?: boolean;
  /** Gradient-cached batches (native/core/grad_cache.h): each rank's rows of a training batch embedded this many at a time, twice; absent: one forward of the whole batch. */
  chunk?: number;
  /** Testing hook: how a chunked step back-propagates: 'gradcache' (default), 'reference' (every chunk's forward kept, one backward), 'fresh-masks' (pass 2 under another dropout mask). */
  chunkedStepForTesting?: 'gradcache' | 'reference' | 'fresh-masks';
  /** Benchmark hook: false gathers no stats in training steps (to time their cost): reports' stats null, no collapse detection. */
  stats?: boolean;
}

/** Fully defaulted (lib/distributed.ts fills them). */
export interface NativeDistributedOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  backend: 'gloo' | 'nccl' | 'auto';
  timeoutMs: number;
  connectTimeoutMs: number;
}

export interface NativeGradients {
  /** The loss of the global batch (the same on every rank). */
  loss: number;
  /** d(loss)/d(parameter) of every parameter that has one, summed over ranks, keyed like parameterInfo(). */
  gradients: Record<string, Float32Array>;
}

/**
 * What some training steps' losses mined, summed over the steps (and ranks), with the summary
 * of native/core/triplet_stats.h (summarize_triplet_stats); null where a value is not defined.
 */
export interface NativeTrainingStats {
  steps: number;
  /** The loss's terms: positive pairs (semi-hard), anchors (hard). */
  terms: number;
  positivePairs: number;
  /** Terms > 0. */
  activePairs: number;
  /** null for the hard loss. */
  semiHardPairs: number | null;
  noPositiveAnchors: number;
  meanPositiveDistance: number | null;
  meanNegativeDistance: number | null;
  spread: number | null;
  activeFraction: number | null;
  semiHardFraction: number | null;
}

/** A collapse declared (native/core/collapse_detector.h): the streak's steps, mean spread and loss, and the collapsed loss (the margin). */
export interface NativeCollapseAlarm {
  steps: number;
  spread: number;
  loss: number;
  margin: number;
}

export interface NativeStepReport {
  /** Index of the step within this run() call. */
  step: number;
  loss: number;
  lr: number;
  /** Training steps: on the last step of a report window (every step on the CPU, those of a quarter second on CUDA) the window's stats, else null. */
  stats: NativeTrainingStats | null;
  /** On a window's last step when the window declared a collapse (onCollapse 'warn' or 'stop'). */
  collapse?: NativeCollapseAlarm;
}

export interface NativeRunOptions {
  /** What a declared collapse does: 'warn' (default: reported on a step), 'stop' (reported, and the run stops: collapsed), 'ignore' (not watched). */
  onCollapse?: 'warn' | 'stop' | 'ignore';
}

export interface NativeRunResult {
  losses: Float32Array;
  lrs: Float64Array;
  /** cancel() stopped the run before all steps. */
  cancelled: boolean;
  /** A collapse under onCollapse 'stop' stopped (or ended) the run, on any rank. */
  collapsed: boolean;
  /** The stats of all the run's training steps; null for validation or without stats. */
  stats: NativeTrainingStats | null;
}

export interface NativeParameterInfo {
  name: string;
  group: 'head' | 'batchnorm' | 'backbone';
  requiresGrad: boolean;
  numel: number;
}

export interface NativeLrFindResult {
  lrs: Float64Array;
  losses: Float64Array;
  smoothed: Float64Array;
  /** The middle of the smoothed loss's valley (native/core/lr_finder.h, valley_lr); 0 when fewer than 3 steps ran or it never fell. */
  suggestion: number;
  /** Stopped because the smoothed loss exceeded 4× its minimum. */
  diverged: boolean;
}

/** Fully defaulted (lib/lr-find.ts fills them): indices.length is a multiple of batchSize; 0 < startLr < endLr. */
export interface NativeLrFindOptions {
  indices: Int32Array;
  batchSize: number;
  freeze: NativeFreeze;
  startLr: number;
  endLr: number;
}

/**
 * The pixels given (cache, feed, embed: stored size) and what the network sees (<= stored):
 * validation and embedding centre-crop height × width out of them; training takes a random
 * resized crop (NativeTrainerOptions.crop) resampled to height × width.
 */
export interface NativeImageGeometry {
  channels: 1 | 3;
  storedHeight: number;
  storedWidth: number;
  height: number;
  width: number;
}

/** Random resized crop (torchvision's RandomResizedCrop): area fraction in [minScale, maxScale], aspect ratio w/h in [minRatio, maxRatio]. */
export interface NativeCrop {
  minScale: number;
  maxScale: number;
  minRatio: number;
  maxRatio: number;
}

/** Decoded images in native memory: count × storedHeight × storedWidth × channels uint8, filled image by image. */
export interface NativeImageStore {
  readonly count: number;
  readonly storedHeight: number;
  readonly storedWidth: number;
  readonly channels: number;
  readonly bytes: number;
  /** Copies one image's bytes (storedHeight × storedWidth × channels) in at `index` (0 <= index < count). */
  write(index: number, pixels: Uint8Array): void;
  /** A copy of image `index`. */
  read(index: number): Uint8Array;
}

export interface NativeDataSet {
  labels: Int32Array;
  /**
   * count × storedHeight × storedWidth × channels bytes (row-major, channels interleaved) as a
   * Uint8Array (copied), an image store (shared, not copied), or null: streamed through feed().
   */
  images: Uint8Array | NativeImageStore | null;
}

export interface NativeSetDataOptions {
  train: NativeDataSet;
  valid: NativeDataSet | null;
  geometry: NativeImageGeometry;
  /** Per-channel mean/std of 0..1 pixels (channels values each); null: the train set's own (one value over all its pixels; needs train images that are not streamed). */
  normalisation: { mean: number[]; std: number[] } | null;
}

/** native/binding/trainer_binding.cc: one job at a time (else an ERR_SEMIHARD_BUSY error). */
export interface NativeTrainer {
  /** The train (and validation) images and labels, their geometry and normalisation; kept, not copied, where they can be. */
  setData(options: NativeSetDataOptions): void;
  /** backboneLrFactor (default 1, positive): the body's parameters (its BatchNorm too) learn at this factor × the schedule's rate, the head's at the rate. */
  beginPhase(freeze: NativeFreeze, maxLr: number, totalSteps: number, backboneLrFactor?: number): void;
  /** Runs indices.length / batchSize steps off the event loop; `onStep` after each. */
  run(
    mode: 'train' | 'valid',
    indices: Int32Array,
    batchSize: number,
    onStep?: (report: NativeStepReport) => void,
    options?: NativeRunOptions,
  ): Promise<NativeRunResult>;
  /** Stops a run after its current step; wakes a step waiting for fed images (the run resolves cancelled). */
  cancel(): void;
  /**
   * For a streamed set (images: null): queues the pixels of the next batch's rows that this
   * rank embeds (rows [rank·n, rank·n + n) of the global batch, n = batch / worldSize), in
   * order, count × storedHeight × storedWidth × channels bytes (copied). Callable while a job
   * runs. The queue is not bounded: the caller decides how far ahead it feeds. Steps on a
   * streamed set take their images from it (waiting for them) and check the count.
   */
  feed(set: 'train' | 'valid', images: Uint8Array, count: number): void;
  /** The batches fed to `set` and not yet taken by a step (callable while a job runs). */
  queued(set: 'train' | 'valid'): number;
  /** Wakes any step waiting for fed images: the job rejects with an Error of `message`. Clears the queues. */
  abortFeed(message: string): void;
  /** Images: count × storedHeight × storedWidth × channels (setData's or the state's geometry), Uint8Array 0..255 or Float32Array 0..1; centre-cropped to height × width. */
  embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
  saveState(): Promise<Buffer>;
  /** restoreOptimizer (default true): also the optimiser state and schedule position of the current phase. */
  loadState(state: Uint8Array, restoreOptimizer?: boolean): Promise<void>;
  /** The learning-rate range test over `indices` (steps × batchSize); the trainer is left as it was. */
  lrFind(options: NativeLrFindOptions): Promise<NativeLrFindResult>;
  /**
   * Joins a group of training processes (all ranks call it; resolves when all have joined) and
   * takes rank 0's weights. Then every rank calls run/computeGradients with the same global
   * indices, in the same order. Errors: code ERR_SEMIHARD_DISTRIBUTED.
   */
  connect(options: NativeDistributedOptions): Promise<{ rank: number; worldSize: number }>;
  /** The loss and parameter gradients on the train images at `indices`, without an optimiser step. */
  computeGradients(indices: Int32Array): Promise<NativeGradients>;
  parameterInfo(): NativeParameterInfo[];
  getParameter(name: string): Float32Array;
  /**
   * A torchvision state_dict's tensors into the body (its keys, no prefix; fc.* dropped), all
   * or nothing: any missing, unexpected, repeated or mis-shaped key rejects with one error
   * listing them all, and the network is unchanged. Converted to each parameter's dtype.
   */
  loadBackboneWeights(tensors: NativeNamedTensor[]): Promise<void>;
  /** The body's parameters and buffers under torchvision's keys, then the head's as head.*. */
  exportWeights(): Promise<NativeNamedTensor[]>;
  /** Tests only: count × features, the body's map of N × C × H × W (normalised) images pooled as the head pools it, in eval mode (left in eval mode). */
  pooledFeaturesForTesting(images: Float32Array, count: number, channels: number, height: number, width: number): Float32Array;
}

/** Fully defaulted (lib/model.ts fills them from a training checkpoint's configuration). */
export interface NativeEmbedderOptions extends NativeNetworkOptions {
  /** The images' channels (default 1): the state's geometry must have as many (the network is built before the state is read). */
  channels?: 1 | 3;
  device: NativeDevice;
  /** The forward's arithmetic (default 'fp32'). */
  precision?: 'fp32' | 'bf16' | 'fp16';
}

/** native/binding/embedder_binding.cc: a trained network for inference; one job at a time (else an ERR_SEMIHARD_BUSY error). */
export interface NativeEmbedder {
  /** The state's geometry (states saved before it was recorded: channels 1, stored = network size). */
  readonly geometry: NativeImageGeometry;
  /** The state's normalisation: one mean and std per channel of the network's input (float32 values). */
  readonly normalisation: { mean: number[]; std: number[] };
  /** Images: count × storedHeight × storedWidth × channels of `geometry`, Uint8Array 0..255 or Float32Array 0..1, centre-cropped; count × dim out, unit rows. */
  embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
  /** As NativeTrainer.exportWeights. */
  exportWeights(): Promise<NativeNamedTensor[]>;
}

export interface NativeMetrics {
  knnAccuracy: number;
  linearAccuracy: number;
  svmAccuracy: number;
  precisionAt1: number;
  rPrecision: number;
  mapAtR: number;
  retrievalQueries: number;
  perClass: { label: number; knnAccuracy: number; count: number }[];
  /**
   * kNN confusion: labels = the sorted union of train and valid labels; the nonzero cells in
   * row-major order (at most one per valid sample): rows[c] = a valid sample's label, columns[c]
   * = its kNN prediction (both indices into labels), counts[c] = how many such samples.
   */
  confusion: { labels: number[]; rows: number[]; columns: number[]; counts: number[] };
}

/** Row-major count × dim embeddings and one label per row. */
export interface NativeEmbeddingSet {
  embeddings: Float32Array;
  labels: NativeLabels;
}

/** Fully defaulted (lib/evaluate.ts fills them). */
export interface NativeEvaluateOptions {
  train: NativeEmbeddingSet;
  valid: NativeEmbeddingSet;
  dim: number;
  k: number;
  device: NativeDevice;
}

/** Fully defaulted (lib/augment.ts fills them): images are count × height × width × channels, Uint8Array 0..255 or Float32Array 0..1. */
export interface NativeAugmentOptions {
  images: Uint8Array | Float32Array;
  count: number;
  height: number;
  width: number;
  affine: NativeAffine;
  seed: number;
  /** Default 1. */
  channels?: number;
  /** A random resized crop first (as training's); absent: the centre crop of the output size. */
  crop?: NativeCrop;
  /** The output size (default: height × width). */
  outHeight?: number;
  outWidth?: number;
}

export interface NativeBinding {
  Trainer: new (options: NativeTrainerOptions) => NativeTrainer;
  /** The network of `options` with the weights, buffers, normalisation and geometry of a trainer's saveState() bytes (nothing else of them). */
  createEmbedder(options: NativeEmbedderOptions, state: Uint8Array): Promise<NativeEmbedder>;
  evaluateEmbeddings(options: NativeEvaluateOptions): Promise<NativeMetrics>;
  /** Exact k nearest other rows of each row (lib/neighbours.ts fills the options; 1 ≤ k < count). indices and distances N × k row-major, nearest first; nearestSameLabel N (NaN: no other row of the label); mistakes: row indices, worst first. */
  nearestNeighbours(options: {
    embeddings: Float32Array;
    labels: NativeLabels;
    dim: number;
    k: number;
    device: NativeDevice;
  }): Promise<{ indices: Int32Array; distances: Float32Array; nearestSameLabel: Float32Array; mistakes: Int32Array }>;
  /** Tests only: the linear SVM of svmAccuracy fitted on train; query's decision values (rows × K: K = 1 for two classes, the larger label's; the classes otherwise) and predicted labels. */
  linearSvmForTesting(options: { train: NativeEmbeddingSet; query: Float32Array; dim: number }): Promise<{
    classes: Float64Array;
    decision: Float64Array;
    predicted: Float64Array;
    /** Passes of each SVM (1000: not converged). */
    iterations: number[];
  }>;
  /** N × 2, row-major. */
  projectEmbeddings(
    x: Float32Array,
    dim: number,
    method: 'pca' | 'tsne',
    options?: { perplexity?: number; iterations?: number },
  ): Promise<Float32Array>;
  tripletLoss(embeddings: Float32Array, dim: number, labels: NativeLabels, options: NativeLossOptions): NativeLossResult;
  tripletLossAsync(
    embeddings: Float32Array,
    dim: number,
    labels: NativeLabels,
    options: NativeLossOptions,
  ): Promise<NativeLossResult>;
  tripletLossFromDistances(distances: Float32Array, labels: NativeLabels, options: NativeLossOptions): NativeLossResult;
  tripletLossFromDistancesAsync(
    distances: Float32Array,
    labels: NativeLabels,
    options: NativeLossOptions,
  ): Promise<NativeLossResult>;
  /** The training transform of each image (crop, flip, affine; generator seeded with `seed`), on a worker; count × outHeight × outWidth × channels pixels 0..1 out. */
  augmentImages(options: NativeAugmentOptions): Promise<Float32Array>;
  /** Tests only: the crop boxes (count × [top, left, height, width]) augmentImages draws first with `seed`. */
  cropBoxesForTesting(options: { count: number; height: number; width: number; crop: NativeCrop; seed: number }): Int32Array;
  /** Tests only: what validation and embedding feed the network: count × channels × height × width, centre-cropped and normalised. */
  networkInputForTesting(options: {
    images: Uint8Array | Float32Array;
    count: number;
    geometry: NativeImageGeometry;
    normalisation: { mean: number[]; std: number[] };
  }): Float32Array;
  /** count × storedHeight × storedWidth × channels bytes of native memory, zero-filled (a RangeError when it cannot be allocated). */
  createImageStore(count: number, storedHeight: number, storedWidth: number, channels: number): NativeImageStore;
  /** Every tensor of the state_dict in a PyTorch .pth (torch.save's zip), read on a worker by an allowlisted unpickler; rejects with an Error naming the file. */
  readTorchFile(path: string): Promise<NativeNamedTensor[]>;
  info(): NativeInfo;
  setNumThreads(threads: number): void;
  /** Tests only: lrFind's suggestion for a given smoothed curve (both arrays of one length). */
  lrSuggestion(lrs: Float64Array, smoothed: Float64Array): number;
  /** Benchmarks only: median ms of one B×D · D×B product on `device`, timed natively. */
  benchmarkGram(batch: number, dim: number, repeats: number, device: NativeDevice): number;
}
