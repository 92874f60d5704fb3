// plotEmbeddings(): a 2-D picture (t-SNE or PCA, computed natively) of embeddings coloured
// by class, drawn with Vega-Lite to SVG and, for .png, rasterised by resvg; plotHistory():
// a training checkpoint's curves. The specifications are in plot/specs.ts; plot/render.ts
// draws them on a worker thread, off the event loop.
//
// Libraries: vega + vega-lite (a declarative grammar of graphics that renders to SVG in
// Node without a browser or canvas, with legends and colour schemes done right) and
// @resvg/resvg-js (a maintained SVG renderer shipped as prebuilt npm binaries, no system
// libraries; text uses the system's fonts, DejaVu Sans preferred).
import * as path from 'node:path';
import { binding } from './binding';
import { readCheckpoint } from './checkpoint';
import { rangeError, rangeErrorWithMessage, typeError } from './errors';
import { PROJECTION_METHODS, type ProjectionMethod } from './enums';
import { checkEmbeddingSet, type EmbeddingSet } from './evaluate';
import { writePicture } from './plot/render';
import { historySpec, scatterSpec } from './plot/specs';
import { Random } from './random';
import type { TrainCheckpointHeader } from './train';
import { checkKnownKeys, nonNegativeInteger, optionsObject, oneOf, positiveInteger } from './validate';

export interface PlotOptions {
  /** Output file: .png or .svg. */
  out: string;
  method?: ProjectionMethod;
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

/** Up to `max` indices, the same share of every class, in a seeded order. */
export function stratifiedSample(labels: ArrayLike<number | bigint>, max: number, seed: number): number[] {
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

/** Projects embeddings to 2-D and writes the picture (atomically). */
export async function plotEmbeddings(set: EmbeddingSet, options: PlotOptions): Promise<PlotResult> {
  const checked = checkEmbeddingSet(set, 'set');
  const o = optionsObject(options, 'options', true);
  checkKnownKeys(o, ['out', 'method', 'maxPoints', 'title', 'classNames', 'seed', 'width', 'height', 'perplexity', 'iterations'], 'options');
  if (typeof o.out !== 'string') throw typeError('options.out', 'a .png or .svg file path', o.out);
  const format = path.extname(o.out).toLowerCase();
  if (format !== '.png' && format !== '.svg') throw rangeError('options.out', 'a file name ending in .png or .svg', o.out);
  const method = oneOf(o.method, 'options.method', PROJECTION_METHODS, 'tsne');
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
  await writePicture(o.out, scatterSpec(points, { title: o.title as string | undefined, width, height, classOrder: labelOrder }));
  return { file: path.resolve(o.out), points: picked.length, coordinates: xy };
}

/** Draws the training curves recorded in a training checkpoint (.png or .svg). */
export async function plotHistory(checkpoint: string, options: { out: string; title?: string }): Promise<string> {
  if (typeof checkpoint !== 'string') throw typeError('checkpoint', 'a file path', checkpoint);
  const o = optionsObject(options, 'options', true);
  checkKnownKeys(o, ['out', 'title'], 'options');
  if (typeof o.out !== 'string' || !/\.(png|svg)$/i.test(o.out)) throw typeError('options.out', 'a .png or .svg file path', o.out);
  const { header } = await readCheckpoint<TrainCheckpointHeader>(checkpoint);
  const title = (o.title as string | undefined) ?? `training curves: ${header.dataset.name}, ${header.config.model.backbone}, ${header.config.loss.kind} loss`;
  await writePicture(o.out, historySpec(header.history, title));
  return path.resolve(o.out);
}
