#!/usr/bin/env node
'use strict';
// node scripts/bench/images/train.js [--folder DIR] [--steps 8] [--warmup 2] [--threads 2]
//                                     [--freeze none|backbone] [--modes cached,streaming]
//
// Training images/s of train({ data: { imageFolder } }) on the benchmark folder (default
// data/bench-images, made when missing), default convnet, 224 × 224 × 3, batch 8 × 16, the photo
// augmentation, one phase at 1e-3 (--freeze: none, all layers learn; backbone: phase 1's frozen
// backbone, so a step is cheaper and decoding weighs more), in two ways, each in its own process:
//   cached:    cacheBytes default: every image decoded into native memory before the first step,
//              then each step reads its batch from memory (the "in memory" case);
//   streaming: cacheBytes 1: nothing cached, each batch decoded (sharp) a few batches ahead
//              while the trainer steps.
// Steps/s are timed from the end of step `warmup` to the end of the last step, from train()'s
// own progress events; the decode phase (cached) is reported on its own. The streaming overhead
// is 1 - streaming images/s / cached images/s.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeFolder, folderComplete } = require('./make-folder');

const { root, option } = require('./args');

/** One training run in this process; prints one JSON line. */
async function child(argv) {
  const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));
  const folder = option(argv, 'folder');
  const mode = option(argv, 'mode');
  const steps = Number(option(argv, 'steps'));
  const warmup = Number(option(argv, 'warmup'));
  const threads = Number(option(argv, 'threads'));
  const freeze = option(argv, 'freeze');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-images-'));
  const stepTimes = [];
  let decodeStart = null;
  let decodeEnd = null;
  const t0 = performance.now();
  try {
    await semihard.train({
      data: { imageFolder: folder, ...(mode === 'streaming' ? { cacheBytes: 1 } : {}) },
      device: 'cpu',
      threads,
      phases: [{ epochs: 1, maxLr: 1e-3, freeze }],
      maxSteps: warmup + steps,
      checkpointDir: dir,
      onProgress: (e) => {
        const now = performance.now();
        if (e.stage === 'decode') {
          if (decodeStart === null) decodeStart = now;
          decodeEnd = now;
        } else {
          stepTimes.push({ step: e.step, t: now });
        }
      },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const from = stepTimes[warmup - 1];
  const to = stepTimes[stepTimes.length - 1];
  const timedSteps = stepTimes.length - warmup;
  console.log(
    JSON.stringify({
      mode,
      freeze,
      imagesPerSecond: (timedSteps * 128) / ((to.t - from.t) / 1000),
      secondsPerStep: (to.t - from.t) / 1000 / timedSteps,
      timedSteps,
      decodeSeconds: decodeStart === null ? 0 : (decodeEnd - t0) / 1000,
      firstStepSeconds: (stepTimes[0].t - t0) / 1000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      torch: semihard.info ? semihard.info().torchVersion : undefined,
    }),
  );
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.includes('--child')) return child(argv);
  const folder = path.resolve(option(argv, 'folder', path.join(root, 'data', 'bench-images')));
  const steps = option(argv, 'steps', '8');
  const warmup = option(argv, 'warmup', '2');
  const threads = option(argv, 'threads', '2');
  const freezes = option(argv, 'freeze', 'none').split(',');
  const modes = option(argv, 'modes', 'cached,streaming').split(',');
  if (!fs.existsSync(folder) || (!argv.includes('--folder') && !folderComplete(folder))) {
    console.log(`making the benchmark's image folder ${folder} …`);
    await makeFolder(folder);
  }
  const loadAtStart = os.loadavg()[0];
  const rows = [];
  for (const freeze of freezes) {
    for (const mode of modes) {
      console.error(`train.js: freeze ${freeze}, ${mode} …`);
      const r = spawnSync(process.execPath, [__filename, '--child', '--folder', folder, '--mode', mode, '--steps', steps, '--warmup', warmup, '--threads', threads, '--freeze', freeze], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      if (r.status !== 0) throw new Error(`the ${mode} run failed (exit ${r.status}):\n${r.stderr}`);
      rows.push(JSON.parse(r.stdout.trim().split('\n').pop()));
    }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`training from an image folder: ${folder}, convnet, 224 × 224 × 3, batch 8 × 16, photo augmentation, ${threads} LibTorch threads; ${steps} timed steps after ${warmup}; ${os.cpus().length} cores (${cpu})`);
  console.log('');
  console.log('| freeze | data | images/s | s/step | decode before step 1 | peak RSS | vs cached |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const cached = rows.find((x) => x.freeze === r.freeze && x.mode === 'cached');
    const vs = cached && r !== cached ? `${((r.imagesPerSecond / cached.imagesPerSecond - 1) * 100).toFixed(1)}%` : '';
    console.log(
      `| ${r.freeze} | ${r.mode} | ${r.imagesPerSecond.toFixed(1)} | ${r.secondsPerStep.toFixed(2)} | ${r.decodeSeconds.toFixed(1)} s | ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB | ${vs} |`,
    );
  }
  console.log('');
  console.log(`1-minute load average ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end, on ${os.cpus().length} cores`);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
