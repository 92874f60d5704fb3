#!/usr/bin/env node
'use strict';
// npm run bench:train [-- --steps 10 --warmup 3 --convnet-steps 30 --repeats 2 --threads 2 --only resnet18 --precision bf16]
//
// Training throughput of semihard's train() (public API, native LibTorch, 8 x 16 batches)
// next to the same network, loss and optimiser written as a plain PyTorch loop in Python, on
// this machine with the same threads, in both phases (1: backbone frozen except BatchNorm;
// 2: all learn):
//   - convnet: the default convnet on MNIST with augmentation, against scripts/bench/train_torch.py
//     (the Python of the LibTorch the addon was built with, build/libtorch.json: the same version);
//   - resnet18 / resnet50: torchvision's architecture (ImageNet stem) with fastai's head (concat
//     pool, BatchNorm, dropout 0.25, Linear -> 128) on a folder of random 64 x 64 RGB PNGs,
//     no augmentation, against torchvision's resnet18/50 with the same head in
//     scripts/bench/train_torchvision.py (the reference venv's torch + torchvision).
// Each configuration runs alternately ours / theirs, --repeats times, and the table shows the
// medians (the machine may be shared: the load average is printed at the start and the end).
// images/s: (timed steps x 128) / the time between the onProgress events of the last warm-up
// step and the last step (Python: the same span measured in the loop).
// --precision bf16 (default; repeatable, 'none' for none): train() also runs each configuration
// in that precision, alternating with the fp32 runs, and a second table gives its images/s
// against fp32's as a ratio (on the CPU bf16 gains only with AMX or AVX512-BF16: the flags of
// this CPU are printed).
// --memory [--memory-resnet] [--memory-steps 4]: instead, the peak RSS and compute per image
// of one training step at B = 128, 1,024 and 4,096, unchunked and with batch.chunk 128
// (scripts/bench/train-memory.js; each in its own process), convnet at 28 px (and ResNet-18
// at 64 px RGB), and the gradient deviation of BatchNorm on chunks.
// --stats [--stats-steps 10 --stats-repeats 6]: instead, the time of a training step with the
// training stats against without them (the raw trainer option stats: false), side by side
// (scripts/bench/train-stats.js).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));

const { values: a } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    'convnet-steps': { type: 'string', default: '30' },
    'convnet-warmup': { type: 'string', default: '5' },
    repeats: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    only: { type: 'string', multiple: true },
    precision: { type: 'string', multiple: true },
    memory: { type: 'boolean', default: false },
    'memory-resnet': { type: 'boolean', default: false },
    'memory-steps': { type: 'string', default: '4' },
    stats: { type: 'boolean', default: false },
    'stats-steps': { type: 'string', default: '10' },
    'stats-repeats': { type: 'string', default: '6' },
  },
});
const threads = Number(a.threads);
const precisions = (a.precision ?? ['bf16']).filter((p) => p !== 'none' && p !== 'fp32');
const repeats = Number(a.repeats);
const BATCH = 8 * 16;
const CLASSES = 10;

function loadAverage() {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

// The CPU's bfloat16 features (lscpu's flags).
function cpuBf16Flags() {
  const r = spawnSync('lscpu', [], { encoding: 'utf8' });
  const flags = (r.stdout ?? '').match(/\b(amx_bf16|avx512_bf16)\b/g);
  return flags ? [...new Set(flags)].join(', ') : 'no amx_bf16, no avx512_bf16';
}

// The Python whose torch the addon was built against (scripts/build-addon.js records it).
function convnetPython() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const stamp = path.join(root, 'build', 'libtorch.json');
  const python = fs.existsSync(stamp) ? JSON.parse(fs.readFileSync(stamp, 'utf8')).python : null;
  return python && fs.existsSync(python) ? python : 'python3';
}

function referencePython() {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'reference', 'venv.js')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the reference venv (torch + torchvision) is not available:\n${r.stderr}`);
  return r.stdout.trim().split('\n').pop();
}

// Random 64 x 64 RGB PNGs in CLASSES class folders, enough for warm-up + timed steps in one epoch.
async function makeImageFolder(dir, steps) {
  const sharp = require('sharp');
  const perClass = Math.ceil(((steps + 2) * BATCH) / CLASSES / 0.95);
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let c = 0; c < CLASSES; c++) {
    const classDir = path.join(dir, `class${c}`);
    fs.mkdirSync(classDir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(64 * 64 * 3);
      for (let j = 0; j < pixels.length; j++) pixels[j] = next();
      await sharp(pixels, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path.join(classDir, `${i}.png`));
    }
  }
}

async function semihardRate(config, steps, warmup, precision = 'fp32') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-'));
  const times = [];
  try {
    await semihard.train({
      ...config,
      device: 'cpu',
      precision,
      threads,
      maxSteps: steps + warmup,
      checkpointDir: dir,
      onProgress: (e) => {
        if (e.stage === 'train') times.push({ step: e.step, t: performance.now() });
      },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (times.length !== steps + warmup) throw new Error(`expected ${steps + warmup} steps, ran ${times.length}`);
  const from = times[warmup - 1];
  const to = times[times.length - 1];
  return ((to.step - from.step) * BATCH) / ((to.t - from.t) / 1000);
}

function pythonRate(python, script, args) {
  const r = spawnSync(python, [path.join(__dirname, script), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  if (a.stats) {
    console.log(`load average at start: ${loadAverage()}`);
    await require('./train-stats').statsCost({ steps: Number(a['stats-steps']), repeats: Number(a['stats-repeats']), threads, binding: semihard });
    console.log(`load average at the end: ${loadAverage()}`);
    return;
  }
  if (a.memory) {
    const networks = a['memory-resnet'] ? ['convnet', 'resnet18'] : ['convnet'];
    require('./train-memory').memoryTable({ threads, networks, steps: Number(a['memory-steps']) });
    return;
  }
  const steps = Number(a.steps);
  const warmup = Number(a.warmup);
  const networks = a.only ?? ['convnet', 'resnet18', 'resnet50'];
  const startLoad = loadAverage();
  console.log(`load average at start: ${startLoad}; ${os.cpus().length} CPUs (${os.cpus()[0].model}), ${threads} threads`);
  let folder = null;
  const configs = [];
  for (const network of networks) {
    for (const freeze of ['backbone', 'none']) {
      if (network === 'convnet') {
        const s = Number(a['convnet-steps']);
        const w = Number(a['convnet-warmup']);
        configs.push({
          network,
          freeze,
          ours: (precision) => semihardRate({ data: 'mnist', phases: [{ epochs: 1, maxLr: 1e-3, freeze }] }, s, w, precision),
          theirs: () => pythonRate(convnetPython(), 'train_torch.py', ['--steps', `${s}`, '--warmup', `${w}`, '--threads', `${threads}`, '--freeze', freeze]),
          note: `MNIST 28×28, augmented, ${s} timed steps after ${w}`,
        });
      } else {
        configs.push({
          network,
          freeze,
          ours: async (precision) => {
            if (!folder) {
              folder = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-images-'));
              await makeImageFolder(folder, steps + warmup);
            }
            return semihardRate(
              {
                data: { imageFolder: folder, validFraction: 0.05 },
                model: { backbone: network, stem: 'imagenet' },
                augment: false,
                phases: [{ epochs: 1, maxLr: 1e-3, freeze }],
              },
              steps,
              warmup,
              precision,
            );
          },
          theirs: () =>
            pythonRate(referencePython(), 'train_torchvision.py', ['--backbone', network, '--size', '64', '--steps', `${steps}`, '--warmup', `${warmup}`, '--threads', `${threads}`, '--freeze', freeze]),
          note: `random 64×64 RGB, no augmentation, ${steps} timed steps after ${warmup}`,
        });
      }
    }
  }
  const rows = [];
  try {
    for (const c of configs) {
      const ours = [];
      const theirs = [];
      const lower = Object.fromEntries(precisions.map((p) => [p, []]));
      let versions = '';
      for (let r = 0; r < repeats; r++) {
        ours.push(await c.ours('fp32'));
        for (const p of precisions) {
          lower[p].push(await c.ours(p));
          console.error(`${c.network} ${c.freeze}: ours ${p} ${lower[p].at(-1).toFixed(0)} img/s`);
        }
        const t = c.theirs();
        theirs.push(t.imagesPerSecond);
        versions = t.torchvision ? `torch ${t.torch}, torchvision ${t.torchvision}` : `torch ${t.torch}`;
        console.error(`${c.network} ${c.freeze}: ours ${ours.at(-1).toFixed(0)} img/s, theirs ${theirs.at(-1).toFixed(0)} img/s (load ${loadAverage()})`);
      }
      rows.push({ ...c, ours: median(ours), theirs: median(theirs), oursAll: ours, theirsAll: theirs, versions, lower });
    }
  } finally {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  }
  console.log('');
  console.log(`training throughput, batch 8×16 (${BATCH}), ${threads} threads, median of ${repeats} alternating runs; semihard: LibTorch ${semihard.info().torchVersion}`);
  console.log('');
  console.log('| network | phase | semihard train() img/s | PyTorch img/s | ratio | runs (ours / theirs) | PyTorch side | data |');
  console.log('|---|---|---:|---:|---:|---|---|---|');
  for (const r of rows) {
    const phase = r.freeze === 'backbone' ? '1 (backbone frozen)' : '2 (all learn)';
    const runs = `${r.oursAll.map((x) => x.toFixed(0)).join(', ')} / ${r.theirsAll.map((x) => x.toFixed(0)).join(', ')}`;
    console.log(`| ${r.network} | ${phase} | ${r.ours.toFixed(0)} | ${r.theirs.toFixed(0)} | ${(r.ours / r.theirs).toFixed(2)} | ${runs} | ${r.versions} | ${r.note} |`);
  }
  if (precisions.length > 0) {
    console.log('');
    console.log(`semihard train() by precision on this CPU (${os.cpus()[0].model}; ${cpuBf16Flags()}), median of ${repeats} runs alternating with fp32's`);
    console.log('');
    console.log(`| network | phase | fp32 img/s | ${precisions.map((p) => `${p} img/s | ${p} / fp32`).join(' | ')} | runs (${['fp32', ...precisions].join(' / ')}) |`);
    console.log(`|---|---|---:|${precisions.map(() => '---:|---:').join('|')}|---|`);
    for (const r of rows) {
      const phase = r.freeze === 'backbone' ? '1 (backbone frozen)' : '2 (all learn)';
      const cells = precisions.map((p) => `${median(r.lower[p]).toFixed(0)} | ${(median(r.lower[p]) / r.ours).toFixed(2)}`);
      const runs = [r.oursAll, ...precisions.map((p) => r.lower[p])].map((xs) => xs.map((x) => x.toFixed(0)).join(', ')).join(' / ');
      console.log(`| ${r.network} | ${phase} | ${r.ours.toFixed(0)} | ${cells.join(' | ')} | ${runs} |`);
    }
  }
  console.log('');
  console.log(`load average at start: ${startLoad}; at end: ${loadAverage()}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
