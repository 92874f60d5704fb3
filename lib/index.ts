// semihard: the public API.
import { binding } from './binding';
import { positiveInteger } from './validate';

export {
  tripletSemiHardLoss,
  tripletSemiHardLossAsync,
  tripletHardLoss,
  tripletHardLossAsync,
  tripletSemiHardLossFromDistances,
  tripletSemiHardLossFromDistancesAsync,
  tripletHardLossFromDistances,
  tripletHardLossFromDistancesAsync,
} from './loss';
export type {
  Labels,
  Distance,
  Device,
  LossResult,
  LossStats,
  SemiHardLossOptions,
  HardLossOptions,
  FromDistancesOptions,
  HardFromDistancesOptions,
} from './loss';
export {
  DEVICES,
  BACKBONES,
  RESNET_BACKBONES,
  STEMS,
  POOLS,
  PRECISIONS,
  DISTANCES,
  LOSS_KINDS,
  FREEZE_MODES,
  BATCH_NORM_STATISTICS,
  SAMPLERS,
  COLLECTIVE_BACKENDS,
  PROJECTION_METHODS,
  NAMED_DATA_SETS,
  COLLAPSE_POLICIES,
} from './enums';
export type { LossKind, Sampler, ProjectionMethod, NamedDataSet, Precision, CollapsePolicy } from './enums';
export { SemihardError } from './errors';
export type { SemihardErrorCode, ArgumentError } from './errors';

export interface RuntimeInfo {
  /** Version of the LibTorch the addon was built against. */
  torchVersion: string;
  /** Whether a CUDA device can be used ('auto' picks it). */
  cudaAvailable: boolean;
  /** Intra-op threads LibTorch uses. */
  threads: number;
  /** The CUDA runtime version the addon's LibTorch carries ("13.0"), or null for a CPU LibTorch. */
  cudaVersion: string | null;
  /** The cuDNN version it was built with ("9.24.0"), or null. */
  cudnnVersion: string | null;
  /** The visible CUDA devices (empty without a GPU or with a CPU LibTorch). */
  cudaDevices: CudaDeviceInfo[];
}

export interface CudaDeviceInfo {
  /** The index `device: 'cuda:<index>'` takes. */
  index: number;
  /** The device's name, or null where the addon was built without the CUDA headers to ask. */
  name: string | null;
  /** Device memory in bytes, or null (as name). */
  totalMemory: number | null;
  /** Compute capability, "9.0", or null (as name). */
  capability: string | null;
}

/** What the native side runs on. */
export function info(): RuntimeInfo {
  const i = binding.info();
  return {
    torchVersion: i.torchVersion,
    cudaAvailable: i.cudaAvailable,
    threads: i.threads,
    cudaVersion: i.cudaVersion,
    cudnnVersion: i.cudnnVersion,
    cudaDevices: i.cudaDevices.map((d) => ({ ...d })),
  };
}

/** Sets LibTorch's intra-op thread count (also used by the loss's mining). */
export function setNumThreads(threads: number): void {
  binding.setNumThreads(positiveInteger(threads, 'threads'));
}

export { train, DEFAULT_PHASES } from './train';
export { augmentImages, DEFAULT_AUGMENT, DEFAULT_PHOTO_AUGMENT, DEFAULT_CROP } from './augment';
export type { AugmentConfig, AugmentImagesOptions, ResolvedAugment, ResolvedCrop } from './augment';
export type {
  TrainConfig,
  TrainResult,
  ProgressEvent,
  StepProgressEvent,
  EpochEvent,
  HistoryEntry,
  PhaseConfig,
  ModelConfig,
  Backbone,
  Stem,
  Pool,
  Freeze,
  BatchNormStatistics,
  ResolvedTrainConfig,
} from './train';
export type { TrainingStats, CollapseEvent } from './train/types';
export { loadModel } from './model';
export type { Model } from './model';
export { loadDataset, FASHION_MNIST_CLASSES } from './data/datasets';
export type { DataSource, Dataset, ImageSet, ImageStore, DecodeProgressEvent, LoadDatasetOptions, ImageFolderSource, ResolvedDataSource } from './data/datasets';
export { BAD_IMAGE_POLICIES } from './enums';
export { decodeImage, decodeImages, imageSizeOf, isImageFile, IMAGE_EXTENSIONS } from './data/decode';
export type { DecodeTarget, DecodeImagesOptions, DecodeImagesResult } from './data/decode';
export { scanImageFolder } from './data/folder-scan';
export { listImages } from './data/image-list';
export type { ImageListing } from './data/image-list';
export type { FolderScan, FolderLayout, ScanImageFolderOptions } from './data/folder-scan';
export type { BadImagePolicy } from './enums';
export { evaluate, DEFAULT_KNN_K } from './evaluate';
export type { EmbeddingSet, Metrics, EvaluateOptions } from './evaluate';
export { DEFAULT_NEIGHBOURS, nearestNeighbours, type NeighbourTable, type NeighboursOptions } from './neighbours';
export { plotEmbeddings } from './plot';
export type { PlotOptions, PlotResult } from './plot';
export { plotHistory } from './plot';
export { report, DEFAULT_REPORT_POINTS } from './report';
export type { ReportOptions, ReportResult, ReportProgressEvent } from './report';
export { embedImageSet } from './embed-set';
export { lrFind } from './lr-find';
export type { LrFindConfig, LrFindResult } from './lr-find';
export { launchRanks, freePort } from './launch';
export type { LaunchOptions } from './launch';
export { distributedFromEnv } from './distributed';
export type { DistributedConfig, ResolvedDistributed, CollectiveBackend } from './distributed';
export type { EmbedFilesOptions } from './model';
export { writeNpy, writeProjector, projectorFiles } from './export';
export { readWeightFile, weightFileFormat } from './model/weight-file';
export type { WeightFileFormat } from './model/weight-file';
export { readSafetensors, writeSafetensors } from './model/safetensors';
export { exportModel, descriptionFile } from './model/export-model';
export type { ExportedModel, ModelDescription } from './model/export-model';
export type { SafetensorsContent } from './model/safetensors';
export { TENSOR_DTYPES } from './model/named-tensor';
export type { NamedTensor, TensorDtype } from './model/named-tensor';
export type { ProjectorRow, ProjectorFiles } from './export';
