// Training with the loss's tensor miners, the path every CUDA step takes (no host read inside
// the loss: the trainer passes the label counts, the loss stays a device tensor and is read
// once per progress report), forced on the CPU through the raw trainer's tensorMining hook.
// The reference is the CPU scan miners, whose checked loss call is an independent
// implementation (semihard_mining.cc / hard_mining's CPU path).
import { createTrainer } from '../../lib/binding';
import { loadIdxDataset } from '../../lib/data/datasets';
import type { NativeTrainerOptions } from '../../binding';

const mnist = loadIdxDataset('mnist', 0);
const images = mnist.train.images.subarray(0, 400 * 784);
const labels = mnist.train.labels.subarray(0, 400);
const geometry = { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 } as const;
// 4 batches of 8 classes x 4 rows: rows picked by class so that every batch has positives.
const byClass = Array.from({ length: 10 }, (_, c) => Array.from(labels.keys()).filter((i) => labels[i] === c));
const indices = Int32Array.from({ length: 4 * 32 }, (_, i) => {
  const batch = Math.floor(i / 32);
  const cls = (Math.floor((i % 32) / 4) + batch) % 10;
  return byClass[cls][(batch * 4 + (i % 4)) % byClass[cls].length];
});

function trainer(kind: 'semihard' | 'hard', tensorMining: boolean) {
  const options: NativeTrainerOptions = {
    backbone: 'convnet', dim: 16, lossKind: kind, margin: 1, soft: false, distance: 'L2', weightDecay: 0.01,
    gradClip: 0, augment: false, device: 'cpu', seed: 3, tensorMining,
  };
  const t = createTrainer(options);
  t.setData({ train: { images, labels }, valid: null, geometry, normalisation: null });
  return t;
}

describe('training with the tensor miners (the CUDA path) on the CPU', () => {
  it.each(['semihard', 'hard'] as const)('%s: the first step has the CPU miners\' loss', async (kind) => {
    const losses = [];
    for (const tensorMining of [false, true]) {
      const t = trainer(kind, tensorMining);
      t.beginPhase('none', 1e-3, 4);
      losses.push((await t.run('train', indices, 32)).losses);
    }
    // The same weights and batch, so the same embeddings; the miners pick the same triplets
    // (no exact ties among float32 distances of distinct images) and sum their terms in
    // another order: at most (terms) x 2^-24 relative, and a batch of 32 has < 2^10 terms,
    // so 2^-14 ≈ 6e-5 bounds it. Later steps follow weights updated from gradients that
    // differ in the last bits, so only the first step is compared.
    expect(losses[1][0]).toBeGreaterThan(0);
    expect(Math.abs(losses[1][0] - losses[0][0])).toBeLessThanOrEqual(2 ** -14 * losses[0][0]);
    for (const l of losses[1]) expect(Number.isFinite(l)).toBe(true);
  });

  it('a diverging run fails with the loss\'s RangeError where the losses are read, never a silent NaN', async () => {
    for (const tensorMining of [false, true]) {
      const t = trainer('semihard', tensorMining);
      // AdamW moves every weight by about the rate each step: 1e30 overflows float32 within
      // a few steps, and the embeddings become NaN.
      t.beginPhase('none', 1e30, 4);
      const reports: number[] = [];
      await expect(t.run('train', indices, 32, (r) => reports.push(r.loss))).rejects.toMatchObject({
        name: 'RangeError',
        argument: 'embeddings',
        // The CPU miners' checked call refuses the embeddings themselves; the tensor miners'
        // training call reads nothing, and the report's read of the loss refuses it.
        message: expect.stringContaining(
          tensorMining ? 'Expected finite numbers in embeddings but found NaN or Infinity: the training loss is not finite' : 'Expected finite numbers in embeddings but found NaN or Infinity at index',
        ),
      });
      for (const l of reports) expect(Number.isFinite(l)).toBe(true);
    }
  });
});
