// lrFind(): the learning-rate range test the recipe picks its rates with (fastai's
// lr_find), for the frozen or the unfrozen phase, and its picture.
import { createTrainer } from './binding';
import { loadDataset } from './data/datasets';
import { rangeError, typeError } from './errors';
import { FONT, chartFrame, renderPng, renderSvg } from './plot';
import { writeFileAtomic } from './files';
import { epochPlan, nativeTrainerOptions, resolveTrainConfig, type Freeze, type TrainConfig } from './train';
import { binding } from './binding';
import { checkKnownKeys, finiteNumber, oneOf, optionsObject, positiveInteger } from './validate';
import * as path from 'node:path';

export interface LrFindConfig extends Pick<TrainConfig, 'data' | 'model' | 'loss' | 'batch' | 'seed' | 'device' | 'threads' | 'augment' | 'weightDecay'> {
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
  /** Where the smoothed loss falls fastest against log(lr). */
  suggestion: number;
  diverged: boolean;
  plot?: string;
}

/** Vega-Lite: smoothed and raw loss against a log-scale learning rate, the suggestion marked. */
export function lrFindSpec(r: Omit<LrFindResult, 'plot'>, title: string): object {
  const values = r.lrs.map((lr, i) => ({ lr, loss: r.losses[i], smoothed: r.smoothed[i] }));
  const decades: number[] = [];
  for (let e = Math.floor(Math.log10(r.lrs[0])); e <= Math.ceil(Math.log10(r.lrs[r.lrs.length - 1])); e++) decades.push(10 ** e);
  const x = { field: 'lr', type: 'quantitative', scale: { type: 'log' }, title: 'learning rate (log scale)', axis: { format: '.0e', values: decades } };
  return {
    ...chartFrame(title, 800, 500),
    config: { font: FONT, axis: { labelFontSize: 12, titleFontSize: 14 } },
    data: { values },
    layer: [
      { mark: { type: 'line', color: '#bbbbbb', strokeWidth: 1 }, encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } } } },
      { mark: { type: 'line', color: '#1f77b4', strokeWidth: 2.5 }, encoding: { x, y: { field: 'smoothed', type: 'quantitative' } } },
      ...(r.suggestion > 0
        ? [
            { data: { values: [{ lr: r.suggestion }] }, mark: { type: 'rule', color: '#d62728', strokeDash: [6, 4], strokeWidth: 2 }, encoding: { x } },
            {
              data: { values: [{ lr: r.suggestion, text: `suggested ${r.suggestion.toExponential(1)}` }] },
              mark: { type: 'text', color: '#d62728', align: 'left', dx: 6, dy: -8, fontSize: 14, y: 12 },
              encoding: { x, text: { field: 'text' } },
            },
          ]
        : []),
    ],
  };
}

/** Runs the range test on a fresh model built from the configuration; draws it if `out` is given. */
export async function lrFind(config: LrFindConfig): Promise<LrFindResult> {
  const c = optionsObject(config, 'config', true);
  checkKnownKeys(c, ['data', 'model', 'loss', 'batch', 'seed', 'device', 'threads', 'augment', 'weightDecay', 'freeze', 'startLr', 'endLr', 'steps', 'out'], 'config');
  const { freeze, startLr, endLr, steps, out, ...rest } = c;
  const resolved = resolveTrainConfig(rest);
  if (resolved.distributed) throw typeError('config.distributed', 'no such option for lrFind (the range test runs in one process)', rest.distributed);
  const phaseFreeze = oneOf(freeze, 'config.freeze', ['backbone', 'none'] as const, 'none');
  const start = finiteNumber(startLr, 'config.startLr', 1e-7);
  const end = finiteNumber(endLr, 'config.endLr', 10);
  if (!(start > 0)) throw rangeError('config.startLr', 'a positive number', startLr);
  if (!(end > start)) throw rangeError('config.endLr', `a number above config.startLr (${start})`, endLr);
  const count = steps === undefined ? 100 : positiveInteger(steps, 'config.steps');
  if (count < 3) throw rangeError('config.steps', 'at least 3', steps);
  if (out !== undefined && (typeof out !== 'string' || !/\.(png|svg)$/i.test(out))) throw typeError('config.out', 'a .png or .svg file path', out);
  if (resolved.threads !== null) binding.setNumThreads(resolved.threads);

  const dataset = loadDataset(resolved.data, resolved.seed);
  const trainer = createTrainer(nativeTrainerOptions(resolved));
  trainer.setData(dataset.train.images, dataset.train.labels, null, null, dataset.height, dataset.width);
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
  const r = await trainer.lrFind(indices, batchSize, phaseFreeze, start, end);
  const result: LrFindResult = {
    lrs: Array.from(r.lrs),
    losses: Array.from(r.losses),
    smoothed: Array.from(r.smoothed),
    suggestion: r.suggestion,
    diverged: r.diverged,
  };
  if (typeof out === 'string') {
    const title = `learning-rate range test: ${dataset.name}, ${resolved.model.backbone}, ${phaseFreeze === 'backbone' ? 'head + BatchNorm (phase 1)' : 'all layers (phase 2)'}`;
    const svg = await renderSvg(lrFindSpec(result, title));
    await writeFileAtomic(out, /\.svg$/i.test(out) ? Buffer.from(svg) : renderPng(svg));
    result.plot = path.resolve(out);
  }
  return result;
}
