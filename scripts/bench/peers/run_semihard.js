#!/usr/bin/env node
'use strict';
// node scripts/bench/peers/run_semihard.js INPUT_PREFIX [--repeats R] [--threads 2] [--margin 1.0]
//
// semihard's side of the peer benchmark: tripletSemiHardLoss (loss AND d loss / d embeddings
// in one call) on the batch that make_inputs.py wrote at INPUT_PREFIX (.json, .f32, .i32),
// 1 warm-up then the median of R calls. Prints one JSON line shaped like run_peer.py's.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');

function parseArgs(argv) {
  const args = { prefix: null, repeats: 3, threads: 2, margin: 1.0 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--repeats') args.repeats = Number(argv[++i]);
    else if (key === '--threads') args.threads = Number(argv[++i]);
    else if (key === '--margin') args.margin = Number(argv[++i]);
    else if (key.startsWith('--')) throw new Error(`unknown argument ${key}`);
    else if (args.prefix === null) args.prefix = key;
    else throw new Error(`unexpected argument ${key}`);
  }
  if (args.prefix === null) throw new Error('usage: run_semihard.js INPUT_PREFIX [--repeats R] [--threads T]');
  return args;
}

function readTyped(file, Type) {
  const buf = fs.readFileSync(file);
  // Copy into a fresh, aligned ArrayBuffer (a Buffer may sit at any offset of a shared pool).
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return new Type(ab); // x86/ARM hosts are little-endian, as the files are
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const header = JSON.parse(fs.readFileSync(args.prefix + '.json', 'utf8'));
  const embeddings = readTyped(args.prefix + '.f32', Float32Array);
  const labels = readTyped(args.prefix + '.i32', Int32Array);
  if (embeddings.length !== header.B * header.D || labels.length !== header.B) {
    throw new Error(`input ${args.prefix} does not match its header`);
  }
  const out = {
    peer: 'semihard',
    B: header.B,
    classes: header.classes,
    loss: null,
    median_ms: null,
    peak_rss_mib: null,
    version: null,
    note: null,
  };
  try {
    const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));
    const pkg = require(path.join(root, 'package.json'));
    semihard.setNumThreads(args.threads);
    let torchVersion = '';
    try {
      torchVersion = `, LibTorch ${semihard.info().torchVersion}`;
    } catch {
      /* info() is optional here */
    }
    out.version = `semihard ${pkg.version}${torchVersion}`;
    out.note = 'tripletSemiHardLoss: loss and gradient in one call, distance L2, device cpu';
    out.rss_before_mib = Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;
    const options = { dim: header.D, margin: args.margin, distance: 'L2', device: 'cpu' };
    const call = () => semihard.tripletSemiHardLoss(embeddings, labels, options);
    call(); // warm-up
    const ms = [];
    let result;
    for (let r = 0; r < args.repeats; r++) {
      const t0 = process.hrtime.bigint();
      result = call();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const n = ms.length;
    const median = n % 2 ? ms[(n - 1) / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    out.loss = result.loss;
    out.median_ms = Math.round(median * 1000) / 1000;
    out.repeats = args.repeats;
  } catch (e) {
    const msg = `${e && e.name}: ${e && e.message}`.replace(/\s+/g, ' ');
    const oom = /out of memory|can't allocate memory|cannot allocate memory|bad_alloc|allocation failed/i.test(msg);
    out.error = oom ? 'OOM' : 'error';
    out.message = msg.slice(0, 500);
  }
  out.peak_rss_mib = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10; // maxRSS: KiB
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = out.error ? 3 : 0;
}

main();
