#!/usr/bin/env node
'use strict';
// node scripts/bench/svm.js [--train 10000 --valid 2000 --dim 128 --classes 10 --spread 1.5,3 --threads 1]
//
// The linear SVM of evaluate()'s svmAccuracy against scikit-learn's LinearSVC() on Gaussian
// blobs (class centres drawn from N(0, 1) per coordinate, samples around them with standard
// deviation `spread`: larger spreads overlap more): validation accuracy of each, how many
// predictions agree, and the seconds each fit took (ours: fit + predict on a libuv thread with
// `threads` intra-op threads, the solver LinearSVC's dual='auto' picks; sklearn: fit() alone,
// dual='auto' (the primal Newton solver when samples are at least as many as features) and
// dual=True (coordinate descent in the dual, which rarely converges in its 1000 passes on
// overlapping classes)). n_iter: passes (dual) or Newton steps (primal). Needs the addon built and the Python reference venv (scripts/reference/venv.js).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { mulberry32: rng } = require('./random');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const { referencePython } = require(path.join(root, 'scripts', 'reference', 'venv.js'));
const addon = require(process.env.SEMIHARD_ADDON ?? path.join(root, 'build', 'Release', 'semihard.node'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const trainCount = Number(arg('train', '10000'));
const validCount = Number(arg('valid', '2000'));
const dim = Number(arg('dim', '128'));
const classes = Number(arg('classes', '10'));
const spreads = arg('spread', '1.5,3').split(',').map(Number);
const threads = Number(arg('threads', '1'));

const gaussian = (next) => Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());

function blobs(count, centres, spread, next) {
  const x = new Float32Array(count * dim);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % classes;
    for (let j = 0; j < dim; j++) x[i * dim + j] = centres[y[i] * dim + j] + spread * gaussian(next);
  }
  return { x, y };
}

async function main() {
  addon.setNumThreads(threads);
  const rows = [];
  for (const spread of spreads) {
    const next = rng(7);
    const centres = Float32Array.from({ length: classes * dim }, () => gaussian(next));
    const train = blobs(trainCount, centres, spread, next);
    const valid = blobs(validCount, centres, spread, next);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-svm-'));
    try {
      for (const [name, a] of [['train_x.f32', train.x], ['valid_x.f32', valid.x], ['train_y.i32', train.y], ['valid_y.i32', valid.y]]) {
        fs.writeFileSync(path.join(dir, name), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
      }
      const started = performance.now();
      const ours = await addon.linearSvmForTesting({ train: { embeddings: train.x, labels: train.y }, query: valid.x, dim });
      const oursSeconds = (performance.now() - started) / 1000;
      const oursAccuracy = ours.predicted.reduce((n, p, i) => n + (p === valid.y[i] ? 1 : 0), 0) / validCount;
      for (const dual of ['auto', 'true']) {
        const r = spawnSync(referencePython(), [path.join(root, 'test', 'reference', 'python', 'linear_svc.py'), dir, String(dim), '--dual', dual], {
          encoding: 'utf8',
          maxBuffer: 1 << 30,
          env: { ...process.env, OMP_NUM_THREADS: String(threads), PYTHONDONTWRITEBYTECODE: '1' },
        });
        if (r.status !== 0) throw new Error(r.stderr);
        const sk = JSON.parse(r.stdout);
        const agree = sk.predictions.reduce((n, p, i) => n + (p === ours.predicted[i] ? 1 : 0), 0) / validCount;
        rows.push({
          spread,
          'sklearn dual': dual,
          'ours acc %': (100 * oursAccuracy).toFixed(2),
          'sklearn acc %': (100 * sk.accuracy).toFixed(2),
          'agree %': (100 * agree).toFixed(2),
          'ours s': oursSeconds.toFixed(2),
          'sklearn s': sk.seconds.toFixed(2),
          'ours n_iter (max)': Math.max(...ours.iterations),
          'sklearn n_iter': sk.n_iter,
          'sklearn converged': sk.converged,
        });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`train ${trainCount} x ${dim}, valid ${validCount}, ${classes} classes, ${threads} thread(s)`);
  console.table(rows);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
