'use strict';
// The README's picture of the report: the page at 1280 × 900 in the browser the tests use
// (scripts/browser.js: Debian's Chromium, headless), with the worst mistake's point clicked
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
    // The worst mistake, else the first point; its place on screen from Vega's scales.
    const at = await page.evaluate(() => {
      const r = window.semihardReport;
      const view = r.views.map;
      const i = r.data.mistakes.length > 0 ? r.data.mistakes[0].point : 0;
      const p = r.data.map.points[i];
      const canvas = view.container().querySelector('canvas').getBoundingClientRect();
      const padding = view.padding();
      const origin = view.origin();
      return { i, x: canvas.left + padding.left + origin[0] + view.scale('x')(p.x), y: canvas.top + padding.top + origin[1] + view.scale('y')(p.y) };
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
    process.stdout.write(`${out}: 1280 x 900 of ${report} (point ${selected} selected, ${(fs.statSync(report).size / 1e6).toFixed(1)} MB page)\n`);
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  process.stderr.write(`report-screenshot: ${err.message}\n`);
  process.exitCode = 1;
});
