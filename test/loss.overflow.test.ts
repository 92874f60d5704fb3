// Finite inputs whose float32 arithmetic overflows: every loss entry point either returns a
// finite loss and gradient that match the float64 brute-force reference, or refuses with a
// RangeError naming `embeddings` / `distances` and saying the distances overflow float32.
import {
  tripletHardLoss,
  tripletHardLossAsync,
  tripletHardLossFromDistances,
  tripletHardLossFromDistancesAsync,
  tripletSemiHardLoss,
  tripletSemiHardLossAsync,
  tripletSemiHardLossFromDistances,
  tripletSemiHardLossFromDistancesAsync,
  type LossResult,
} from '../lib';
import { gaussian, referenceLoss, referenceLossFromDistances, rng, type RefDistance } from './reference/triplet-reference';

const EPS = 2 ** -23; // float32 machine epsilon (1.19e-7)
const FLT_MAX = 3.4028234663852886e38;
const DISTANCES: RefDistance[] = ['L2', 'squared-L2', 'angular'];
type Kind = 'semihard' | 'hard' | 'hard-soft';
const KINDS: Kind[] = ['semihard', 'hard', 'hard-soft'];

function expectOverflowError(err: unknown, argument: 'embeddings' | 'distances'): void {
  expect(err).toBeInstanceOf(RangeError);
  expect((err as { argument: string }).argument).toBe(argument);
  expect((err as { code: string }).code).toBe('ERR_SEMIHARD_ARGUMENT');
  expect((err as Error).message).toMatch(new RegExp(`^Expected ${argument} .*the distances overflow float32`));
}

function callEmbeddings(kind: Kind, embeddings: Float32Array, labels: number[], dim: number, distance: RefDistance): LossResult {
  const options = { dim, margin: 1, distance, device: 'cpu' as const };
  return kind === 'semihard'
    ? tripletSemiHardLoss(embeddings, labels, options)
    : tripletHardLoss(embeddings, labels, { ...options, soft: kind === 'hard-soft' });
}

// Rows of `dim` gaussians times scales[i % scales.length], labels 0,0,1,1,2,2,...
function scaledBatch(seed: number, batch: number, dim: number, scales: number[]): { embeddings: Float32Array; labels: number[] } {
  const next = rng(seed);
  const embeddings = new Float32Array(batch * dim);
  for (let i = 0; i < batch; i++) for (let k = 0; k < dim; k++) embeddings[i * dim + k] = gaussian(next) * scales[i % scales.length];
  return { embeddings, labels: Array.from({ length: batch }, (_, i) => Math.floor(i / 2)) };
}

// Float32 error bounds of the native computation, per row of the gradient, from the inputs:
// TF's Gram form (|a|^2 + |b|^2) - 2 a.b sums dim + 3 rounded terms, each at most
// (|a| + |b|)^2 in size, so a squared distance is off by at most gamma (|a| + |b|)^2 with
// gamma = (dim + 4) eps (Higham's gamma_n; the +1 covers the clamp); an L2 distance by that
// over D, plus the sqrt's rounding. Angular: unit rows and their dot product, each within
// gamma, give 1 - cos within 3 gamma. A loss term margin + d(a,p) - d(a,n) adds two distance
// errors and two roundings of its own; the loss is a mean of terms. A gradient row sums
// contributions whose weights add up to at most 4 (each term puts +-1/terms on two distances,
// each reaching two rows): L2's (x_i - x_j) / D_ij is off by its D's relative error plus the
// rounding of x_i - x_j and of the accumulation (2 eps (|x_i| + |x_j|) / D_ij) and a few
// eps; squared-L2's 2 (x_i - x_j) by 4 eps (|x_i| + |x_j|); angular's (u_j - cos u_i) / |x_i|
// by 6 gamma / |x_i|.
function tolerances(x: Float32Array, dim: number, distance: RefDistance, margin: number): { loss: number; grad: number[] } {
  const n = x.length / dim;
  const gamma = (dim + 4) * EPS;
  const norm = Array.from({ length: n }, (_, i) => Math.hypot(...x.subarray(i * dim, (i + 1) * dim)));
  const dist = (i: number, j: number): number => Math.hypot(...Array.from({ length: dim }, (_, k) => x[i * dim + k] - x[j * dim + k]));
  let maxErr = 0;
  let maxD = 0;
  const grad = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const d = dist(i, j);
      const errSq = gamma * (norm[i] + norm[j]) ** 2;
      let err: number;
      let g: number;
      if (distance === 'angular') {
        err = 3 * gamma;
        maxD = Math.max(maxD, 2);
        g = (6 * gamma) / norm[i];
      } else if (distance === 'L2') {
        err = errSq / d + EPS * d;
        maxD = Math.max(maxD, d);
        g = (err + 2 * EPS * (norm[i] + norm[j])) / d + 4 * EPS;
      } else {
        err = errSq;
        maxD = Math.max(maxD, d * d);
        g = 4 * EPS * (norm[i] + norm[j]);
      }
      maxErr = Math.max(maxErr, err);
      grad[i] = Math.max(grad[i], 4 * g);
    }
  }
  return { loss: 2 * maxErr + 2 * EPS * (Math.abs(margin) + 2 * maxD), grad };
}

function expectMatchesReference(got: LossResult, kind: Kind, x: Float32Array, labels: number[], dim: number, distance: RefDistance): void {
  const ref = referenceLoss(kind === 'semihard' ? 'semihard' : 'hard', x, labels, dim, { margin: 1, distance, soft: kind === 'hard-soft' });
  const tol = tolerances(x, dim, distance, 1);
  expect(Number.isFinite(got.loss)).toBe(true);
  expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(tol.loss);
  for (let k = 0; k < got.grad.length; k++) {
    expect(Number.isFinite(got.grad[k])).toBe(true);
    if (Math.abs(got.grad[k] - ref.grad[k]) > tol.grad[Math.floor(k / dim)]) {
      throw new Error(`grad[${k}] = ${got.grad[k]}, reference ${ref.grad[k]}, tolerance ${tol.grad[Math.floor(k / dim)]}`);
    }
  }
}

describe('embeddings whose squares overflow (or underflow) float32', () => {
  const cases: [string, number[]][] = [
    ['entries ~1e30', [1e30]],
    ['entries ~1e19', [1e19]],
    ['entries ~3e18', [3e18]],
    // Rows three decades apart: farther apart and the distances from a row to much smaller
    // ones tie within float32's rounding (|x| (1 + O(|y| / |x|))), where float32 and float64
    // may pick different negatives.
    ['mixed scales 1e30, 1e27, 1e24', [1e30, 1e27, 1e24]],
    ['entries ~1e-30', [1e-30]],
  ];
  const table: [string, number[], RefDistance, Kind][] = [];
  for (const [name, scales] of cases) {
    for (const distance of DISTANCES) for (const kind of KINDS) table.push([`${name}, ${distance}, ${kind}`, scales, distance, kind]);
  }

  it.each(table)('%s: finite and as the float64 reference, or refused', (_name, scales, distance, kind) => {
    const dim = 4;
    const { embeddings, labels } = scaledBatch(7, 6, dim, scales);
    let got: LossResult | undefined;
    try {
      got = callEmbeddings(kind, embeddings, labels, dim, distance);
    } catch (err) {
      expectOverflowError(err, 'embeddings');
    }
    const ref = referenceLoss(kind === 'semihard' ? 'semihard' : 'hard', embeddings, labels, dim, { margin: 1, distance, soft: kind === 'hard-soft' });
    let maxD = 0;
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) maxD = Math.max(maxD, Math.hypot(...Array.from({ length: dim }, (_, k) => embeddings[i * dim + k] - embeddings[j * dim + k])));
    if (got === undefined) {
      // Refused only where float32 cannot hold the result: a distance or the loss beyond it.
      expect(Math.max(distance === 'squared-L2' ? maxD * maxD : maxD, Math.abs(ref.loss))).toBeGreaterThan(FLT_MAX * (1 - 1e-6));
      return;
    }
    // Squared-L2 distances below float32's smallest subnormal are 0 and pass no gradient (TF's rule at 0).
    if (distance === 'squared-L2' && maxD * maxD < 2 ** -126) return;
    expectMatchesReference(got, kind, embeddings, labels, dim, distance);
  });

  it('squared-L2 of 1e30 entries is refused; L2 and angular of them are finite and as the reference', () => {
    const dim = 4;
    const { embeddings, labels } = scaledBatch(11, 6, dim, [1e30]);
    let caught: unknown;
    try {
      tripletSemiHardLoss(embeddings, labels, { dim, distance: 'squared-L2', device: 'cpu' });
    } catch (err) {
      caught = err;
    }
    expectOverflowError(caught, 'embeddings');
    expect((caught as Error).message).toMatch(/squared-L2 distances/);
    for (const distance of ['L2', 'angular'] as const) {
      expectMatchesReference(callEmbeddings('semihard', embeddings, labels, dim, distance), 'semihard', embeddings, labels, dim, distance);
      expectMatchesReference(callEmbeddings('hard', embeddings, labels, dim, distance), 'hard', embeddings, labels, dim, distance);
    }
  });

  it('the Async variants agree with the synchronous ones', async () => {
    const dim = 4;
    const { embeddings, labels } = scaledBatch(13, 6, dim, [1e30, 1e22]);
    for (const distance of ['L2', 'angular'] as const) {
      expect(await tripletSemiHardLossAsync(embeddings, labels, { dim, distance, device: 'cpu' })).toEqual(
        tripletSemiHardLoss(embeddings, labels, { dim, distance, device: 'cpu' }),
      );
      expect(await tripletHardLossAsync(embeddings, labels, { dim, distance, soft: true, device: 'cpu' })).toEqual(
        tripletHardLoss(embeddings, labels, { dim, distance, soft: true, device: 'cpu' }),
      );
    }
    await expect(tripletHardLossAsync(embeddings, labels, { dim, distance: 'squared-L2', device: 'cpu' })).rejects.toThrow(
      /^Expected embeddings .*the distances overflow float32/,
    );
  });
});

describe('distance matrices near float32 max', () => {
  const labels = [0, 0, 1, 1, 2, 2];
  const n = labels.length;
  // Random entries of `scale` times U(lo, 1), off-diagonal; the diagonal 0.
  function matrix(seed: number, scale: number, lo: number): Float32Array {
    const next = rng(seed);
    const d = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) d[i * n + j] = scale * (lo + (1 - lo) * next());
    return d;
  }
  // margin + d(a,p) - d(a,n) and TF's masked extrema, (extreme - shift) + shift, round a few
  // times each at most eps of (|margin| + 4 max |d|); the weights on the distances are
  // +-1/terms exactly, or soft slopes, which are 0 or 1 in float32 and float64 alike where
  // |gap| > 17 (every gap here is of the order of the entries).
  function expectMatches(got: LossResult, kind: Kind, d: Float32Array, margin: number): void {
    const ref = referenceLossFromDistances(kind === 'semihard' ? 'semihard' : 'hard', d, labels, { margin, soft: kind === 'hard-soft' });
    let maxAbs = 0;
    for (const v of d) maxAbs = Math.max(maxAbs, Math.abs(v));
    expect(Number.isFinite(got.loss)).toBe(true);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(4 * EPS * (Math.abs(margin) + 4 * maxAbs));
    for (let k = 0; k < got.grad.length; k++) expect(Math.abs(got.grad[k] - ref.grad[k])).toBeLessThanOrEqual(4 * EPS);
  }
  function call(kind: Kind, d: Float32Array, margin: number): LossResult {
    return kind === 'semihard'
      ? tripletSemiHardLossFromDistances(d, labels, { margin, device: 'cpu' })
      : tripletHardLossFromDistances(d, labels, { margin, soft: kind === 'hard-soft', device: 'cpu' });
  }

  it.each(KINDS)('%s: entries up to FLT_MAX/2 give a finite loss as the reference', (kind) => {
    const d = matrix(3, FLT_MAX / 2, 0.01);
    expectMatches(call(kind, d, 1), kind, d, 1);
  });

  it.each(KINDS)('%s: entries of both signs near FLT_MAX (d(a,p) - d(a,n) beyond float32) are refused', (kind) => {
    const d = matrix(5, FLT_MAX, 0.6);
    for (let k = 0; k < d.length; k++) if (k % 2 === 1) d[k] = -d[k];
    const ref = referenceLossFromDistances(kind === 'semihard' ? 'semihard' : 'hard', d, labels, { margin: 1, soft: kind === 'hard-soft' });
    let caught: unknown;
    try {
      call(kind, d, 1);
    } catch (err) {
      caught = err;
    }
    if (caught === undefined) expectMatches(call(kind, d, 1), kind, d, 1);
    else {
      expectOverflowError(caught, 'distances');
      // Refused only where a term is beyond float32: the loss is a mean of 6 non-negative
      // terms (6 positive pairs, or 6 anchors), so 6 times it bounds the largest.
      expect(6 * ref.loss).toBeGreaterThan(FLT_MAX);
    }
  });

  it('semi-hard and hard: margin + d(a,p) - d(a,n) beyond float32 is refused', async () => {
    const d = matrix(9, FLT_MAX * 0.9, 0.9);
    for (let a = 0; a < n; a++) for (let j = 0; j < n; j++) if (labels[j] !== labels[a]) d[a * n + j] = 0;
    const margin = FLT_MAX * 0.5;
    expect(referenceLossFromDistances('hard', d, labels, { margin }).loss).toBeGreaterThan(FLT_MAX);
    for (const fn of [() => tripletSemiHardLossFromDistances(d, labels, { margin }), () => tripletHardLossFromDistances(d, labels, { margin })]) {
      let caught: unknown;
      try {
        fn();
      } catch (err) {
        caught = err;
      }
      expectOverflowError(caught, 'distances');
    }
    await expect(tripletSemiHardLossFromDistancesAsync(d, labels, { margin })).rejects.toThrow(/^Expected distances .*overflow float32/);
    await expect(tripletHardLossFromDistancesAsync(d, labels, { margin })).rejects.toThrow(/^Expected distances .*overflow float32/);
  });

  it('soft hard loss of gaps near FLT_MAX is finite and as the reference', async () => {
    const d = matrix(21, FLT_MAX, 0.5);
    for (let a = 0; a < n; a++) for (let j = 0; j < n; j++) if (labels[j] !== labels[a]) d[a * n + j] *= 0.25;
    const got = tripletHardLossFromDistances(d, labels, { soft: true, device: 'cpu' });
    expectMatches(got, 'hard-soft', d, 1);
    expect(await tripletHardLossFromDistancesAsync(d, labels, { soft: true, device: 'cpu' })).toEqual(got);
  });
});

describe('seeded fuzz: malformed-but-finite calls never return a non-finite loss or gradient', () => {
  it('10,000 calls: each throws an argument error or returns finite numbers; both happen', async () => {
    const next = rng(20240611);
    const outcomes = { finite: 0, refused: 0 };
    const finite32 = (v: number): number => Math.max(-FLT_MAX, Math.min(FLT_MAX, Math.fround(v)));
    const scale = (): number => 10 ** (60 * next() - 30);
    const check = (r: LossResult): void => {
      if (!Number.isFinite(r.loss) || !r.grad.every(Number.isFinite)) throw new Error(`non-finite result: loss ${r.loss}`);
      outcomes.finite++;
    };
    const refused = (err: unknown): void => {
      if (!(err instanceof RangeError || err instanceof TypeError)) throw err;
      expect((err as { argument?: string }).argument).toMatch(/^(embeddings|distances)$/);
      outcomes.refused++;
    };
    const calls = 10000;
    let pending: Promise<void>[] = [];
    for (let c = 0; c < calls; c++) {
      const batch = 2 + Math.floor(next() * 5);
      const labels = Array.from({ length: batch }, () => Math.floor(next() * 3));
      const kind = KINDS[Math.floor(next() * 3)];
      const margin = next() < 0.2 ? scale() : 1;
      const async = next() < 0.25;
      let run: () => LossResult | Promise<LossResult>;
      if (next() < 0.7) {
        const dim = 1 + Math.floor(next() * 4);
        const distance = DISTANCES[Math.floor(next() * 3)];
        const mixed = next() < 0.3;
        const s = scale();
        const x = new Float32Array(batch * dim);
        for (let i = 0; i < batch; i++) {
          const rowScale = mixed ? scale() : s;
          for (let k = 0; k < dim; k++) x[i * dim + k] = finite32(gaussian(next) * rowScale);
        }
        const options = { dim, margin, distance, device: 'cpu' as const };
        run =
          kind === 'semihard'
            ? () => (async ? tripletSemiHardLossAsync(x, labels, options) : tripletSemiHardLoss(x, labels, options))
            : () => {
                const o = { ...options, soft: kind === 'hard-soft' };
                return async ? tripletHardLossAsync(x, labels, o) : tripletHardLoss(x, labels, o);
              };
      } else {
        const s = 10 ** (68.5 * next() - 30); // up to FLT_MAX
        const signed = next() < 0.3;
        const d = new Float32Array(batch * batch);
        for (let k = 0; k < d.length; k++) d[k] = finite32(next() * s * (signed && next() < 0.5 ? -1 : 1));
        const options = { margin, device: 'cpu' as const };
        run =
          kind === 'semihard'
            ? () => (async ? tripletSemiHardLossFromDistancesAsync(d, labels, options) : tripletSemiHardLossFromDistances(d, labels, options))
            : () => {
                const o = { ...options, soft: kind === 'hard-soft' };
                return async ? tripletHardLossFromDistancesAsync(d, labels, o) : tripletHardLossFromDistances(d, labels, o);
              };
      }
      if (async) {
        pending.push(Promise.resolve().then(run).then(check, refused));
        if (pending.length >= 64) {
          await Promise.all(pending);
          pending = [];
        }
      } else {
        try {
          check(run() as LossResult);
        } catch (err) {
          if (err instanceof Error && err.message.startsWith('non-finite')) throw err;
          refused(err);
        }
      }
    }
    await Promise.all(pending);
    expect(outcomes.finite + outcomes.refused).toBe(calls);
    expect(outcomes.finite).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
