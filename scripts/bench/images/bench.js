#!/usr/bin/env node
'use strict';
// npm run bench:images [-- --folder DIR --concurrency 2 --threads 1 --workers 2 --warmup 1 --epochs 1 --rounds 1 --train]
//
// Decode + resize + augment throughput over a folder of JPEGs (default data/bench-images, made
// by make-folder.js when missing: 20 classes × 100 JPEGs of about 500 × 375 px): semihard's
// streaming pipeline (semihard_pipeline.js: sharp decode, native random resized crop + flip +
// affine, batches of 128 at 224 × 224 × 3 float) against torchvision's ImageFolder + DataLoader
// (torchvision_pipeline.py: num_workers 2, batch 128, the same transforms), one after the other in
// this run, each in its own process. Prints images/s, peak RSS and PSS of each, and the ratio.
// The Python side needs data/bench-venv (bash scripts/bench/images/setup-python.sh); without it,
// that side is skipped with a message. --rounds N alternates the two sides N times. --train then
// also runs train.js (training images/s from the folder, cached against streaming; minutes).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeFolder, folderComplete } = require('./make-folder');

const { root, option } = require('./args');

function runJson(command, args, label) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main() {
  const argv = process.argv.slice(2);
  const loadAtStart = os.loadavg()[0];
  const folder = path.resolve(option(argv, 'folder', path.join(root, 'data', 'bench-images')));
  const concurrency = option(argv, 'concurrency', '2');
  const threads = option(argv, 'threads', '1');
  const workers = option(argv, 'workers', '2');
  const warmup = option(argv, 'warmup', '1');
  const epochs = option(argv, 'epochs', '1');
  const rounds = Number(option(argv, 'rounds', '1'));
  const batch = '128';

  if (!fs.existsSync(folder) || (!argv.includes('--folder') && !folderComplete(folder))) {
    console.log(`making the benchmark's image folder ${folder} …`);
    await makeFolder(folder);
  }
  const venvPython = process.env.BENCH_PYTHON || path.join(root, 'data', 'bench-venv', 'bin', 'python');
  const havePython = fs.existsSync(venvPython);
  if (!havePython) {
    console.log(`torchvision side skipped: ${path.relative(root, venvPython)} is missing. Make it with\n  bash scripts/bench/images/setup-python.sh\n(a venv with torch 2.14.1 + torchvision 0.29.1 from PyPI, ~5.5 GB) or point BENCH_PYTHON at a Python that has torch and torchvision.\n`);
  }

  const ours = [];
  const theirs = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(
      runJson(process.execPath, [path.join(__dirname, 'semihard_pipeline.js'), folder, '--batch', batch, '--concurrency', concurrency, '--threads', threads, '--warmup', warmup, '--epochs', epochs], 'semihard side'),
    );
    if (havePython) {
      theirs.push(runJson(venvPython, [path.join(__dirname, 'torchvision_pipeline.py'), folder, '--batch', batch, '--workers', workers, '--warmup', warmup, '--epochs', epochs], 'torchvision side'));
    }
  }
  // Other work on the machine only slows a run down, so each figure is the best over the rounds.
  const summary = (runs) => ({
    ...runs[0],
    imagesPerSecond: Math.max(...runs.map((x) => x.imagesPerSecond)),
    imagesPerCpuSecond: Math.max(...runs.map((x) => x.images / x.cpuSeconds)),
    peakRssBytes: Math.max(...runs.map((x) => x.peakRssBytes)),
    peakPssBytes: Math.max(...runs.map((x) => x.peakPssBytes)),
  });
  const o = summary(ours);
  const t = havePython ? summary(theirs) : null;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`decode + resize + augment, ${o.files} JPEGs in ${folder}, batches of ${batch} at 224 × 224 × 3 float32; ${os.cpus().length} cores (${cpu})`);
  console.log(`timed: ${epochs} epoch(s) after ${warmup} warm-up epoch(s), whole batches${rounds > 1 ? `; best of ${rounds} alternating rounds (peak memory: the largest)` : ''}`);
  console.log(`semihard: sharp ${o.sharp} (libvips ${o.vips}), ${o.concurrency} decodes at once, ${o.ahead} batches ahead; native transform with ${o.threads} LibTorch thread(s)${o.torch ? ` (${o.torch})` : ''}; one process`);
  if (t) console.log(`torchvision: ${t.torchvision} (torch ${t.torch}, Pillow ${t.pillow}), DataLoader num_workers ${t.workers} (each 1 torch thread) + the main process`);
  console.log('');
  const perCpu = (x) => x.imagesPerCpuSecond;
  console.log('| pipeline | images/s | images per CPU-second | peak RSS | peak PSS |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| semihard (sharp + native transform) | ${o.imagesPerSecond.toFixed(0)} | ${perCpu(o).toFixed(0)} | ${mib(o.peakRssBytes)} | ${mib(o.peakPssBytes)} |`);
  if (t) {
    console.log(`| torchvision ImageFolder + DataLoader | ${t.imagesPerSecond.toFixed(0)} | ${perCpu(t).toFixed(0)} | ${mib(t.peakRssBytes)} (sum of ${Number(workers) + 1} processes) | ${mib(t.peakPssBytes)} |`);
    console.log(`| ratio semihard / torchvision | ${(o.imagesPerSecond / t.imagesPerSecond).toFixed(2)} | ${(perCpu(o) / perCpu(t)).toFixed(2)} | ${(o.peakRssBytes / t.peakRssBytes).toFixed(2)} | ${(o.peakPssBytes / t.peakPssBytes).toFixed(2)} |`);
  }
  console.log('');
  console.log(`1-minute load average ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end, on ${os.cpus().length} cores: above ~${os.cpus().length} other work shared the cores and the images/s are low; images per CPU-second is less affected`);
  if (rounds > 1) {
    console.log('');
    const each = (runs, f) => runs.map((x) => f(x).toFixed(0)).join(', ');
    console.log(`every round, images/s: semihard ${each(ours, (x) => x.imagesPerSecond)}${t ? `; torchvision ${each(theirs, (x) => x.imagesPerSecond)}` : ''}`);
    console.log(`every round, images per CPU-second: semihard ${each(ours, (x) => x.images / x.cpuSeconds)}${t ? `; torchvision ${each(theirs, (x) => x.images / x.cpuSeconds)}` : ''}`);
  }
  if (argv.includes('--train')) {
    console.log('');
    const r = spawnSync(process.execPath, [path.join(__dirname, 'train.js'), '--folder', folder], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`train.js failed (exit ${r.status})`);
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
