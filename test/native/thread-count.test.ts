// setNumThreads holds for every later job, whichever libuv pool thread runs it. LibTorch's
// OpenMP thread count is a per-thread setting that a thread takes from the global count on its
// first parallel work and then keeps; the addon's jobs run on libuv's pool, so without
// re-applying the count (native/binding/task_worker.h) a pool thread first used at one count
// ran every later job at that count, and the same job gave other bits depending on the
// thread it landed on. (Found as last-bit differences between runs that must be identical.)
import * as os from 'node:os';
import { binding, createTrainer } from '../../lib/binding';
import { loadIdxDataset } from '../../lib/data/datasets';
import { nativeTrainerOptions, resolveTrainConfig } from '../../lib/train';
import { setDataOptions } from '../../lib/train/trainer-data';

const mnist = loadIdxDataset('mnist', 0);
const small = { ...mnist, train: { images: mnist.train.images.subarray(0, 256 * 784), labels: mnist.train.labels.subarray(0, 256), count: 256 } };
const indices = Int32Array.from({ length: 6 * 64 }, (_, i) => (i * 37) % 256);

function trainer() {
  const t = createTrainer(nativeTrainerOptions(resolveTrainConfig({ data: 'mnist', model: { dim: 16 }, device: 'cpu', seed: 1 })));
  t.setData(setDataOptions(small, false));
  t.beginPhase('none', 1e-3, 10);
  return t;
}

async function losses(): Promise<number[]> {
  return Array.from((await trainer().run('train', indices, 64)).losses);
}

afterAll(() => binding.setNumThreads(os.availableParallelism()));

it('a job after a change of thread count runs at the new count on every pool thread', async () => {
  binding.setNumThreads(2);
  const before = await losses();
  // Jobs at one thread on as many pool threads as can be kept busy at once.
  binding.setNumThreads(1);
  await Promise.all(Array.from({ length: 8 }, () => trainer().run('train', indices.subarray(0, 64), 64)));
  binding.setNumThreads(2);
  const after = await Promise.all(Array.from({ length: 4 }, () => losses()));
  for (const run of after) expect(run).toEqual(before);
});
