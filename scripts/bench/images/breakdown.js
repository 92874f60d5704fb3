#!/usr/bin/env node
'use strict';
// node scripts/bench/images/breakdown.js [FOLDER]
//
// Where semihard's image pipeline spends its CPU, one stage at a time, on one thread, in
// ms of CPU per image (process.cpuUsage over 600 images after 100 warm-up ones): decodeImage
// (lib/data/decode.ts: the whole sharp pipeline to 256 × 256 × 3), sharp's JPEG decode alone
// and decode + cover resize alone (what the pipeline adds: orientation, flatten, colourspace);
// then binding.augmentImages on a batch of 128 stored images to 224 × 224 × 3 with the photo
// augmentation and with no crop, flip or rotation (the transform's fixed cost). The
// torchvision counterpart is breakdown_torchvision.py.
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');

const root = path.resolve(__dirname, '..', '..', '..');
const { decodeImage } = require(path.join(root, 'dist', 'lib', 'data', 'decode.js'));
const { binding } = require(path.join(root, 'dist', 'lib', 'binding.js'));

function listImages(folder) {
  const files = [];
  for (const c of fs.readdirSync(folder).sort()) {
    const dir = path.join(folder, c);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) files.push(path.join(dir, f));
  }
  return files;
}

async function perImage(label, files, fn) {
  for (let i = 0; i < 100; i++) await fn(files[i % files.length]);
  const n = 600;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(files[(100 + i) % files.length]);
  const c = process.cpuUsage(c0);
  console.log(`| ${label} | ${((c.user + c.system) / 1000 / n).toFixed(2)} |`);
}

async function perBatch(label, options) {
  await binding.augmentImages(options);
  const n = 5;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await binding.augmentImages({ ...options, seed: i + 1 });
  const c = process.cpuUsage(c0);
  console.log(`| ${label} | ${((c.user + c.system) / 1000 / n / options.count).toFixed(2)} |`);
}

async function main() {
  const folder = path.resolve(process.argv[2] || path.join(root, 'data', 'bench-images'));
  const files = listImages(folder);
  binding.setNumThreads(1);
  const target = { height: 256, width: 256, channels: 3 };
  console.log(`one thread, ms of CPU per image; ${files.length} files in ${folder}`);
  console.log('');
  console.log('| stage | ms CPU / image |');
  console.log('|---|---:|');
  await perImage('decodeImage (lib/data/decode.ts) to 256 × 256 × 3', files, (f) => decodeImage(f, target));
  await perImage('sharp: JPEG decode only', files, (f) => sharp(f).raw().toBuffer());
  await perImage('sharp: decode + cover resize to 256 × 256 only', files, (f) => sharp(f).resize(256, 256, { fit: 'cover' }).raw().toBuffer());
  const count = 128;
  const pixels = new Uint8Array(count * 256 * 256 * 3);
  for (let i = 0; i < count; i++) pixels.set(await decodeImage(files[i], target), i * 256 * 256 * 3);
  const base = { images: pixels, count, height: 256, width: 256, channels: 3, outHeight: 224, outWidth: 224, seed: 1 };
  await perBatch('augmentImages, photo augmentation (crop, flip, rotation), batch of 128', {
    ...base,
    crop: { minScale: 0.35, maxScale: 1, minRatio: 3 / 4, maxRatio: 4 / 3 },
    affine: { rotation: 10, scale: 0, translate: 0, flip: true },
  });
  await perBatch('augmentImages, centre crop only (no crop draw, flip, rotation), batch of 128', { ...base, affine: { rotation: 0, scale: 0, translate: 0, flip: false } });
  console.log('');
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
