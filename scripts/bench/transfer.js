#!/usr/bin/env node
'use strict';
// npm run bench:transfer [-- --pretrain-epochs 1 --per-class 300 --epochs 6 --backbone resnet18 --stem small]
//
// The point of transfer learning, measured without ImageNet (no ImageNet file exists offline):
//   1. pretrain a ResNet on Fashion-MNIST classes 0-4 (all 30,000 training images) and export
//      it as a torchvision-format .safetensors (exportModel);
//   2. fine-tune on classes 5-9 with few images per class (--per-class), the recipe's two
//      phases (1 epoch head + BatchNorm, then the rest unfrozen, the backbone at a tenth of the
//      rate), once from that file (model.pretrained) and once from scratch, with the same
//      seed, batches and steps;
//   3. after every epoch, kNN accuracy (k = 5) of the validation images of classes 5-9 (the
//      t10k set's 5,000) against the training images' embeddings, as `semihard eval` computes it.
// Prints both curves as a table. Data: Debian's dataset-fashion-mnist (IDX .gz), written as
// class subsets into a temporary folder.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const semihard = require(path.join(root, 'dist', 'lib', 'index.js'));

const { values: a } = parseArgs({
  options: {
    'pretrain-epochs': { type: 'string', default: '1' },
    'per-class': { type: 'string', default: '300' },
    epochs: { type: 'string', default: '6' },
    backbone: { type: 'string', default: 'resnet18' },
    stem: { type: 'string', default: 'small' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    fashion: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    keep: { type: 'string' },
  },
});

function readIdx(file) {
  const bytes = zlib.gunzipSync(fs.readFileSync(file));
  const rank = bytes[3];
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * rank) };
}

function writeIdx(file, dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(data)]));
}

// Images of `classes` (labels renumbered from 0), at most `perClass` of each (in file order).
function subset(images, labels, classes, perClass) {
  const side = images.dims[1] * images.dims[2];
  const count = new Map();
  const keep = [];
  for (let i = 0; i < labels.data.length; i++) {
    const c = classes.indexOf(labels.data[i]);
    if (c < 0 || (count.get(c) ?? 0) >= perClass) continue;
    count.set(c, (count.get(c) ?? 0) + 1);
    keep.push(i);
  }
  const out = Buffer.alloc(keep.length * side);
  keep.forEach((i, j) => images.data.copy(out, j * side, i * side, (i + 1) * side));
  return { images: out, labels: Buffer.from(keep.map((i) => classes.indexOf(labels.data[i]))), dims: [keep.length, images.dims[1], images.dims[2]] };
}

function writeSubsetDir(dir, train, valid) {
  fs.mkdirSync(dir, { recursive: true });
  writeIdx(path.join(dir, 'train-images-idx3-ubyte'), train.dims, train.images);
  writeIdx(path.join(dir, 'train-labels-idx1-ubyte'), [train.labels.length], train.labels);
  writeIdx(path.join(dir, 't10k-images-idx3-ubyte'), valid.dims, valid.images);
  writeIdx(path.join(dir, 't10k-labels-idx1-ubyte'), [valid.labels.length], valid.labels);
}

async function knn(checkpoint) {
  const model = await semihard.loadModel(checkpoint);
  const dataset = await semihard.loadDataset(model.checkpoint.config.data, model.checkpoint.config.seed);
  const embed = (set) => model.embed(set.images, set.count);
  const train = await embed(dataset.train);
  const valid = await embed(dataset.valid);
  const m = await semihard.evaluate({ train: { embeddings: train, labels: dataset.train.labels, dim: model.dim }, valid: { embeddings: valid, labels: dataset.valid.labels, dim: model.dim } });
  await model.close?.();
  return m.knnAccuracy;
}

async function fineTune(name, dir, data, pretrained) {
  const epochs = Number(a.epochs);
  const phases = [
    { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
    { epochs: epochs - 1, maxLr: 1e-3, freeze: 'none', backboneLrFactor: 0.1 },
  ];
  // last.ckpt is written after each epoch's onEpoch: at epoch e's event it holds epoch e - 1.
  const last = path.join(dir, 'last.ckpt');
  fs.rmSync(dir, { recursive: true, force: true });
  const kept = [];
  const started = performance.now();
  await semihard.train({
    data, seed: 1, threads: Number(a.threads), phases, checkpointDir: dir,
    model: { backbone: a.backbone, stem: a.stem, ...(pretrained ? { pretrained } : {}) },
    onEpoch: () => {
      if (!fs.existsSync(last)) return;
      const copy = path.join(dir, `epoch-${kept.length + 1}.ckpt`);
      fs.copyFileSync(last, copy);
      kept.push(copy);
    },
  });
  kept.push(last);
  console.error(`${name}: ${epochs} epochs in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const curve = [];
  for (const file of kept) curve.push(await knn(file));
  return curve;
}

async function main() {
  const work = a.keep ? path.resolve(a.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-transfer-'));
  const f = (n) => readIdx(path.join(a.fashion, n));
  const train = { images: f('train-images-idx3-ubyte.gz'), labels: f('train-labels-idx1-ubyte.gz') };
  const valid = { images: f('t10k-images-idx3-ubyte.gz'), labels: f('t10k-labels-idx1-ubyte.gz') };
  const perClass = Number(a['per-class']);
  const source = path.join(work, 'classes-0-4');
  const target = path.join(work, 'classes-5-9');
  writeSubsetDir(source, subset(train.images, train.labels, [0, 1, 2, 3, 4], Infinity), subset(valid.images, valid.labels, [0, 1, 2, 3, 4], Infinity));
  writeSubsetDir(target, subset(train.images, train.labels, [5, 6, 7, 8, 9], perClass), subset(valid.images, valid.labels, [5, 6, 7, 8, 9], Infinity));

  const weights = path.join(work, 'fashion-0-4.safetensors');
  if (!fs.existsSync(weights)) {
    const started = performance.now();
    const r = await semihard.train({
      data: { idxDir: source }, seed: 0, threads: Number(a.threads), checkpointDir: path.join(work, 'pretrain'),
      model: { backbone: a.backbone, stem: a.stem },
      phases: [{ epochs: Number(a['pretrain-epochs']), maxLr: 1e-3, freeze: 'none' }],
    });
    await semihard.exportModel(r.checkpoint, weights);
    console.error(`pretrained on classes 0-4 in ${((performance.now() - started) / 1000).toFixed(0)} s: ${weights}`);
  }
  const data = { idxDir: target };
  const fromFile = await fineTune('pretrained', path.join(work, 'fine-pretrained'), data, weights);
  const fromScratch = await fineTune('scratch', path.join(work, 'fine-scratch'), data, null);
  console.log(`transfer learning on Fashion-MNIST: ${a.backbone} (${a.stem} stem) pretrained on classes 0-4 (${a['pretrain-epochs']} epochs, 30,000 images), fine-tuned on classes 5-9 with ${perClass} images per class; kNN (k = 5) accuracy on the 5,000 t10k images of classes 5-9`);
  console.log('');
  console.log('| epoch | phase | from the pretrained file | from scratch |');
  console.log('|---:|---|---:|---:|');
  fromFile.forEach((acc, i) => console.log(`| ${i + 1} | ${i === 0 ? '1 (head + BatchNorm)' : '2 (all, backbone ×0.1)'} | ${(100 * acc).toFixed(2)}% | ${(100 * fromScratch[i]).toFixed(2)}% |`));
  if (!a.keep) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
