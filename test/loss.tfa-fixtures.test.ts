// The native losses against values and gradients recorded from real TensorFlow Addons
// (scripts/fixtures/make_tfa_fixtures.py; regenerate with `npm run fixtures`).
import {
  tripletHardLoss,
  tripletHardLossFromDistances,
  tripletSemiHardLoss,
  tripletSemiHardLossFromDistances,
  type LossResult,
} from '../lib';
import { loadFixture, maxAbsDiff, type TfaCase, type TfaFixture } from './helpers/fixtures';
import { referenceLoss } from './reference/triplet-reference';

const LOSS_REL = 1e-5;
const LOSS_ABS_FLOOR = 1e-6; // a loss near 0 is a sum of float32 terms: compare absolutely there
const GRAD_ABS = 1e-5;

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
    const tfLoss = c.loss!;
    expect(Math.abs(r.loss - tfLoss)).toBeLessThanOrEqual(Math.max(LOSS_REL * Math.abs(tfLoss), LOSS_ABS_FLOOR));
    const tfGrad = c.distance === 'custom-L1' ? c.gradDistances! : c.grad!;
    expect(r.grad.length).toBe(tfGrad.length);
    expect(maxAbsDiff(r.grad, tfGrad)).toBeLessThanOrEqual(GRAD_ABS);
  });

  const nanCases = fixture.cases.filter((c) => c.loss === null && c.lossNonFinite === 'NaN');
  if (nanCases.length > 0) {
    // TF divides 0 by 0 when a batch has no positive pair; semihard returns 0 (documented).
    it.each(nanCases.map((c) => [c.name, c] as const))('TF NaN (no positive pair) gives 0: %s', (_name, c) => {
      const r = run(fixture, c);
      expect(r.positivePairs).toBe(0);
      expect(r.loss).toBe(0);
      expect(r.grad.every((g) => g === 0)).toBe(true);
    });
  }

  const overflowCases = fixture.cases.filter((c) => c.loss === null && c.lossNonFinite === 'Infinity');
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
      expect(Math.abs(r.loss - ref.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(ref.loss));
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

  it('triplet_semihard_loss(distance_metric="L2") = 2.4142137', () => {
    expect(tripletSemiHardLoss(embeddings, labels, { dim: 2 }).loss).toBeCloseTo(2.4142137, 6);
  });
  it('triplet_semihard_loss(distance_metric=matmul) = 1.0', () => {
    expect(tripletSemiHardLossFromDistances(gram, labels).loss).toBeCloseTo(1.0, 6);
  });
  it('triplet_hard_loss(distance_metric="L2") = 1.0', () => {
    expect(tripletHardLoss(embeddings, labels, { dim: 2 }).loss).toBeCloseTo(1.0, 6);
  });
  it('triplet_hard_loss(distance_metric=matmul) = 0.0', () => {
    expect(tripletHardLossFromDistances(gram, labels).loss).toBeCloseTo(0.0, 6);
  });
});
