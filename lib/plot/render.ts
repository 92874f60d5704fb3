// Draws a Vega-Lite specification to SVG text or PNG bytes on a worker thread (render-worker.js
// beside this file), so that the caller's event loop keeps turning while Vega lays the picture
// out and resvg rasterises it: hundreds of milliseconds for a few thousand points.
//
// One worker a picture: it loads Vega (about a fifth of a second), draws, answers and ends,
// so nothing is left to keep the process alive and a failure cannot poison the next render.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SemihardError } from '../errors';
import { writeFileAtomic } from '../files';

export type PictureFormat = 'svg' | 'png';

/** lib/plot/ under ts-jest, dist/lib/plot/ once built (scripts/copy-binding-types.js puts it there). */
const WORKER_FILE = path.join(__dirname, 'render-worker.js');

function failed(why: string, cause?: unknown): SemihardError {
  return new SemihardError('ERR_SEMIHARD_PLOT', `Could not draw the picture: ${why}`, cause === undefined ? undefined : { cause });
}

/** The picture as UTF-8 SVG text or PNG bytes, drawn off the event loop. */
export function renderPicture(spec: object, format: PictureFormat): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      finish();
    };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_FILE, { workerData: { spec, format } });
    } catch (err) {
      reject(failed(`the render worker ${WORKER_FILE} did not start (${(err as Error).message})`, err));
      return;
    }
    worker.once('message', (m: { bytes?: ArrayBuffer; error?: string; stack?: string }) => {
      if (m.bytes) {
        settle(() => resolve(Buffer.from(m.bytes!)));
      } else {
        const inner = Object.assign(new Error(m.error), { stack: m.stack });
        settle(() => reject(failed(m.error ?? 'the render worker gave no reason', inner)));
      }
    });
    worker.once('error', (err) => settle(() => reject(failed(err.message, err))));
    worker.once('exit', (code) => settle(() => reject(failed(`the render worker exited with code ${code} before answering`))));
  });
}

/** Draws `spec` into `file` (.svg or .png by its extension), written atomically. */
export async function writePicture(file: string, spec: object): Promise<void> {
  await writeFileAtomic(file, await renderPicture(spec, /\.svg$/i.test(file) ? 'svg' : 'png'));
}
