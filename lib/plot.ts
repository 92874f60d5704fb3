// plotEmbeddings(): a 2-D picture (t-SNE or PCA, computed natively) of embeddings coloured
// by class, drawn with Vega-Lite to SVG and, for .png, rasterised by resvg.
//
// Libraries: vega + vega-lite (a declarative grammar of graphics that renders to SVG in
// Node without a browser or canvas, with legends and colour schemes done right) and
// @resvg/resvg-js (a maintained SVG renderer shipped as prebuilt npm binaries, no system
// libraries; text uses the system's fonts, DejaVu Sans preferred).
import * as path from 'node:path';
import { binding } from './binding';
import { readCheckpoint } from './checkpoint';
import { rangeError, rangeErrorWithMessage, typeError } from './errors';
import { checkEmbeddingSet, type EmbeddingSet } from './evaluate';
import { writeFileAtomic } from './files';
import { Random } from './random';
import type { TrainCheckpointHeader } from './train';
import { checkKnownKeys, nonNegativeInteger, optionsObject, oneOf, positiveInteger } from './validate';

export interface PlotOptions {
  /** Output file: .png or .svg. */
  out: string;
  method?: 'tsne' | 'pca';
  /** At most this many points, a seeded stratified sample (default 10,000). */
  maxPoints?: number;
  title?: string;
  /** Names for labels 0, 1, 2, ... in the legend. */
  classNames?: string[];
  seed?: number;
  /** Pixel size of the whole picture (default 900 × 800). */
  width?: number;
  height?: number;
  /** t-SNE perplexity (default 30) and iterations (default 750). */
  perplexity?: number;
  iterations?: number;
}

export interface PlotResult {
  file: string;
  points: number;
  coordinates: Float32Array;
}

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

/** Up to `max` indices, the same share of every class, in a seeded order. */
function stratifiedSample(labels: ArrayLike<number | bigint>, max: number, seed: number): number[] {
  const n = labels.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const byClass = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = String(labels[i]);
    if (!byClass.has(key)) byClass.set(key, []);
    byClass.get(key)!.push(i);
  }
  const random = new Random(seed);
  const picked: number[] = [];
  for (const members of byClass.values()) {
    random.shuffle(members);
    picked.push(...members.slice(0, Math.max(1, Math.round((members.length * max) / n))));
  }
  return picked.slice(0, max).sort((a, b) => a - b);
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

/** Renders a Vega-Lite specification to SVG text. */
export async function renderSvg(spec: object): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vega = require('vega') as typeof import('vega');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vegaLite = require('vega-lite') as typeof import('vega-lite');
  const view = new vega.View(vega.parse(vegaLite.compile(spec as never).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG text to PNG bytes at its own pixel size. */
export function renderPng(svg: string): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  return Buffer.from(new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng());
}

/** Projects embeddings to 2-D and writes the picture (atomically). */
export async function plotEmbeddings(set: EmbeddingSet, options: PlotOptions): Promise<PlotResult> {
  const checked = checkEmbeddingSet(set, 'set');
  const o = optionsObject(options, 'options', true);
  checkKnownKeys(o, ['out', 'method', 'maxPoints', 'title', 'classNames', 'seed', 'width', 'height', 'perplexity', 'iterations'], 'options');
  if (typeof o.out !== 'string') throw typeError('options.out', 'a .png or .svg file path', o.out);
  const format = path.extname(o.out).toLowerCase();
  if (format !== '.png' && format !== '.svg') throw rangeError('options.out', 'a file name ending in .png or .svg', o.out);
  const method = oneOf(o.method, 'options.method', ['tsne', 'pca'] as const, 'tsne');
  const maxPoints = o.maxPoints === undefined ? 10000 : positiveInteger(o.maxPoints, 'options.maxPoints');
  const width = o.width === undefined ? 900 : positiveInteger(o.width, 'options.width');
  const height = o.height === undefined ? 800 : positiveInteger(o.height, 'options.height');
  const seed = nonNegativeInteger(o.seed, 'options.seed', 0);
  if (o.title !== undefined && typeof o.title !== 'string') throw typeError('options.title', 'a string', o.title);
  if (o.classNames !== undefined && !(Array.isArray(o.classNames) && o.classNames.every((c) => typeof c === 'string'))) {
    throw typeError('options.classNames', 'an array of strings', o.classNames);
  }
  const tsne: { perplexity?: number; iterations?: number } = {};
  if (o.perplexity !== undefined) {
    if (typeof o.perplexity !== 'number' || !(o.perplexity > 0)) throw rangeError('options.perplexity', 'a positive number', o.perplexity);
    tsne.perplexity = o.perplexity;
  }
  if (o.iterations !== undefined) tsne.iterations = positiveInteger(o.iterations, 'options.iterations');

  const picked = stratifiedSample(checked.labels, maxPoints, seed);
  if (picked.length < 2) throw rangeErrorWithMessage('set.embeddings', 'Expected at least 2 embeddings to plot');
  const x = new Float32Array(picked.length * checked.dim);
  picked.forEach((row, i) => x.set(checked.embeddings.subarray(row * checked.dim, (row + 1) * checked.dim), i * checked.dim));
  const xy = await binding.projectEmbeddings(x, checked.dim, method, tsne);
  const names = o.classNames as string[] | undefined;
  const nameOf = (label: number | bigint): string => (names && Number(label) < names.length ? names[Number(label)] : String(label));
  const points = picked.map((row, i) => ({ x: xy[2 * i], y: xy[2 * i + 1], cls: nameOf(checked.labels[row]) }));
  const labelOrder = [...new Set(picked.map((row) => Number(checked.labels[row])))].sort((a, b) => a - b).map(nameOf);
  const svg = await renderSvg(scatterSpec(points, { title: o.title as string | undefined, width, height, classOrder: labelOrder }));
  await writeFileAtomic(o.out, format === '.svg' ? Buffer.from(svg, 'utf8') : renderPng(svg));
  return { file: path.resolve(o.out), points: picked.length, coordinates: xy };
}

/** Vega-Lite: per-epoch train and valid loss, and the per-step train loss (moving average). */
export function historySpec(history: { phase: number; epoch: number; trainLoss: number; validLoss: number; stepLosses?: number[] }[], title: string): object {
  const epochs: { x: number; loss: number; series: string }[] = [];
  const steps: { x: number; loss: number }[] = [];
  history.forEach((h, i) => {
    epochs.push({ x: i + 1, loss: h.trainLoss, series: 'train (epoch mean)' }, { x: i + 1, loss: h.validLoss, series: 'valid' });
    const n = h.stepLosses?.length ?? 0;
    h.stepLosses?.forEach((loss, s) => steps.push({ x: i + (s + 1) / n, loss }));
  });
  const x = { field: 'x', type: 'quantitative', title: 'epoch', scale: { domainMin: 0 } };
  return {
    ...chartFrame(title, 800, 500),
    config: { font: FONT, axis: { labelFontSize: 12, titleFontSize: 14 }, legend: { labelFontSize: 13 } },
    layer: [
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
    ],
  };
}

/** Draws the training curves recorded in a training checkpoint (.png or .svg). */
export async function plotHistory(checkpoint: string, options: { out: string; title?: string }): Promise<string> {
  if (typeof checkpoint !== 'string') throw typeError('checkpoint', 'a file path', checkpoint);
  const o = optionsObject(options, 'options', true);
  checkKnownKeys(o, ['out', 'title'], 'options');
  if (typeof o.out !== 'string' || !/\.(png|svg)$/i.test(o.out)) throw typeError('options.out', 'a .png or .svg file path', o.out);
  const { header } = await readCheckpoint<TrainCheckpointHeader>(checkpoint);
  const title = (o.title as string | undefined) ?? `training curves: ${header.dataset.name}, ${header.config.model.backbone}, ${header.config.loss.kind} loss`;
  const svg = await renderSvg(historySpec(header.history, title));
  await writeFileAtomic(o.out, /\.svg$/i.test(o.out) ? Buffer.from(svg) : renderPng(svg));
  return path.resolve(o.out);
}
