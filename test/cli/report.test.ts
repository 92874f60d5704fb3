// `semihard report` and `semihard eval --report`, spawned as a user runs them on a model trained
// a few steps by `semihard train`: report.html beside the checkpoint by default, --out, --json
// (file, size, points, metrics), the page's data (its JSON block) holding the points asked for,
// and the API's argument errors as exit 2 with nothing written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSmallDigits } from '../helpers/small-training';
import { expectNoErrorText, runCli, testTimeout } from './run-cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-report-'));
const dir = path.join(tmp, 'digits');
const ckptDir = path.join(tmp, 'run');
const ckpt = path.join(ckptDir, 'last.ckpt');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  writeSmallDigits(dir);
  const r = runCli(['train', '--data', dir, '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckptDir, '--max-steps', '10', '--json']);
  if (r.status !== 0) throw new Error(`training the model to report on failed: ${r.stderr}`);
}, testTimeout(1));

/** The JSON block of a report page, parsed. */
function pageData(file: string): { map: { points: unknown[]; method: string; validCount: number }; metrics: { validCount: number }; neighbours: { k: number } } {
  const html = fs.readFileSync(file, 'utf8');
  const match = /<script type="application\/json" id="semihard-data">([^<]*)<\/script>/.exec(html);
  if (!match) throw new Error(`no data block in ${file}`);
  return JSON.parse(match[1]);
}

describe('semihard report', () => {
  it('writes report.html beside the checkpoint by default and prints its path and size', () => {
    const r = runCli(['report', '--checkpoint', ckpt, '--device', 'cpu', '--method', 'pca']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    const file = path.join(ckptDir, 'report.html');
    const size = fs.statSync(file).size;
    expect(r.stdout).toMatch(new RegExp(`^report: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+(\\.\\d)? (kB|MB), 200 points; kNN accuracy \\d+\\.\\d\\d%\\)\\n$`));
    // The small digit set holds 20 validation digits of each of 10 classes.
    const data = pageData(file);
    expect(data.map.points).toHaveLength(200);
    expect(data.map.method).toBe('pca');
    expect(data.metrics.validCount).toBe(200);
    expect(size).toBeGreaterThan(0);
  }, testTimeout(1));

  it('--out --json --max-points --neighbours: the file, its size and the metrics as JSON', () => {
    const out = path.join(tmp, 'pages', 'small.html');
    const r = runCli(['report', '--checkpoint', ckpt, '--device', 'cpu', '--method', 'pca', '--out', out, '--max-points', '50', '--neighbours', '3', '--json']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const printed = JSON.parse(r.stdout) as { file: string; bytes: number; points: number; metrics: { knnAccuracy: number } };
    expect(printed).toMatchObject({ file: out, bytes: fs.statSync(out).size, points: 50 });
    expect(printed.metrics.knnAccuracy).toBeGreaterThanOrEqual(0);
    const data = pageData(out);
    expect(data.map.points).toHaveLength(50);
    expect(data.neighbours.k).toBe(3);
  }, testTimeout(1));

  it('eval --report writes the page too and names it', () => {
    const out = path.join(tmp, 'eval-report.html');
    const r = runCli(['eval', '--checkpoint', ckpt, '--device', 'cpu', '--method', 'pca', '--report', out]);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`report: ${out} (`);
    expect(pageData(out).map.points).toHaveLength(200);
  }, testTimeout(1));

  it.each([
    [['--out', path.join(tmp, 'bad', 'page.txt')], 'options.out'],
    [['--max-points', '0'], 'options.maxPoints'],
    // One point has no neighbour: found after the data are embedded, before anything is written.
    [['--max-points', '1'], 'Expected at least 2 validation samples on the map but options.maxPoints allows 1'],
    [['--thumbnail-size', '600'], 'options.thumbnailSize'],
  ])('%j: exit 2 naming %s, nothing written', (flags, setting) => {
    const r = runCli(['report', '--checkpoint', ckpt, '--device', 'cpu', ...flags]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(setting);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  });
});
