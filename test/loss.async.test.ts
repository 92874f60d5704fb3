// The async twins give the sync results and leave the event loop free while they run.
import {
  tripletHardLoss,
  tripletHardLossAsync,
  tripletHardLossFromDistances,
  tripletHardLossFromDistancesAsync,
  tripletSemiHardLoss,
  tripletSemiHardLossAsync,
  tripletSemiHardLossFromDistances,
  tripletSemiHardLossFromDistancesAsync,
} from '../lib';
import { randomBatch } from './reference/triplet-reference';

describe('async twins', () => {
  const { embeddings, labels } = randomBatch(5, 64, 8, 6, true);
  const opts = { dim: 8, device: 'cpu' as const };

  it('equal the sync results', async () => {
    expect(await tripletSemiHardLossAsync(embeddings, labels, opts)).toEqual(tripletSemiHardLoss(embeddings, labels, opts));
    expect(await tripletHardLossAsync(embeddings, labels, { ...opts, soft: true })).toEqual(
      tripletHardLoss(embeddings, labels, { ...opts, soft: true }),
    );
    const d = Float32Array.from({ length: 64 * 64 }, (_, k) => (k % 65 === 0 ? 0 : ((k * 7919) % 1000) / 1000));
    expect(await tripletSemiHardLossFromDistancesAsync(d, labels)).toEqual(tripletSemiHardLossFromDistances(d, labels));
    expect(await tripletHardLossFromDistancesAsync(d, labels)).toEqual(tripletHardLossFromDistances(d, labels));
  });

  it('do not block the event loop', async () => {
    const big = randomBatch(6, 4096, 128, 256, true);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const pending = tripletSemiHardLossAsync(big.embeddings, big.labels, { dim: 128, device: 'cpu' });
    const result = await pending;
    const elapsed = Date.now() - started;
    clearInterval(timer);
    expect(result.positivePairs).toBeGreaterThan(0);
    // While the worker computed, the interval kept firing (a sync call would allow none).
    expect(ticks).toBeGreaterThan(Math.min(5, elapsed / 4));
  });

  it('inputs are copied: mutating them after the call does not change the result', async () => {
    const e = embeddings.slice();
    const pending = tripletSemiHardLossAsync(e, labels, opts);
    e.fill(0);
    expect(await pending).toEqual(tripletSemiHardLoss(embeddings, labels, opts));
  });
});
