// The Vega-Lite specifications of the library's pictures: the embeddings' scatter plot, the
// training curves and the learning-rate range test. Plain data in, plain data out: they are
// drawn by render.ts on a worker thread.
import type { LrFindResult } from '../lr-find';

export const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/** What every picture shares: exact pixel size, white background, title, fonts. */
export function chartFrame(title: string | undefined, width: number, height: number): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 16,
    background: 'white',
    ...(title ? { title: { text: title, fontSize: 18, font: FONT, anchor: 'start', offset: 12 } } : {}),
  };
}

/** The Vega-Lite specification of the scatter plot (exported for tests and reuse). */
export function scatterSpec(points: { x: number; y: number; cls: string }[], options: { title?: string; width: number; height: number; classOrder: string[] }): object {
  const size = Math.max(4, Math.min(40, 60000 / Math.max(points.length, 1)));
  return {
    ...chartFrame(options.title, options.width, options.height),
    config: { font: FONT, view: { stroke: '#dddddd' }, legend: { labelFontSize: 13, titleFontSize: 14, symbolSize: 120 } },
    data: { values: points },
    mark: { type: 'circle', size, opacity: 0.7, stroke: null },
    encoding: {
      x: { field: 'x', type: 'quantitative', axis: null, scale: { zero: false, nice: false, padding: 12 } },
      y: { field: 'y', type: 'quantitative', axis: null, scale: { zero: false, nice: false, padding: 12 } },
      color: {
        field: 'cls',
        type: 'nominal',
        title: 'class',
        sort: options.classOrder,
        scale: { scheme: options.classOrder.length <= 10 ? 'tableau10' : 'category20' },
        legend: { orient: 'right', symbolOpacity: 1 },
      },
    },
  };
}

/** An epoch of the history as historySpec reads it (stats: absent in older checkpoints). */
export interface HistoryPoint {
  phase: number;
  epoch: number;
  trainLoss: number;
  validLoss: number;
  stepLosses?: number[];
  stats?: { activeFraction: number | null; semiHardFraction: number | null; spread: number | null } | null;
}

/**
 * Vega-Lite: per-epoch train and valid loss, and the per-step train loss (moving average);
 * below it, when the history has stats, a second panel: the active and semi-hard fractions
 * and the spread per epoch (one 0-based axis: fractions in [0, 1], the spread of unit-norm
 * embeddings in [0, 2)).
 */
export function historySpec(history: HistoryPoint[], title: string): object {
  const epochs: { x: number; loss: number; series: string }[] = [];
  const steps: { x: number; loss: number }[] = [];
  const stats: { x: number; value: number; series: string }[] = [];
  history.forEach((h, i) => {
    epochs.push({ x: i + 1, loss: h.trainLoss, series: 'train (epoch mean)' }, { x: i + 1, loss: h.validLoss, series: 'valid' });
    const n = h.stepLosses?.length ?? 0;
    h.stepLosses?.forEach((loss, s) => steps.push({ x: i + (s + 1) / n, loss }));
    const st = h.stats;
    if (!st) return;
    for (const [series, value] of [['active fraction', st.activeFraction], ['semi-hard fraction', st.semiHardFraction], ['spread', st.spread]] as const) {
      if (value !== null) stats.push({ x: i + 1, value, series });
    }
  });
  const x = { field: 'x', type: 'quantitative', title: 'epoch', scale: { domainMin: 0 } };
  const config = { font: FONT, axis: { labelFontSize: 12, titleFontSize: 14 }, legend: { labelFontSize: 13 } };
  const losses = [
    {
      data: { values: steps },
      transform: [{ window: [{ op: 'mean', field: 'loss', as: 'smooth' }], frame: [-15, 0] }],
      mark: { type: 'line', color: '#9ecae1', strokeWidth: 1.5 },
      encoding: { x, y: { field: 'smooth', type: 'quantitative', title: 'loss', scale: { zero: false } } },
    },
    {
      data: { values: epochs },
      mark: { type: 'line', point: { size: 60 }, strokeWidth: 2.5 },
      encoding: {
        x,
        y: { field: 'loss', type: 'quantitative' },
        color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#1f77b4', '#ff7f0e'] }, legend: { orient: 'top-right', labelLimit: 400 } },
      },
    },
  ];
  if (stats.length === 0) return { ...chartFrame(title, 800, 500), config, layer: losses };
  // Fractions and the spread of unit-norm embeddings (at most 2) share one axis from 0.
  const top = stats.some((p) => p.value > 1) ? 2 : 1;
  // Two panels stacked: each sizes itself (a concatenation cannot 'fit' one frame).
  const { width: _w, height: _h, autosize: _a, ...frame } = chartFrame(title, 800, 500);
  return {
    ...frame,
    config,
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      { width: 800, height: 330, layer: losses },
      {
        width: 800,
        height: 170,
        data: { values: stats },
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'fraction · spread', scale: { domain: [0, top] } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['active fraction', 'semi-hard fraction', 'spread'], range: ['#2ca02c', '#9467bd', '#d62728'] },
            // Beside the panel: its lines run along the top (fractions) and the bottom (a collapse).
            legend: { orient: 'right', labelLimit: 400 },
          },
        },
      },
    ],
  };
}

/** Vega-Lite: smoothed and raw loss against a log-scale learning rate, the suggestion marked. */
export function lrFindSpec(r: Pick<LrFindResult, 'lrs' | 'losses' | 'smoothed' | 'suggestion'>, title: string): object {
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
