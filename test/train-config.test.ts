// train()'s configuration: defaults, and every bad value a clear TypeError/RangeError.
import { resolveTrainConfig, nativeTrainerOptions, upgradeConfig, DEFAULT_PHASES, type ResolvedTrainConfig } from '../lib/train';
import { DEFAULT_AUGMENT } from '../lib/augment';
import { distributedFromEnv } from '../lib/distributed';
import * as os from 'node:os';
import * as path from 'node:path';

describe('resolveTrainConfig', () => {
  it('fills every default', () => {
    const c = resolveTrainConfig({ data: 'mnist' });
    expect(c).toMatchObject({
      data: 'mnist',
      model: { backbone: 'convnet', dim: 128, batchNorm: 'sync' },
      loss: { kind: 'semihard', margin: 1, distance: 'L2', soft: false },
      batch: { classes: 8, perClass: 16, sampler: 'balanced', chunk: null },
      phases: DEFAULT_PHASES,
      seed: 0,
      device: 'auto',
      threads: null,
      weightDecay: 0.01,
      gradClip: 0,
      augment: { rotation: 10, scale: 0.1, translate: 0.1, flip: false, crop: false },
      checkpointDir: path.resolve('semihard-checkpoints'),
      resume: false,
      maxSteps: null,
      distributed: null,
    });
    expect(DEFAULT_PHASES).toEqual([
      { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
      { epochs: 4, maxLr: 1e-3, freeze: 'none' },
    ]);
  });

  it('fills the augmentation ranges a user leaves out, and keeps false', () => {
    expect(resolveTrainConfig({ data: 'mnist', augment: { flip: true, rotation: 0 } }).augment).toEqual({ rotation: 0, scale: 0.1, translate: 0.1, flip: true, crop: false });
    expect(resolveTrainConfig({ data: 'mnist', augment: true }).augment).toEqual({ rotation: 10, scale: 0.1, translate: 0.1, flip: false, crop: false });
    expect(resolveTrainConfig({ data: 'mnist', augment: { crop: { scale: [0.5, 1] } } }).augment).toMatchObject({ crop: { scale: [0.5, 1], ratio: [3 / 4, 4 / 3] } });
    expect(resolveTrainConfig({ data: 'mnist', augment: false }).augment).toBe(false);
  });

  it('reads a checkpoint config from before the ranges: augment true means the defaults', () => {
    const old = { ...resolveTrainConfig({ data: 'mnist' }), augment: true } as unknown as ResolvedTrainConfig;
    expect(upgradeConfig(old).augment).toEqual(DEFAULT_AUGMENT);
    const { crop: _noCrop, ...affine } = DEFAULT_AUGMENT;
    expect(nativeTrainerOptions(upgradeConfig(old))).toMatchObject({ augment: true, affine });
    expect(nativeTrainerOptions(upgradeConfig(old))).not.toHaveProperty('crop');
    // Before image folders, ranges had no crop: they mean no crop.
    const ranges = { ...resolveTrainConfig({ data: 'mnist' }), augment: { rotation: 5, scale: 0, translate: 0, flip: true } } as unknown as ResolvedTrainConfig;
    expect(upgradeConfig(ranges).augment).toEqual({ rotation: 5, scale: 0, translate: 0, flip: true, crop: false });
    expect(nativeTrainerOptions(resolveTrainConfig({ data: 'mnist', augment: false }))).not.toHaveProperty('affine');
  });

  it('chunk: recorded, passed to the native trainer only when set; a checkpoint from before it was unchunked', () => {
    const chunked = resolveTrainConfig({ data: 'mnist', batch: { classes: 64, perClass: 16, chunk: 128 } });
    expect(chunked.batch).toEqual({ classes: 64, perClass: 16, sampler: 'balanced', chunk: 128 });
    expect(nativeTrainerOptions(chunked).chunk).toBe(128);
    expect(nativeTrainerOptions(resolveTrainConfig({ data: 'mnist' }))).not.toHaveProperty('chunk');
    const plain = resolveTrainConfig({ data: 'mnist' });
    const old = { ...plain, batch: { classes: 8, perClass: 16, sampler: 'balanced' } } as unknown as ResolvedTrainConfig;
    expect(upgradeConfig(old).batch).toEqual(plain.batch);
  });

  it('resolves an IDX folder to an absolute path', () => {
    expect(resolveTrainConfig({ data: { idxDir: 'some/dir' } }).data).toEqual({ idxDir: path.resolve('some/dir') });
  });

  it('fills an image folder\'s defaults: a seeded 0.2 split, colour, the images\' own size or 224, bad images an error, a quarter of RAM; photo augmentation', () => {
    const c = resolveTrainConfig({ data: { imageFolder: 'photos' } });
    expect(c.data).toEqual({
      imageFolder: path.resolve('photos'),
      validFolder: null,
      validFraction: 0.2,
      validFiles: null,
      imageSize: null,
      channels: 3,
      badImages: 'error',
      cacheBytes: Math.floor(os.totalmem() / 4),
    });
    expect(c.augment).toEqual({ rotation: 10, scale: 0, translate: 0, flip: true, crop: { scale: [0.35, 1], ratio: [3 / 4, 4 / 3] } });
    expect(nativeTrainerOptions(c, 3)).toMatchObject({ channels: 3, crop: { minScale: 0.35, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 } });
    const given = resolveTrainConfig({
      data: { imageFolder: 'p', imageSize: [96, 128], channels: 1, validFiles: 'valid.txt', badImages: 'skip', cacheBytes: 0 },
      augment: { crop: false },
    });
    expect(given.data).toMatchObject({ imageSize: [96, 128], channels: 1, validFiles: path.resolve('valid.txt'), badImages: 'skip', cacheBytes: 0 });
    expect(given.augment).toMatchObject({ crop: false, flip: true });
    expect(resolveTrainConfig({ data: { imageFolder: 'p', imageSize: 64, validFiles: ['a/1.jpg'] } }).data).toMatchObject({ imageSize: [64, 64], validFiles: ['a/1.jpg'] });
    // A checkpoint's resolved source resolves to itself.
    expect(resolveTrainConfig({ data: c.data }).data).toEqual(c.data);
  });

  const table: [string, unknown, 'TypeError' | 'RangeError', string][] = [
    ['no config', undefined, 'TypeError', 'config'],
    ['unknown data name', { data: 'cifar' }, 'RangeError', 'config.data'],
    ['data of a wrong type', { data: 3 }, 'TypeError', 'config.data'],
    ['empty idxDir', { data: { idxDir: '' } }, 'TypeError', 'config.data.idxDir'],
    ['misspelt key', { data: 'mnist', epochs: 3 }, 'TypeError', 'config.epochs'],
    ['unknown backbone', { data: 'mnist', model: { backbone: 'vgg' } }, 'RangeError', 'config.model.backbone'],
    ['dim 0', { data: 'mnist', model: { dim: 0 } }, 'RangeError', 'config.model.dim'],
    ['margin NaN', { data: 'mnist', loss: { margin: NaN } }, 'RangeError', 'config.loss.margin'],
    ['soft with semihard', { data: 'mnist', loss: { soft: true } }, 'TypeError', 'config.loss.soft'],
    ['unknown distance', { data: 'mnist', loss: { distance: 'cosine' } }, 'RangeError', 'config.loss.distance'],
    ['batch classes 1.5', { data: 'mnist', batch: { classes: 1.5 } }, 'RangeError', 'config.batch.classes'],
    ['perClass a string', { data: 'mnist', batch: { perClass: '4' } }, 'TypeError', 'config.batch.perClass'],
    ['chunk 0', { data: 'mnist', batch: { chunk: 0 } }, 'RangeError', 'config.batch.chunk'],
    ['chunk 2.5', { data: 'mnist', batch: { chunk: 2.5 } }, 'RangeError', 'config.batch.chunk'],
    ['chunk a string', { data: 'mnist', batch: { chunk: '128' } }, 'TypeError', 'config.batch.chunk'],
    ['no phases', { data: 'mnist', phases: [] }, 'RangeError', 'config.phases'],
    ['phases not an array', { data: 'mnist', phases: {} }, 'TypeError', 'config.phases'],
    ['phase epochs 0', { data: 'mnist', phases: [{ epochs: 0, maxLr: 1e-3, freeze: 'none' }] }, 'RangeError', 'config.phases[0].epochs'],
    ['phase lr negative', { data: 'mnist', phases: [{ epochs: 1, maxLr: -1, freeze: 'none' }] }, 'RangeError', 'config.phases[0].maxLr'],
    ['phase freeze unknown', { data: 'mnist', phases: [{ epochs: 1, maxLr: 1e-3, freeze: 'head' }] }, 'RangeError', 'config.phases[0].freeze'],
    ['negative seed', { data: 'mnist', seed: -1 }, 'RangeError', 'config.seed'],
    ['device tpu', { data: 'mnist', device: 'tpu' }, 'RangeError', 'config.device'],
    ['threads 0', { data: 'mnist', threads: 0 }, 'RangeError', 'config.threads'],
    ['negative weight decay', { data: 'mnist', weightDecay: -0.1 }, 'RangeError', 'config.weightDecay'],
    ['augment a string', { data: 'mnist', augment: 'yes' }, 'TypeError', 'config.augment'],
    ['augment misspelt range', { data: 'mnist', augment: { rotate: 5 } }, 'TypeError', 'config.augment.rotate'],
    ['augment rotation 270', { data: 'mnist', augment: { rotation: 270 } }, 'RangeError', 'config.augment.rotation'],
    ['augment scale negative', { data: 'mnist', augment: { scale: -0.1 } }, 'RangeError', 'config.augment.scale'],
    ['augment scale 1', { data: 'mnist', augment: { scale: 1 } }, 'RangeError', 'config.augment.scale'],
    ['augment translate NaN', { data: 'mnist', augment: { translate: NaN } }, 'RangeError', 'config.augment.translate'],
    ['augment flip a string', { data: 'mnist', augment: { flip: 'yes' } }, 'TypeError', 'config.augment.flip'],
    ['maxSteps 0', { data: 'mnist', maxSteps: 0 }, 'RangeError', 'config.maxSteps'],
    ['augment crop a string', { data: 'mnist', augment: { crop: 'yes' } }, 'TypeError', 'config.augment.crop'],
    ['augment crop misspelt', { data: 'mnist', augment: { crop: { area: [0.5, 1] } } }, 'TypeError', 'config.augment.crop.area'],
    ['augment crop scale above 1', { data: 'mnist', augment: { crop: { scale: [0.5, 1.5] } } }, 'RangeError', 'config.augment.crop.scale'],
    ['augment crop scale 0', { data: 'mnist', augment: { crop: { scale: [0, 1] } } }, 'RangeError', 'config.augment.crop.scale'],
    ['augment crop scale reversed', { data: 'mnist', augment: { crop: { scale: [0.9, 0.5] } } }, 'RangeError', 'config.augment.crop.scale'],
    ['augment crop ratio one number', { data: 'mnist', augment: { crop: { ratio: 1 } } }, 'TypeError', 'config.augment.crop.ratio'],
    ['augment crop ratio NaN', { data: 'mnist', augment: { crop: { ratio: [NaN, 1] } } }, 'RangeError', 'config.augment.crop.ratio[0]'],
    ['imageFolder empty', { data: { imageFolder: '' } }, 'TypeError', 'config.data.imageFolder'],
    ['imageFolder misspelt option', { data: { imageFolder: 'x', validFolders: 'y' } }, 'TypeError', 'config.data.validFolders'],
    ['validFraction 1', { data: { imageFolder: 'x', validFraction: 1 } }, 'RangeError', 'config.data.validFraction'],
    ['validFraction negative', { data: { imageFolder: 'x', validFraction: -0.1 } }, 'RangeError', 'config.data.validFraction'],
    ['validFolder and validFiles', { data: { imageFolder: 'x', validFolder: 'v', validFiles: ['a.jpg'] } }, 'TypeError', 'config.data.validFiles'],
    ['validFiles a number', { data: { imageFolder: 'x', validFiles: 3 } }, 'TypeError', 'config.data.validFiles'],
    ['validFiles with an empty path', { data: { imageFolder: 'x', validFiles: ['a.jpg', ''] } }, 'TypeError', 'config.data.validFiles[1]'],
    ['imageSize 0', { data: { imageFolder: 'x', imageSize: 0 } }, 'RangeError', 'config.data.imageSize'],
    ['imageSize huge', { data: { imageFolder: 'x', imageSize: 224000 } }, 'RangeError', 'config.data.imageSize'],
    ['imageSize three sides', { data: { imageFolder: 'x', imageSize: [224, 224, 3] } }, 'RangeError', 'config.data.imageSize'],
    ['imageSize width 1.5', { data: { imageFolder: 'x', imageSize: [224, 1.5] } }, 'RangeError', 'config.data.imageSize[1]'],
    ['channels 2', { data: { imageFolder: 'x', channels: 2 } }, 'RangeError', 'config.data.channels'],
    ['channels a string', { data: { imageFolder: 'x', channels: '3' } }, 'TypeError', 'config.data.channels'],
    ['badImages ignore', { data: { imageFolder: 'x', badImages: 'ignore' } }, 'RangeError', 'config.data.badImages'],
    ['cacheBytes negative', { data: { imageFolder: 'x', cacheBytes: -1 } }, 'RangeError', 'config.data.cacheBytes'],
    ['cacheBytes fractional', { data: { imageFolder: 'x', cacheBytes: 1.5 } }, 'RangeError', 'config.data.cacheBytes'],
    ['onProgress not a function', { data: 'mnist', onProgress: 1 }, 'TypeError', 'config.onProgress'],
    ['signal not an AbortSignal', { data: 'mnist', signal: {} }, 'TypeError', 'config.signal'],
    ['batchNorm unknown', { data: 'mnist', model: { batchNorm: 'group' } }, 'RangeError', 'config.model.batchNorm'],
    ['distributed a number', { data: 'mnist', distributed: 2 }, 'TypeError', 'config.distributed'],
    ['distributed misspelt key', { data: 'mnist', distributed: { rank: 0, worldSize: 2, port: 1 } }, 'TypeError', 'config.distributed.port'],
    ['distributed no worldSize', { data: 'mnist', distributed: { rank: 0 } }, 'TypeError', 'config.distributed.worldSize'],
    ['distributed rank a string', { data: 'mnist', distributed: { rank: '0', worldSize: 2 } }, 'TypeError', 'config.distributed.rank'],
    ['distributed rank >= worldSize', { data: 'mnist', distributed: { rank: 2, worldSize: 2 } }, 'RangeError', 'config.distributed.rank'],
    ['distributed port 70000', { data: 'mnist', distributed: { rank: 0, worldSize: 2, masterPort: 70000 } }, 'RangeError', 'config.distributed.masterPort'],
    ['distributed backend mpi', { data: 'mnist', distributed: { rank: 0, worldSize: 2, backend: 'mpi' } }, 'RangeError', 'config.distributed.backend'],
    ['distributed timeout 0', { data: 'mnist', distributed: { rank: 0, worldSize: 2, timeoutMs: 0 } }, 'RangeError', 'config.distributed.timeoutMs'],
    ['distributed empty host', { data: 'mnist', distributed: { rank: 0, worldSize: 2, masterAddr: '' } }, 'RangeError', 'config.distributed.masterAddr'],
  ];
  it.each(table)('%s', (_name, config, errorName, argument) => {
    let caught: unknown;
    try {
      resolveTrainConfig(config);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ name: errorName, argument, code: 'ERR_SEMIHARD_ARGUMENT' });
    expect((caught as Error).message).toContain(argument);
  });
});

// Each enumeration against its documented values, written out here (not read from lib/enums.ts):
// every value is accepted as given, and a wrong one is refused with a message listing exactly them.
describe('enumerations', () => {
  type Case = [string, string[], (value: unknown) => Record<string, unknown>, (c: ResolvedTrainConfig) => unknown];
  const cases: Case[] = [
    ['config.model.backbone', ['convnet', 'convnet-spatial', 'resnet18', 'resnet34', 'resnet50'], (v) => ({ model: { backbone: v } }), (c) => c.model.backbone],
    ['config.model.batchNorm', ['sync', 'local', 'frozen'], (v) => ({ model: { batchNorm: v } }), (c) => c.model.batchNorm],
    ['config.loss.kind', ['semihard', 'hard'], (v) => ({ loss: { kind: v } }), (c) => c.loss.kind],
    ['config.loss.distance', ['L2', 'squared-L2', 'angular'], (v) => ({ loss: { distance: v } }), (c) => c.loss.distance],
    ['config.batch.sampler', ['balanced', 'shuffled'], (v) => ({ batch: { sampler: v } }), (c) => c.batch.sampler],
    ['config.phases[0].freeze', ['backbone', 'none'], (v) => ({ phases: [{ epochs: 1, maxLr: 1e-3, freeze: v }] }), (c) => c.phases[0].freeze],
    ['config.device', ['cpu', 'cuda', 'auto'], (v) => ({ device: v }), (c) => c.device],
    ['config.distributed.backend', ['gloo', 'nccl', 'auto'], (v) => ({ distributed: { rank: 0, worldSize: 2, backend: v } }), (c) => c.distributed?.backend],
  ];
  const thrown = (config: unknown): Error => {
    try {
      resolveTrainConfig(config);
    } catch (err) {
      return err as Error;
    }
    throw new Error('resolveTrainConfig accepted it');
  };
  it.each(cases)('%s: %j', (argument, values, configOf, read) => {
    for (const value of values) expect(read(resolveTrainConfig({ data: 'mnist', ...configOf(value) }))).toBe(value);
    const expected = `one of ${values.map((v) => `'${v}'`).join(', ')}`;
    expect(thrown({ data: 'mnist', ...configOf('Auto') })).toMatchObject({
      name: 'RangeError',
      argument,
      message: `Expected ${expected} for ${argument} but received 'Auto' of type string`,
    });
    expect(thrown({ data: 'mnist', ...configOf(1) })).toMatchObject({
      name: 'TypeError',
      argument,
      message: `Expected ${expected} for ${argument} but received 1 of type number`,
    });
  });

  it('config.data: the named sets or a folder', () => {
    for (const name of ['mnist', 'fashion-mnist']) expect(resolveTrainConfig({ data: name }).data).toBe(name);
    expect(thrown({ data: 'MNIST' })).toMatchObject({
      name: 'RangeError',
      message: "Expected 'mnist', 'fashion-mnist', { idxDir } or { imageFolder } for config.data but received 'MNIST' of type string",
    });
  });
});

describe('distributed options', () => {
  it('fills the defaults and reads torchrun variables', () => {
    expect(resolveTrainConfig({ data: 'mnist', distributed: { rank: 1, worldSize: 2 } }).distributed).toEqual({
      rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500, backend: 'auto', localRank: 1, timeoutMs: 60000, connectTimeoutMs: 300000,
    });
    expect(distributedFromEnv({})).toBeNull();
    expect(distributedFromEnv({ WORLD_SIZE: '4', RANK: '3', LOCAL_RANK: '1', MASTER_ADDR: 'node0', MASTER_PORT: '1234' })).toMatchObject({
      rank: 3, worldSize: 4, localRank: 1, masterAddr: 'node0', masterPort: 1234, backend: 'auto',
    });
    expect(() => distributedFromEnv({ WORLD_SIZE: '2' })).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'RANK' }));
    expect(() => distributedFromEnv({ WORLD_SIZE: 'two', RANK: '0' })).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'WORLD_SIZE' }));
    expect(() => resolveTrainConfig({ data: 'mnist', distributed: 'env' })).toThrow(
      process.env.WORLD_SIZE ? Error : expect.objectContaining({ name: 'RangeError', argument: 'config.distributed' }),
    );
  });
});
