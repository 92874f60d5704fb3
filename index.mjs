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
} = semihard;
export default semihard;
