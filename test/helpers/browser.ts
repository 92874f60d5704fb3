/// <reference lib="dom" />
// The report's browser tests share this: the browser (scripts/browser.js, typed), the visible skip
// when there is none (a failure in CI, where .ci/run installs Debian's chromium), and what the
// tests ask the page's Vega view: where a point is on screen, and the point marks drawn.
import type { Browser, Page } from 'puppeteer-core';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const browser = require('../../scripts/browser.js') as {
  findChromium(): { path: string | null; reason?: string };
  launchBrowser(): Promise<Browser>;
  openReport(browser: Browser, file: string, options?: { width?: number; height?: number; timeout?: number }): Promise<Opened>;
};

export interface Opened {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  requests: string[];
}

export const { launchBrowser, openReport } = browser;

const chromium = browser.findChromium();
if (!chromium.path && process.env.CI) throw new Error(`CI needs a browser for the report tests: ${chromium.reason}`);

/** describe() with a Chromium; without one, describe.skip with the reason in the title. */
export function describeInBrowser(title: string, body: () => void): void {
  if (chromium.path) describe(title, body);
  else describe.skip(`${title}: SKIPPED, ${chromium.reason}`, body);
}

/** Every map point's position in the viewport, in map.points order, after scrolling the map into view (Vega's scales, padding and origin: no pixels read). */
export function screenPositions(page: Page): Promise<[number, number][]> {
  return page.evaluate(() => {
    const r = (window as any).semihardReport;
    const view = r.views.map;
    view.container().scrollIntoView({ block: 'center' });
    const canvas = view.container().querySelector('canvas').getBoundingClientRect();
    // The canvas holds the padding, then the origin (autosize's offset), then the plot.
    const left = canvas.left + view.padding().left + view.origin()[0];
    const top = canvas.top + view.padding().top + view.origin()[1];
    return (r.data.map.points as { x: number; y: number }[]).map((p) => [left + view.scale('x')(p.x), top + view.scale('y')(p.y)] as [number, number]);
  });
}

/** The point marks (symbols whose datum is a map point) of the map's scenegraph: each one's point, class, opacity and size. */
export function pointMarks(page: Page): Promise<{ i: number; cls: string; opacity: number; size: number }[]> {
  return page.evaluate(() => {
    const marks: { i: number; cls: string; opacity: number; size: number }[] = [];
    const walk = (node: any): void => {
      if (!node) return;
      if (node.marktype === 'symbol') {
        for (const item of node.items) if (typeof item.datum?.i === 'number') marks.push({ i: item.datum.i, cls: item.datum.cls, opacity: item.opacity, size: item.size });
      }
      (node.items ?? []).forEach(walk);
    };
    walk((window as any).semihardReport.views.map.scenegraph().root);
    return marks;
  });
}
