// train() from a torchvision weight file: the backbone starts from it (phase 1 leaves its
// convolutions as the file has them), 1-channel digits feed a 3-channel network (each image
// replicated, ImageNet's normalisation), the checkpoint records the resolved network, resuming
// neither reloads the file nor loses exactness (dropout and the backbone's rate factor
// included), loadModel embeds 1-channel images, and a file that does not fit is refused by name.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, lrFind, train, type TrainConfig } from '../lib';
import { createTrainer } from '../lib/binding';
import { readCheckpoint } from '../lib/checkpoint';
import { loadIdxDataset } from '../lib/data/datasets';
import { nativeTrainerOptions, type TrainCheckpointHeader } from '../lib/train';
import { takePerClass, writeIdxDir } from './helpers/idx';
import { pretrainedRunConfig } from './helpers/pretrained-run';
import { UNIT_NORM_TOLERANCE } from './helpers/tolerance';
import { referenceScripts, runPython } from './helpers/torch-reference';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-pretrained-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const weights = path.join(tmp, 'weights');
const pth = path.join(weights, 'resnet18.pth');
const dataDir = path.join(tmp, 'digits');
const mnist = loadIdxDataset('mnist', 0);

interface RawEntry {
  name: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  file: string;
}

beforeAll(() => {
  runPython([path.join(referenceScripts, 'pretrained_resnet18.py'), weights]);
  // 8 training and 4 validation digits a class: 5 steps of 4 × 4 an epoch.
  writeIdxDir(dataDir, { train: takePerClass(mnist.train, 8), test: takePerClass(mnist.valid, 4) }, 28, false);
}, 600_000);

function config(name: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return pretrainedRunConfig({ dataDir, pth, checkpointDir: path.join(tmp, name), seed: 3 }, extra);
}

describe('train() with pretrained weights', () => {
  it('starts from the file: after the frozen phase the convolutions are the file\'s, bit for bit; the checkpoint records the network', async () => {
    const result = await train(config('frozen', { maxSteps: 5 }));
    const { header, state } = await readCheckpoint<TrainCheckpointHeader>(result.checkpoint);
    expect(header.config.model).toEqual({
      backbone: 'resnet18', dim: 16, batchNorm: 'sync', stem: 'imagenet', pool: 'concat', headBatchNorm: true, dropout: 0.25, pretrained: pth,
      // What the file's conv1 takes.
      inputChannels: 3,
    });
    expect(header.config.phases.map((p) => p.backboneLrFactor)).toEqual([1, 0.1]);
    const trainer = createTrainer({ ...nativeTrainerOptions(header.config, 1), device: 'cpu' });
    await trainer.loadState(state, false);
    const exported = new Map((await trainer.exportWeights()).map((e) => [e.name, e]));
    const index = JSON.parse(fs.readFileSync(path.join(weights, 'index.json'), 'utf8')) as RawEntry[];
    let convolutions = 0;
    let batchNorms = 0;
    for (const e of index) {
      if (e.name.startsWith('fc.')) continue;
      const got = exported.get(e.name)!;
      expect([e.name, got.shape]).toEqual([e.name, e.shape]);
      const same = Buffer.from(got.data).equals(fs.readFileSync(path.join(weights, e.file)));
      if (/conv\d\.weight$|downsample\.0\.weight$/.test(e.name)) {
        // Frozen in phase 1: exactly the file's.
        expect([e.name, same]).toEqual([e.name, true]);
        convolutions++;
      } else if (/running_mean$/.test(e.name)) {
        // BatchNorm learned (and its statistics moved) on the digits.
        expect([e.name, same]).toEqual([e.name, false]);
        batchNorms++;
      }
    }
    expect(convolutions).toBe(20);
    expect(batchNorms).toBe(20);
  }, 120_000);

  it('resumes exactly without reading the file again (dropout masks and the backbone\'s rate factor included)', async () => {
    const uninterrupted = await train(config('whole'));
    expect(uninterrupted.history.map((h) => h.phase)).toEqual([0, 1]);
    const first = await train(config('split', { maxSteps: 7 }));
    expect(first.stoppedEarly).toBe('maxSteps');
    // The weight file is gone: a resumed run has its weights in the checkpoint.
    const moved = path.join(tmp, 'moved.pth');
    fs.renameSync(pth, moved);
    let resumed;
    try {
      resumed = await train(config('split', { resume: true }));
    } finally {
      fs.renameSync(moved, pth);
    }
    expect(resumed.history.flatMap((h) => h.stepLosses)).toEqual(uninterrupted.history.flatMap((h) => h.stepLosses).slice(-resumed.history.flatMap((h) => h.stepLosses).length));
    expect(resumed.history.at(-1)!.validLoss).toBe(uninterrupted.history.at(-1)!.validLoss);
    // loadModel builds the same network and takes 1-channel images.
    const model = await loadModel(resumed.checkpoint, { device: 'cpu' });
    expect(model.channels).toBe(1);
    const e = await model.embed(mnist.valid.images.subarray(0, 3 * 784), 3);
    for (let i = 0; i < 3; i++) expect(Math.abs(Math.hypot(...e.subarray(i * 16, (i + 1) * 16)) - 1)).toBeLessThanOrEqual(UNIT_NORM_TOLERANCE);
  }, 300_000);

  it('refuses a file that does not fit the backbone, naming it, with every missing key', async () => {
    const err = (await train(config('misfit', { model: { backbone: 'resnet34', pretrained: pth }, maxSteps: 1 })).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err).toMatchObject({ name: 'SemihardError', code: 'ERR_SEMIHARD_WEIGHTS' });
    expect(err.message).toContain(`Weight file ${pth} does not fit a torchvision resnet34`);
    expect(err.message).toContain('layer3.5.conv1.weight');
    // A file with one key more than torchvision's (torch.save of the state_dict plus 'extra.weight'):
    // refused naming the file and the key, before any checkpoint is written.
    const extra = path.join(tmp, 'extra.pth');
    runPython(['-c', `import torch; s = torch.load(${JSON.stringify(pth)}, weights_only=True); s['extra.weight'] = torch.zeros(3); torch.save(s, ${JSON.stringify(extra)})`]);
    const extraErr = (await train(config('extra', { maxSteps: 1, model: { backbone: 'resnet18', pretrained: extra } })).catch((e: unknown) => e)) as Error & { code?: string };
    expect(extraErr).toMatchObject({ code: 'ERR_SEMIHARD_WEIGHTS' });
    expect(extraErr.message).toContain(`Weight file ${extra} does not fit a torchvision resnet18`);
    expect(extraErr.message).toContain('extra.weight');
    expect(fs.existsSync(path.join(tmp, 'extra', 'last.ckpt'))).toBe(false);
    const missing = path.join(tmp, 'nothing.pth');
    const gone = (await train(config('gone', { model: { backbone: 'resnet18', pretrained: missing }, maxSteps: 1 })).catch((e: unknown) => e)) as Error & { code?: string };
    expect(gone).toMatchObject({ code: 'ERR_SEMIHARD_WEIGHTS' });
    expect(gone.message).toContain(missing);
  }, 120_000);
});

describe('lrFind() with pretrained weights', () => {
  it('reads and loads the file as train() does: a file that fits runs every step; one that does not is refused naming it', async () => {
    const base = { data: { idxDir: dataDir }, batch: { classes: 4, perClass: 4 }, freeze: 'backbone' as const, steps: 4, seed: 3, device: 'cpu' as const, threads: 2 };
    const r = await lrFind({ ...base, model: { backbone: 'resnet18', dim: 16, pretrained: pth } });
    expect(r.losses.length).toBe(4);
    for (const loss of r.losses) expect(Number.isFinite(loss)).toBe(true);
    const err = (await lrFind({ ...base, model: { backbone: 'resnet34', dim: 16, pretrained: pth } }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err).toMatchObject({ code: 'ERR_SEMIHARD_WEIGHTS' });
    expect(err.message).toContain(`Weight file ${pth} does not fit a torchvision resnet34`);
  }, 120_000);
});

describe('one-channel images on a three-channel network', () => {
  it('are replicated before normalisation: the embeddings of the same network on the RGB copies, bit for bit', async () => {
    const base = {
      backbone: 'resnet18', stem: 'small', dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2',
      weightDecay: 0, gradClip: 0, augment: false, device: 'cpu', seed: 9,
    } as const;
    const grey = createTrainer({ ...base, channels: 1, inputChannels: 3 });
    const rgb = createTrainer({ ...base, channels: 3 });
    const set = takePerClass(mnist.train, 1);
    const colour = new Uint8Array(set.images.length * 3);
    for (let i = 0; i < set.images.length; i++) colour.fill(set.images[i], 3 * i, 3 * i + 3);
    const normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const labels = Int32Array.from(set.labels);
    grey.setData({ train: { images: set.images, labels }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation });
    rgb.setData({ train: { images: colour, labels }, valid: null, geometry: { channels: 3, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation });
    const a = await grey.embed(set.images, 10);
    const b = await rgb.embed(colour, 10);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    // A 1-channel normalisation on a 3-channel network is refused.
    expect(() => grey.setData({ train: { images: set.images, labels }, valid: null, geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 }, normalisation: { mean: [0.5], std: [0.2] } })).toThrow(/need 3 means and standard deviations, got 1 and 1/);
  });
});
