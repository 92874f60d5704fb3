// lrFind(): the learning-rate range test the recipe picks its rates with (fastai's
// lr_find), for the frozen or the unfrozen phase, and its picture.
import { createTrainer } from './binding';
import { loadDataset } from './data/datasets';
import { FREEZE_MODES } from './enums';
import { rangeError, typeError } from './errors';
import { writePicture } from './plot/render';
import { lrFindSpec } from './plot/specs';
import { epochPlan, nativeTrainerOptions, resolveTrainConfig, type Freeze, type TrainConfig } from './train';
import { resolveStem } from './train/model-config';
import { loadPretrained, pretrainedInputChannels, readPretrained } from './train/pretrained';
import { setDataOptions, withFeed } from './train/trainer-data';
import { binding } from './binding';
import { checkKnownKeys, finiteNumber, oneOf, optionsObject, positiveInteger } from './validate';
import * as path from 'node:path';

export interface LrFindConfig extends Pick<TrainConfig, 'data' | 'model' | 'loss' | 'batch' | 'seed' | 'device' | 'precision' | 'threads' | 'augment' | 'weightDecay'> {
  /** Which phase's parameters learn: 'none' (all, default) or 'backbone' (head + BatchNorm). */
  freeze?: Freeze;
  startLr?: number;
  endLr?: number;
  /** Steps at most (default 100): one learning rate each. */
  steps?: number;
  /** Draw the curve to this .png or .svg file. */
  out?: string;
}

export interface LrFindResult {
  lrs: number[];
  losses: number[];
  smoothed: number[];
  /**
   * The middle (in log(lr)) of the valley: as many steps as the longest strictly falling
   * subsequence of the smoothed loss has points, ending where it ends (after fastai's
   * `valley`); 0 when fewer than 3 steps ran or the smoothed loss never fell.
   */
  suggestion: number;
  diverged: boolean;
  plot?: string;
}

/** Runs the range test on a fresh model built from the configuration; draws it if `out` is given. */
export async function lrFind(config: LrFindConfig): Promise<LrFindResult> {
  const c = optionsObject(config, 'config', true);
  checkKnownKeys(c, ['data', 'model', 'loss', 'batch', 'seed', 'device', 'precision', 'threads', 'augment', 'weightDecay', 'freeze', 'startLr', 'endLr', 'steps', 'out'], 'config');
  const { freeze, startLr, endLr, steps, out, ...rest } = c;
  const given = resolveTrainConfig(rest);
  if (given.distributed) throw typeError('config.distributed', 'no such option for lrFind (the range test runs in one process)', rest.distributed);
  const phaseFreeze = oneOf(freeze, 'config.freeze', FREEZE_MODES, 'none');
  const start = finiteNumber(startLr, 'config.startLr', 1e-7);
  const end = finiteNumber(endLr, 'config.endLr', 10);
  if (!(start > 0)) throw rangeError('config.startLr', 'a positive number', startLr);
  if (!(end > start)) throw rangeError('config.endLr', `a number above config.startLr (${start})`, endLr);
  const count = steps === undefined ? 100 : positiveInteger(steps, 'config.steps');
  if (count < 3) throw rangeError('config.steps', 'at least 3', steps);
  if (out !== undefined && (typeof out !== 'string' || !/\.(png|svg)$/i.test(out))) throw typeError('config.out', 'a .png or .svg file path', out);
  if (given.threads !== null) binding.setNumThreads(given.threads);

  const dataset = await loadDataset(given.data, given.seed);
  let model = resolveStem(given.model, dataset);
  const weights = model.pretrained !== null ? await readPretrained(model.pretrained) : null;
  if (weights) model = { ...model, inputChannels: pretrainedInputChannels(weights, dataset.channels) };
  const resolved = { ...given, model };
  const trainer = createTrainer(nativeTrainerOptions(resolved, dataset.channels));
  trainer.setData({ ...setDataOptions(dataset, false), normalisation: weights?.normalisation ?? dataset.normalisation });
  if (weights) await loadPretrained(trainer, weights, resolved.model.backbone);
  const plans = [];
  let planned = 0;
  for (let epoch = 0; planned < count; epoch++) {
    const plan = epochPlan(resolved, dataset, epoch);
    plans.push(plan.indices);
    planned += plan.steps;
  }
  const batchSize = Math.min(resolved.batch.classes, dataset.classes) * resolved.batch.perClass;
  const indices = new Int32Array(count * batchSize);
  let filled = 0;
  for (const p of plans) {
    const take = Math.min(p.length, indices.length - filled);
    indices.set(p.subarray(0, take), filled);
    filled += take;
  }
  const r = await withFeed(trainer, dataset, 'train', indices, batchSize, { concurrency: resolved.threads ?? undefined }, () =>
    trainer.lrFind({ indices, batchSize, freeze: phaseFreeze, startLr: start, endLr: end }),
  );
  const result: LrFindResult = {
    lrs: Array.from(r.lrs),
    losses: Array.from(r.losses),
    smoothed: Array.from(r.smoothed),
    suggestion: r.suggestion,
    diverged: r.diverged,
  };
  if (typeof out === 'string') {
    const title = `learning-rate range test: ${dataset.name}, ${resolved.model.backbone}, ${phaseFreeze === 'backbone' ? 'head + BatchNorm (phase 1)' : 'all layers (phase 2)'}`;
    await writePicture(out, lrFindSpec(result, title));
    result.plot = path.resolve(out);
  }
  return result;
}
