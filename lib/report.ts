// report(): one self-contained HTML page for a trained model: the run, its training curves,
// kNN / linear / SVM / retrieval metrics, the per-class table, the kNN confusion matrix, an
// interactive map of the validation embeddings (t-SNE or PCA) with thumbnails and each point's
// exact nearest neighbours, and the worst mistakes. Every number is computed here through the
// native side (evaluate, nearestNeighbours, projectEmbeddings); the page only shows them.
// The page itself: report/page.ts (template, escaping, CSP), report/page-script.js (browser).
import * as path from 'node:path';
import { binding } from './binding';
import { loadDataset, type DataSource } from './data/datasets';
import { resolveDataSource } from './data/source';
import { embedImageSet } from './embed-set';
import { rangeError, rangeErrorWithMessage, typeError } from './errors';
import { DEVICES, PRECISIONS, PROJECTION_METHODS, type Device, type Precision, type ProjectionMethod } from './enums';
import { DEFAULT_KNN_K, evaluate, type Metrics } from './evaluate';
import { writeFileAtomic } from './files';
import { loadModel } from './model';
import { DEFAULT_NEIGHBOURS, nearestNeighbours } from './neighbours';
import { stratifiedSample } from './plot';
import { compileSpecs, renderReportPage, type ReportHistory, type ReportPageData } from './report/page';
import { makeThumbnails } from './report/thumbnails';
import type { HistoryEntry } from './train/types';
import { checkKnownKeys, nonNegativeInteger, oneOf, optionsObject, positiveInteger } from './validate';

export interface ReportOptions {
  /** A training checkpoint (last.ckpt). */
  checkpoint: string;
  /** The HTML file to write (atomically). */
  out: string;
  /** The data to embed (default: the checkpoint's). */
  data?: DataSource;
  /** The map's projection (default 'tsne'). */
  method?: ProjectionMethod;
  /** Validation samples on the map at most, a seeded per-class sample (default 5,000). */
  maxPoints?: number;
  /** Neighbours of kNN accuracy (default 5). */
  k?: number;
  /** Neighbours listed for a clicked point (default 8). */
  neighbours?: number;
  /** Thumbnails' longer side at most, in pixels (default 64; smaller images keep their size). */
  thumbnailSize?: number;
  /** Worst mistakes shown (default 30). */
  mistakes?: number;
  device?: Device;
  precision?: Precision;
  /** The page's title (default: data set, backbone and loss). */
  title?: string;
  /** The map's sample and t-SNE seed (default: the checkpoint's seed). */
  seed?: number;
  onProgress?: (event: ReportProgressEvent) => void;
}

export interface ReportProgressEvent {
  stage: 'embed-train' | 'embed-valid' | 'evaluate' | 'project' | 'neighbours' | 'thumbnails' | 'write';
  done: number;
  total: number;
}

export interface ReportResult {
  file: string;
  /** The file's size in bytes. */
  bytes: number;
  /** Points on the map. */
  points: number;
  metrics: Metrics;
}

export const DEFAULT_REPORT_POINTS = 5000;

const KEYS = ['checkpoint', 'out', 'data', 'method', 'maxPoints', 'k', 'neighbours', 'thumbnailSize', 'mistakes', 'device', 'precision', 'title', 'seed', 'onProgress'];

/** Training history as the page's curves take it: epochs in run order, steps with their learning rates, phase starts. */
function reportHistory(history: HistoryEntry[]): ReportHistory {
  const phases: ReportHistory['phases'] = [];
  history.forEach((h, e) => {
    if (e > 0 && history[e - 1].phase !== h.phase) phases.push({ epoch: e, label: `phase ${h.phase + 1}` });
  });
  return {
    epochs: history.map((h, e) => ({ epoch: e, phase: h.phase, phaseEpoch: h.epoch, trainLoss: h.trainLoss, validLoss: h.validLoss, seconds: h.seconds })),
    steps: history.flatMap((h, e) =>
      h.stepLosses.map((loss, step) => ({ epoch: e, step, steps: h.stepLosses.length, loss, lr: h.stepLrs?.[step] ?? null })),
    ),
    phases,
  };
}

/** Writes the HTML report of a trained model; resolves once the file is in place. */
export async function report(options: ReportOptions): Promise<ReportResult> {
  const o = optionsObject(options, 'options', true);
  checkKnownKeys(o, KEYS, 'options');
  if (typeof o.checkpoint !== 'string') throw typeError('options.checkpoint', 'a file path', o.checkpoint);
  if (o.checkpoint.length === 0) throw rangeError('options.checkpoint', 'a file path', o.checkpoint);
  if (typeof o.out !== 'string') throw typeError('options.out', 'an .html file path', o.out);
  if (!/\.html?$/i.test(o.out)) throw rangeError('options.out', 'an .html file path', o.out);
  const method = oneOf(o.method, 'options.method', PROJECTION_METHODS, 'tsne');
  const maxPoints = o.maxPoints === undefined ? DEFAULT_REPORT_POINTS : positiveInteger(o.maxPoints, 'options.maxPoints');
  const k = o.k === undefined ? DEFAULT_KNN_K : positiveInteger(o.k, 'options.k');
  const neighbourCount = o.neighbours === undefined ? DEFAULT_NEIGHBOURS : positiveInteger(o.neighbours, 'options.neighbours');
  const thumbnailSize = o.thumbnailSize === undefined ? 64 : positiveInteger(o.thumbnailSize, 'options.thumbnailSize');
  if (thumbnailSize > 512) throw rangeError('options.thumbnailSize', 'at most 512 pixels', o.thumbnailSize);
  const mistakeCount = nonNegativeInteger(o.mistakes, 'options.mistakes', 30);
  const device = oneOf(o.device, 'options.device', DEVICES, 'auto');
  const precision = oneOf(o.precision, 'options.precision', PRECISIONS, 'fp32');
  if (o.title !== undefined && typeof o.title !== 'string') throw typeError('options.title', 'a string', o.title);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw typeError('options.onProgress', 'a function', o.onProgress);
  const givenSeed = o.seed === undefined ? undefined : nonNegativeInteger(o.seed, 'options.seed', 0);
  // The data source's own checks (loadDataset repeats them), before the model is loaded.
  const source = o.data === undefined ? undefined : resolveDataSource(o.data);
  const onProgress = o.onProgress as ReportOptions['onProgress'];
  const out = path.resolve(o.out);

  const model = await loadModel(o.checkpoint, { device, precision });
  const header = model.checkpoint;
  const config = header.config;
  const seed = givenSeed ?? config.seed;
  const geometry = { height: model.height, width: model.width, storedHeight: model.storedHeight, storedWidth: model.storedWidth, channels: model.channels };
  const dataset = await loadDataset(source ?? config.data, config.seed, { geometry });
  const nameOf = (label: number): string => dataset.classNames[label] ?? String(label);

  const progress = (stage: ReportProgressEvent['stage']) => (done: number, total: number) => onProgress?.({ stage, done, total });
  const train = await embedImageSet(model, dataset.train, { onProgress: progress('embed-train') });
  const valid = await embedImageSet(model, dataset.valid, { onProgress: progress('embed-valid') });
  onProgress?.({ stage: 'evaluate', done: 0, total: 1 });
  const metrics = await evaluate(
    { train: { embeddings: train, labels: dataset.train.labels, dim: model.dim }, valid: { embeddings: valid, labels: dataset.valid.labels, dim: model.dim } },
    { k, device },
  );
  onProgress?.({ stage: 'evaluate', done: 1, total: 1 });

  // The map: a seeded per-class sample of the validation set, its projection and neighbours.
  const rows = stratifiedSample(dataset.valid.labels, maxPoints, seed);
  if (rows.length < 2) {
    throw rangeErrorWithMessage(
      o.maxPoints === undefined ? 'data' : 'options.maxPoints',
      `Expected at least 2 validation samples on the map but ${o.maxPoints === undefined ? 'the validation set holds' : 'options.maxPoints allows'} ${rows.length}`,
    );
  }
  const x = new Float32Array(rows.length * model.dim);
  const labels = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    x.set(valid.subarray(row * model.dim, (row + 1) * model.dim), i * model.dim);
    labels[i] = dataset.valid.labels[row];
  });
  onProgress?.({ stage: 'project', done: 0, total: 1 });
  const xy = await binding.projectEmbeddings(x, model.dim, method);
  onProgress?.({ stage: 'project', done: 1, total: 1 });
  const k2 = Math.min(neighbourCount, rows.length - 1);
  const table = await nearestNeighbours({ embeddings: x, labels, dim: model.dim }, { k: k2, device });
  onProgress?.({ stage: 'neighbours', done: 1, total: 1 });
  const thumbs = await makeThumbnails(dataset.valid, rows, model, thumbnailSize, progress('thumbnails'));

  // Coordinates and distances travel with 6 significant digits (the page shows 4 decimals):
  // float32 values printed in full would be a third of a large page.
  const short = (v: number): number => Number(v.toPrecision(6));
  const points = rows.map((row, i) => ({ i, x: short(xy[2 * i]), y: short(xy[2 * i + 1]), cls: nameOf(labels[i]), index: row, source: dataset.valid.files?.[row] ?? null }));
  const neighbours = { k: k2, indices: [] as number[][], distances: [] as number[][] };
  for (let i = 0; i < rows.length; i++) {
    neighbours.indices.push(Array.from(table.indices.subarray(i * k2, (i + 1) * k2)));
    neighbours.distances.push(Array.from(table.distances.subarray(i * k2, (i + 1) * k2), short));
  }
  const mistakes = Array.from(table.mistakes.subarray(0, mistakeCount), (i) => ({
    point: i,
    neighbour: table.indices[i * k2],
    distance: short(table.distances[i * k2]),
    sameClassDistance: Number.isNaN(table.nearestSameLabel[i]) ? null : short(table.nearestSameLabel[i]),
  }));
  const confusionNames = metrics.confusion.labels.map(nameOf);
  const c = metrics.confusion;
  const confusion = c.counts.map((count, cell) => ({ truth: confusionNames[c.rows[cell]], predicted: confusionNames[c.columns[cell]], count }));
  const classOrder = dataset.classNames.length > 0 ? dataset.classNames : [...new Set(points.map((p) => p.cls))];

  const data: ReportPageData = {
    run: {
      title: (o.title as string | undefined) ?? `${dataset.name}: ${config.model.backbone}, ${config.loss.kind} triplet loss`,
      checkpoint: path.resolve(o.checkpoint),
      data: dataset.name,
      classNames: dataset.classNames,
      config,
      versions: { semihard: header.version, libtorchTraining: header.torchVersion, libtorchReport: binding.info().torchVersion },
      steps: header.globalStep,
      trainingSeconds: header.history.reduce((s, h) => s + h.seconds, 0),
      device: header.ranOn ?? `device setting '${config.device}' (this checkpoint does not record where it ran)`,
      precision: config.precision,
      finished: header.finished,
      createdAt: header.createdAt,
      generatedAt: new Date().toISOString(),
    },
    history: reportHistory(header.history),
    metrics: {
      k,
      knnAccuracy: metrics.knnAccuracy,
      linearAccuracy: metrics.linearAccuracy,
      svmAccuracy: metrics.svmAccuracy,
      precisionAt1: metrics.precisionAt1,
      rPrecision: metrics.rPrecision,
      mapAtR: metrics.mapAtR,
      retrievalQueries: metrics.retrievalQueries,
      trainCount: dataset.train.count,
      validCount: dataset.valid.count,
      perClass: metrics.perClass.map((c) => ({ name: nameOf(c.label), count: c.count, knnAccuracy: c.knnAccuracy })),
    },
    confusion,
    confusionClasses: confusionNames.length,
    map: { method, validCount: dataset.valid.count, points, thumbnails: thumbs.data, thumbnailType: thumbs.type, thumbnailSize },
    neighbours,
    mistakes,
    specs: compileSpecs(classOrder, points.length, confusionNames),
  };
  const html = Buffer.from(renderReportPage(data), 'utf8');
  await writeFileAtomic(out, html);
  onProgress?.({ stage: 'write', done: 1, total: 1 });
  return { file: out, bytes: html.length, points: points.length, metrics };
}
