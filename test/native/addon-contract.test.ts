// The raw addon (build/Release/semihard.node) as binding.d.ts types it: its surface, the
// memory-protecting re-checks it makes on its own (kinds, lengths against shapes, names of
// enumerations) and the core's preconditions as internal errors (lib/ owns every user-facing
// rule). The loss option tensorMining (the miners CUDA runs, on the CPU) is held to the TF
// fixtures and the brute force in test/loss.tfa-fixtures.test.ts and loss.reference.test.ts.
import type { NativeBinding, NativeLossOptions, NativeTrainerOptions } from '../../binding';
import { addonPath } from '../../lib/binding';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require(addonPath()) as NativeBinding;
const base: NativeLossOptions = { kind: 'semihard', margin: 1, soft: false, distance: 'L2', device: 'cpu' };
const trainerBase: NativeTrainerOptions = {
  backbone: 'convnet', dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0, gradClip: 0,
  augment: false, device: 'cpu', seed: 0,
};
/** A core precondition failing: a plain Error with code ERR_SEMIHARD_TORCH in the core's words, not an argument error. */
const internal = (message: RegExp) => expect.objectContaining({ name: 'Error', code: 'ERR_SEMIHARD_TORCH', message: expect.stringMatching(message) });

describe('raw addon surface', () => {
  it('exports the functions binding.d.ts declares', () => {
    for (const name of [
      'tripletLoss',
      'tripletLossAsync',
      'tripletLossFromDistances',
      'tripletLossFromDistancesAsync',
      'info',
      'setNumThreads',
      'benchmarkGram',
      'evaluateEmbeddings',
      'projectEmbeddings',
      'augmentImages',
      'Trainer',
    ]) {
      expect(typeof (addon as unknown as Record<string, unknown>)[name]).toBe('function');
    }
    const info = addon.info();
    expect(info.torchVersion).toMatch(/^\d+\.\d+/);
    expect(typeof info.cudaAvailable).toBe('boolean');
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });

  it('re-checks typed-array kinds and shapes itself (never reads out of bounds)', () => {
    const e = new Float32Array([0, 1, 1, 0]);
    const l = new Int32Array([0, 0]);
    expect(() => addon.tripletLoss(new Float64Array(4) as unknown as Float32Array, 2, l, base)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'embeddings' }),
    );
    expect(() => addon.tripletLoss(e, 2, new Float32Array(2) as unknown as Int32Array, base)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'labels' }),
    );
    expect(() => addon.tripletLoss(e, 3, l, base)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'embeddings' }));
    expect(() => addon.tripletLoss(e, 0, l, base)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'dim' }));
    expect(() => addon.tripletLossFromDistances(new Float32Array(5), l, base)).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'distances' }),
    );
    expect(() => addon.tripletLoss(e, 2, l, { ...base, kind: 'soft' as 'hard' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.kind' }),
    );
    expect(() => addon.tripletLoss(e, 2, l, { ...base, margin: '1' as unknown as number })).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'options.margin' }),
    );
    expect(() => addon.tripletLoss(e, 2, l, null as unknown as NativeLossOptions)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'options' }),
    );
  });

  it('refuses a name it cannot parse into an enumeration (never falls back to a default)', () => {
    const e = new Float32Array([0, 1, 1, 0]);
    const l = new Int32Array([0, 0]);
    expect(() => addon.tripletLoss(e, 2, l, { ...base, distance: 'L1' as 'L2' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.distance', message: "Expected one of 'L2', 'squared-L2', 'angular' for options.distance but received 'L1'" }),
    );
    expect(() => addon.tripletLoss(e, 2, l, { ...base, device: 'gpu' as 'cpu' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.device' }),
    );
    // 'soft' is no loss kind: once this built a semi-hard trainer without a word.
    expect(() => new addon.Trainer({ ...trainerBase, lossKind: 'soft' as 'hard' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.lossKind', message: "Expected one of 'semihard', 'hard' for options.lossKind but received 'soft'" }),
    );
    expect(() => new addon.Trainer({ ...trainerBase, backbone: 'resnet101' as 'resnet18' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.backbone' }),
    );
    expect(() => new addon.Trainer({ ...trainerBase, batchNorm: 'none' as 'sync' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.batchNorm' }),
    );
    expect(new addon.Trainer({ ...trainerBase, lossKind: 'hard' }).parameterInfo().length).toBeGreaterThan(0);
  });

  it("states the core's preconditions as internal errors, for what lib/ validates before any call", async () => {
    const e = new Float32Array([0, 1, 1, 0]);
    // lib/loss.ts: one label per row, at least 2 rows.
    expect(() => addon.tripletLoss(e, 2, new Int32Array(3), base)).toThrow(internal(/2 rows need as many labels, got 3/));
    expect(() => addon.tripletLoss(e.subarray(0, 2), 2, new Int32Array(1), base)).toThrow(internal(/at least 2 rows .*got 1/));
    // lib/evaluate.ts: k >= 1, one label per embedding.
    const set = { embeddings: e, labels: new Int32Array([0, 1]) };
    await expect(addon.evaluateEmbeddings({ train: set, valid: set, dim: 2, k: 0, device: 'cpu' })).rejects.toEqual(internal(/k must be at least 1, got 0/));
    await expect(
      addon.evaluateEmbeddings({ train: set, valid: { embeddings: e, labels: new Int32Array(3) }, dim: 2, k: 1, device: 'cpu' }),
    ).rejects.toEqual(internal(/valid_y must hold one label per row of valid_x/));
  });

  it('takes one options object for evaluateEmbeddings, naming the fields it guards', async () => {
    const set = { embeddings: new Float32Array([0, 0, 1, 1]), labels: new Int32Array([0, 1]) };
    const call = (options: unknown) => () => addon.evaluateEmbeddings(options as Parameters<NativeBinding['evaluateEmbeddings']>[0]);
    expect(call(undefined)).toThrow(expect.objectContaining({ name: 'TypeError', argument: 'options' }));
    expect(call({ train: set, valid: { ...set, labels: [0, 1] }, dim: 2, k: 1, device: 'cpu' })).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'options.valid.labels' }),
    );
    expect(call({ train: set, valid: set, dim: 3, k: 1, device: 'cpu' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'options.train.embeddings' }),
    );
    // Both points of valid are their own class's only member, and the nearest train point of
    // each is itself: kNN accuracy 1 over 2 queries.
    const m = await addon.evaluateEmbeddings({ train: set, valid: set, dim: 2, k: 1, device: 'cpu' });
    expect(m.knnAccuracy).toBe(1);
    expect(m.perClass.map((c) => c.count)).toEqual([1, 1]);
  });

  it("says clearly when CUDA is asked for and there is none", () => {
    if (addon.info().cudaAvailable) return; // covered by the GPU check (native/tools/loss_check.cc)
    expect(() => addon.tripletLoss(new Float32Array([0, 1, 1, 0]), 2, new Int32Array([0, 0]), { ...base, device: 'cuda' })).toThrow(
      expect.objectContaining({ name: 'RangeError', argument: 'device', message: expect.stringMatching(/CUDA/) }),
    );
  });

  it('rejects (does not throw) from the async entry points once queued', async () => {
    const bad = new Float32Array([NaN, 1, 1, 0]);
    await expect(addon.tripletLossAsync(bad, 2, new Int32Array([0, 0]), base)).rejects.toMatchObject({
      name: 'RangeError',
      argument: 'embeddings',
    });
  });
});
