#!/usr/bin/env node
'use strict';
// node scripts/bench/images/semihard_pipeline.js FOLDER [--batch 128] [--concurrency 2] [--ahead 3]
//                                                 [--threads 1] [--size 224] [--warmup 1] [--epochs 1]
//
// semihard's side of `npm run bench:images`: the pipeline the trainer streams a folder with.
// Each batch's files are decoded with lib/data/decode.ts's decodeImages (sharp, on libuv's
// pool, `concurrency` images at once) to the stored size (round(size * 8 / 7) = 256, cover
// resize + centre crop, 3 channels, HWC uint8), up to `ahead` batches ahead of the transform,
// as lib/data/feeder.ts does; each decoded batch goes through the native training transform
// (binding.augmentImages with lib/augment.ts's DEFAULT_PHOTO_AUGMENT: random resized crop scale
// 0.35..1, ratio 3/4..4/3, flip, rotation ±10°; one bilinear resample, reflection padding) to
// `size` × `size` × 3 float32, off the event loop with `threads` LibTorch threads. (The trainer
// then normalises (x - mean) / std natively in its step; this preview call leaves it out.)
//
// Timing as the torchvision side: `warmup` untimed epochs (page cache, libraries, allocator),
// then each epoch timed whole; the file order shuffled each epoch; whole batches only.
// CPU time: user + system seconds of the whole process (every thread: libuv's pool, LibTorch's)
// over the timed epochs. Memory: the process's peak RSS (getrusage maxRSS) and the largest PSS sampled every 100 ms.
// Prints one JSON line.
const fs = require('node:fs');
const path = require('node:path');

const { root, option: stringOption } = require('./args');
/** A numeric option. */
const option = (argv, name, fallback) => { const v = stringOption(argv, name, undefined); return v === undefined ? fallback : Number(v); };

function load() {
  const decodeJs = path.join(root, 'dist', 'lib', 'data', 'decode.js');
  if (!fs.existsSync(decodeJs)) throw new Error(`${path.relative(root, decodeJs)} is missing: build the TypeScript (npm run build:ts)`);
  const { decodeImages } = require(decodeJs);
  const { binding } = require(path.join(root, 'dist', 'lib', 'binding.js'));
  return { decodeImages, binding };
}

/** The folder's images, class folder by class folder, in sorted order (as ImageFolder lists them). */
function listImages(folder) {
  const files = [];
  for (const c of fs.readdirSync(folder, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const f of fs.readdirSync(path.join(folder, c)).sort()) {
      if (/\.(jpe?g|png|webp|gif|tiff?|avif)$/i.test(f)) files.push(path.join(folder, c, f));
    }
  }
  return files;
}

function shuffled(n, seed) {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function pssBytes() {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function epoch({ decodeImages, binding }, files, o, seed) {
  const stored = Math.round((o.size * 8) / 7);
  const target = { height: stored, width: stored, channels: 3 };
  const imageBytes = stored * stored * 3;
  const order = shuffled(files.length, seed);
  const batches = Math.floor(files.length / o.batch);
  const queue = [];
  let failed = null;
  // one waiter each: the producer waits for room, the consumer for a batch
  const waiting = { room: null, batch: null };
  const wait = (what) => new Promise((resolve) => (waiting[what] = resolve));
  const notify = (what) => {
    const w = waiting[what];
    waiting[what] = null;
    if (w) w();
  };
  const producer = (async () => {
    try {
      for (let b = 0; b < batches; b++) {
        while (queue.length >= o.ahead) await wait('room');
        const pixels = new Uint8Array(o.batch * imageBytes);
        const mine = order.slice(b * o.batch, (b + 1) * o.batch).map((i) => files[i]);
        await decodeImages(mine, target, { concurrency: o.concurrency, onImage: (k, image) => pixels.set(image, k * imageBytes) });
        queue.push(pixels);
        notify('batch');
      }
    } catch (e) {
      failed = e;
      notify('batch');
    }
  })();
  let images = 0;
  for (let b = 0; b < batches; b++) {
    while (queue.length === 0 && !failed) await wait('batch');
    if (failed) throw failed;
    const pixels = queue.shift();
    notify('room');
    const out = await binding.augmentImages({
      images: pixels,
      count: o.batch,
      height: stored,
      width: stored,
      channels: 3,
      crop: { minScale: 0.35, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 },
      outHeight: o.size,
      outWidth: o.size,
      affine: { rotation: 10, scale: 0, translate: 0, flip: true },
      seed: seed * 100003 + b,
    });
    if (!(out instanceof Float32Array) || out.length !== o.batch * o.size * o.size * 3) {
      throw new Error(`augmentImages gave ${out && out.length} values, expected ${o.batch} × ${o.size} × ${o.size} × 3`);
    }
    images += o.batch;
  }
  await producer;
  return images;
}

async function main() {
  const argv = process.argv.slice(2);
  const folder = argv[0];
  if (!folder || folder.startsWith('--')) throw new Error('usage: semihard_pipeline.js FOLDER [options]');
  const o = {
    batch: option(argv, 'batch', 128),
    concurrency: option(argv, 'concurrency', 2),
    ahead: option(argv, 'ahead', 3),
    threads: option(argv, 'threads', 1),
    size: option(argv, 'size', 224),
    warmup: option(argv, 'warmup', 1),
    epochs: option(argv, 'epochs', 1),
  };
  const lib = load();
  lib.binding.setNumThreads(o.threads);
  const files = listImages(folder);
  if (files.length < o.batch) throw new Error(`${folder} has ${files.length} images, fewer than a batch (${o.batch})`);
  let peakPss = pssBytes();
  const sampler = setInterval(() => (peakPss = Math.max(peakPss, pssBytes())), 100);
  let images = 0;
  let seconds = 0;
  let cpuSeconds = 0;
  for (let e = 0; e < o.warmup + o.epochs; e++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const n = await epoch(lib, files, o, e + 1);
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (e >= o.warmup) {
      images += n;
      seconds += s;
      cpuSeconds += (c.user + c.system) / 1e6;
    }
  }
  clearInterval(sampler);
  peakPss = Math.max(peakPss, pssBytes());
  console.log(
    JSON.stringify({
      imagesPerSecond: images / seconds,
      images,
      seconds,
      cpuSeconds,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      peakPssBytes: peakPss,
      files: files.length,
      concurrency: o.concurrency,
      ahead: o.ahead,
      threads: o.threads,
      uvThreadpool: Number(process.env.UV_THREADPOOL_SIZE || 4),
      sharpConcurrency: require('sharp').concurrency(),
      torch: lib.binding.info ? lib.binding.info().torchVersion : undefined,
      sharp: require('sharp').versions.sharp,
      vips: require('sharp').versions.vips,
    }),
  );
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
