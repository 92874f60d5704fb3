'use strict';
// A real browser for the report's tests and screenshot: the system's Chromium (Debian's
// `chromium` package; .ci/run installs it with apt-get), driven headless by puppeteer-core,
// which downloads nothing. $SEMIHARD_CHROMIUM names another binary.
//
// openReport() loads a report from file:// and records what a user would never see: console
// errors, uncaught page errors, dialogs (alert, confirm, prompt: dismissed and recorded) and
// every request that is not the page itself or a data: URL.
const fs = require('node:fs');
const { pathToFileURL } = require('node:url');

/** Where Debian and others put Chromium; the real binary before Debian's wrapper script. */
const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The browser binary, or null with the reason. */
function findChromium() {
  const given = process.env.SEMIHARD_CHROMIUM;
  if (given) return fs.existsSync(given) ? { path: given } : { path: null, reason: `$SEMIHARD_CHROMIUM (${given}) does not exist` };
  const found = CANDIDATES.find((candidate) => fs.existsSync(candidate));
  return found ? { path: found } : { path: null, reason: `no Chromium at ${CANDIDATES.join(', ')} (Debian: apt-get install chromium)` };
}

async function launchBrowser() {
  const chromium = findChromium();
  if (!chromium.path) throw new Error(`cannot test in a browser: ${chromium.reason}`);
  const puppeteer = require('puppeteer-core');
  const args = ['--disable-gpu', '--no-first-run', '--no-default-browser-check', '--font-render-hinting=none'];
  // Chromium's sandbox refuses to run as root (containers, CI).
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return puppeteer.launch({ executablePath: chromium.path, headless: true, args });
}

/**
 * Opens `file` in a new page of `browser` at width × height and waits until the report says
 * it is drawn (body[data-ready]) or failed. Returns the page and what it recorded.
 */
async function openReport(browser, file, options = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width: options.width ?? 1280, height: options.height ?? 900 });
  const url = pathToFileURL(file).href;
  const recorded = { consoleErrors: [], pageErrors: [], dialogs: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') recorded.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => recorded.pageErrors.push(String(error && error.message ? error.message : error)));
  page.on('dialog', (dialog) => {
    recorded.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('request', (request) => {
    const requested = request.url();
    if (requested !== url && !requested.startsWith('data:')) recorded.requests.push(requested);
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(
    () => document.body.dataset.ready === 'true' || document.querySelector('.error') !== null || window.semihardReport === undefined,
    { timeout: options.timeout ?? 60000 },
  );
  return { page, ...recorded };
}

module.exports = { findChromium, launchBrowser, openReport };
