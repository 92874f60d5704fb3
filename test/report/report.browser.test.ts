/// <reference lib="dom" />
// report() opened in a real browser (Debian's Chromium through puppeteer-core, scripts/browser.js):
// a model trained a few steps on an image folder whose class folders and one file are named like
// HTML and script; the page loads from file:// with no console error, page error, dialog or
// request; the map holds a mark per point; hovering a point shows its thumbnail; clicking it
// lists the neighbours a brute force finds; the confusion matrix sums to the validation count;
// the legend hides a class; every hostile name shows as text and runs nothing.
//
// Without a Chromium this file's tests are skipped with the reason in their names, except in CI
// (CI=true), where .ci/run installs Debian's chromium and a missing browser is a failure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { embedImageSet, loadDataset, loadModel, report, train, type ReportResult } from '../../lib';
import { describeInBrowser, launchBrowser, openReport, pointMarks, screenPositions, type Opened } from '../helpers/browser';
import { writeImageFolder } from '../helpers/image-folder';

/** Class folders named like markup, a plain one, and one file named to close an attribute and open a script. */
const HOSTILE_CLASSES = ['<img src=x onerror=alert(1)>', '<svg onload=alert(1)>', 'a & "b" \u2028 <!-- c', 'digits'];
const HOSTILE_FILE = '"><script>alert(1)<.png';
const VALID_PER_CLASS = 12;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-report-'));
const root = path.join(tmp, 'photos');
const out = path.join(tmp, 'out', 'report.html');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface PagePoint {
  i: number;
  x: number;
  y: number;
  cls: string;
  index: number;
  source: string | null;
}

/** The screen position of map point `i`. */
async function pointPosition(page: Opened['page'], i: number): Promise<{ x: number; y: number }> {
  const [x, y] = (await screenPositions(page))[i];
  return { x, y };
}

/** The map point farthest (on screen) from every other: hovering its centre can only hit it. */
async function isolatedPoint(page: Opened['page']): Promise<number> {
  const xy = await screenPositions(page);
  let best = 0;
  let bestGap = -1;
  xy.forEach((a, i) => {
    let gap = Infinity;
    xy.forEach((b, j) => {
      if (i !== j) gap = Math.min(gap, Math.hypot(a[0] - b[0], a[1] - b[1]));
    });
    if (gap > bestGap) [best, bestGap] = [i, gap];
  });
  return best;
}

describeInBrowser('report() in Chromium', () => {
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let result: ReportResult;
  let opened: Opened;

  beforeAll(async () => {
    await writeImageFolder(root, { classes: HOSTILE_CLASSES, perClass: 24, validPerClass: VALID_PER_CLASS, layout: 'train-valid', nested: false, size: 28 });
    const classDir = path.join(root, 'valid', HOSTILE_CLASSES[0]);
    const first = fs.readdirSync(classDir).filter((f) => f.endsWith('.png'))[0];
    fs.renameSync(path.join(classDir, first), path.join(classDir, HOSTILE_FILE));
    await train({
      data: { imageFolder: root, imageSize: 28 },
      model: { backbone: 'convnet', dim: 16 },
      batch: { classes: 4, perClass: 6 },
      phases: [
        { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
        { epochs: 1, maxLr: 2e-3, freeze: 'none' },
      ],
      seed: 5,
      device: 'cpu',
      threads: 2,
      checkpointDir: path.join(tmp, 'run'),
    });
    result = await report({ checkpoint: path.join(tmp, 'run', 'last.ckpt'), out, device: 'cpu', method: 'tsne' });
    browser = await launchBrowser();
    opened = await openReport(browser, out);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('writes one file that loads from file:// with no console error, page error, dialog or request', async () => {
    expect(fs.statSync(out).size).toBe(result.bytes);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['report.html']);
    expect(await opened.page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.pageErrors).toEqual([]);
    expect(opened.dialogs).toEqual([]);
    expect(opened.requests).toEqual([]);
    // The run's facts, as the training above set them: 2 threads on the CPU, the markup-named classes sorted.
    const facts = await opened.page.evaluate(() => {
      const dt = Array.from(document.querySelectorAll('#run dt'), (e) => e.textContent);
      const dd = Array.from(document.querySelectorAll('#run dd'), (e) => e.textContent);
      return Object.fromEntries(dt.map((k, i) => [k, dd[i]]));
    });
    expect(facts).toMatchObject({ device: 'CPU, 2 threads', precision: 'fp32', 'train / validation samples': `${4 * 24} / ${4 * VALID_PER_CLASS}` });
  });

  it('the map holds one mark per point, every validation sample (fewer than maxPoints)', async () => {
    const marks = await pointMarks(opened.page);
    const counted = { marks: marks.length, points: await opened.page.evaluate(() => (window as any).semihardReport.data.map.points.length as number) };
    expect(counted).toEqual({ marks: HOSTILE_CLASSES.length * VALID_PER_CLASS, points: HOSTILE_CLASSES.length * VALID_PER_CLASS });
    expect(result.points).toBe(HOSTILE_CLASSES.length * VALID_PER_CLASS);
  });

  it('hovering a point shows a tooltip with its thumbnail (an <img> that decodes), class and file', async () => {
    const { page } = opened;
    const i = await isolatedPoint(page);
    const at = await pointPosition(page, i);
    await page.mouse.move(at.x, at.y);
    const tip = await page.evaluate(async () => {
      const t = document.getElementById('tooltip')!;
      const img = t.querySelector('img');
      if (img) await img.decode();
      return { hidden: t.hidden, point: t.dataset.point, width: img?.naturalWidth ?? 0, height: img?.naturalHeight ?? 0, text: t.textContent };
    });
    const point = await page.evaluate((j: number) => (window as any).semihardReport.data.map.points[j] as PagePoint, i);
    expect(tip.hidden).toBe(false);
    expect(tip.point).toBe(String(i));
    // An image folder's images are stored at 8/7 of what the network sees (28 px: 32 px), under
    // the 64-pixel thumbnail size, so the thumbnails keep that size.
    expect([tip.width, tip.height]).toEqual([32, 32]);
    expect(tip.text).toBe(`${point.cls}${point.source}`);
  });

  it('clicking a point lists its 8 nearest neighbours: those of a brute force over the map\'s embeddings', async () => {
    const { page } = opened;
    const i = await isolatedPoint(page);
    const at = await pointPosition(page, i);
    await page.mouse.click(at.x, at.y);
    const listed = await page.evaluate(() => ({
      query: document.getElementById('neighbours')!.dataset.point,
      indices: Array.from(document.querySelectorAll('#neighbours li')).map((li) => Number((li as HTMLElement).dataset.index)),
      distances: Array.from(document.querySelectorAll('#neighbours li .distance')).map((d) => Number(d.textContent!.replace('distance ', ''))),
    }));
    const points = await page.evaluate(() => (window as any).semihardReport.data.map.points as PagePoint[]);
    expect(listed.query).toBe(String(i));
    expect(listed.indices).toHaveLength(8);

    // The embeddings again, as a user would get them, and every distance from the query in float64.
    const model = await loadModel(path.join(tmp, 'run', 'last.ckpt'), { device: 'cpu' });
    const geometry = { height: model.height, width: model.width, storedHeight: model.storedHeight, storedWidth: model.storedWidth, channels: model.channels };
    const dataset = await loadDataset(model.checkpoint.config.data, model.checkpoint.config.seed, { geometry });
    const valid = await embedImageSet(model, dataset.valid);
    const dim = model.dim;
    const q = points[i].index;
    const ranked = points
      .filter((p) => p.i !== i)
      .map((p) => {
        let s = 0;
        for (let d = 0; d < dim; d++) s += (valid[q * dim + d] - valid[p.index * dim + d]) ** 2;
        return { index: p.index, distance: Math.sqrt(s) };
      })
      .sort((a, b) => a.distance - b.distance || a.index - b.index);
    // The page shows distances to 4 decimals: each is the brute force's within half a unit of the
    // last place (5e-5) plus float32 rounding of unit-vector embeddings (a few 1e-7), so 6e-5.
    // Ranks whose brute-force distance lies within that of a neighbour's may swap.
    const tolerance = 6e-5;
    ranked.slice(0, 8).forEach((expected, r) => {
      expect(Math.abs(listed.distances[r] - expected.distance)).toBeLessThanOrEqual(tolerance);
      const tiedWithNext = r + 1 < ranked.length && ranked[r + 1].distance - expected.distance <= 2 * tolerance;
      const tiedWithPrevious = r > 0 && expected.distance - ranked[r - 1].distance <= 2 * tolerance;
      if (!tiedWithNext && !tiedWithPrevious) expect([r, listed.indices[r]]).toEqual([r, expected.index]);
    });
  }, 60_000);

  it('the confusion matrix\'s cells sum to the validation count, each class\'s row to its samples', async () => {
    const sums = await opened.page.evaluate(() => {
      const r = (window as any).semihardReport;
      const cells = r.views.confusion.data('confusion') as { truth: string; count: number }[];
      const byTruth: Record<string, number> = {};
      cells.forEach((c) => (byTruth[c.truth] = (byTruth[c.truth] ?? 0) + c.count));
      return { total: cells.reduce((s, c) => s + c.count, 0), byTruth };
    });
    expect(sums.total).toBe(HOSTILE_CLASSES.length * VALID_PER_CLASS);
    for (const name of HOSTILE_CLASSES) expect(sums.byTruth[name]).toBe(VALID_PER_CLASS);
  });

  it('clicking a class in the legend hides its points (transparent, no tooltip); "show all" brings them back', async () => {
    const { page } = opened;
    const opacities = async (): Promise<Record<string, number[]>> => {
      const seen: Record<string, number[]> = {};
      for (const m of await pointMarks(page)) (seen[m.cls] ??= []).push(m.opacity);
      return Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, [...new Set(v)]]));
    };
    const i = await isolatedPoint(page);
    const cls = (await page.evaluate((j: number) => (window as any).semihardReport.data.map.points[j] as PagePoint, i)).cls;
    const at = await pointPosition(page, i);
    const tooltipPoint = async (): Promise<string | undefined> => {
      await page.mouse.move(0, 0);
      await page.mouse.move(at.x, at.y);
      return page.evaluate(() => document.getElementById('tooltip')!.dataset.point);
    };
    expect(await tooltipPoint()).toBe(String(i));
    await page.evaluate((name: string) => {
      const entries = Array.from(document.querySelectorAll('#legend button.entry')) as HTMLElement[];
      entries.find((e) => e.querySelector('.name')!.textContent === name)!.click();
    }, cls);
    await page.evaluate(() => (window as any).semihardReport.views.map.runAsync());
    const after = await opacities();
    expect(after[cls]).toEqual([0]);
    for (const name of HOSTILE_CLASSES.filter((c) => c !== cls)) expect(after[name]).toEqual([0.75]);
    expect(await tooltipPoint()).toBeUndefined();
    await page.click('#legend button.show-all');
    await page.evaluate(() => (window as any).semihardReport.views.map.runAsync());
    expect((await opacities())[cls]).toEqual([0.75]);
    expect(await tooltipPoint()).toBe(String(i));
  });

  it('the per-class table sorts by a column on click, descending then ascending', async () => {
    const { page } = opened;
    const column = (): Promise<string[]> => page.evaluate(() => Array.from(document.querySelectorAll('#per-class tbody tr td:nth-child(3)'), (td) => td.textContent!));
    const data = await page.evaluate(() => (window as any).semihardReport.data.metrics.perClass as { name: string; knnAccuracy: number }[]);
    const shown = (values: number[]): string[] => values.map((v) => `${(v * 100).toFixed(2)}%`);
    const accuracies = data.map((c) => c.knnAccuracy);
    await page.click('#per-class th[data-key="knnAccuracy"]');
    expect(await column()).toEqual(shown([...accuracies].sort((a, b) => b - a)));
    await page.click('#per-class th[data-key="knnAccuracy"]');
    expect(await column()).toEqual(shown([...accuracies].sort((a, b) => a - b)));
  });

  it('the map zooms with the wheel (its x scale\'s domain narrows) and double-click resets it', async () => {
    const { page } = opened;
    const domain = (): Promise<number[]> => page.evaluate(() => (window as any).semihardReport.views.map.scale('x').domain() as number[]);
    const before = await domain();
    const box = await page.evaluate(() => {
      document.getElementById('map')!.scrollIntoView({ block: 'center' });
      const r = document.querySelector('#map canvas')!.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    });
    await page.mouse.move(box.x, box.y);
    const waitForWidth = (test: 'narrower' | 'restored', width: number): Promise<unknown> =>
      page.waitForFunction(
        (how: string, w: number) => {
          const d = (window as any).semihardReport.views.map.scale('x').domain() as number[];
          return how === 'narrower' ? d[1] - d[0] < 0.9 * w : Math.abs(d[1] - d[0] - w) < 1e-9 * Math.abs(w);
        },
        { timeout: 10_000 },
        test,
        width,
      );
    // Vega handles the events on its own schedule: wait for the scale to change (or time out).
    await page.mouse.wheel({ deltaY: -400 });
    await waitForWidth('narrower', before[1] - before[0]);
    const zoomed = await domain();
    expect(zoomed[1] - zoomed[0]).toBeLessThan(0.9 * (before[1] - before[0]));
    await page.mouse.click(box.x, box.y, { clickCount: 2 });
    await waitForWidth('restored', before[1] - before[0]);
    const reset = await domain();
    expect(reset[0]).toBeCloseTo(before[0], 6);
    expect(reset[1]).toBeCloseTo(before[1], 6);
  });

  it('class and file names made of markup show as text, and nothing they name runs', async () => {
    const { page } = opened;
    const seen = await page.evaluate((file: string) => {
      const r = (window as any).semihardReport;
      const legend = Array.from(document.querySelectorAll('#legend .entry .name')).map((e) => e.textContent);
      const table = Array.from(document.querySelectorAll('#per-class tbody tr td:first-child')).map((e) => e.textContent);
      const hostile = r.data.map.points.find((p: PagePoint) => p.source !== null && p.source.endsWith(file));
      if (hostile) r.select(hostile.i);
      return {
        legend,
        table,
        classesText: Array.from(document.querySelectorAll('#run dd')).map((e) => e.textContent)[1],
        panelSource: document.querySelector('#neighbours .query .source')?.textContent ?? null,
        found: hostile ? hostile.source : null,
        // Elements a spliced name would have made: only the page's own scripts and thumbnails exist.
        scripts: document.querySelectorAll('script').length,
        svgs: document.querySelectorAll('svg').length,
        images: Array.from(document.querySelectorAll('img')).filter((img) => !img.src.startsWith('data:image/')).length,
        handlers: Array.from(document.querySelectorAll('*')).filter((e) => Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length,
        title: document.title,
      };
    }, HOSTILE_FILE);
    expect([...seen.legend].sort()).toEqual([...HOSTILE_CLASSES].sort());
    expect([...seen.table].sort()).toEqual([...HOSTILE_CLASSES].sort());
    expect(seen.classesText).toBe([...HOSTILE_CLASSES].sort().join(', '));
    expect(seen.found).toBe(path.join(root, 'valid', HOSTILE_CLASSES[0], HOSTILE_FILE));
    expect(seen.panelSource).toBe(seen.found);
    expect(seen).toMatchObject({ scripts: 4, svgs: 0, images: 0, handlers: 0 });
    expect(opened.dialogs).toEqual([]);
    expect(opened.pageErrors).toEqual([]);
    expect(opened.consoleErrors).toEqual([]);
  });
});
