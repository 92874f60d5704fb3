// `semihard lr-find`, spawned as a user runs it: the flags reach lrFind() (the rates it tried
// follow --start-lr, --end-lr and --steps), the picture goes to --out (lr-find.png by
// default), and lrFind()'s argument errors are exit 2 naming the setting.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSmallDigits } from '../helpers/small-training';
import { expectNoErrorText, runCli } from './run-cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-lr-find-'));
const dir = path.join(tmp, 'digits');
beforeAll(() => writeSmallDigits(dir));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tiny = ['--data', dir, '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--threads', '1'];

describe('semihard lr-find', () => {
  it('--json: the rates from --start-lr to --end-lr in --steps geometric steps, the picture at --out', () => {
    const out = path.join(tmp, 'curves', 'lr.svg');
    const r = runCli(['lr-find', ...tiny, '--freeze', 'backbone', '--start-lr', '1e-4', '--end-lr', '1e-2', '--steps', '6', '--seed', '3', '--out', out, '--json']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as { lrs: number[]; losses: number[]; diverged: boolean; suggestion: number; plot: string };
    // A diverging loss stops the test early; otherwise every step ran.
    if (!result.diverged) expect(result.lrs).toHaveLength(6);
    expect(result.lrs.length).toBeGreaterThanOrEqual(1);
    expect(result.lrs.length).toBeLessThanOrEqual(6);
    expect(result.losses).toHaveLength(result.lrs.length);
    // Step i of n uses start × (end / start)^(i / (n − 1)), computed in float64 natively:
    // a few rounding steps of 2.2e-16 each, so 1e-12 relative is ample.
    result.lrs.forEach((lr, i) => expect(Math.abs(lr / (1e-4 * 100 ** (i / 5)) - 1)).toBeLessThan(1e-12));
    expect(typeof result.suggestion).toBe('number');
    expect(result.plot).toBe(out);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^<svg[\s\S]*learning rate/);
  });

  it('prints the suggestion and draws lr-find.png in the working folder by default', () => {
    const cwd = path.join(tmp, 'cwd');
    fs.mkdirSync(cwd);
    const r = runCli(['lr-find', ...tiny, '--steps', '4'], { cwd });
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^suggested learning rate: \d\.\d\de[-+]\d+ \(the middle of the smoothed loss's valley\)\n[1-4] steps/);
    const picture = path.join(cwd, 'lr-find.png');
    expect(r.stdout).toContain(`picture: ${picture}\n`);
    expect(fs.readFileSync(picture).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  // lrFind()'s argument errors: exit 2, "Expected ... for <setting> but received <value>".
  it.each([
    [['--steps', '2'], 'config.steps', '2 of type number'],
    [['--steps', '4.5'], 'config.steps', '4.5 of type number'],
    [['--start-lr', '0'], 'config.startLr', '0 of type number'],
    [['--start-lr', '1e-3', '--end-lr', '1e-4'], 'config.endLr', '0.0001 of type number'],
    [['--dim', '0'], 'config.model.dim', '0 of type number'],
    [['--out', 'curve.gif'], 'config.out', "'curve.gif' of type string"],
  ])('%j: exit 2, naming %s', (flags, setting, received) => {
    const r = runCli(['lr-find', ...tiny, '--steps', '4', '--out', path.join(tmp, 'bad.svg'), ...flags], { cwd: tmp });
    const line = r.stderr.split('\n').find((l) => l.startsWith('semihard: Expected '));
    expect(line).toContain(` for ${setting} but received ${received}`);
    expect(r.status).toBe(2);
  });

  // A value outside a flag's choices (the tuples lrFind() validates against, written out here)
  // is commander's error, exit 2, before anything is drawn.
  it.each([
    ['--backbone <name>', 'vgg', 'convnet, convnet-spatial, resnet18, resnet34, resnet50'],
    ['--freeze <what>', 'all', 'backbone, none'],
    ['--device <d>', 'tpu', 'cpu, cuda, auto'],
  ])('%s %s: exit 2, listing the choices', (flag, value, choices) => {
    const out = path.join(tmp, `choice-${value}.svg`);
    const r = runCli(['lr-find', '--data', dir, '--out', out, flag.split(' ')[0], value]);
    expect(r.stderr.split('\n')[0]).toBe(`error: option '${flag}' argument '${value}' is invalid. Allowed choices are ${choices}.`);
    expect(r.status).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a missing data folder: exit 1, saying it does not exist', () => {
    const missing = path.join(tmp, 'nothing-here');
    const r = runCli(['lr-find', '--data', missing, '--out', path.join(tmp, 'none.svg')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`semihard: The image folder ${missing} does not exist`);
  });
});
