// train(): drives a native trainer through phases and epochs: data, batches, frozen and
// unfrozen phases, validation, progress events, atomic checkpoints, exact resumption and
// cancellation. The numerics (model, loss, optimiser, schedule, augmentation) are native.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binding, createTrainer, packageVersion } from '../binding';
import { CHECKPOINT_FORMAT, readCheckpoint, writeCheckpoint } from '../checkpoint';
import { loadDataset } from '../data/datasets';
import { validationBatches } from '../data/sampler';
import { SemihardError, rangeError } from '../errors';
import { resolveCollapsePolicy, resolveTrainConfig } from './config';
import { epochPlan } from './epoch-plan';
import { resolveStem } from './model-config';
import { nativeTrainerOptions } from './native-options';
import { loadPretrained, pretrainedInputChannels, readPretrained, type PretrainedWeights } from './pretrained';
import { collapseEvent, trainingStats } from './stats';
import { setDataOptions, withFeed } from './trainer-data';
import { checkResumable, checkSameFiles, upgradeConfig } from './resume';
import type { HistoryEntry, TrainCheckpointHeader, TrainConfig, TrainPosition, TrainResult } from './types';

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
  const given = resolveTrainConfig(config);
  const onCollapse = resolveCollapsePolicy(config.onCollapse);
  const { signal, onProgress, onEpoch } = config;
  if (signal?.aborted) throw abortError(signal, '(nothing was written)');
  if (given.threads !== null) binding.setNumThreads(given.threads);
  const checkpointFile = path.join(given.checkpointDir, 'last.ckpt');

  let previous: { header: TrainCheckpointHeader; state: Buffer } | null = null;
  if (given.resume && fs.existsSync(checkpointFile)) previous = await readCheckpoint<TrainCheckpointHeader>(checkpointFile);

  const dataset = await loadDataset(given.data, given.seed, { onProgress, signal, concurrency: given.threads ?? undefined });
  // A ResNet's default stem depends on the size the network sees; a pretrained file decides the
  // input channels and normalisation (a resumed run's checkpoint recorded them).
  let model = resolveStem(given.model, dataset);
  let weights: PretrainedWeights | null = null;
  if (previous) model = { ...model, inputChannels: upgradeConfig(previous.header.config).model.inputChannels };
  else if (model.pretrained !== null) {
    weights = await readPretrained(model.pretrained);
    model = { ...model, inputChannels: pretrainedInputChannels(weights, dataset.channels) };
  }
  const resolved = { ...given, model };
  if (previous) {
    checkResumable(checkpointFile, previous.header, resolved);
    checkSameFiles(checkpointFile, previous.header, dataset);
  }
  const trainer = createTrainer(nativeTrainerOptions(resolved, dataset.channels));
  trainer.setData({ ...setDataOptions(dataset, true), normalisation: weights?.normalisation ?? dataset.normalisation });
  // A resumed run's checkpoint holds the weights.
  if (weights) await loadPretrained(trainer, weights, resolved.model.backbone);
  const batchSize = Math.min(resolved.batch.classes, dataset.classes) * resolved.batch.perClass;
  const dist = resolved.distributed;
  if (dist && batchSize % dist.worldSize !== 0) {
    throw rangeError('config.batch', `a global batch (classes × perClass) divisible by the ${dist.worldSize} ranks`, batchSize);
  }
  const valid = validationBatches(dataset.valid.count, batchSize, resolved.seed);
  if (dist) await trainer.connect(dist);
  // Rank 0 alone writes checkpoints; the others keep in step with it.
  const writes = !dist || dist.rank === 0;
  const streams = { rank: dist?.rank, worldSize: dist?.worldSize, concurrency: resolved.threads ?? undefined };

  const history: HistoryEntry[] = previous ? [...previous.header.history] : [];
  let position: TrainPosition = previous ? { ...previous.header.next } : { phase: 0, epoch: 0, step: 0 };
  let globalStep = previous ? previous.header.globalStep : 0;
  const runtime = binding.info();
  const torchVersion = runtime.torchVersion;
  // Where the run computes, for people reading the checkpoint (the report): 'auto' and 'cuda'
  // run on CUDA when a device is available, as the native trainer resolves them.
  const onCuda = resolved.device !== 'cpu' && runtime.cudaAvailable;
  const ranOn =
    (onCuda ? `CUDA (${runtime.cudaDevices[0]?.name ?? 'a CUDA device'})` : `CPU, ${resolved.threads ?? runtime.threads} threads`) +
    (dist ? `, ${dist.worldSize} processes` : '');

  const save = async (finished: boolean): Promise<void> => {
    if (!writes) return;
    const header: TrainCheckpointHeader = {
      format: CHECKPOINT_FORMAT,
      version: packageVersion(),
      torchVersion,
      ranOn,
      createdAt: new Date().toISOString(),
      stateBytes: 0,
      kind: 'semihard-train',
      config: resolved,
      dataset: {
        name: dataset.name,
        height: dataset.height,
        width: dataset.width,
        classes: dataset.classes,
        classNames: dataset.classNames,
        storedHeight: dataset.storedHeight,
        storedWidth: dataset.storedWidth,
        channels: dataset.channels,
        source: dataset.source,
        ...(dataset.fingerprint ? { fingerprint: dataset.fingerprint } : {}),
      },
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
    return { checkpoint: checkpointFile, history, steps: 0, stoppedEarly: 'maxSteps' };
  }

  const abortListener = (): void => trainer.cancel();
  signal?.addEventListener('abort', abortListener);
  let stepsThisCall = 0;
  try {
    for (let phase = position.phase; phase < resolved.phases.length; phase++) {
      const p = resolved.phases[phase];
      const epochsBefore = resolved.phases.slice(0, phase).reduce((n, q) => n + q.epochs, 0);
      const stepsPerEpoch = epochPlan(resolved, dataset, epochsBefore).steps;
      trainer.beginPhase(p.freeze, p.maxLr, p.epochs * stepsPerEpoch, p.backboneLrFactor);
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
        const run = await withFeed(trainer, dataset, 'train', todo, plan.batchSize, streams, () =>
          trainer.run(
            'train',
            todo,
            plan.batchSize,
            (r) => {
              const seconds = (performance.now() - started) / 1000;
              onProgress?.({
                stage: 'train',
                phase,
                epoch,
                step: first + r.step + 1,
                steps: plan.steps,
                loss: r.loss,
                lr: r.lr,
                imagesPerSecond: ((r.step + 1) * plan.batchSize) / Math.max(seconds, 1e-9),
                stats: trainingStats(r.stats),
              });
              if (r.collapse) onProgress?.(collapseEvent(r.collapse, resolved, phase, epoch, first + r.step + 1));
            },
            { onCollapse },
          ),
        );
        const done = run.losses.length;
        globalStep += done;
        stepsThisCall += done;
        position = { phase, epoch, step: first + done };
        if (run.cancelled || signal?.aborted) {
          await save(false);
          throw abortError(signal ?? new AbortController().signal, checkpointFile);
        }
        const validRun = await withFeed(trainer, dataset, 'valid', valid.indices, valid.batchSize, streams, () =>
          trainer.run('valid', valid.indices, valid.batchSize),
        );
        const stats = trainingStats(run.stats);
        const entry: HistoryEntry = {
          phase,
          epoch,
          trainLoss: mean(run.losses),
          validLoss: mean(validRun.losses),
          seconds: (performance.now() - started) / 1000,
          stepLosses: Array.from(run.losses),
          stepLrs: Array.from(run.lrs),
          stats,
        };
        history.push(entry);
        onEpoch?.({ ...entry, stats });
        const epochDone = first + done === plan.steps;
        if (epochDone) {
          position = epoch + 1 < p.epochs ? { phase, epoch: epoch + 1, step: 0 } : { phase: phase + 1, epoch: 0, step: 0 };
        }
        const finished = epochDone && phase === resolved.phases.length - 1 && epoch === p.epochs - 1;
        await save(finished);
        if (run.collapsed && !finished) return { checkpoint: checkpointFile, history, steps: stepsThisCall, stoppedEarly: 'collapse' };
        if (resolved.maxSteps !== null && globalStep >= resolved.maxSteps && !finished) {
          return { checkpoint: checkpointFile, history, steps: stepsThisCall, stoppedEarly: 'maxSteps' };
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', abortListener);
  }
  return { checkpoint: checkpointFile, history, steps: stepsThisCall, stoppedEarly: false };
}
