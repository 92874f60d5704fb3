// The `semihard` command line, spawned as a user runs it (dist/lib/cli.js, built by npm install).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../lib/data/datasets';
import { readCheckpoint } from '../lib/checkpoint';
import type { TrainCheckpointHeader } from '../lib/train';
import { writeIdxDir } from './helpers/idx';

const cli = path.join(__dirname, '..', 'dist', 'lib', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120000 });
}

describe('semihard CLI', () => {
  const dir = path.join(tmp, 'digits');
  beforeAll(() => {
    const m = loadDataset('mnist', 0);
    const n = 200;
    writeIdxDir(
      dir,
      {
        train: { images: m.train.images.subarray(0, n * 784), labels: m.train.labels.subarray(0, n) },
        test: { images: m.valid.images.subarray(0, 60 * 784), labels: m.valid.labels.subarray(0, 60) },
      },
      28,
      false,
    );
  });

  it('--nproc 2 trains in two ranks: exit 0, one JSON result from rank 0, the checkpoint it wrote', () => {
    const ckpt = path.join(tmp, 'ck-nproc');
    const r = run('train', '--nproc', '2', '--data', dir, '--max-steps', '3', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', ckpt, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: number; checkpoint: string };
    expect(out).toMatchObject({ steps: 3, checkpoint: path.join(ckpt, 'last.ckpt') });
    expect(fs.existsSync(out.checkpoint)).toBe(true);
  });

  it('--nproc with a global batch the ranks cannot split: a RangeError naming config.batch, exit 2', () => {
    const r = run('train', '--nproc', '3', '--data', dir, '--max-steps', '1', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', path.join(tmp, 'ck-bad'), '--json');
    expect(r.status).toBe(2);
    // Whichever rank reports first (rank 0 unprefixed, the others as [rank r]); the rest are stopped.
    expect(r.stderr).toMatch(/(^|\[rank \d\] )semihard: Expected a global batch .* divisible by the 3 ranks for config\.batch/m);
  });

  it('trains with --json: exit 0, a JSON result, a checkpoint', () => {
    const ckpt = path.join(tmp, 'ck');
    const r = run('train', '--data', dir, '--max-steps', '3', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', ckpt, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: number; stoppedEarly: boolean; checkpoint: string; history: unknown[] };
    expect(out).toMatchObject({ steps: 3, stoppedEarly: true, checkpoint: path.join(ckpt, 'last.ckpt') });
    expect(fs.existsSync(out.checkpoint)).toBe(true);
    const resumed = run('train', '--data', dir, '--max-steps', '5', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', ckpt, '--json', '--resume');
    expect(resumed.status).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: 2 });
  });

  it('passes the augmentation flags into the recorded configuration', async () => {
    const ckpt = path.join(tmp, 'ck-flip');
    const r = run('train', '--data', dir, '--max-steps', '1', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', ckpt, '--json', '--flip', '--rotation', '0', '--translate', '0.125');
    expect(r.status).toBe(0);
    const { header } = await readCheckpoint<TrainCheckpointHeader>(path.join(ckpt, 'last.ckpt'));
    expect(header.config.augment).toEqual({ rotation: 0, scale: 0.1, translate: 0.125, flip: true });
    const off = run('train', '--data', dir, '--max-steps', '1', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', ckpt + '-off', '--json', '--no-augment', '--flip');
    expect(off.status).toBe(0);
    expect((await readCheckpoint<TrainCheckpointHeader>(path.join(ckpt + '-off', 'last.ckpt'))).header.config.augment).toBe(false);
  });

  it('prints epochs and a summary without --json', () => {
    const r = run('train', '--data', dir, '--max-steps', '2', '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--checkpoint-dir', path.join(tmp, 'ck2'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/phase 1\/2 epoch 1: train loss \d\.\d{4}, valid loss \d\.\d{4}/);
    expect(r.stdout).toMatch(/trained 2 steps .*\n.*final valid loss/);
  });

  it('exits 2 on a bad value, naming it', () => {
    const r = run('train', '--data', dir, '--classes', '0', '--checkpoint-dir', path.join(tmp, 'ck3'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/config\.batch\.classes/);
  });

  it('exits 1 on missing data, saying what is missing', () => {
    const r = run('train', '--data', path.join(tmp, 'nothing-here'), '--checkpoint-dir', path.join(tmp, 'ck4'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/lacks train-images-idx3-ubyte/);
  });

  it('rejects malformed flags before doing anything', () => {
    const r = run('train', '--dim', 'wide');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/'wide' is not a number/);
    const u = run('train', '--epoch', '3');
    expect(u.status).not.toBe(0);
    expect(u.stderr).toMatch(/unknown option '--epoch'/);
  });
});
