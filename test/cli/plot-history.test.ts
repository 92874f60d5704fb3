// `semihard plot-history`, spawned as a user runs it, on a checkpoint `semihard train` wrote.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSmallDigits } from '../helpers/small-training';
import { expectNoErrorText, runCli } from './run-cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-history-'));
const ckpt = path.join(tmp, 'run', 'last.ckpt');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  const dir = path.join(tmp, 'digits');
  writeSmallDigits(dir);
  const r = runCli(['train', '--data', dir, '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--threads', '1', '--checkpoint-dir', path.dirname(ckpt), '--max-steps', '3', '--json']);
  if (r.status !== 0) throw new Error(`training the run to draw failed: ${r.stderr}`);
});

describe('semihard plot-history', () => {
  it('--out .svg: the curves of the checkpoint, the file named on stdout', () => {
    const out = path.join(tmp, 'pictures', 'history.svg');
    const r = runCli(['plot-history', '--checkpoint', ckpt, '--out', out]);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`picture: ${out}\n`);
    // The default title names the data set, the backbone and the loss recorded in the checkpoint.
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^<svg[\s\S]*training curves: .*digits, convnet, semihard loss/);
  });

  it('draws history.png in the working folder by default', () => {
    const cwd = path.join(tmp, 'cwd');
    fs.mkdirSync(cwd);
    const r = runCli(['plot-history', '--checkpoint', ckpt], { cwd });
    expect(r.status).toBe(0);
    const picture = path.join(cwd, 'history.png');
    expect(r.stdout).toBe(`picture: ${picture}\n`);
    expect(fs.readFileSync(picture).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('a bad --out: exit 2 naming options.out; a missing checkpoint: exit 1; no --checkpoint: exit 2', () => {
    const badOut = runCli(['plot-history', '--checkpoint', ckpt, '--out', 'history.txt'], { cwd: tmp });
    expect(badOut.status).toBe(2);
    expect(badOut.stderr).toMatch(/^semihard: Expected .* for options\.out but received 'history\.txt' of type string$/m);
    const missing = runCli(['plot-history', '--checkpoint', path.join(tmp, 'no.ckpt'), '--out', path.join(tmp, 'h.svg')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^semihard: Cannot read checkpoint .*no\.ckpt/m);
    const noFlag = runCli(['plot-history']);
    expect(noFlag.status).toBe(2);
    expect(noFlag.stderr).toMatch(/required option '--checkpoint <file>' not specified/);
  });
});
