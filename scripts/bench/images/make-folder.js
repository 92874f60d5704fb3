#!/usr/bin/env node
'use strict';
// node scripts/bench/images/make-folder.js [dir] [--classes 20] [--per-class 100] [--seed 1] [--sources dir]
//
// Makes the image folder of `npm run bench:images`: classes × per-class JPEGs (default 20 × 100
// = 2,000) of about 500 × 375 px (width 480..520, height 360..390), each a random crop (area 30..100%
// of the photo, aspect near the output's) of one of scikit-learn's two sample photos, china.jpg and
// flower.jpg (640 × 427), resized with sharp, mirrored half the time, brightness ×0.8..1.2, saved at
// JPEG quality 90 in dir/class-NN/NNNN.jpg (default dir: data/bench-images). Classes alternate between
// the two photos and each class's crops centre on its own spot, so a class is a region of a photo.
// Seeded: the same arguments give the same files.
//
// The photos are looked for in --sources, then in data/bench-venv's scikit-learn
// (scripts/bench/images/setup-python.sh installs it), then in a scikit-learn wheel that
// `python3 -m pip download` fetches into data/bench-sklearn (unzipped with python3's zipfile).
const fs = require('node:fs');
const path = require('node:path');
const { mulberry32: generator } = require('../random');
const { spawnSync } = require('node:child_process');
const sharp = require('sharp');

const { root, option } = require('./args');
const PHOTOS = ['china.jpg', 'flower.jpg'];


function hasPhotos(dir) {
  return dir && PHOTOS.every((p) => fs.existsSync(path.join(dir, p)));
}

function findPhotos(sources) {
  if (sources) {
    if (!hasPhotos(sources)) throw new Error(`--sources ${sources} lacks ${PHOTOS.join(' or ')}`);
    return sources;
  }
  const lib = path.join(root, 'data', 'bench-venv', 'lib');
  if (fs.existsSync(lib)) {
    for (const py of fs.readdirSync(lib)) {
      const dir = path.join(lib, py, 'site-packages', 'sklearn', 'datasets', 'images');
      if (hasPhotos(dir)) return dir;
    }
  }
  const cache = path.join(root, 'data', 'bench-sklearn');
  const unpacked = path.join(cache, 'images');
  if (hasPhotos(unpacked)) return unpacked;
  fs.mkdirSync(cache, { recursive: true });
  console.error('make-folder: fetching a scikit-learn wheel for its sample photos (python3 -m pip download) …');
  const python = process.env.PYTHON || 'python3';
  const dl = spawnSync(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary', ':all:', '-d', cache, 'scikit-learn'], { stdio: 'inherit' });
  if (dl.status !== 0) throw new Error('pip download scikit-learn failed; give the photos with --sources DIR (china.jpg, flower.jpg)');
  const wheel = fs.readdirSync(cache).find((f) => /^scikit_learn-.*\.whl$/.test(f));
  if (!wheel) throw new Error(`no scikit-learn wheel in ${cache}`);
  const unzip = `import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1]); os.makedirs(sys.argv[2], exist_ok=True)
for name in ${JSON.stringify(PHOTOS)}:
    open(os.path.join(sys.argv[2], name), 'wb').write(z.read('sklearn/datasets/images/' + name))`;
  const un = spawnSync(python, ['-c', unzip, path.join(cache, wheel), unpacked], { stdio: 'inherit' });
  if (un.status !== 0 || !hasPhotos(unpacked)) throw new Error(`could not unpack the sample photos from ${wheel}`);
  return unpacked;
}

async function makeFolder(dir, { classes = 20, perClass = 100, seed = 1, sources } = {}) {
  const from = findPhotos(sources);
  const photos = await Promise.all(
    PHOTOS.map(async (p) => {
      const { data, info } = await sharp(path.join(from, p)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height, channels: info.channels };
    }),
  );
  const random = generator(seed);
  const jobs = [];
  for (let c = 0; c < classes; c++) {
    const photo = photos[c % photos.length];
    // each class's crops gather around a spot of its photo
    const cx = 0.25 + 0.5 * random();
    const cy = 0.25 + 0.5 * random();
    const folder = path.join(dir, `class-${String(c).padStart(2, '0')}`);
    fs.mkdirSync(folder, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const outW = 480 + Math.floor(random() * 41);
      const outH = 360 + Math.floor(random() * 31);
      const area = (0.3 + 0.7 * random()) * photo.width * photo.height;
      const aspect = (outW / outH) * Math.exp((random() - 0.5) * 0.2);
      const w = Math.min(photo.width, Math.round(Math.sqrt(area * aspect)));
      const h = Math.min(photo.height, Math.round(Math.sqrt(area / aspect)));
      const jitter = () => (random() - 0.5) * 0.2;
      const left = Math.max(0, Math.min(photo.width - w, Math.round((cx + jitter()) * photo.width - w / 2)));
      const top = Math.max(0, Math.min(photo.height - h, Math.round((cy + jitter()) * photo.height - h / 2)));
      jobs.push({ photo, file: path.join(folder, `${String(i).padStart(4, '0')}.jpg`), left, top, w, h, outW, outH, flop: random() < 0.5, brightness: 0.8 + 0.4 * random() });
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      let img = sharp(j.photo.data, { raw: { width: j.photo.width, height: j.photo.height, channels: j.photo.channels } })
        .extract({ left: j.left, top: j.top, width: j.w, height: j.h })
        .resize(j.outW, j.outH, { fit: 'fill' })
        .modulate({ brightness: j.brightness });
      if (j.flop) img = img.flop();
      await img.jpeg({ quality: 90 }).toFile(j.file);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { dir, count: jobs.length, classes };
}

/** True when dir holds the folder that these arguments make (class folders with the files). */
function folderComplete(dir, { classes = 20, perClass = 100 } = {}) {
  for (let c = 0; c < classes; c++) {
    const folder = path.join(dir, `class-${String(c).padStart(2, '0')}`);
    if (!fs.existsSync(path.join(folder, `${String(perClass - 1).padStart(4, '0')}.jpg`))) return false;
  }
  return true;
}

module.exports = { makeFolder, folderComplete };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
  const dir = path.resolve(positional[0] || path.join(root, 'data', 'bench-images'));
  const options = {
    classes: Number(option(argv, 'classes', 20)),
    perClass: Number(option(argv, 'per-class', 100)),
    seed: Number(option(argv, 'seed', 1)),
    sources: option(argv, 'sources', undefined),
  };
  const t0 = performance.now();
  makeFolder(dir, options)
    .then((r) => console.log(`made ${r.count} JPEGs in ${r.classes} classes under ${r.dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`))
    .catch((e) => {
      console.error(e.message || e);
      process.exit(1);
    });
}
