// Resuming from a checkpoint: its recorded configuration brought to today's shape, and the
// check that everything shaping the run matches the configuration given now.
import { DEFAULT_AUGMENT } from '../augment';
import type { Dataset } from '../data/datasets';
import { dataIdentity } from '../data/source';
import { SemihardError } from '../errors';
import { isPlainObject } from '../validate';
import { isResNet } from './model-config';
import type { ResolvedModelConfig, ResolvedTrainConfig, TrainCheckpointHeader } from './types';

// Fields that must match for a checkpoint to be resumed: everything that shapes the run.
// The precision too: another one gives other numbers from the first resumed step on (and only
// fp16 keeps a gradient scale), so the resumed run would not be the one the checkpoint began.
const RESUME_KEYS = ['data', 'model', 'loss', 'batch', 'phases', 'seed', 'weightDecay', 'gradClip', 'augment', 'precision'] as const;

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
 * with 'sync'; before the augmentation had ranges, `augment: true` meant the defaults; before
 * fastai's head and torchvision's ResNets (issue 13) a network had an average pool and a bare
 * linear layer, ResNets the small stem, and every phase one rate for all parameters; before
 * precision existed every run was float32; before chunked batches none was chunked.
 */
export function upgradeConfig(config: ResolvedTrainConfig): ResolvedTrainConfig {
  // Before image folders, augmentation had no crop.
  const augment = (config.augment as unknown) === true ? { ...DEFAULT_AUGMENT } : config.augment === false ? false : { ...config.augment, crop: config.augment.crop ?? false };
  const m = config.model as Partial<ResolvedModelConfig> & Pick<ResolvedModelConfig, 'backbone' | 'dim'>;
  const model: ResolvedModelConfig = {
    ...m,
    batchNorm: m.batchNorm ?? 'sync',
    stem: m.stem !== undefined ? m.stem : isResNet(m.backbone) ? 'small' : null,
    pool: m.pool ?? 'avg',
    headBatchNorm: m.headBatchNorm ?? false,
    dropout: m.dropout ?? 0,
    pretrained: m.pretrained ?? null,
    inputChannels: m.inputChannels ?? null,
  };
  const phases = Array.isArray(config.phases) ? config.phases.map((p) => ({ ...p, backboneLrFactor: p.backboneLrFactor ?? 1 })) : config.phases;
  const batch = { ...config.batch, chunk: config.batch.chunk ?? null };
  return { ...config, model, augment, phases, batch, precision: config.precision ?? 'fp32' };
}

export function checkResumable(file: string, header: TrainCheckpointHeader, config: ResolvedTrainConfig): void {
  if (header.kind !== 'semihard-train') {
    throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} is not a training checkpoint`);
  }
  const recorded = upgradeConfig(header.config);
  for (const key of RESUME_KEYS) {
    const identity = (c: ResolvedTrainConfig): unknown => (key === 'data' ? dataIdentity(c.data) : c[key]);
    const d = describeDifference(identity(recorded), identity(config), key);
    if (d) throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} cannot be resumed with this configuration: ${d}`);
  }
}

/** An image folder's files must be those the checkpoint's run had: others give other batches. */
export function checkSameFiles(file: string, header: TrainCheckpointHeader, dataset: Dataset): void {
  const recorded = header.dataset.fingerprint;
  if (recorded === undefined || recorded === dataset.fingerprint) return;
  throw new SemihardError(
    'ERR_SEMIHARD_CHECKPOINT',
    `Checkpoint ${file} cannot be resumed: the image folder ${dataset.name} holds other files than when it was written ` +
      `(${dataset.train.count} training and ${dataset.valid.count} validation images now); a resumed run must see the same images`,
  );
}
