#!/usr/bin/env node
'use strict';
// npm run bench:loss [-- --sizes 128,1024 --dim 128 --per-class 16 --threads 2 --device cpu
//                        --tensor-max 8192 --stats-sizes 1024,4096,16384 --stats-repeats 9]
//
// Forward+backward time of tripletSemiHardLoss and tripletHardLoss (one call computes the
// loss and its gradient) through the public API, next to one Gram product (B x D by D x B)
// timed natively in the same process, and each size's peak RSS. Side by side, up to
// B = --tensor-max (0: never), the same losses mined by the tensor-operation miners CUDA
// runs (native/core/semihard_tensor_mining.h), forced through the raw addon's testing option
// tensorMining: "tensor/CPU" is their time over the CPU miners'. Every batch size runs in
// its own child process so that peak RSS belongs to that size alone. Embeddings are random
// unit vectors, labels P x K (K = --per-class).
//
// Then the cost of the stats every call returns (LossResult.stats): at each of --stats-sizes
// (empty: none), each loss's call with stats and without (the raw addon's benchmark option
// `stats: false`), alternated call by call so that drift hits both alike, the median of
// --stats-repeats pairs after a warm-up; "with/without" is their ratio (goal: <= 1.03 at
// B = 4,096). The tensor miners too, up to --tensor-max.
const path = require('node:path');
const { mulberry32 } = require('./random');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');

function parseArgs(argv) {
  const args = {
    sizes: [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768],
    dim: 128,
    perClass: 16,
    threads: 2,
    device: 'cpu',
    tensorMax: 8192,
    statsSizes: [1024, 4096, 16384],
    statsRepeats: 9,
    child: null,
    statsChild: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--sizes') args.sizes = value === '' ? [] : value.split(',').map(Number);
    else if (key === '--dim') args.dim = Number(value);
    else if (key === '--per-class') args.perClass = Number(value);
    else if (key === '--threads') args.threads = Number(value);
    else if (key === '--device') args.device = value;
    else if (key === '--tensor-max') args.tensorMax = Number(value);
    else if (key === '--child') args.child = Number(value);
    else if (key === '--stats-sizes') args.statsSizes = value === '' ? [] : value.split(',').map(Number);
    else if (key === '--stats-repeats') args.statsRepeats = Number(value);
    else if (key === '--stats-child') args.statsChild = Number(value);
    else throw new Error(`unknown argument ${key}`);
    i++;
  }
  return args;
}


function batch(B, dim, perClass) {
  const next = mulberry32(B);
  const embeddings = new Float32Array(B * dim);
  for (let i = 0; i < B; i++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const v = Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
      embeddings[i * dim + k] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) embeddings[i * dim + k] /= norm;
  }
  const labels = new Int32Array(B);
  for (let i = 0; i < B; i++) labels[i] = Math.floor(i / perClass);
  for (let i = B - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  return { embeddings, labels };
}

function median(fn, repeats) {
  const ms = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

function child(args) {
  const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));
  const { binding } = require(path.join(root, 'dist', 'lib', 'binding.js'));
  semihard.setNumThreads(args.threads);
  const B = args.child;
  const { embeddings, labels } = batch(B, args.dim, args.perClass);
  const repeats = B <= 2048 ? 9 : B <= 8192 ? 3 : 1;
  const options = { dim: args.dim, device: args.device };
  let semi;
  if (B <= 8192) semihard.tripletSemiHardLoss(embeddings, labels, options); // warm-up
  const semihardMs = median(() => {
    semi = semihard.tripletSemiHardLoss(embeddings, labels, options);
  }, repeats);
  const hardMs = median(() => semihard.tripletHardLoss(embeddings, labels, options), repeats);
  // The tensor miners, through the raw addon (lib/ does not expose the testing option).
  let semiTensorMs = null;
  let hardTensorMs = null;
  if (B <= args.tensorMax) {
    const raw = (kind) => ({ kind, margin: 1, soft: false, distance: 'L2', device: args.device, tensorMining: true });
    binding.tripletLoss(embeddings, args.dim, labels, raw('semihard')); // warm-up
    semiTensorMs = median(() => binding.tripletLoss(embeddings, args.dim, labels, raw('semihard')), repeats);
    hardTensorMs = median(() => binding.tripletLoss(embeddings, args.dim, labels, raw('hard')), repeats);
  }
  const peakRssMiB = process.resourceUsage().maxRSS / 1024; // before the Gram yardstick's B×B result
  const gramMs = binding.benchmarkGram(B, args.dim, repeats, args.device);
  process.stdout.write(
    JSON.stringify({ B, semihardMs, hardMs, semiTensorMs, hardTensorMs, gramMs, peakRssMiB, loss: semi.loss, positivePairs: semi.positivePairs }) + '\n',
  );
}

// With and without stats, alternated: [medianWithMs, medianWithoutMs].
function pairedMedians(call, repeats) {
  const on = [];
  const off = [];
  call(true);
  call(false); // warm-up
  for (let r = 0; r < repeats; r++) {
    for (const stats of r % 2 === 0 ? [true, false] : [false, true]) {
      const t0 = process.hrtime.bigint();
      call(stats);
      (stats ? on : off).push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const mid = (ms) => ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  return [mid(on), mid(off)];
}

function statsChild(args) {
  const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));
  const { binding } = require(path.join(root, 'dist', 'lib', 'binding.js'));
  semihard.setNumThreads(args.threads);
  const B = args.statsChild;
  const { embeddings, labels } = batch(B, args.dim, args.perClass);
  const repeats = B <= 4096 ? args.statsRepeats : Math.max(3, Math.floor(args.statsRepeats / 3));
  const out = { B };
  for (const kind of ['semihard', 'hard']) {
    for (const tensorMining of B <= args.tensorMax ? [false, true] : [false]) {
      const options = (stats) => ({ kind, margin: 1, soft: false, distance: 'L2', device: args.device, tensorMining, stats });
      out[`${kind}${tensorMining ? 'Tensor' : ''}`] = pairedMedians((stats) => binding.tripletLoss(embeddings, args.dim, labels, options(stats)), repeats);
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function statsTable(args, say) {
  if (args.statsSizes.length === 0) return;
  say('');
  say(`Cost of the stats: one call with stats / without (raw option stats: false), alternated, median of ${args.statsRepeats} pairs (a third of them above B = 4,096).`);
  say('');
  say('| B | semi-hard ms with | without | with/without | hard ms with | without | with/without | semi-hard tensor with | without | with/without | hard tensor with | without | with/without |');
  say('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const B of args.statsSizes) {
    const r = spawnSync(
      process.execPath,
      [
        __filename, '--stats-child', String(B), '--dim', String(args.dim), '--per-class', String(args.perClass), '--threads', String(args.threads),
        '--device', args.device, '--tensor-max', String(args.tensorMax), '--stats-repeats', String(args.statsRepeats),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0) {
      say(`| ${B} | failed (exit ${r.status ?? r.signal}) | | | | | | | | | | | |`);
      continue;
    }
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    const cell = (pair) => (pair === undefined ? '– | – | –' : `${pair[0].toFixed(2)} | ${pair[1].toFixed(2)} | ${(pair[0] / pair[1]).toFixed(3)}`);
    say(`| ${B} | ${cell(m.semihard)} | ${cell(m.hard)} | ${cell(m.semihardTensor)} | ${cell(m.hardTensor)} |`);
  }
}

function parent(args) {
  const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));
  const info = semihard.info();
  const lines = [];
  const say = (s) => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };
  say(`semihard loss benchmark: D=${args.dim}, ${args.perClass} per class, ${args.threads} threads, device ${args.device}, LibTorch ${info.torchVersion}`);
  if (args.sizes.length === 0) {
    statsTable(args, say);
    return;
  }
  say('fwd+bwd = one call (loss and gradient); ratio = fwd+bwd / one Gram product B×D·D×B in the same process;');
  say('peak RSS = the whole Node process (LibTorch loaded: about 160 MiB), measured before the Gram product.');
  say('');
  say('tensor = the tensor-operation miners (what CUDA runs) on the same device; tensor/CPU = their ms over the CPU miners\' ms.');
  say('');
  say('| B | semi-hard ms | ratio | semi-hard tensor ms | ratio | tensor/CPU | hard ms | ratio | hard tensor ms | ratio | tensor/CPU | Gram ms | peak RSS MiB |');
  say('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const B of args.sizes) {
    const r = spawnSync(
      process.execPath,
      [
        __filename, '--child', String(B), '--dim', String(args.dim), '--per-class', String(args.perClass), '--threads', String(args.threads),
        '--device', args.device, '--tensor-max', String(args.tensorMax),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0) {
      say(`| ${B} | failed (exit ${r.status ?? r.signal}) | | | | | | | | | | | |`);
      continue;
    }
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    const tensor = (ms, cpuMs) => (ms === null ? '– | – | –' : `${ms.toFixed(2)} | ${(ms / m.gramMs).toFixed(2)} | ${(ms / cpuMs).toFixed(2)}`);
    say(
      `| ${B} | ${m.semihardMs.toFixed(2)} | ${(m.semihardMs / m.gramMs).toFixed(2)} | ${tensor(m.semiTensorMs, m.semihardMs)} | ` +
        `${m.hardMs.toFixed(2)} | ${(m.hardMs / m.gramMs).toFixed(2)} | ${tensor(m.hardTensorMs, m.hardMs)} | ${m.gramMs.toFixed(2)} | ${m.peakRssMiB.toFixed(0)} |`,
    );
  }
  statsTable(args, say);
}

const args = parseArgs(process.argv.slice(2));
if (args.child !== null) child(args);
else if (args.statsChild !== null) statsChild(args);
else parent(args);
