/// <reference lib="dom" />
// The report's page at 10,000 points in a real browser (Debian's Chromium through puppeteer-core,
// scripts/browser.js): a synthetic report (20 classes of seeded 2-D Gaussian blobs, 28 × 28
// greyscale thumbnails reused from a few patterns, each point's 8 nearest neighbours by brute
// force) written with renderReportPage and opened from file://. It loads with no console error,
// page error or request; the map holds 10,000 marks; hovering an isolated point shows its
// tooltip; clicking it lists the 8 neighbours given. The file size, the load time and the hover
// time are printed (one line), never asserted.
//
// Without a Chromium this file's tests are skipped with the reason in their names, except in CI
// (CI=true), where .ci/run installs Debian's chromium and a missing browser is a failure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { compileSpecs, renderReportPage, type ReportPageData } from '../../lib/report/page';
import { describeInBrowser, launchBrowser, openReport, pointMarks, screenPositions, type Opened } from '../helpers/browser';
import { gaussian, rng } from '../reference/triplet-reference';

const N = 10_000;
const CLASSES = 20;
const K = 8;
const SIDE = 28;

/** Each point's K nearest others in the plane, nearest first, ties to the smaller index (a plain O(N²) scan). */
function bruteForceNeighbours(xs: Float64Array, ys: Float64Array): { indices: number[][]; distances: number[][] } {
  const indices: number[][] = [];
  const distances: number[][] = [];
  const bestJ = new Int32Array(K);
  const bestD2 = new Float64Array(K);
  for (let i = 0; i < xs.length; i++) {
    let filled = 0;
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      const d2 = (xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2;
      if (filled === K && d2 >= bestD2[K - 1]) continue; // j > every index kept: an equal distance loses the tie
      let at = filled === K ? K - 1 : filled++;
      while (at > 0 && bestD2[at - 1] > d2) {
        bestD2[at] = bestD2[at - 1];
        bestJ[at] = bestJ[at - 1];
        at--;
      }
      bestD2[at] = d2;
      bestJ[at] = j;
    }
    indices.push(Array.from(bestJ));
    distances.push(Array.from(bestD2, Math.sqrt));
  }
  return { indices, distances };
}

/** The point farthest from its nearest other (an O(N²) scan) and that distance. A function of its own: inlined in the async beforeAll the same loop ran some 100× slower. */
function mostIsolated(xs: Float64Array, ys: Float64Array): { point: number; gap: number } {
  let point = -1;
  let best = -1;
  for (let i = 0; i < xs.length; i++) {
    let gap2 = Infinity;
    for (let j = 0; j < xs.length; j++) {
      const d2 = (xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2;
      if (j !== i && d2 < gap2) gap2 = d2;
    }
    if (gap2 > best) [point, best] = [i, gap2];
  }
  return { point, gap: Math.sqrt(best) };
}

/** A few 28 × 28 greyscale patterns (stripes, checks, a disc, a ramp) as base64 PNGs. */
async function patternThumbnails(): Promise<string[]> {
  const patterns: ((r: number, c: number) => number)[] = [
    (r) => (r % 4 < 2 ? 255 : 0),
    (_r, c) => (c % 4 < 2 ? 255 : 0),
    (r, c) => ((r >> 2) + (c >> 2)) % 2 === 0 ? 255 : 0,
    (r, c) => ((r - 13.5) ** 2 + (c - 13.5) ** 2 < 100 ? 255 : 0),
    (r, c) => Math.round(((r + c) / (2 * SIDE - 2)) * 255),
  ];
  return Promise.all(
    patterns.map(async (f) => {
      const pixels = new Uint8Array(SIDE * SIDE);
      for (let r = 0; r < SIDE; r++) for (let c = 0; c < SIDE; c++) pixels[r * SIDE + c] = f(r, c);
      return (await sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 1 } }).png().toBuffer()).toString('base64');
    }),
  );
}

/** 20 seeded Gaussian blobs of 500 points each, their brute-force neighbours and the rest of a report around them. */
async function syntheticReport(): Promise<ReportPageData> {
  const next = rng(10_000);
  const classNames = Array.from({ length: CLASSES }, (_, c) => `class ${String(c).padStart(2, '0')}`);
  const centres = classNames.map(() => [100 * next() - 50, 100 * next() - 50]);
  const xs = new Float64Array(N);
  const ys = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const [cx, cy] = centres[i % CLASSES];
    xs[i] = cx + 4 * gaussian(next);
    ys[i] = cy + 4 * gaussian(next);
  }
  const points = Array.from({ length: N }, (_, i) => ({ i, x: xs[i], y: ys[i], cls: classNames[i % CLASSES], index: i, source: `/data/valid/${classNames[i % CLASSES]}/${i}.png` }));
  const neighbours = bruteForceNeighbours(xs, ys);
  const thumbs = await patternThumbnails();

  // The 1-NN prediction of each point from its own list: nonzero confusion cells and the mistakes.
  const cells = new Map<string, { truth: string; predicted: string; count: number }>();
  const mistakes: ReportPageData['mistakes'] = [];
  points.forEach((p, i) => {
    const nearest = points[neighbours.indices[i][0]];
    const key = `${p.cls}\u0000${nearest.cls}`;
    const cell = cells.get(key) ?? { truth: p.cls, predicted: nearest.cls, count: 0 };
    cell.count++;
    cells.set(key, cell);
    if (nearest.cls !== p.cls && mistakes.length < 30) {
      const same = neighbours.indices[i].findIndex((j) => points[j].cls === p.cls);
      mistakes.push({ point: i, neighbour: nearest.i, distance: neighbours.distances[i][0], sameClassDistance: same < 0 ? null : neighbours.distances[i][same] });
    }
  });
  const epochs = [0, 1, 2].map((e) => ({ epoch: e, phase: e === 0 ? 0 : 1, phaseEpoch: e === 0 ? 0 : e - 1, trainLoss: 0.5 / (e + 1), validLoss: 0.6 / (e + 1), seconds: 10 }));
  return {
    run: {
      title: 'synthetic blobs: 10,000 points',
      checkpoint: '/runs/synthetic/last.ckpt',
      data: 'synthetic blobs',
      classNames,
      config: { data: 'synthetic', seed: 10_000 },
      versions: { semihard: '0.1.0', libtorchTraining: '2.13.0', libtorchReport: '2.13.0' },
      steps: 300,
      trainingSeconds: 30,
      device: 'cpu (training\'s setting)',
      precision: 'fp32',
      finished: true,
      createdAt: '2024-01-01T00:00:00.000Z',
      generatedAt: '2024-01-01T00:01:00.000Z',
    },
    history: {
      epochs,
      steps: epochs.flatMap((e) => Array.from({ length: 100 }, (_, step) => ({ epoch: e.epoch, step, steps: 100, loss: e.trainLoss * (1.2 - step / 500), lr: 1e-3 * Math.sin((Math.PI * (step + 1)) / 101) }))),
      phases: [{ epoch: 1, label: 'phase 2' }],
    },
    metrics: {
      k: 5, knnAccuracy: 0.9, linearAccuracy: 0.9, svmAccuracy: 0.9, precisionAt1: 0.9, rPrecision: 0.8, mapAtR: 0.7, retrievalQueries: N, trainCount: 5 * N, validCount: N,
      perClass: classNames.map((name) => ({ name, count: N / CLASSES, knnAccuracy: 0.9 })),
    },
    confusion: [...cells.values()],
    confusionClasses: CLASSES,
    map: { method: 'tsne', validCount: N, points, thumbnails: points.map((_, i) => thumbs[i % thumbs.length]), thumbnailType: 'image/png', thumbnailSize: SIDE },
    neighbours: { k: K, ...neighbours },
    mistakes,
    specs: compileSpecs(classNames, N, classNames),
  };
}

describeInBrowser('the report at 10,000 points in Chromium', () => {
  let tmp = '';
  let file = '';
  let data: ReportPageData;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let opened: Opened;
  let loadMs = 0;
  let openMs = 0;
  let hoverMs = 0;
  let isolated = -1;
  let at = { x: 0, y: 0 };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-report-scale-'));
    file = path.join(tmp, 'report.html');
    data = await syntheticReport();
    fs.writeFileSync(file, renderReportPage(data));
    browser = await launchBrowser();
    const start = performance.now();
    opened = await openReport(browser, file, { timeout: 120_000 });
    openMs = performance.now() - start;
    // The page's clock starts at navigation; read just after the ready check (polled each frame), an upper bound.
    loadMs = await opened.page.evaluate(() => performance.now());

    // Every point's screen position (Vega's scales, padding and origin: no pixels read); the one
    // farthest from all others (a brute force here) is the one whose centre only it covers.
    const screen = await screenPositions(opened.page);
    const sx = Float64Array.from(screen, (p) => p[0]);
    const sy = Float64Array.from(screen, (p) => p[1]);
    const { point, gap } = mostIsolated(sx, sy);
    isolated = point;
    at = { x: sx[isolated], y: sy[isolated] };
    // Its neighbour on screen must lie beyond two radii of a mark (area `size` px²): hovering its centre cannot hit another.
    const size = (await pointMarks(opened.page)).find((m) => m.i === isolated)?.size ?? 0;
    expect(size).toBeGreaterThan(0);
    expect(gap).toBeGreaterThan(2 * Math.sqrt(size / Math.PI) + 1);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    const mb = file && fs.existsSync(file) ? fs.statSync(file).size / 2 ** 20 : NaN;
    console.log(`report at ${N} points: ${mb.toFixed(2)} MiB, navigation to body[data-ready] ≤ ${loadMs.toFixed(0)} ms (page clock; ${openMs.toFixed(0)} ms with a new tab), hover to tooltip ${hoverMs.toFixed(1)} ms`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads from file:// with no console error, page error, dialog or request', async () => {
    expect(await opened.page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.pageErrors).toEqual([]);
    expect(opened.dialogs).toEqual([]);
    expect(opened.requests).toEqual([]);
  });

  it('the map\'s scenegraph holds a mark for each of the 10,000 points', async () => {
    const found = await pointMarks(opened.page);
    const marks = { count: found.length, distinct: new Set(found.map((m) => m.i)).size };
    expect(marks).toEqual({ count: N, distinct: N });
  });

  it('hovering the most isolated point shows its tooltip: its thumbnail (28 × 28), class and file', async () => {
    const { page } = opened;
    await page.mouse.move(0, 0);
    const start = performance.now();
    await page.mouse.move(at.x, at.y);
    await page.waitForFunction((j: string) => document.getElementById('tooltip')!.dataset.point === j, { polling: 'mutation', timeout: 30_000 }, String(isolated));
    hoverMs = performance.now() - start;
    const tip = await page.evaluate(async () => {
      const t = document.getElementById('tooltip')!;
      const img = t.querySelector('img');
      if (img) await img.decode();
      return { hidden: t.hidden, width: img?.naturalWidth ?? 0, height: img?.naturalHeight ?? 0, text: t.textContent };
    });
    const point = data.map.points[isolated];
    expect(tip).toEqual({ hidden: false, width: SIDE, height: SIDE, text: `${point.cls}${point.source}` });
  });

  it('clicking it lists the 8 neighbours given, nearest first, with their distances', async () => {
    const { page } = opened;
    await page.mouse.click(at.x, at.y);
    const listed = await page.evaluate(() => ({
      query: document.getElementById('neighbours')!.dataset.point,
      points: Array.from(document.querySelectorAll('#neighbours li')).map((li) => Number((li as HTMLElement).dataset.point)),
      distances: Array.from(document.querySelectorAll('#neighbours li .distance')).map((d) => d.textContent),
    }));
    expect(listed.query).toBe(String(isolated));
    expect(listed.points).toEqual(data.neighbours.indices[isolated]);
    // The page prints each distance to 4 decimals.
    expect(listed.distances).toEqual(data.neighbours.distances[isolated].map((d) => `distance ${d.toFixed(4)}`));
  });
});
