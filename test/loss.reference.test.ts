// The native losses against the brute-force float64 reference on seeded random batches, with
// each of the two miners: the CPU miners and the tensor-operation miners CUDA runs
// (test/helpers/miners.ts). Both take the same float32 distances and sum the same terms and
// gradient contributions (in other orders): one rounding bound holds for either.
import { tripletHardLoss, tripletSemiHardLoss } from '../lib';
import { maxAbsDiff } from './helpers/fixtures';
import { MINERS, useMiner } from './helpers/miners';
import { lossTerms, tripletErrorBound } from './helpers/tolerance';
import { randomBatch, referenceLoss, referenceSemiHardLarge, type RefDistance } from './reference/triplet-reference';

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

// The large batches' references take seconds: computed once, for both miners.
const computed = new Map<string, unknown>();
function once<T>(key: string, make: () => T): T {
  if (!computed.has(key)) computed.set(key, make());
  return computed.get(key) as T;
}

describe.each(MINERS)('%s miners', (miner) => {
  useMiner(miner);

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
      // The reference rounds in float64 (2^29 times finer): the difference is semihard's own
      // float32 rounding, bounded from this batch's norms, distances and size.
      const tol = tripletErrorBound(embeddings, dim, distance, margin, lossTerms(labels, kind));
      expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(tol.loss);
      expect(maxAbsDiff(got.grad, ref.grad)).toBeLessThanOrEqual(tol.grad);
    });
  });

  // Batches larger than one block of anchor rows, with many members per class and shuffled
  // labels: the driver groups rows by class and the gradient's dense path works on the columns
  // each block touches (native/core/triplet_loss.cc, distances.cc).
  describe('large batches with many positives per anchor vs brute force', () => {
    it.each([
      ['L2', 2304, 3],
      ['squared-L2', 2560, 10],
      ['angular', 2304, 4],
    ] as const)('semi-hard, %s, B=%i, %i classes', (distance, batch, classes) => {
      const dim = 6;
      const { embeddings, labels, ref } = once(`semihard ${distance} ${batch}`, () => {
        const b = randomBatch(batch + classes, batch, dim, classes, true);
        return { ...b, ref: referenceSemiHardLarge(b.embeddings, b.labels, dim, { margin: 1.0, distance, soft: false }) };
      });
      const got = tripletSemiHardLoss(embeddings, labels, { dim, margin: 1.0, distance, device: 'cpu' });
      expect(got.positivePairs).toBe(ref.positivePairs);
      // A flipped near-tie moves one term of ~10^6 by at most its distance error, so the loss
      // stays within semihard's own rounding bound of the float64 reference.
      expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(tripletErrorBound(embeddings, dim, distance, 1.0, ref.positivePairs).loss);
      // Among ~10^6 choices a few negatives lie within float32 rounding of each other, and float32
      // and float64 pick differently there; each term weighs 1 / positivePairs (~10^-6), so a
      // few such flips move the gradient by a few 10^-6, while a fault in how blocks, columns
      // or the row order are handled would be of the order of the gradient itself.
      let scale = 0;
      for (const v of ref.grad) scale = Math.max(scale, Math.abs(v));
      expect(scale).toBeGreaterThan(1e-5);
      expect(maxAbsDiff(got.grad, ref.grad)).toBeLessThanOrEqual(0.25 * scale);
      expect(maxAbsDiff(got.grad, ref.grad)).toBeLessThanOrEqual(20 / ref.positivePairs);
    });

    it('hard loss, B=2304, 4 classes', () => {
      const dim = 6;
      const { embeddings, labels, ref } = once('hard L2 2304', () => {
        const b = randomBatch(77, 2304, dim, 4, true);
        return { ...b, ref: referenceLoss('hard', b.embeddings, b.labels, dim, { margin: 1.0, distance: 'L2', soft: false }) };
      });
      const got = tripletHardLoss(embeddings, labels, { dim, margin: 1.0, distance: 'L2', device: 'cpu' });
      const tol = tripletErrorBound(embeddings, dim, 'L2', 1.0, lossTerms(labels, 'hard'));
      expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(tol.loss);
      expect(maxAbsDiff(got.grad, ref.grad)).toBeLessThanOrEqual(tol.grad);
    });
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
