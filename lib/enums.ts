// Every enumeration a caller chooses from, each defined once as a `const` tuple. The type is
// derived from it (`typeof X[number]`), lib/ validates against it (validate.oneOf) and the
// command line offers it (commander's `.choices()`), so a value added here is accepted,
// typed and listed everywhere at once. The native side mirrors these in binding.d.ts.

/** Where to compute: 'auto' is CUDA when available, else the CPU. */
export const DEVICES = ['cpu', 'cuda', 'auto'] as const;
export type Device = (typeof DEVICES)[number];

/**
 * The arithmetic of the network's forward pass: float32, or autocast's bfloat16 or float16
 * (convolutions and matrix products in the lower precision; the loss, parameters, gradients
 * and optimiser in float32; fp16 with a dynamic gradient scaler).
 */
export const PRECISIONS = ['fp32', 'bf16', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** The CNNs an embedding network is cut from (torchvision's names for the ResNets). */
export const BACKBONES = ['convnet', 'convnet-spatial', 'resnet18', 'resnet34', 'resnet50'] as const;
export type Backbone = (typeof BACKBONES)[number];

/** The ResNets among the backbones: torchvision's architectures, which take its weight files. */
export const RESNET_BACKBONES = ['resnet18', 'resnet34', 'resnet50'] as const;
export type ResNetBackbone = (typeof RESNET_BACKBONES)[number];

/** A ResNet's stem: torchvision's (7×7 stride-2 conv, max-pool) or a small-image one (3×3 stride-1 conv, no max-pool). */
export const STEMS = ['imagenet', 'small'] as const;
export type Stem = (typeof STEMS)[number];

/** How the head pools the body's last feature map: [average, max] concatenated (fastai's) or the average. */
export const POOLS = ['concat', 'avg'] as const;
export type Pool = (typeof POOLS)[number];

/** Distances between embeddings, as TensorFlow Addons names them. */
export const DISTANCES = ['L2', 'squared-L2', 'angular'] as const;
export type Distance = (typeof DISTANCES)[number];

/** The triplet losses: semi-hard mining (FaceNet, TF-Addons' default) or batch-hard. */
export const LOSS_KINDS = ['semihard', 'hard'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

/** What a training phase keeps fixed: the backbone (only head and BatchNorm learn) or nothing. */
export const FREEZE_MODES = ['backbone', 'none'] as const;
export type Freeze = (typeof FREEZE_MODES)[number];

/** BatchNorm's statistics in training: the global batch's, each rank's own, or the running ones. */
export const BATCH_NORM_STATISTICS = ['sync', 'local', 'frozen'] as const;
export type BatchNormStatistics = (typeof BATCH_NORM_STATISTICS)[number];

/** How a training epoch is cut into batches: P classes × K samples each, or plain shuffling. */
export const SAMPLERS = ['balanced', 'shuffled'] as const;
export type Sampler = (typeof SAMPLERS)[number];

/** c10d's collectives backend for training in several processes. */
export const COLLECTIVE_BACKENDS = ['gloo', 'nccl', 'auto'] as const;
export type CollectiveBackend = (typeof COLLECTIVE_BACKENDS)[number];

/** How a picture projects embeddings to two dimensions. */
export const PROJECTION_METHODS = ['tsne', 'pca'] as const;
export type ProjectionMethod = (typeof PROJECTION_METHODS)[number];

/** The data sets known by name (any other is a folder of MNIST-format IDX files). */
export const NAMED_DATA_SETS = ['mnist', 'fashion-mnist'] as const;
export type NamedDataSet = (typeof NAMED_DATA_SETS)[number];

/** Whether `value` is one of `tuple`'s members (narrowing it to the tuple's type). */
export function isMember<T extends string>(tuple: readonly T[], value: unknown): value is T {
  return (tuple as readonly unknown[]).includes(value);
}

/** What loading an image folder does with a corrupt, truncated or empty image. */
export const BAD_IMAGE_POLICIES = ['error', 'skip'] as const;
export type BadImagePolicy = (typeof BAD_IMAGE_POLICIES)[number];

/** What train() does when the embeddings collapse: a 'collapse' event, the event and a stop, or nothing. */
export const COLLAPSE_POLICIES = ['warn', 'stop', 'ignore'] as const;
export type CollapsePolicy = (typeof COLLAPSE_POLICIES)[number];
