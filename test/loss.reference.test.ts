// The native losses against the brute-force float64 reference on seeded random batches.
import { tripletHardLoss, tripletSemiHardLoss } from '../lib';
import { maxAbsDiff } from './helpers/fixtures';
import { randomBatch, referenceLoss, type RefDistance } from './reference/triplet-reference';

const cases: [string, number, number, number, RefDistance, number, boolean][] = [];
let seed = 1;
for (const distance of ['L2', 'squared-L2', 'angular'] as RefDistance[]) {
  for (const [batch, classes] of [
    [6, 2],
    [24, 4],
    [64, 8],
    [150, 30],
  ]) {
    for (const margin of [0.1, 1.0]) {
      const normalise = seed % 3 !== 0;
      cases.push([`${distance} B=${batch} classes=${classes} margin=${margin}${normalise ? '' : ' unnormalised'}`, seed++, batch, classes, distance, margin, normalise]);
    }
  }
}

describe.each(['semihard', 'hard', 'hard-soft'] as const)('%s loss vs brute force', (loss) => {
  it.each(cases)('%s', (_name, s, batch, classes, distance, margin, normalise) => {
    const dim = 7;
    const { embeddings, labels } = randomBatch(s, batch, dim, classes, normalise);
    const soft = loss === 'hard-soft';
    const kind = loss === 'semihard' ? 'semihard' : 'hard';
    const ref = referenceLoss(kind, embeddings, labels, dim, { margin, distance, soft });
    const options = { dim, margin, distance, device: 'cpu' as const };
    const got = kind === 'semihard' ? tripletSemiHardLoss(embeddings, labels, options) : tripletHardLoss(embeddings, labels, { ...options, soft });
    expect(got.positivePairs).toBe(ref.positivePairs);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref.loss)));
    expect(maxAbsDiff(got.grad, ref.grad)).toBeLessThanOrEqual(1e-5);
  });
});

describe('Int32Array, BigInt64Array and plain-array labels agree', () => {
  it('gives identical results', () => {
    const { embeddings, labels } = randomBatch(99, 40, 5, 6, true);
    const a = tripletSemiHardLoss(embeddings, labels, { dim: 5, device: 'cpu' });
    const b = tripletSemiHardLoss(embeddings, Int32Array.from(labels), { dim: 5, device: 'cpu' });
    const c = tripletSemiHardLoss(embeddings, BigInt64Array.from(labels, (v) => BigInt(v)), { dim: 5, device: 'cpu' });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });
  it('treats labels beyond int32 as distinct classes', () => {
    const { embeddings } = randomBatch(7, 4, 3, 1, true);
    const big = [2 ** 40, 2 ** 40, 2 ** 40 + 1, 2 ** 40 + 1];
    const small = [0, 0, 1, 1];
    const a = tripletSemiHardLoss(embeddings, big, { dim: 3, device: 'cpu' });
    const b = tripletSemiHardLoss(embeddings, small, { dim: 3, device: 'cpu' });
    expect(a).toEqual(b);
  });
});
