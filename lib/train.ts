// Training, one job a file under train/: its types (types.ts), the configuration checked and
// defaulted (config.ts), the native trainer's options (native-options.ts), the batches of an
// epoch (epoch-plan.ts), resuming from a checkpoint (resume.ts) and the loop itself (loop.ts).
// This module is their one entry for the rest of lib/.
export { train } from './train/loop';
export { DEFAULT_PHASES, resolveTrainConfig } from './train/config';
export { nativeNetworkOptions, nativeTrainerOptions } from './train/native-options';
export { epochPlan } from './train/epoch-plan';
export { checkResumable, upgradeConfig } from './train/resume';
export type {
  Backbone,
  BatchNormStatistics,
  EpochEvent,
  Freeze,
  HistoryEntry,
  ModelConfig,
  PhaseConfig,
  Pool,
  ProgressEvent,
  StepProgressEvent,
  ResolvedModelConfig,
  ResolvedPhaseConfig,
  ResolvedTrainConfig,
  Stem,
  TrainCheckpointHeader,
  TrainConfig,
  TrainPosition,
  TrainResult,
} from './train/types';
