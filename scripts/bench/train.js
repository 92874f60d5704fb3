#!/usr/bin/env node
'use strict';
// npm run bench:train [-- --steps 30 --threads 2]
//
// Training throughput of semihard's train() (public API, native LibTorch, default convnet,
// 8 x 16 batches, augmentation on) next to the same network, loss, augmentation and
// optimiser written as a plain PyTorch loop in Python (scripts/bench/train_torch.py), run
// one after the other on this machine with the same threads. Prints images/s and the ratio,
// for the frozen (phase 1) and the unfrozen (phase 2) configuration.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function python() {
  const venv = path.join(root, '.libtorch-venv', 'bin', 'python');
  if (process.env.PYTHON) return process.env.PYTHON;
  return fs.existsSync(venv) ? venv : 'python3';
}

async function semihardRate(freeze, steps, warmup, threads) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-'));
  const times = [];
  try {
    await semihard.train({
      data: 'mnist',
      device: 'cpu',
      threads,
      phases: [{ epochs: 1, maxLr: 1e-3, freeze }],
      maxSteps: steps + warmup,
      checkpointDir: dir,
      onProgress: (e) => times.push({ step: e.step, t: performance.now(), batch: 128 }),
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const from = times[warmup - 1];
  const to = times[times.length - 1];
  return ((to.step - from.step) * 128) / ((to.t - from.t) / 1000);
}

async function main() {
  const steps = arg('steps', 30);
  const warmup = 5;
  const threads = arg('threads', 2);
  const rows = [];
  for (const freeze of ['backbone', 'none']) {
    const ours = await semihardRate(freeze, steps, warmup, threads);
    const py = spawnSync(python(), [path.join(__dirname, 'train_torch.py'), '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads), '--freeze', freeze], {
      encoding: 'utf8',
    });
    if (py.status !== 0) throw new Error(`the PyTorch baseline failed:\n${py.stderr}`);
    const theirs = JSON.parse(py.stdout.trim().split('\n').pop());
    rows.push({ freeze, ours, theirs: theirs.imagesPerSecond, torch: theirs.torch });
  }
  console.log(`training throughput, convnet, batch 8×16 (128), ${threads} threads, ${steps} timed steps after ${warmup} warm-up; LibTorch ${semihard.info().torchVersion}, Python torch ${rows[0].torch}`);
  console.log('');
  console.log('| phase | semihard train() img/s | PyTorch loop img/s | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.freeze === 'backbone' ? '1 (backbone frozen)' : '2 (all learn)'} | ${r.ours.toFixed(0)} | ${r.theirs.toFixed(0)} | ${(r.ours / r.theirs).toFixed(2)} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
