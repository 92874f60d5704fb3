// The native losses against values and gradients recorded from real TensorFlow Addons
// (scripts/fixtures/make_tfa_fixtures.py; regenerate with `npm run fixtures`), with each of
// the two miners: the CPU miners and the tensor-operation miners CUDA runs (test/helpers/miners.ts).
import {
  tripletHardLoss,
  tripletHardLossFromDistances,
  tripletSemiHardLoss,
  tripletSemiHardLossFromDistances,
  type LossResult,
} from '../lib';
import { loadFixture, maxAbsDiff, type TfaCase, type TfaFixture } from './helpers/fixtures';
import { referenceLoss } from './reference/triplet-reference';
import { MINERS, useMiner } from './helpers/miners';
import { U32, distanceMatrixErrorBound, lossTerms, tripletErrorBound, type BoundDistance } from './helpers/tolerance';

// TF and semihard both round in float32, in other orders: each is within its rounding-error
// bound of the exact value (test/helpers/tolerance.ts derives it from the case's dimension,
// norms, distances, margin and batch), so they are within twice that of each other. Both
// miners take the same float32 distances and sum the same loss terms. The CPU miners sum the
// gradient contributions s·(x_r − x_c); the tensor miners rearrange them as
// s_rowsum·x_r − s·X (two matrix products), which adds cancellation of order Σ|s|·|x|·u per
// coordinate: below the distance's own rounding that the bound already carries (it grows
// with D·u·|x|), so one bound holds for either.
function tolerance(c: TfaCase, kind: 'semihard' | 'hard') {
  const terms = lossTerms(c.labels, kind);
  const b = c.distance === 'custom-L1' ? distanceMatrixErrorBound(c.distances!, c.margin, terms) : tripletErrorBound(c.embeddings, c.dim, c.distance, c.margin, terms);
  return { loss: 2 * b.loss, grad: 2 * b.grad };
}

function run(fixture: TfaFixture, c: TfaCase): LossResult {
  const soft = fixture.loss === 'hard-soft';
  if (c.distance === 'custom-L1') {
    const d = Float32Array.from(c.distances!);
    return fixture.loss === 'semihard'
      ? tripletSemiHardLossFromDistances(d, c.labels, { margin: c.margin, device: 'cpu' })
      : tripletHardLossFromDistances(d, c.labels, { margin: c.margin, soft, device: 'cpu' });
  }
  const e = Float32Array.from(c.embeddings);
  const options = { dim: c.dim, margin: c.margin, distance: c.distance, device: 'cpu' as const };
  return fixture.loss === 'semihard' ? tripletSemiHardLoss(e, c.labels, options) : tripletHardLoss(e, c.labels, { ...options, soft });
}

describe.each(MINERS)('%s miners', (miner) => {
  useMiner(miner);

  describe.each(['tfa-semihard.json', 'tfa-hard.json', 'tfa-hard-soft.json'])('%s', (file) => {
    const fixture = loadFixture(file);

    it('was produced by real TensorFlow Addons 0.23 on TensorFlow 2.15', () => {
      expect(fixture.generator).toBe('scripts/fixtures/make_tfa_fixtures.py');
      expect(fixture.tensorflow_addons).toBe('0.23.0');
      expect(fixture.tensorflow).toMatch(/^2\.15\./);
      expect(fixture.cases.length).toBeGreaterThan(150);
    });

    const finite = fixture.cases.filter((c) => c.loss !== null);
    it.each(finite.map((c) => [c.name, c] as const))('matches TF loss and gradient: %s', (_name, c) => {
      const r = run(fixture, c);
      const tol = tolerance(c, fixture.loss === 'semihard' ? 'semihard' : 'hard');
      expect(Math.abs(r.loss - c.loss!)).toBeLessThanOrEqual(tol.loss);
      const tfGrad = c.distance === 'custom-L1' ? c.gradDistances! : c.grad!;
      expect(r.grad.length).toBe(tfGrad.length);
      expect(maxAbsDiff(r.grad, tfGrad)).toBeLessThanOrEqual(tol.grad);
    });

    // How many cases of each kind the fixture holds (scripts/fixtures/make_tfa_fixtures.py makes
    // them): a regenerated fixture without them fails here instead of skipping their tests.
    const nanCases = fixture.cases.filter((c) => c.loss === null && c.lossNonFinite === 'NaN');
    const overflowCases = fixture.cases.filter((c) => c.loss === null && c.lossNonFinite === 'Infinity');
    it('holds the non-finite cases TF produces for this loss', () => {
      expect(finite.length + nanCases.length + overflowCases.length).toBe(fixture.cases.length);
      // No positive pair: TF's semihard divides 0 by 0; its hard loss averages over anchors and stays finite.
      if (fixture.loss === 'semihard') expect(nanCases.length).toBeGreaterThanOrEqual(40);
      else expect(nanCases).toHaveLength(0);
      // Soft margin: TF's log1p(exp(x)) overflows for large gaps.
      if (fixture.loss === 'hard-soft') expect(overflowCases.length).toBeGreaterThanOrEqual(5);
      else expect(overflowCases).toHaveLength(0);
    });
    if (nanCases.length > 0) {
      // TF divides 0 by 0 when a batch has no positive pair; semihard returns 0 (documented).
      it.each(nanCases.map((c) => [c.name, c] as const))('TF NaN (no positive pair) gives 0: %s', (_name, c) => {
        const r = run(fixture, c);
        expect(r.positivePairs).toBe(0);
        expect(r.loss).toBe(0);
        expect(r.grad.every((g) => g === 0)).toBe(true);
      });
    }

    if (overflowCases.length > 0) {
      // TF's log1p(exp(x)) overflows; semihard gives the exact finite value (documented).
      it.each(overflowCases.map((c) => [c.name, c] as const))('TF Infinity (soft overflow) stays finite: %s', (_name, c) => {
        const r = run(fixture, c);
        const ref = referenceLoss('hard', Float64Array.from(c.embeddings), c.labels, c.dim, {
          margin: c.margin,
          soft: true,
          distance: c.distance as 'L2' | 'squared-L2' | 'angular',
        });
        expect(Number.isFinite(r.loss)).toBe(true);
        // semihard's own rounding against the float64 reference (log1p(exp(x)) = x + log1p(exp(-x))
        // adds one rounding of a value below the term).
        const b = tripletErrorBound(c.embeddings, c.dim, c.distance as BoundDistance, c.margin, c.labels.length);
        expect(Math.abs(r.loss - ref.loss)).toBeLessThanOrEqual(b.loss + U32 * Math.abs(ref.loss));
        expect(r.grad.every(Number.isFinite)).toBe(true);
      });
    }
  });

  describe("TF-Addons' docstring examples", () => {
    // tensorflow_addons/losses/triplet.py (0.23.0), the `Usage:` blocks.
    const labels = [0, 0];
    const embeddings = new Float32Array([0.0, 1.0, 1.0, 0.0]);
    // distance_metric = lambda x: tf.linalg.matmul(x, x, transpose_b=True)
    const gram = new Float32Array([1, 0, 0, 1]);

    // The exact values are 1 + √2, 1 and 0; each float32 result is a handful of roundings of
    // values below 3: within 4u·3 = 7.2e-7 of them; the exact value itself is compared.
    const near = (got: number, exact: number) => expect(Math.abs(got - exact)).toBeLessThanOrEqual(4 * U32 * 3);
    it('triplet_semihard_loss(distance_metric="L2") = 2.4142137', () => {
      near(tripletSemiHardLoss(embeddings, labels, { dim: 2 }).loss, 1 + Math.SQRT2);
    });
    it('triplet_semihard_loss(distance_metric=matmul) = 1.0', () => {
      near(tripletSemiHardLossFromDistances(gram, labels).loss, 1);
    });
    it('triplet_hard_loss(distance_metric="L2") = 1.0', () => {
      near(tripletHardLoss(embeddings, labels, { dim: 2 }).loss, 1);
    });
    it('triplet_hard_loss(distance_metric=matmul) = 0.0', () => {
      near(tripletHardLossFromDistances(gram, labels).loss, 0);
    });
  });
});
