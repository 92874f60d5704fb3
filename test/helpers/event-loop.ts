// Measuring how long the event loop is held.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** The largest event-loop delay (ms, 10 ms resolution) while `work` runs; earlier garbage is collected first. */
export async function largestDelay(work: () => Promise<unknown>): Promise<number> {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  await work();
  histogram.disable();
  return histogram.max / 1e6;
}
