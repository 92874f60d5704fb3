// Bad input gives a TypeError (wrong type) or RangeError (bad value) naming the argument.
import {
  tripletHardLoss,
  tripletHardLossAsync,
  tripletSemiHardLoss,
  tripletSemiHardLossAsync,
  tripletSemiHardLossFromDistances,
  tripletHardLossFromDistances,
  setNumThreads,
  info,
} from '../lib';

const emb = new Float32Array([0, 1, 1, 0, 0.6, 0.8]);
const labels = [0, 0, 1];

function expectArgumentError(fn: () => unknown, Ctor: typeof TypeError | typeof RangeError, argument: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(Ctor);
  expect((caught as Error).constructor).toBe(Ctor);
  expect((caught as { argument: string }).argument).toBe(argument);
  expect((caught as { code: string }).code).toBe('ERR_SEMIHARD_ARGUMENT');
  expect((caught as Error).message).toMatch(message);
}

describe('tripletSemiHardLoss / tripletHardLoss argument errors', () => {
  const table: [string, () => unknown, typeof TypeError | typeof RangeError, string, RegExp][] = [
    ['embeddings not a Float32Array', () => tripletSemiHardLoss([0, 1, 1, 0] as unknown as Float32Array, [0, 0], { dim: 2 }), TypeError, 'embeddings', /Expected a Float32Array for embeddings but received an Array of length 4/],
    ['embeddings a Float64Array', () => tripletSemiHardLoss(new Float64Array(4) as unknown as Float32Array, [0, 0], { dim: 2 }), TypeError, 'embeddings', /Float32Array for embeddings but received a Float64Array/],
    ['options missing', () => tripletSemiHardLoss(emb, labels, undefined as unknown as { dim: number }), TypeError, 'options', /Expected an object for options/],
    ['dim missing', () => tripletSemiHardLoss(emb, labels, {} as { dim: number }), TypeError, 'options.dim', /positive integer for options.dim but received undefined/],
    ['dim a string', () => tripletSemiHardLoss(emb, labels, { dim: '2' as unknown as number }), TypeError, 'options.dim', /positive integer for options.dim/],
    ['dim zero', () => tripletSemiHardLoss(emb, labels, { dim: 0 }), RangeError, 'options.dim', /positive integer for options.dim but received 0 of type number/],
    ['dim negative', () => tripletSemiHardLoss(emb, labels, { dim: -2 }), RangeError, 'options.dim', /positive integer/],
    ['dim fractional', () => tripletSemiHardLoss(emb, labels, { dim: 1.5 }), RangeError, 'options.dim', /received 1.5 of type number/],
    ['length not divisible by dim', () => tripletSemiHardLoss(emb, labels, { dim: 4 }), RangeError, 'embeddings', /multiple of options.dim \(4\) but received length 6/],
    ['B = 0', () => tripletSemiHardLoss(new Float32Array(0), [], { dim: 2 }), RangeError, 'embeddings', /at least 2 rows .* received 0/],
    ['B = 1', () => tripletHardLoss(new Float32Array([1, 0]), [0], { dim: 2 }), RangeError, 'embeddings', /at least 2 rows .* received 1/],
    ['labels length differs', () => tripletSemiHardLoss(emb, [0, 1], { dim: 2 }), RangeError, 'labels', /Expected 3 labels .* received 2/],
    ['labels not array-like', () => tripletSemiHardLoss(emb, 3 as unknown as number[], { dim: 2 }), TypeError, 'labels', /Int32Array, a BigInt64Array or an array of integers/],
    ['label not a number', () => tripletSemiHardLoss(emb, [0, '0', 1] as unknown as number[], { dim: 2 }), TypeError, 'labels[1]', /an integer for labels\[1\]/],
    ['label fractional', () => tripletSemiHardLoss(emb, [0, 0.5, 1], { dim: 2 }), RangeError, 'labels[1]', /an integer for labels\[1\] but received 0.5/],
    ['label NaN', () => tripletSemiHardLoss(emb, [0, NaN, 1], { dim: 2 }), RangeError, 'labels[1]', /received NaN/],
    ['NaN embedding', () => tripletSemiHardLoss(new Float32Array([0, 1, NaN, 0, 0.6, 0.8]), labels, { dim: 2 }), RangeError, 'embeddings', /finite numbers in embeddings .* index 2/],
    ['Infinity embedding', () => tripletHardLoss(new Float32Array([0, 1, 1, 0, Infinity, 0.8]), labels, { dim: 2 }), RangeError, 'embeddings', /finite numbers in embeddings .* index 4/],
    ['unknown distance', () => tripletSemiHardLoss(emb, labels, { dim: 2, distance: 'L1' as 'L2' }), RangeError, 'options.distance', /one of 'L2', 'squared-L2', 'angular' for options.distance but received 'L1'/],
    ['distance not a string', () => tripletSemiHardLoss(emb, labels, { dim: 2, distance: 2 as unknown as 'L2' }), TypeError, 'options.distance', /one of 'L2'/],
    ['margin NaN', () => tripletSemiHardLoss(emb, labels, { dim: 2, margin: NaN }), RangeError, 'options.margin', /finite number for options.margin but received NaN/],
    ['margin Infinity', () => tripletHardLoss(emb, labels, { dim: 2, margin: Infinity }), RangeError, 'options.margin', /finite number/],
    ['margin a string', () => tripletSemiHardLoss(emb, labels, { dim: 2, margin: '1' as unknown as number }), TypeError, 'options.margin', /finite number/],
    ['margin beyond float32', () => tripletSemiHardLoss(emb, labels, { dim: 2, margin: 1e39 }), RangeError, 'options.margin', /within float32 range .* but received 1e\+39/],
    ['unknown device', () => tripletSemiHardLoss(emb, labels, { dim: 2, device: 'tpu' as 'cpu' }), RangeError, 'options.device', /one of 'cpu', 'cuda', 'auto'/],
    ['soft not a boolean', () => tripletHardLoss(emb, labels, { dim: 2, soft: 1 as unknown as boolean }), TypeError, 'options.soft', /a boolean for options.soft/],
    ['misspelt option', () => tripletSemiHardLoss(emb, labels, { dim: 2, marign: 1 } as unknown as { dim: number }), TypeError, 'options.marign', /no such option/],
    ['soft on semi-hard', () => tripletSemiHardLoss(emb, labels, { dim: 2, soft: true } as unknown as { dim: number }), TypeError, 'options.soft', /no such option/],
  ];
  it.each(table)('%s', (_name, fn, Ctor, argument, message) => expectArgumentError(fn, Ctor, argument, message));

  it('the async twins reject with the same errors', async () => {
    await expect(tripletSemiHardLossAsync(emb, [0, 1], { dim: 2 })).rejects.toThrow(RangeError);
    await expect(tripletHardLossAsync(new Float32Array([NaN, 0, 1, 1]), [0, 0], { dim: 2 })).rejects.toMatchObject({
      constructor: RangeError,
      argument: 'embeddings',
    });
  });
});

describe('FromDistances argument errors', () => {
  const d = new Float32Array([0, 1, 2, 1, 0, 1, 2, 1, 0]);
  const table: [string, () => unknown, typeof TypeError | typeof RangeError, string, RegExp][] = [
    ['distances not Float32Array', () => tripletSemiHardLossFromDistances([0, 1, 1, 0] as unknown as Float32Array, [0, 0]), TypeError, 'distances', /Float32Array for distances/],
    ['distances not B×B', () => tripletSemiHardLossFromDistances(d, [0, 0]), RangeError, 'distances', /labels.length squared \(4\) but received 9/],
    ['one label', () => tripletHardLossFromDistances(new Float32Array([0]), [0]), RangeError, 'labels', /at least 2 labels/],
    ['NaN distance', () => tripletHardLossFromDistances(new Float32Array([0, NaN, 1, 0]), [0, 0]), RangeError, 'distances', /finite numbers in distances .* index 1/],
    ['margin NaN', () => tripletSemiHardLossFromDistances(d, [0, 0, 1], { margin: NaN }), RangeError, 'options.margin', /finite number/],
    ['margin beyond float32', () => tripletHardLossFromDistances(d, [0, 0, 1], { margin: -4e38 }), RangeError, 'options.margin', /within float32 range/],
    ['misspelt option', () => tripletHardLossFromDistances(d, [0, 0, 1], { sotf: true } as unknown as { soft: boolean }), TypeError, 'options.sotf', /no such option/],
  ];
  it.each(table)('%s', (_name, fn, Ctor, argument, message) => expectArgumentError(fn, Ctor, argument, message));
});

describe('setNumThreads', () => {
  it("sets LibTorch's intra-op thread count, as info() reports it", () => {
    const before = info().threads;
    try {
      for (const n of [1, 3, 2]) {
        setNumThreads(n);
        expect(info().threads).toBe(n);
      }
    } finally {
      setNumThreads(before);
    }
  });

  it('rejects non-positive counts', () => {
    expectArgumentError(() => setNumThreads(0), RangeError, 'threads', /positive integer for threads/);
    expectArgumentError(() => setNumThreads('2' as unknown as number), TypeError, 'threads', /positive integer/);
  });
});
