'use strict';
// The README's picture of the report: the page at 1280 × 900 in the browser the tests use
// (scripts/browser.js: Debian's Chromium, headless), with one of the worst mistakes clicked
// (its nearest neighbours listed) and hovered (its tooltip shown).
//
//   node scripts/report-screenshot.js [report.html] [--out docs/report.png]
//   (default: semihard-demo/report.html, written by `npm run demo`)
const fs = require('node:fs');
const path = require('node:path');
const { launchBrowser, openReport } = require('./browser');

function parseArgs(argv) {
  const args = { report: 'semihard-demo/report.html', out: 'docs/report.png' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = argv[++i];
    else args.report = argv[i];
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const report = path.resolve(args.report);
  if (!fs.existsSync(report)) throw new Error(`${report} does not exist: run \`npm run demo\` first, or name a report`);
  const browser = await launchBrowser();
  try {
    const opened = await openReport(browser, report, { width: 1280, height: 900 });
    const problems = [...opened.consoleErrors, ...opened.pageErrors, ...opened.dialogs, ...opened.requests];
    if (problems.length > 0) throw new Error(`the page reported: ${problems.join('; ')}`);
    const { page } = opened;
    // Of the worst mistakes (else all points), the one farthest on screen from any other point,
    // so that the click and the hover land on it; its place from Vega's scales.
    const at = await page.evaluate(() => {
      const r = window.semihardReport;
      const view = r.views.map;
      const xy = r.data.map.points.map((p) => [view.scale('x')(p.x), view.scale('y')(p.y)]);
      const candidates = r.data.mistakes.length > 0 ? r.data.mistakes.map((m) => m.point) : xy.map((_, i) => i);
      let best = candidates[0];
      let bestGap = -1;
      for (const i of candidates) {
        let gap = Infinity;
        xy.forEach((b, j) => {
          if (j !== i) gap = Math.min(gap, Math.hypot(xy[i][0] - b[0], xy[i][1] - b[1]));
        });
        if (gap > bestGap) [best, bestGap] = [i, gap];
      }
      const canvas = view.container().querySelector('canvas').getBoundingClientRect();
      const padding = view.padding();
      const origin = view.origin();
      return { i: best, x: canvas.left + padding.left + origin[0] + xy[best][0], y: canvas.top + padding.top + origin[1] + xy[best][1] };
    });
    await page.mouse.click(at.x, at.y);
    await page.mouse.move(at.x, at.y);
    await page.evaluate(() => Promise.all(Array.from(document.images, (img) => img.decode().catch(() => {}))));
    const png = await page.screenshot({ type: 'png' });
    const out = path.resolve(args.out);
    const temporary = `${out}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(temporary, png);
    fs.renameSync(temporary, out);
    const selected = await page.evaluate(() => window.semihardReport.selected);
    if (selected !== at.i) throw new Error(`the click selected point ${selected}, not ${at.i}`);
    process.stdout.write(`${out}: 1280 x 900 of ${report} (point ${selected} selected, ${(fs.statSync(report).size / 1e6).toFixed(1)} MB page)\n`);
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  process.stderr.write(`report-screenshot: ${err.message}\n`);
  process.exitCode = 1;
});
