'use strict';
// One rank of a multi-process test (test/distributed.test.ts spawns several). Plain
// JavaScript on the built package (dist/), as a user's process would run it.
//   node distributed-rank.js '<json job>'
// job.mode 'gradients': the loss and parameter gradients of one batch, without a step.
// job.mode 'train': train() with job.config; prints one line per step ("step <n> <loss>").
// The result goes to job.out as JSON.
const fs = require('node:fs');
const path = require('node:path');

const dist = path.resolve(__dirname, '..', '..', 'dist', 'lib');

// Deterministic images: blobs of a class-dependent position plus noise, so a batch has
// structure and no two images are the same.
function syntheticImages(count, seed) {
  let state = (seed * 2654435761 + 12345) >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const images = new Uint8Array(count * 784);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    labels[i] = label;
    const cx = 6 + 2 * label + next() * 3;
    const cy = 14 + (next() - 0.5) * 8;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        images[i * 784 + y * 28 + x] = Math.min(255, Math.round(255 * Math.exp(-d2 / 18) + 40 * next()));
      }
    }
  }
  return { images, labels };
}

async function gradients(job) {
  const { createTrainer } = require(path.join(dist, 'binding.js'));
  const trainer = createTrainer(job.trainer);
  let train = syntheticImages(job.count, 1);
  const valid = syntheticImages(20, 2);
  if (job.data === 'mnist') {
    const { loadIdxDataset } = require(path.join(dist, 'data', 'datasets.js'));
    const d = loadIdxDataset('mnist', 0).train;
    train = { images: d.images.subarray(0, job.count * 784), labels: d.labels.subarray(0, job.count) };
  }
  trainer.setData({
    train: { images: train.images, labels: train.labels },
    valid: { images: valid.images, labels: valid.labels },
    geometry: { channels: 1, storedHeight: 28, storedWidth: 28, height: 28, width: 28 },
    normalisation: null,
  });
  if (job.distributed) await trainer.connect(job.distributed);
  trainer.beginPhase(job.freeze, 1e-3, 10);
  const r = await trainer.computeGradients(Int32Array.from(job.indices));
  const out = { loss: r.loss, gradients: {} };
  for (const [name, g] of Object.entries(r.gradients)) out.gradients[name] = Array.from(g);
  return out;
}

async function train(job) {
  const { train: run } = require(path.join(dist, 'index.js'));
  const result = await run({
    ...job.config,
    onProgress: (e) => e.stage === 'train' && process.stdout.write(`step ${e.phase}.${e.epoch}.${e.step} ${e.loss}\n`),
  });
  return result;
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  const result = job.mode === 'gradients' ? await gradients(job) : await train(job);
  if (job.out) fs.writeFileSync(job.out, JSON.stringify(result));
}

// A failed rank exits non-zero with its error on stderr: the tests assert on both.
main().catch((err) => {
  process.stderr.write(`rank failed: ${err.code ?? ''} ${err.message}\n`);
  process.exitCode = 1;
});
