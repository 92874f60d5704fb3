// The Vega-Lite specifications of the HTML report's charts. They hold no data: every data set
// is named and filled in the browser from the page's JSON block (page-script.js), so nothing
// a user's folders name (class names, file paths) ever becomes part of a specification, an
// expression or the page's markup. Class orders reach Vega as literal scale domains, never as
// expression text.
import { FONT } from '../plot/specs';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** The point colours for `classes` classes: tableau10 up to 10, category20 up to 20, then a cycled turbo ramp. */
function colourScheme(classes: number): Record<string, unknown> {
  if (classes <= 10) return { scheme: 'tableau10' };
  if (classes <= 20) return { scheme: 'category20' };
  return { scheme: 'turbo' };
}

/**
 * The embedding map: data 'points' ({ i, x, y, cls }); signal 'hidden' (the class names the
 * page's legend hid: their points are drawn transparent). Wheel zoom and drag pan (an interval selection bound to the scales;
 * double-click resets). The legend is the page's own (HTML), so Vega draws none.
 */
export function mapSpec(options: { classOrder: string[]; points: number; width: number; height: number }): object {
  const size = Math.max(6, Math.min(60, 90000 / Math.max(options.points, 1)));
  return {
    $schema: SCHEMA,
    width: options.width,
    height: options.height,
    padding: 4,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    config: { font: FONT, view: { stroke: '#dddddd' } },
    data: { name: 'points' },
    params: [
      { name: 'zoom', select: { type: 'interval' }, bind: 'scales' },
      { name: 'hidden', value: [] },
    ],
    mark: { type: 'circle', size, stroke: null, cursor: 'pointer' },
    encoding: {
      x: { field: 'x', type: 'quantitative', axis: null, scale: { zero: false, nice: false, padding: 12 } },
      y: { field: 'y', type: 'quantitative', axis: null, scale: { zero: false, nice: false, padding: 12 } },
      color: { field: 'cls', type: 'nominal', legend: null, scale: { domain: options.classOrder, ...colourScheme(options.classOrder.length) } },
      opacity: { condition: { test: 'indexof(hidden, datum.cls) >= 0', value: 0 }, value: 0.75 },
    },
  };
}

/**
 * Training curves: data 'steps' ({ epoch: the 0-based epoch of the run, step, steps, loss,
 * lr }), 'epochs' ({ epoch, loss, series }), 'phases' ({ epoch: where a phase starts, label }).
 * The x position of a step (epoch + (step + 1) / steps) is computed by Vega.
 */
export function curvesSpec(options: { width: number; height: number; title: string; field: 'loss' | 'lr' }): object {
  const x = { field: 'x', type: 'quantitative', title: 'epoch', scale: { domainMin: 0 } };
  const stepX = { calculate: 'datum.epoch + (datum.step + 1) / datum.steps', as: 'x' };
  const phaseRules = {
    data: { name: 'phases' },
    transform: [{ calculate: 'datum.epoch', as: 'x' }],
    layer: [
      { mark: { type: 'rule', color: '#888888', strokeDash: [5, 4] }, encoding: { x } },
      { mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, y: 4, color: '#555555', fontSize: 12 }, encoding: { x, text: { field: 'label' } } },
    ],
  };
  const base = {
    $schema: SCHEMA,
    width: options.width,
    height: options.height,
    padding: 4,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    title: { text: options.title, anchor: 'start', fontSize: 15, font: FONT },
    config: { font: FONT, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 12 } },
  };
  if (options.field === 'lr') {
    return {
      ...base,
      layer: [
        {
          data: { name: 'steps' },
          transform: [stepX, { filter: 'isValid(datum.lr)' }],
          mark: { type: 'line', color: '#2ca02c', strokeWidth: 2 },
          encoding: { x, y: { field: 'lr', type: 'quantitative', title: 'learning rate (head)', axis: { format: '.1e' } } },
        },
        phaseRules,
      ],
    };
  }
  return {
    ...base,
    layer: [
      {
        data: { name: 'steps' },
        transform: [stepX, { window: [{ op: 'mean', field: 'loss', as: 'smooth' }], frame: [-15, 0] }],
        mark: { type: 'line', color: '#9ecae1', strokeWidth: 1.5 },
        encoding: { x, y: { field: 'smooth', type: 'quantitative', title: 'loss', scale: { zero: false } } },
      },
      {
        data: { name: 'epochs' },
        transform: [{ calculate: 'datum.epoch + 1', as: 'x' }],
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2.5 },
        encoding: {
          x,
          y: { field: 'loss', type: 'quantitative' },
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['train (epoch mean)', 'valid'], range: ['#1f77b4', '#ff7f0e'] }, legend: { orient: 'top-right' } },
        },
      },
      phaseRules,
    ],
  };
}

/** The kNN confusion matrix: data 'confusion' ({ truth, predicted, count }), every cell. */
export function confusionSpec(options: { classOrder: string[]; cell: number }): object {
  const n = options.classOrder.length;
  const axis = { labelLimit: 140, labelFontSize: n > 30 ? 8 : 11 };
  return {
    $schema: SCHEMA,
    width: n * options.cell,
    height: n * options.cell,
    padding: 4,
    background: 'white',
    config: { font: FONT, view: { stroke: null }, axis: { titleFontSize: 12 } },
    data: { name: 'confusion' },
    encoding: {
      x: { field: 'predicted', type: 'nominal', title: 'kNN prediction', scale: { domain: options.classOrder }, axis: { ...axis, labelAngle: -45, orient: 'top' } },
      y: { field: 'truth', type: 'nominal', title: 'true class', scale: { domain: options.classOrder }, axis },
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: { field: 'count', type: 'quantitative', title: 'samples', scale: { scheme: 'blues', type: 'sqrt' } },
        },
      },
      ...(n <= 20
        ? [
            {
              transform: [{ filter: 'datum.count > 0' }],
              mark: { type: 'text', fontSize: n > 12 ? 9 : 11 },
              encoding: { text: { field: 'count', type: 'quantitative' }, color: { value: '#222222' } },
            },
          ]
        : []),
    ],
  };
}
