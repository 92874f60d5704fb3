// config.model's network options and phases[i].backboneLrFactor: defaults, the stem chosen from
// the data, what a pretrained backbone implies, old checkpoints' configs, and every bad value
// a TypeError/RangeError naming its option.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSafetensors } from '../lib/model/safetensors';
import { nativeTrainerOptions, resolveTrainConfig, upgradeConfig, type ResolvedTrainConfig } from '../lib/train';
import { networkInputChannels, resolveStem } from '../lib/train/model-config';
import { pretrainedInputChannels, readPretrained } from '../lib/train/pretrained';

const thrown = (config: unknown): Error => {
  try {
    resolveTrainConfig(config);
  } catch (err) {
    return err as Error;
  }
  throw new Error('resolveTrainConfig accepted it');
};

describe('config.model', () => {
  it('ResNets default to fastai\'s head (concat pool, BatchNorm, dropout 0.25); convnets keep the average pool alone', () => {
    for (const backbone of ['resnet18', 'resnet34', 'resnet50'] as const) {
      expect(resolveTrainConfig({ data: 'mnist', model: { backbone } }).model).toEqual({
        backbone, dim: 128, batchNorm: 'sync', stem: null, pool: 'concat', headBatchNorm: true, dropout: 0.25, pretrained: null, inputChannels: null,
      });
    }
    for (const backbone of ['convnet', 'convnet-spatial'] as const) {
      expect(resolveTrainConfig({ data: 'mnist', model: { backbone } }).model).toEqual({
        backbone, dim: 128, batchNorm: 'sync', stem: null, pool: 'avg', headBatchNorm: false, dropout: 0, pretrained: null, inputChannels: null,
      });
    }
    expect(resolveTrainConfig({ data: 'mnist', model: { backbone: 'resnet18', stem: 'small', pool: 'avg', headBatchNorm: false, dropout: 0 } }).model).toMatchObject({
      stem: 'small', pool: 'avg', headBatchNorm: false, dropout: 0,
    });
    expect(resolveTrainConfig({ data: 'mnist', model: { pool: 'concat', headBatchNorm: true, dropout: 0.5 } }).model).toMatchObject({
      pool: 'concat', headBatchNorm: true, dropout: 0.5,
    });
  });

  it('pretrained: a ResNet\'s, its path resolved; the stem then defaults to imagenet', () => {
    const m = resolveTrainConfig({ data: 'mnist', model: { backbone: 'resnet50', pretrained: 'w/resnet50.pth' } }).model;
    expect(m).toMatchObject({ pretrained: path.resolve('w/resnet50.pth'), stem: 'imagenet' });
    expect(resolveTrainConfig({ data: 'mnist', model: { backbone: 'resnet18', pretrained: 'a.pth', stem: 'small' } }).model.stem).toBe('small');
  });

  it.each([
    ['pretrained not a string', { model: { backbone: 'resnet18', pretrained: 5 } }, 'TypeError', 'config.model.pretrained', 'Expected a weight file path for config.model.pretrained but received 5 of type number'],
    ['pretrained empty', { model: { backbone: 'resnet18', pretrained: '' } }, 'TypeError', 'config.model.pretrained', "Expected a weight file path for config.model.pretrained but received '' of type string"],
    ['pretrained on a convnet', { model: { pretrained: 'a.pth' } }, 'RangeError', 'config.model.backbone', "Expected a ResNet (resnet18, resnet34, resnet50) when config.model.pretrained is given for config.model.backbone but received 'convnet' of type string"],
    ['a convnet\'s stem', { model: { stem: 'small' } }, 'TypeError', 'config.model.stem', "Expected no such option for model.backbone 'convnet' (only the ResNets have a stem) for config.model.stem but received 'small' of type string"],
    ['stem unknown', { model: { backbone: 'resnet18', stem: 'tiny' } }, 'RangeError', 'config.model.stem', "Expected one of 'imagenet', 'small' for config.model.stem but received 'tiny' of type string"],
    ['pool unknown', { model: { pool: 'max' } }, 'RangeError', 'config.model.pool', "Expected one of 'concat', 'avg' for config.model.pool but received 'max' of type string"],
    ['headBatchNorm not a boolean', { model: { headBatchNorm: 1 } }, 'TypeError', 'config.model.headBatchNorm', 'Expected a boolean for config.model.headBatchNorm but received 1 of type number'],
    ['dropout 1', { model: { dropout: 1 } }, 'RangeError', 'config.model.dropout', 'Expected a number in [0, 1) for config.model.dropout but received 1 of type number'],
    ['dropout negative', { model: { dropout: -0.1 } }, 'RangeError', 'config.model.dropout', 'Expected a number in [0, 1) for config.model.dropout but received -0.1 of type number'],
    ['dropout not a number', { model: { dropout: '0.1' } }, 'TypeError', 'config.model.dropout', "Expected a finite number for config.model.dropout but received '0.1' of type string"],
    ['an unknown model key', { model: { inputChannels: 3 } }, 'TypeError', 'config.model.inputChannels', undefined],
    ['backboneLrFactor 0', { phases: [{ epochs: 1, maxLr: 1e-3, backboneLrFactor: 0 }] }, 'RangeError', 'config.phases[0].backboneLrFactor', 'Expected a positive number for config.phases[0].backboneLrFactor but received 0 of type number'],
    ['backboneLrFactor negative', { phases: [{ epochs: 1, maxLr: 1e-3 }, { epochs: 1, maxLr: 1e-3, backboneLrFactor: -2 }] }, 'RangeError', 'config.phases[1].backboneLrFactor', undefined],
    ['backboneLrFactor infinite', { phases: [{ epochs: 1, maxLr: 1e-3, backboneLrFactor: Infinity }] }, 'RangeError', 'config.phases[0].backboneLrFactor', undefined],
    ['backboneLrFactor not a number', { phases: [{ epochs: 1, maxLr: 1e-3, backboneLrFactor: '0.1' }] }, 'TypeError', 'config.phases[0].backboneLrFactor', undefined],
  ])('%s', (_what, extra, name, argument, message) => {
    const e = thrown({ data: 'mnist', ...extra });
    expect(e).toMatchObject({ name, argument, code: 'ERR_SEMIHARD_ARGUMENT' });
    if (message !== undefined) expect(e.message).toBe(message);
  });

  it('backboneLrFactor: recorded on every phase, 1 unless given', () => {
    const c = resolveTrainConfig({ data: 'mnist', phases: [{ epochs: 1, maxLr: 1e-2, freeze: 'backbone' }, { epochs: 2, maxLr: 1e-3, backboneLrFactor: 0.1 }] });
    expect(c.phases).toEqual([
      { epochs: 1, maxLr: 1e-2, freeze: 'backbone', backboneLrFactor: 1 },
      { epochs: 2, maxLr: 1e-3, freeze: 'none', backboneLrFactor: 0.1 },
    ]);
    expect(resolveTrainConfig({ data: 'mnist' }).phases.map((p) => p.backboneLrFactor)).toEqual([1, 1]);
  });
});

describe('the stem, the input channels and the normalisation', () => {
  const model = (extra: Record<string, unknown>) => resolveTrainConfig({ data: 'mnist', model: extra }).model;

  it("a ResNet's default stem: imagenet from 64 px on the shorter side or with pretrained weights, else small; a given stem stays", () => {
    expect(resolveStem(model({ backbone: 'resnet18' }), { height: 63, width: 500 }).stem).toBe('small');
    expect(resolveStem(model({ backbone: 'resnet18' }), { height: 64, width: 64 }).stem).toBe('imagenet');
    expect(resolveStem(model({ backbone: 'resnet34' }), { height: 224, width: 64 }).stem).toBe('imagenet');
    expect(resolveStem(model({ backbone: 'resnet50', pretrained: 'a.pth' }), { height: 28, width: 28 }).stem).toBe('imagenet');
    expect(resolveStem(model({ backbone: 'resnet18', stem: 'small' }), { height: 224, width: 224 }).stem).toBe('small');
    expect(resolveStem(model({ backbone: 'convnet' }), { height: 224, width: 224 }).stem).toBeNull();
  });

  it('input channels: as recorded (a pretrained file\'s conv1), else 3 with pretrained (checkpoints that recorded none), else the images\'', () => {
    const pretrained = model({ backbone: 'resnet18', pretrained: 'a.pth' });
    const plain = model({ backbone: 'resnet18' });
    expect([networkInputChannels(pretrained, 1), networkInputChannels(pretrained, 3)]).toEqual([3, 3]);
    expect([networkInputChannels(plain, 1), networkInputChannels(plain, 3)]).toEqual([1, 3]);
    expect(networkInputChannels({ ...pretrained, inputChannels: 1 }, 1)).toBe(1);
    expect(plain.inputChannels).toBeNull();
  });

  it('the native options carry the network', () => {
    const c = resolveTrainConfig({ data: 'mnist', model: { backbone: 'resnet50', pretrained: 'a.pth', dropout: 0.5 } });
    expect(nativeTrainerOptions(c, 1)).toMatchObject({
      backbone: 'resnet50', stem: 'imagenet', pool: 'concat', headBatchNorm: true, dropout: 0.5, channels: 1, inputChannels: 3,
    });
    expect(nativeTrainerOptions(resolveTrainConfig({ data: 'mnist' }), 3)).toMatchObject({ pool: 'avg', headBatchNorm: false, dropout: 0, channels: 3, inputChannels: 3 });
    expect(nativeTrainerOptions(resolveTrainConfig({ data: 'mnist' }))).not.toHaveProperty('stem');
  });
});

describe('checkpoints from before issue 13', () => {
  it('upgradeConfig fills what their networks were: average pool, no head BatchNorm or dropout, ResNets with the small stem, one rate', () => {
    const now = resolveTrainConfig({ data: 'mnist', model: { backbone: 'resnet18' } });
    const old = {
      ...now,
      model: { backbone: 'resnet18', dim: 64, batchNorm: 'sync' },
      phases: [{ epochs: 1, maxLr: 1e-2, freeze: 'backbone' }],
    } as unknown as ResolvedTrainConfig;
    const up = upgradeConfig(old);
    expect(up.model).toEqual({ backbone: 'resnet18', dim: 64, batchNorm: 'sync', stem: 'small', pool: 'avg', headBatchNorm: false, dropout: 0, pretrained: null, inputChannels: null });
    expect(up.phases).toEqual([{ epochs: 1, maxLr: 1e-2, freeze: 'backbone', backboneLrFactor: 1 }]);
    const convnet = upgradeConfig({ ...old, model: { backbone: 'convnet', dim: 32 } } as unknown as ResolvedTrainConfig);
    expect(convnet.model).toEqual({ backbone: 'convnet', dim: 32, batchNorm: 'sync', stem: null, pool: 'avg', headBatchNorm: false, dropout: 0, pretrained: null, inputChannels: null });
    // Today's config is its own upgrade.
    expect(upgradeConfig(now)).toEqual(now);
  });
});

describe('what a pretrained file decides (lib/train/pretrained.ts)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-pretrained-unit-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conv1 = (channels: number) => ({ name: 'conv1.weight', dtype: 'float32' as const, shape: [64, channels, 7, 7], data: new Uint8Array(64 * channels * 49 * 4) });

  it("a plain file: its conv1's channels and ImageNet's statistics; an export: its recorded ones", async () => {
    const plain = path.join(dir, 'plain.safetensors');
    await writeSafetensors(plain, [conv1(3)]);
    expect(await readPretrained(plain)).toMatchObject({ inputChannels: 3, normalisation: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
    const grey = path.join(dir, 'grey.safetensors');
    await writeSafetensors(grey, [conv1(1)], { semihard: JSON.stringify({ mean: [0.29], std: [0.35] }) });
    const weights = await readPretrained(grey);
    expect(weights).toMatchObject({ inputChannels: 1, normalisation: { mean: [0.29], std: [0.35] } });
    expect(pretrainedInputChannels(weights, 1)).toBe(1);
    // 3-channel images cannot feed a 1-channel network.
    expect(() => pretrainedInputChannels(weights, 3)).toThrow(expect.objectContaining({ code: 'ERR_SEMIHARD_WEIGHTS', message: expect.stringContaining(grey) }));
  });

  it('refuses a recorded normalisation that does not fit, and a conv1 for neither 1 nor 3 channels, naming the file', async () => {
    const bad = path.join(dir, 'bad.safetensors');
    await writeSafetensors(bad, [conv1(3)], { semihard: JSON.stringify({ mean: [0.5], std: [0.2] }) });
    await expect(readPretrained(bad)).rejects.toMatchObject({ code: 'ERR_SEMIHARD_WEIGHTS', message: expect.stringContaining(`${bad} records no usable normalisation`) });
    const notJson = path.join(dir, 'not-json.safetensors');
    await writeSafetensors(notJson, [conv1(3)], { semihard: '{' });
    await expect(readPretrained(notJson)).rejects.toMatchObject({ message: expect.stringContaining('not JSON') });
    const four = path.join(dir, 'four.safetensors');
    await writeSafetensors(four, [conv1(4)]);
    await expect(readPretrained(four)).rejects.toMatchObject({ message: expect.stringContaining('4-channel') });
  });
});
