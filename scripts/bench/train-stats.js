'use strict';
// bench:train --stats: the cost of the training stats (native/core/trainer.h StepResult::stats,
// summed per report window and read with the losses) in one training step: the raw trainer's
// run() of `steps` steps with stats (the default) against the benchmark hook stats: false,
// alternated run by run, `repeats` times; the medians' ratio. The convnet on MNIST digits
// (28 px, augmentation on, as train() runs it), P x K = 8 x 16 and 10 x 64.
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const { createTrainer } = require(path.join(root, 'dist', 'lib', 'binding.js'));
const { loadIdxDataset } = require(path.join(root, 'dist', 'lib', 'data', 'datasets.js'));

function median(values) {
  const s = [...values].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// `steps` P x K batches of the digits (class c's rows in order, wrapping).
function batches(labels, classes, perClass, steps) {
  const byClass = Array.from({ length: 10 }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  const out = new Int32Array(steps * classes * perClass);
  let k = 0;
  for (let s = 0; s < steps; s++) {
    for (let c = 0; c < classes; c++) {
      for (let j = 0; j < perClass; j++) out[k++] = byClass[c][(s * perClass + j) % byClass[c].length];
    }
  }
  return out;
}

function trainerFor(stats, train, threads) {
  const t = createTrainer({
    backbone: 'convnet', dim: 128, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0.01,
    gradClip: 0, augment: true, device: 'cpu', seed: 0, stats,
  });
  t.setData({
    train: { images: train.images, labels: train.labels },
    valid: null,
    geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 },
    normalisation: null,
  });
  return t;
}

async function statsCost({ steps, repeats, threads, binding }) {
  binding.setNumThreads(threads);
  const mnist = loadIdxDataset('mnist', 0);
  const rows = [];
  for (const [classes, perClass] of [[8, 16], [10, 64]]) {
    const b = classes * perClass;
    const indices = batches(mnist.train.labels, classes, perClass, steps + 1);
    const train = { images: mnist.train.images, labels: mnist.train.labels };
    const on = trainerFor(true, train, threads);
    const off = trainerFor(false, train, threads);
    for (const t of [on, off]) {
      t.beginPhase('none', 1e-3, 1000);
      await t.run('train', indices.subarray(0, b), b); // warm-up step
    }
    const times = { on: [], off: [] };
    const cpu = { on: [], off: [] };
    for (let r = 0; r < repeats; r++) {
      for (const [name, t] of r % 2 ? [['off', off], ['on', on]] : [['on', on], ['off', off]]) {
        const started = process.hrtime.bigint();
        const cpuStarted = process.cpuUsage();
        await t.run('train', indices.subarray(b), b);
        times[name].push(Number(process.hrtime.bigint() - started) / 1e6 / steps);
        const used = process.cpuUsage(cpuStarted);
        cpu[name].push((used.user + used.system) / 1e3 / steps);
      }
    }
    const mOn = median(times.on);
    const mOff = median(times.off);
    const cOn = median(cpu.on);
    const cOff = median(cpu.off);
    rows.push({ batch: `${classes} x ${perClass} = ${b}`, on: mOn, off: mOff, ratio: mOn / mOff, cpuRatio: cOn / cOff, cOn, cOff });
  }
  console.log(`\ntraining step with stats against without (convnet, 28 px, CPU ${threads} threads, ${steps} steps a run, median of ${repeats} alternated runs):`);
  console.log('(wall time per step, and the process\'s CPU time per step: steadier on a shared machine)');
  console.log('batch            with stats   without   ratio   CPU with   CPU without   ratio');
  for (const r of rows) {
    console.log(
      `${r.batch.padEnd(16)} ${r.on.toFixed(1).padStart(7)} ms ${r.off.toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(3)}` +
        `  ${r.cOn.toFixed(1).padStart(7)} ms  ${r.cOff.toFixed(1).padStart(9)} ms   ${r.cpuRatio.toFixed(3)}`,
    );
  }
  return rows;
}

module.exports = { statsCost };
