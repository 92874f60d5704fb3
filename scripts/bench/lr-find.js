#!/usr/bin/env node
'use strict';
// npm run bench:lr-find [-- --epochs 3 --fashion-train 500 --fashion-valid 100 --threads 2 --data mnist,fashion-mnist]
//
// Does lrFind's suggestion train well? For each data set: the range test (lrFind's defaults:
// unfrozen phase, 100 steps from 1e-7 to 10, convnet, dim 128, 8 x 16 batches, seed 0), then
// short trainings from the same fresh network (one-cycle, unfrozen, --epochs epochs, seed 0)
// at the suggestion, at 0.1 x and 10 x it, and at the previous rule's suggestion (the
// steepest descent of the smoothed loss against log(lr), recomputed here from the curve).
// Prints the final valid loss and the kNN accuracy (k = 5, valid against train embeddings).
//
// Sizes: MNIST is the embedded set (8,000 train / 2,000 valid); Fashion-MNIST (Debian's
// dataset-fashion-mnist) is cut to the first --fashion-train / --fashion-valid images of each
// class (default 500 / 100: 5,000 / 1,000), written as IDX files to a temporary folder.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const epochs = Number(arg('epochs', '3'));
const threads = Number(arg('threads', '2'));
const fashionTrain = Number(arg('fashion-train', '500'));
const fashionValid = Number(arg('fashion-valid', '100'));
const datasets = arg('data', 'mnist,fashion-mnist').split(',');
const seed = 0;

/** The old rule: central differences of the smoothed loss against log(lr), the most negative. */
function steepestDescent(lrs, smoothed) {
  let best = -1;
  let slope = Infinity;
  for (let i = 1; i + 1 < lrs.length; i++) {
    const s = (smoothed[i + 1] - smoothed[i - 1]) / Math.log(lrs[i + 1] / lrs[i - 1]);
    if (s < slope) {
      slope = s;
      best = i;
    }
  }
  return best < 0 ? 0 : lrs[best];
}

function idxFile(file, dims, bytes) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08; // unsigned bytes
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
}

/** The first `perClass` images of each class, in the set's order. */
function balanced(set, perClass, pixels) {
  const taken = new Map();
  const rows = [];
  for (let i = 0; i < set.count; i++) {
    const n = taken.get(set.labels[i]) ?? 0;
    if (n < perClass) {
      taken.set(set.labels[i], n + 1);
      rows.push(i);
    }
  }
  const images = new Uint8Array(rows.length * pixels);
  const labels = new Uint8Array(rows.length);
  rows.forEach((i, r) => {
    images.set(set.images.subarray(i * pixels, (i + 1) * pixels), r * pixels);
    labels[r] = set.labels[i];
  });
  return { images, labels, count: rows.length };
}

async function fashionSubset(dir) {
  const full = await semihard.loadDataset('fashion-mnist', seed);
  const pixels = full.height * full.width;
  for (const [prefix, set, perClass] of [['train', full.train, fashionTrain], ['t10k', full.valid, fashionValid]]) {
    const s = balanced(set, perClass, pixels);
    idxFile(path.join(dir, `${prefix}-images-idx3-ubyte`), [s.count, full.height, full.width], s.images);
    idxFile(path.join(dir, `${prefix}-labels-idx1-ubyte`), [s.count], s.labels);
  }
  return { idxDir: dir };
}

async function shortRun(data, lr, work) {
  const checkpointDir = fs.mkdtempSync(path.join(work, 'run-'));
  const started = performance.now();
  const r = await semihard.train({ data, device: 'cpu', threads, seed, phases: [{ epochs, maxLr: lr, freeze: 'none' }], checkpointDir });
  const seconds = (performance.now() - started) / 1000;
  const model = await semihard.loadModel(r.checkpoint, { device: 'cpu' });
  const dataset = await semihard.loadDataset(data, seed);
  const embed = async (set) => ({ embeddings: await model.embed(set.images, set.count), labels: set.labels, dim: model.dim });
  const metrics = await semihard.evaluate({ train: await embed(dataset.train), valid: await embed(dataset.valid) }, { k: 5, device: 'cpu' });
  fs.rmSync(checkpointDir, { recursive: true, force: true });
  return { validLoss: r.history[r.history.length - 1].validLoss, knn: metrics.knnAccuracy, seconds };
}

async function main() {
  semihard.setNumThreads(threads);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-lr-'));
  const rows = [];
  const started = performance.now();
  try {
    for (const name of datasets) {
      let data = name;
      let label = 'MNIST (embedded, 8,000 / 2,000)';
      if (name === 'fashion-mnist') {
        data = await fashionSubset(fs.mkdtempSync(path.join(work, 'fashion-')));
        label = `Fashion-MNIST (${(fashionTrain * 10).toLocaleString('en')} / ${(fashionValid * 10).toLocaleString('en')})`;
      }
      const curve = await semihard.lrFind({ data, device: 'cpu', threads, seed, freeze: 'none' });
      const suggestion = curve.suggestion;
      const old = steepestDescent(curve.lrs, curve.smoothed);
      const runs = [
        ['steepest descent (old rule)', old],
        ['valley × 0.1', suggestion / 10],
        ['**valley (new rule)**', suggestion],
        ['valley × 10', suggestion * 10],
      ];
      for (const [rule, lr] of runs) {
        const r = await shortRun(data, lr, work);
        rows.push({ label, rule, lr, ...r });
        process.stderr.write(`${label}: ${rule} ${lr.toExponential(1)}: valid loss ${r.validLoss.toFixed(3)}, kNN ${(100 * r.knn).toFixed(2)}% (${r.seconds.toFixed(0)} s)\n`);
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`lrFind's suggestion against ${epochs} unfrozen epochs (one-cycle, seed ${seed}, convnet, dim 128, 8 × 16 batches, ${threads} threads), ${((performance.now() - started) / 60000).toFixed(1)} min in all`);
  console.log('');
  console.log(`| data (train / valid) | rule | peak lr | valid loss after ${epochs} epochs | kNN (k = 5) |`);
  console.log('|---|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.label} | ${r.rule} | ${r.lr.toExponential(1)} | ${r.validLoss.toFixed(3)} | ${(100 * r.knn).toFixed(2)}% |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
