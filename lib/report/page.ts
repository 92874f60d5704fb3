// The report's HTML: one self-contained file. Its markup is a fixed template that holds no
// data; the data (run, metrics, points, thumbnails, neighbours) travel as one JSON block in a
// <script type="application/json"> element, escaped so that no text in it can end the element,
// and page-script.js builds the page from it with DOM text nodes only. Vega and the CSP-safe
// expression interpreter are inlined, so the page opens offline from disk, and a Content
// Security Policy allows exactly the inlined scripts (by hash), data: images and nothing else:
// no network, no eval, no inline event handlers.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compile } from 'vega-lite';
import { confusionSpec, curvesSpec, mapSpec } from './specs';

export interface ReportRun {
  title: string;
  checkpoint: string;
  /** What the data source is, as a user reads it ('mnist', a folder). */
  data: string;
  classNames: string[];
  config: unknown;
  versions: { semihard: string; libtorchTraining: string; libtorchReport: string };
  steps: number;
  trainingSeconds: number;
  /** Where the training ran, in words (the checkpoint's ranOn), or the device setting of an older checkpoint. */
  device: string;
  precision: string;
  finished: boolean;
  createdAt: string;
  generatedAt: string;
}

export interface ReportHistory {
  epochs: { epoch: number; phase: number; phaseEpoch: number; trainLoss: number; validLoss: number; seconds: number }[];
  steps: { epoch: number; step: number; steps: number; loss: number; lr: number | null }[];
  phases: { epoch: number; label: string }[];
}

export interface ReportMetrics {
  k: number;
  knnAccuracy: number;
  linearAccuracy: number;
  svmAccuracy: number;
  precisionAt1: number;
  rPrecision: number;
  mapAtR: number;
  retrievalQueries: number;
  trainCount: number;
  validCount: number;
  perClass: { name: string; count: number; knnAccuracy: number }[];
}

export interface ReportMap {
  method: 'tsne' | 'pca';
  /** Validation samples in all; the map shows `points` of them. */
  validCount: number;
  /** i: the point's position in this array; index: its validation index; source: its file, or null. */
  points: { i: number; x: number; y: number; cls: string; index: number; source: string | null }[];
  /** Base64 image data, one per point. */
  thumbnails: string[];
  thumbnailType: 'image/png' | 'image/webp';
  /** The thumbnails' longer side in pixels. */
  thumbnailSize: number;
}

export interface ReportPageData {
  run: ReportRun;
  history: ReportHistory;
  metrics: ReportMetrics;
  /** The nonzero cells of the kNN confusion matrix (row = true class). */
  confusion: { truth: string; predicted: string; count: number }[];
  /** Classes on the confusion matrix's axes (train's and valid's). */
  confusionClasses: number;
  map: ReportMap;
  /** Each point's nearest other points of the map (positions in map.points), nearest first, with their distances. */
  neighbours: { k: number; indices: number[][]; distances: number[][] };
  /** Points whose nearest neighbour has another class, worst first. */
  mistakes: { point: number; neighbour: number; distance: number; sameClassDistance: number | null }[];
  /** The compiled Vega specifications of the charts. */
  specs: Record<'map' | 'loss' | 'lr' | 'confusion', object>;
}

/** JSON text safe inside a <script type="application/json"> element: no '<', '>', '&' or line separators left as themselves. */
export function jsonForScriptElement(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function asset(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  // Inlined scripts are hashed for the CSP and must not be able to end their element early.
  if (/<\/script|<!--/i.test(text)) throw new Error(`internal: ${file} holds text that would end an inline <script>`);
  return text;
}

/** lib/report/ under ts-jest, dist/lib/report/ once built (scripts/copy-binding-types.js puts them there). */
const PAGE_SCRIPT = path.join(__dirname, 'page-script.js');
const PAGE_STYLE = path.join(__dirname, 'page.css');

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The Vega specifications of the page's charts (Vega-Lite compiled here, so the page needs only Vega). */
export function compileSpecs(classOrder: string[], points: number, confusionOrder: string[]): ReportPageData['specs'] {
  const vega = (spec: object): object => compile(spec as Parameters<typeof compile>[0]).spec;
  return {
    map: vega(mapSpec({ classOrder, points, width: 760, height: 600 })),
    loss: vega(curvesSpec({ width: 560, height: 260, title: 'loss', field: 'loss' })),
    lr: vega(curvesSpec({ width: 560, height: 260, title: 'learning rate', field: 'lr' })),
    confusion: vega(confusionSpec({ classOrder: confusionOrder, cell: Math.max(12, Math.min(44, Math.floor(600 / Math.max(confusionOrder.length, 1)))) })),
  };
}

/** The whole page. */
export function renderReportPage(data: ReportPageData): string {
  const scripts = [
    asset(require.resolve('vega/build/vega.min.js')),
    asset(require.resolve('vega-interpreter/build/vega-interpreter.min.js')),
    asset(PAGE_SCRIPT),
  ];
  const style = asset(PAGE_STYLE);
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(' ')}`,
    `style-src ${sha256(style)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>semihard report</title>',
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    '<noscript>This report draws its charts with JavaScript: allow scripts for this file.</noscript>',
    '<main id="report"></main>',
    `<script type="application/json" id="semihard-data">${jsonForScriptElement(data)}</script>`,
    ...scripts.map((s) => `<script>${s}</script>`),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
