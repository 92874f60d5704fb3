// The two miners the loss tests run: 'cpu', the CPU miners the public API uses on the CPU,
// and 'tensor', the tensor-operation miners CUDA runs (native/core/semihard_tensor_mining.h,
// hard_mining.h), forced on the CPU by the raw addon's testing option `tensorMining`.
// useMiner() installs, for the enclosing describe block, the real addon with that option added
// to every loss call, so the tests go through the public API unchanged.
import type { NativeBinding, NativeLossOptions } from '../../binding';
import { addonPath, setBindingForTesting } from '../../lib/binding';

export const MINERS = ['cpu', 'tensor'] as const;
export type Miner = (typeof MINERS)[number];

const LOSS_CALLS = ['tripletLoss', 'tripletLossAsync', 'tripletLossFromDistances', 'tripletLossFromDistancesAsync'];

function withTensorMining(addon: NativeBinding, calls: { count: number }): NativeBinding {
  return new Proxy(addon, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof property !== 'string' || !LOSS_CALLS.includes(property)) return value;
      return (...args: unknown[]) => {
        calls.count++;
        const options = args[args.length - 1] as NativeLossOptions;
        return (value as Function).apply(target, [...args.slice(0, -1), { ...options, tensorMining: true }]);
      };
    },
  });
}

/** Runs the enclosing describe block's losses with `miner`; fails it if 'tensor' never ran. */
export function useMiner(miner: Miner): void {
  if (miner === 'cpu') return;
  const calls = { count: 0 };
  beforeAll(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    setBindingForTesting(withTensorMining(require(addonPath()) as NativeBinding, calls));
  });
  afterAll(() => {
    setBindingForTesting(undefined);
    expect(calls.count).toBeGreaterThan(0);
  });
}
