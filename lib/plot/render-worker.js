'use strict';
// The worker thread behind lib/plot/render.ts: compiles a Vega-Lite specification, lays it out
// to SVG with Vega and, for PNG, rasterises it with resvg, so that none of it runs on the
// caller's event loop. Plain JavaScript so that the same file serves lib/ under ts-jest and
// dist/lib/ once built (scripts/copy-binding-types.js copies it there).
//
// In:  workerData = { spec: <Vega-Lite specification>, format: 'svg' | 'png' }
// Out: one message, { bytes: ArrayBuffer } (transferred: UTF-8 SVG text or PNG bytes) or
//      { error: string, stack?: string }; then the thread ends.
const { parentPort, workerData } = require('node:worker_threads');

async function render(spec, format) {
  const vega = require('vega');
  const vegaLite = require('vega-lite');
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  let svg;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  if (format === 'svg') return Buffer.from(svg, 'utf8');
  if (format !== 'png') throw new Error(`unknown picture format '${String(format)}'`);
  const { Resvg } = require('@resvg/resvg-js');
  const fonts = { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' };
  return new Resvg(svg, { background: 'white', font: fonts }).render().asPng();
}

render(workerData.spec, workerData.format).then(
  (bytes) => {
    // A copy that owns its whole ArrayBuffer (Buffers may share a pooled one), handed over without another copy.
    const owned = new Uint8Array(bytes.byteLength);
    owned.set(bytes);
    parentPort.postMessage({ bytes: owned.buffer }, [owned.buffer]);
  },
  (err) => {
    const error = err instanceof Error ? err : new Error(String(err));
    parentPort.postMessage({ error: error.message, stack: error.stack });
  },
);
