// The raw addon (build/Release/semihard.node) as binding.d.ts types it: its surface, the
// memory-protecting re-checks it makes on its own, and the hard loss's tensor-operation
// miner (the one CUDA runs) held to the same TF fixtures on the CPU.
import type { NativeBinding, NativeLossOptions } from '../../binding';
import { addonPath } from '../../lib/binding';
import { distanceMatrixErrorBound, lossTerms, tripletErrorBound } from '../helpers/tolerance';
import { loadFixture, maxAbsDiff } from '../helpers/fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require(addonPath()) as NativeBinding;
const base: NativeLossOptions = { kind: 'semihard', margin: 1, soft: false, distance: 'L2', device: 'cpu' };

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
    expect(() => addon.tripletLoss(e, 2, new Int32Array(3), base)).toThrow(expect.objectContaining({ name: 'RangeError', argument: 'labels' }));
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

describe.each(['tfa-hard.json', 'tfa-hard-soft.json'])('tensor-operation hard miner vs TF: %s', (file) => {
  const fixture = loadFixture(file);
  const cases = fixture.cases.filter((c) => c.loss !== null);
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const options: NativeLossOptions = {
      kind: 'hard',
      margin: c.margin,
      soft: fixture.loss === 'hard-soft',
      distance: c.distance === 'custom-L1' ? 'L2' : c.distance,
      device: 'cpu',
      tensorMining: true,
    };
    const labels = Int32Array.from(c.labels);
    const r =
      c.distance === 'custom-L1'
        ? addon.tripletLossFromDistances(Float32Array.from(c.distances!), labels, options)
        : addon.tripletLoss(Float32Array.from(c.embeddings), c.dim, labels, options);
    // TF and this miner each round in float32: within twice one implementation's bound.
    const terms = lossTerms(c.labels, 'hard');
    const b = c.distance === 'custom-L1' ? distanceMatrixErrorBound(c.distances!, c.margin, terms) : tripletErrorBound(c.embeddings, c.dim, c.distance, c.margin, terms);
    expect(Math.abs(r.loss - c.loss!)).toBeLessThanOrEqual(2 * b.loss);
    expect(maxAbsDiff(r.grad, c.distance === 'custom-L1' ? c.gradDistances! : c.grad!)).toBeLessThanOrEqual(2 * b.grad);
  });
});
