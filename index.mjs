// ESM entry: the CommonJS build re-exported by name.
import semihard from './dist/lib/index.js';

export const {
  tripletSemiHardLoss,
  tripletSemiHardLossAsync,
  tripletHardLoss,
  tripletHardLossAsync,
  tripletSemiHardLossFromDistances,
  tripletSemiHardLossFromDistancesAsync,
  tripletHardLossFromDistances,
  tripletHardLossFromDistancesAsync,
  SemihardError,
  info,
  setNumThreads,
  train,
  loadModel,
  evaluate,
  DEFAULT_KNN_K,
  plotEmbeddings,
  plotHistory,
  lrFind,
  loadDataset,
  DEFAULT_PHASES,
  DEFAULT_AUGMENT,
  augmentImages,
  FASHION_MNIST_CLASSES,
  launchRanks,
  freePort,
  distributedFromEnv,
} = semihard;
export default semihard;
