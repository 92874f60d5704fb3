// `semihard train`, spawned as a user runs it: every flag reaches train() as given, an option
// not given takes train()'s default, train()'s argument errors are exit 2 naming the setting,
// missing data is exit 1 saying so, and Ctrl-C is exit 130 with a checkpoint --resume continues.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../../lib/checkpoint';
import { DEFAULT_PHASES, resolveTrainConfig, type TrainCheckpointHeader } from '../../lib/train';
import { writeImageFolder } from '../helpers/image-folder';
import { writeSmallDigits } from '../helpers/small-training';
import { expectNoErrorText, runCli, runCliAsync, testTimeout } from './run-cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-cli-train-'));
const dir = path.join(tmp, 'digits');
beforeAll(() => writeSmallDigits(dir));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A tiny run: 4 × 4 batches of 8-wide embeddings on one CPU thread.
const tiny = (ckpt: string): string[] => ['--data', dir, '--classes', '4', '--per-class', '4', '--dim', '8', '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckpt];

async function header(ckpt: string): Promise<TrainCheckpointHeader> {
  return (await readCheckpoint<TrainCheckpointHeader>(path.join(ckpt, 'last.ckpt'))).header;
}

describe('semihard train', () => {
  it('trains with --json: exit 0, a JSON result, a checkpoint that --resume continues', () => {
    const ckpt = path.join(tmp, 'ck-json');
    const r = runCli(['train', ...tiny(ckpt), '--max-steps', '3', '--json']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: number; stoppedEarly: string | false; checkpoint: string };
    expect(out).toMatchObject({ steps: 3, stoppedEarly: 'maxSteps', checkpoint: path.join(ckpt, 'last.ckpt') });
    expect(fs.existsSync(out.checkpoint)).toBe(true);
    const resumed = runCli(['train', ...tiny(ckpt), '--max-steps', '5', '--json', '--resume']);
    expect(resumed.status).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: 2 });
  }, testTimeout(2));

  it('prints epochs and a summary without --json', () => {
    const r = runCli(['train', ...tiny(path.join(tmp, 'ck-text')), '--max-steps', '2']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/phase 1\/2 epoch 1: train loss \d\.\d{4}, valid loss \d\.\d{4}/);
    // The epoch's stats line under its loss line.
    expect(r.stderr).toMatch(/valid loss .*\n {2}active \d+% · semi-hard \d+% · d\+ \d\.\d\d · d− \d\.\d\d · spread \d\.\d\d\n/);
    expect(r.stdout).toMatch(/trained 2 steps .*\n.*final valid loss/);
  });

  it('warns of a collapse on stderr; --on-collapse stop checkpoints and exits 3 (--json: stoppedEarly "collapse", epochs with stats)', () => {
    // The hard loss at a rate far too high collapses (test/train.collapse.test.ts).
    const collapsing = ['--data', dir, '--classes', '4', '--per-class', '8', '--dim', '32', '--device', 'cpu', '--threads', '1',
      '--loss', 'hard', '--frozen-epochs', '0', '--epochs', '3', '--lr', '0.1'];
    const warned = runCli(['train', ...collapsing, '--checkpoint-dir', path.join(tmp, 'ck-collapse-warn'), '--max-steps', '30']);
    expect(warned.status).toBe(0);
    expect(warned.stderr).toMatch(/warning: the embeddings collapsed \(phase 1\/1 epoch \d, step \d+\): spread 0\.0\d\d and loss 1\.0\d{3} at the margin 1 for 20 steps\ntry:\n {2}- a lower learning rate/);
    const stopped = runCli(['train', ...collapsing, '--checkpoint-dir', path.join(tmp, 'ck-collapse-stop'), '--on-collapse', 'stop', '--json']);
    expect(stopped.status).toBe(3);
    expect(stopped.stderr).toMatch(/warning: the embeddings collapsed/);
    const out = JSON.parse(stopped.stdout) as { stoppedEarly: string | false; history: { stats: { spread: number } }[] };
    expect(out.stoppedEarly).toBe('collapse');
    expect(out.history[out.history.length - 1].stats.spread).toBeLessThan(0.05);
  }, testTimeout(2));

  it('hands every flag to train() as given (the checkpoint records them)', async () => {
    const ckpt = path.join(tmp, 'ck-flags');
    const r = runCli([
      'train', '--data', dir, '--backbone', 'convnet-spatial', '--dim', '8', '--batch-norm', 'local',
      '--loss', 'hard', '--soft', '--margin', '0.5', '--distance', 'angular',
      '--classes', '4', '--per-class', '4', '--sampler', 'shuffled',
      '--frozen-epochs', '2', '--frozen-lr', '0.02', '--epochs', '3', '--lr', '0.003', '--backbone-lr-factor', '0.5',
      '--pool', 'concat', '--dropout', '0.1', '--no-head-batch-norm',
      '--seed', '7', '--device', 'cpu', '--threads', '1', '--weight-decay', '0.001', '--grad-clip', '2', '--precision', 'bf16',
      '--rotation', '5', '--scale', '0.05', '--translate', '0.125', '--flip',
      '--checkpoint-dir', ckpt, '--max-steps', '1', '--json',
    ]);
    expect(r.status).toBe(0);
    expect((await header(ckpt)).config).toEqual({
      data: { idxDir: dir },
      model: { backbone: 'convnet-spatial', dim: 8, batchNorm: 'local', stem: null, pool: 'concat', headBatchNorm: false, dropout: 0.1, pretrained: null, inputChannels: null },
      loss: { kind: 'hard', margin: 0.5, distance: 'angular', soft: true },
      batch: { classes: 4, perClass: 4, sampler: 'shuffled', chunk: null },
      // --backbone-lr-factor: the unfrozen phase's.
      phases: [
        { epochs: 2, maxLr: 0.02, freeze: 'backbone', backboneLrFactor: 1 },
        { epochs: 3, maxLr: 0.003, freeze: 'none', backboneLrFactor: 0.5 },
      ],
      seed: 7,
      device: 'cpu',
      precision: 'bf16',
      threads: 1,
      weightDecay: 0.001,
      gradClip: 2,
      augment: { rotation: 5, scale: 0.05, translate: 0.125, flip: true, crop: false },
      checkpointDir: ckpt,
      resume: false,
      maxSteps: 1,
      distributed: null,
    });
  });

  it('leaves a setting not given to train(): the recorded configuration is train()\'s default', async () => {
    const ckpt = path.join(tmp, 'ck-defaults');
    const r = runCli(['train', '--data', dir, '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckpt, '--max-steps', '1', '--json']);
    expect(r.status).toBe(0);
    // The API called directly with only the same four settings.
    const expected = resolveTrainConfig({ data: { idxDir: dir }, device: 'cpu', threads: 1, checkpointDir: ckpt, maxSteps: 1 });
    expect((await header(ckpt)).config).toEqual(expected);
  });

  it('--frozen-epochs 0 or --epochs 0 leaves that phase out; the other keeps its default', async () => {
    const a = path.join(tmp, 'ck-unfrozen-only');
    expect(runCli(['train', ...tiny(a), '--frozen-epochs', '0', '--lr', '0.005', '--max-steps', '1', '--json']).status).toBe(0);
    expect((await header(a)).config.phases).toEqual([{ epochs: DEFAULT_PHASES[1].epochs, maxLr: 0.005, freeze: 'none', backboneLrFactor: 1 }]);
    const b = path.join(tmp, 'ck-frozen-only');
    expect(runCli(['train', ...tiny(b), '--epochs', '0', '--max-steps', '1', '--json']).status).toBe(0);
    expect((await header(b)).config.phases).toEqual([{ ...DEFAULT_PHASES[0], backboneLrFactor: 1 }]);
  }, testTimeout(2));

  it('passes the augmentation flags; --no-augment turns it off', async () => {
    const ckpt = path.join(tmp, 'ck-flip');
    expect(runCli(['train', ...tiny(ckpt), '--max-steps', '1', '--json', '--flip', '--rotation', '0', '--translate', '0.125']).status).toBe(0);
    expect((await header(ckpt)).config.augment).toEqual({ rotation: 0, scale: 0.1, translate: 0.125, flip: true, crop: false });
    expect(runCli(['train', ...tiny(ckpt + '-off'), '--max-steps', '1', '--json', '--no-augment', '--flip']).status).toBe(0);
    expect((await header(ckpt + '-off')).config.augment).toBe(false);
  }, testTimeout(2));

  // Each is train()'s own TypeError/RangeError (exit 2): "Expected <what> for <setting> but
  // received <value>", raised before anything is written.
  it.each([
    [['--epochs', '-1'], 'config.phases[1].epochs', '-1 of type number'],
    [['--frozen-epochs', '0', '--epochs', '-1'], 'config.phases[0].epochs', '-1 of type number'],
    [['--frozen-epochs', '-1'], 'config.phases[0].epochs', '-1 of type number'],
    [['--frozen-epochs', '0', '--epochs', '0'], 'config.phases', 'an Array of length 0'],
    [['--lr', '0'], 'config.phases[1].maxLr', '0 of type number'],
    [['--dim', '1.5'], 'config.model.dim', '1.5 of type number'],
    [['--classes', '0'], 'config.batch.classes', '0 of type number'],
    [['--soft'], 'config.loss.soft', 'true of type boolean'],
    [['--rotation', '200'], 'config.augment.rotation', '200 of type number'],
    [['--seed', '-1'], 'config.seed', '-1 of type number'],
    [['--max-steps', '0'], 'config.maxSteps', '0 of type number'],
    [['--weight-decay', '-1'], 'config.weightDecay', '-1 of type number'],
    [['--backbone-lr-factor', '0'], 'config.phases[1].backboneLrFactor', '0 of type number'],
    [['--dropout', '1'], 'config.model.dropout', '1 of type number'],
    [['--stem', 'small'], 'config.model.stem', "'small' of type string"],
    [['--pretrained', 'w.pth'], 'config.model.backbone', "'convnet' of type string"],
  ])('%j: exit 2, naming %s', (flags, setting, received) => {
    const ckpt = path.join(tmp, `ck-bad-${flags.join('').replace(/\W/g, '_')}`);
    const r = runCli(['train', '--data', dir, '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckpt, ...flags]);
    const line = r.stderr.split('\n').find((l) => l.startsWith('semihard: Expected '));
    expect(line).toMatch(/^semihard: Expected .+ for \S+ but received .+$/);
    expect(line).toContain(` for ${setting} but received ${received}`);
    expect(r.status).toBe(2);
    expect(fs.existsSync(ckpt)).toBe(false);
  });

  it('--pretrained with a ResNet: a weight file that cannot be read stops the run (exit 1) naming it, before any checkpoint', () => {
    const ckpt = path.join(tmp, 'ck-pretrained');
    const file = path.join(tmp, 'no-such-weights.pth');
    const r = runCli(['train', '--data', dir, '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckpt, '--backbone', 'resnet18', '--pretrained', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
    expect(fs.existsSync(path.join(ckpt, 'last.ckpt'))).toBe(false);
  });

  // A value outside a flag's choices (the tuples train() validates against, written out here)
  // is commander's error, exit 2, before anything is written.
  it.each([
    ['--backbone <name>', 'vgg', 'convnet, convnet-spatial, resnet18, resnet34, resnet50'],
    ['--loss <kind>', 'triplet', 'semihard, hard'],
    ['--distance <d>', 'cosine', 'L2, squared-L2, angular'],
    ['--sampler <kind>', 'random', 'balanced, shuffled'],
    ['--device <d>', 'tpu', 'cpu, cuda, auto'],
    ['--batch-norm <stats>', 'none', 'sync, local, frozen'],
    ['--dist-backend <name>', 'mpi', 'gloo, nccl, auto'],
    ['--stem <kind>', 'tiny', 'imagenet, small'],
    ['--pool <kind>', 'max', 'concat, avg'],
    ['--precision <p>', 'fp64', 'fp32, bf16, fp16'],
  ])('%s %s: exit 2, listing the choices', (flag, value, choices) => {
    const ckpt = path.join(tmp, `ck-choice-${value}`);
    const r = runCli(['train', '--data', dir, '--checkpoint-dir', ckpt, flag.split(' ')[0], value]);
    expect(r.stderr.split('\n')[0]).toBe(`error: option '${flag}' argument '${value}' is invalid. Allowed choices are ${choices}.`);
    expect(r.status).toBe(2);
    expect(fs.existsSync(ckpt)).toBe(false);
  });

  it('--data <image folder>: the folder flags reach train() (the checkpoint records them); bad images are counted and listed', async () => {
    const photos = path.join(tmp, 'photos');
    const written = await writeImageFolder(photos, { classes: 4, perClass: 8, specials: ['corrupt'] });
    const corrupt = written.images.find((i) => i.kind === 'corrupt')!;
    const ckpt = path.join(tmp, 'ck-photos');
    const args = ['train', '--data', photos, '--classes', '4', '--per-class', '2', '--dim', '8', '--device', 'cpu', '--threads', '1', '--checkpoint-dir', ckpt];
    const refused = runCli([...args, '--max-steps', '1']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(corrupt.file);
    const r = runCli([
      ...args, '--image-size', '24x20', '--channels', '1', '--valid-fraction', '0.25', '--skip-bad-images', '--cache-gib', '0.5', '--max-steps', '2',
    ]);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`decoded ${written.images.length - 1} images, skipped 1 bad ones; kept in memory`);
    expect(r.stderr).toContain(`skipped ${corrupt.file}: `);
    expect((await header(ckpt)).config.data).toEqual({
      imageFolder: photos,
      validFolder: null,
      validFraction: 0.25,
      validFiles: null,
      imageSize: [24, 20],
      channels: 1,
      badImages: 'skip',
      cacheBytes: 2 ** 29,
    });
    expect((await header(ckpt)).dataset).toMatchObject({ source: 'folder', channels: 1, height: 24, width: 20, storedHeight: 27, storedWidth: 23 });
  }, testTimeout(2));

  it('exits 1 on a missing data folder, saying it does not exist (a path that is not an IDX folder is read as an image folder)', () => {
    const missing = path.join(tmp, 'nothing-here');
    const r = runCli(['train', '--data', missing, '--checkpoint-dir', path.join(tmp, 'ck-missing')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`semihard: The image folder ${missing} does not exist`);
  });

  it('exits 1 when --data is a file, saying it is not a folder', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'not a folder');
    const r = runCli(['train', '--data', file, '--checkpoint-dir', path.join(tmp, 'ck-file')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`semihard: The image folder ${file} is not a folder`);
  });

  it('rejects a malformed command line with exit 2 before doing anything', () => {
    const notNumber = runCli(['train', '--dim', 'wide']);
    expect(notNumber.status).toBe(2);
    expect(notNumber.stderr).toMatch(/'wide' is not a number/);
    const unknown = runCli(['train', '--epoch', '3']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--epoch'/);
    const stray = runCli(['train', '--data', dir, '--dist-timeout', '5000', '--checkpoint-dir', path.join(tmp, 'ck-stray')]);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toMatch(/--dist-timeout only apply to training in several processes/);
    expect(fs.existsSync(path.join(tmp, 'ck-stray'))).toBe(false);
  });

  it('--nproc 2 trains in two ranks: exit 0, one JSON result from rank 0, the checkpoint it wrote', () => {
    const ckpt = path.join(tmp, 'ck-nproc');
    const r = runCli(['train', '--nproc', '2', ...tiny(ckpt), '--max-steps', '3', '--json']);
    expectNoErrorText(r.stderr);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: number; checkpoint: string };
    expect(out).toMatchObject({ steps: 3, checkpoint: path.join(ckpt, 'last.ckpt') });
    expect(fs.existsSync(out.checkpoint)).toBe(true);
  });

  it('--nproc with a global batch the ranks cannot split: a RangeError naming config.batch, exit 2', () => {
    const r = runCli(['train', '--nproc', '3', ...tiny(path.join(tmp, 'ck-nproc-bad')), '--max-steps', '1', '--json']);
    expect(r.status).toBe(2);
    // Whichever rank reports first (rank 0 unprefixed, the others as [rank r]); the rest are stopped.
    expect(r.stderr).toMatch(/(^|\[rank \d\] )semihard: Expected a global batch .* divisible by the 3 ranks for config\.batch/m);
  });

  it('--nproc 0: launchRanks\'s RangeError, exit 2, nothing started', () => {
    const ckpt = path.join(tmp, 'ck-nproc-0');
    const r = runCli(['train', '--nproc', '0', ...tiny(ckpt), '--max-steps', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/semihard: Expected a positive integer for nproc but received 0/);
    expect(fs.existsSync(ckpt)).toBe(false);
  });

  it('Ctrl-C: exit 130, the resume hint, and --resume continues from the checkpoint', async () => {
    const ckpt = path.join(tmp, 'ck-sigint');
    // Fifty epochs in phase 2: far more than can run before the interrupt arrives.
    const args = ['train', ...tiny(ckpt), '--epochs', '50'];
    let sent = false;
    const r = await runCliAsync(args, (stderr, child) => {
      if (!sent && /phase 1\/2 epoch 1: /.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/Training was cancelled: interrupted \(Ctrl-C\); the state is in .*last\.ckpt\nresume with the same command and --resume\n/);
    const stopped = await header(ckpt);
    expect(stopped.finished).toBe(false);
    expect(stopped.history.length).toBeGreaterThanOrEqual(1);
    expect(stopped.globalStep).toBeGreaterThan(0);

    const resumed = runCli([...args, '--resume', '--max-steps', String(stopped.globalStep + 2), '--json']);
    expect(resumed.status).toBe(0);
    const out = JSON.parse(resumed.stdout) as { steps: number; stoppedEarly: string | false; history: unknown[] };
    expect(out).toMatchObject({ steps: 2, stoppedEarly: 'maxSteps' });
    expect(out.history.slice(0, stopped.history.length)).toEqual(stopped.history);
    expect((await header(ckpt)).globalStep).toBe(stopped.globalStep + 2);
  }, testTimeout(2));
});
