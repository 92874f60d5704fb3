// The TypeScript layer alone, over a fake binding: defaults, conversions, error mapping.
import type { NativeBinding, NativeLossOptions } from '../binding';
import { setBindingForTesting } from '../lib/binding';
import { SemihardError, tripletHardLoss, tripletSemiHardLoss, tripletSemiHardLossFromDistances, tripletHardLossAsync } from '../lib';

interface Call {
  fn: string;
  args: unknown[];
}

function fakeBinding(calls: Call[], behaviour: (fn: string) => unknown = () => undefined): NativeBinding {
  const result = { loss: 0.5, grad: new Float32Array(4), positivePairs: 2 };
  const record = (fn: string) => (...args: unknown[]) => {
    calls.push({ fn, args });
    const thrown = behaviour(fn);
    if (thrown) throw thrown;
    return fn.endsWith('Async') ? Promise.resolve(result) : result;
  };
  return {
    tripletLoss: record('tripletLoss'),
    tripletLossAsync: record('tripletLossAsync'),
    tripletLossFromDistances: record('tripletLossFromDistances'),
    tripletLossFromDistancesAsync: record('tripletLossFromDistancesAsync'),
    info: () => ({ torchVersion: 'fake', cudaAvailable: false, threads: 1, parallelBackend: 'fake', cudaVersion: null, cudnnVersion: null, cudaDevices: [] }),
    setNumThreads: () => undefined,
    benchmarkGram: () => 1,
  } as unknown as NativeBinding;
}

describe('the loss API over a fake binding', () => {
  let calls: Call[];
  beforeEach(() => {
    calls = [];
    setBindingForTesting(fakeBinding(calls));
  });
  afterEach(() => setBindingForTesting(undefined));

  it('passes one fully defaulted options object to the addon', () => {
    tripletSemiHardLoss(new Float32Array(4), [0, 0], { dim: 2 });
    const expected: NativeLossOptions = { kind: 'semihard', margin: 1.0, soft: false, distance: 'L2', device: 'auto' };
    expect(calls).toHaveLength(1);
    expect(calls[0].fn).toBe('tripletLoss');
    expect(calls[0].args[1]).toBe(2);
    expect(calls[0].args[3]).toEqual(expected);
  });

  it('keeps explicit options', () => {
    tripletHardLoss(new Float32Array(4), [0, 0], { dim: 2, margin: 0.2, soft: true, distance: 'angular', device: 'cpu' });
    expect(calls[0].args[3]).toEqual({ kind: 'hard', margin: 0.2, soft: true, distance: 'angular', device: 'cpu' });
  });

  it('converts plain labels to Int32Array, or BigInt64Array beyond int32', () => {
    tripletSemiHardLoss(new Float32Array(4), [3, -7], { dim: 2 });
    expect(calls[0].args[2]).toEqual(Int32Array.from([3, -7]));
    tripletSemiHardLoss(new Float32Array(4), [2 ** 33, 1], { dim: 2 });
    expect(calls[1].args[2]).toEqual(BigInt64Array.from([BigInt(2 ** 33), 1n]));
    const typed = new Int32Array([1, 1]);
    tripletSemiHardLoss(new Float32Array(4), typed, { dim: 2 });
    expect(calls[2].args[2]).toBe(typed); // no copy in JS; the addon copies
  });

  it('routes distances to the FromDistances entry point', () => {
    tripletSemiHardLossFromDistances(new Float32Array(4), [0, 1], { margin: 0.3 });
    expect(calls[0].fn).toBe('tripletLossFromDistances');
    expect(calls[0].args[2]).toMatchObject({ kind: 'semihard', margin: 0.3, device: 'auto' });
  });

  it('validates before calling the addon', () => {
    expect(() => tripletSemiHardLoss(new Float32Array(3), [0, 0], { dim: 2 })).toThrow(RangeError);
    expect(calls).toHaveLength(0);
  });

  it('uses the async entry point for the async twin', async () => {
    await expect(tripletHardLossAsync(new Float32Array(4), [0, 0], { dim: 2 })).resolves.toMatchObject({ loss: 0.5 });
    expect(calls[0].fn).toBe('tripletLossAsync');
  });
});

describe('native errors become library errors', () => {
  afterEach(() => setBindingForTesting(undefined));

  it('LibTorch failures become SemihardError with code ERR_SEMIHARD_TORCH', () => {
    const native = Object.assign(new Error('boom from c10'), { code: 'ERR_SEMIHARD_TORCH' });
    setBindingForTesting(fakeBinding([], () => native));
    let caught: unknown;
    try {
      tripletSemiHardLoss(new Float32Array(4), [0, 0], { dim: 2 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SemihardError);
    expect(caught).toMatchObject({ code: 'ERR_SEMIHARD_TORCH', message: 'boom from c10' });
    // The rebuilt error carries the caller's stack, not the addon's.
    expect((caught as Error).stack).toMatch(/loss-api\.unit\.test\.ts/);
  });

  it('native RangeErrors stay RangeErrors with their argument', () => {
    const native = Object.assign(new RangeError('Expected finite numbers in embeddings'), { argument: 'embeddings' });
    setBindingForTesting(fakeBinding([], () => native));
    expect(() => tripletSemiHardLoss(new Float32Array(4), [0, 0], { dim: 2 })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'embeddings', code: 'ERR_SEMIHARD_ARGUMENT' }),
    );
  });
});

describe('loading the addon', () => {
  it('explains what to do when the addon is missing', () => {
    const saved = process.env.SEMIHARD_ADDON;
    process.env.SEMIHARD_ADDON = '/nonexistent/semihard.node';
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fresh = require('../lib') as typeof import('../lib');
        let caught: unknown;
        try {
          fresh.info();
        } catch (err) {
          caught = err;
        }
        expect(caught).toMatchObject({ name: 'SemihardError', code: 'ERR_SEMIHARD_LOAD' });
        expect((caught as Error).message).toMatch(/npm run build:addon/);
      });
    } finally {
      if (saved === undefined) delete process.env.SEMIHARD_ADDON;
      else process.env.SEMIHARD_ADDON = saved;
    }
  });
});
