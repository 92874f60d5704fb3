'use strict';
// Memory and compute of one training step with and without gradient-cached batches
// (batch.chunk, native/core/grad_cache.h): `npm run bench:train -- --memory [--memory-resnet]`.
// Each configuration runs in its own child process (peak RSS is a process's high-water mark):
// the raw trainer on MNIST (convnet, 28 × 28, augmented) or random 64 × 64 RGB images
// (ResNet-18, ImageNet stem, fastai head), batchNorm 'sync', both phases' 'none', P × K
// batches of 8 classes; one warm-up step, then `steps` timed steps. Reported: VmHWM (peak
// RSS) after the steps, VmRSS before the first step (the process, LibTorch and the images),
// and ms per image of the timed steps. Also the gradient's deviation that chunks' own
// BatchNorm statistics cause: ||g_chunked - g_whole|| / ||g_whole|| on one batch.
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist', 'lib');

function status(key) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return Number(m[1]) * 1024;
}

function data(network, count) {
  if (network === 'convnet') {
    const { loadIdxDataset } = require(path.join(dist, 'data', 'datasets.js'));
    const train = loadIdxDataset('mnist', 0).train;
    return { images: train.images, labels: train.labels, side: 28, channels: 1 };
  }
  let seed = 7;
  const images = new Uint8Array(count * 64 * 64 * 3);
  for (let i = 0; i < images.length; i++) images[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return { images, labels: Int32Array.from({ length: count }, (_, i) => i % 10), side: 64, channels: 3 };
}

// `steps` P × K batches of 8 classes (distinct images within a batch).
function batches(labels, batch, steps) {
  const byClass = Array.from({ length: 8 }, () => []);
  for (let i = 0; i < labels.length; i++) if (labels[i] < 8) byClass[labels[i]].push(i);
  const perClass = batch / 8;
  const out = new Int32Array(steps * batch);
  for (let s = 0; s < steps; s++) {
    for (let c = 0; c < 8; c++) {
      for (let k = 0; k < perClass; k++) out[s * batch + c * perClass + k] = byClass[c][(s * perClass + k) % byClass[c].length];
    }
  }
  return out;
}

function createTrainer(job, d) {
  const binding = require(path.join(dist, 'binding.js'));
  binding.binding.setNumThreads(job.threads);
  const resnet = job.network !== 'convnet';
  const trainer = binding.createTrainer({
    backbone: job.network, dim: 128, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0.01,
    gradClip: 0, augment: !resnet, device: 'cpu', seed: 1, batchNorm: job.batchNorm ?? 'sync', channels: d.channels,
    ...(resnet ? { stem: 'imagenet', pool: 'concat', headBatchNorm: true, dropout: 0.25 } : {}),
    ...(job.chunk ? { chunk: job.chunk } : {}),
  });
  trainer.setData({
    train: { images: d.images, labels: d.labels },
    valid: null,
    geometry: { channels: d.channels, storedHeight: d.side, storedWidth: d.side, height: d.side, width: d.side },
    normalisation: null,
  });
  trainer.beginPhase('none', 1e-3, 100);
  return trainer;
}

async function child(job) {
  // The same data in every row (twice the largest batch), so that peaks differ only by the step.
  const d = data(job.network, 2 * 4096);
  if (job.mode === 'deviation') {
    const indices = batches(d.labels, job.batch, 1);
    const whole = await createTrainer({ ...job, chunk: 0 }, d).computeGradients(indices);
    const chunked = await createTrainer(job, d).computeGradients(indices);
    let d2 = 0;
    let w2 = 0;
    for (const [name, g] of Object.entries(whole.gradients)) {
      const h = chunked.gradients[name];
      for (let i = 0; i < g.length; i++) {
        d2 += (g[i] - h[i]) ** 2;
        w2 += g[i] ** 2;
      }
    }
    return { relative: Math.sqrt(d2 / w2), loss: whole.loss, chunkedLoss: chunked.loss };
  }
  const trainer = createTrainer(job, d);
  const indices = batches(d.labels, job.batch, job.steps + 1);
  const before = status('VmRSS');
  await trainer.run('train', indices.subarray(0, job.batch), job.batch);
  const start = performance.now();
  await trainer.run('train', indices.subarray(job.batch), job.batch);
  const ms = performance.now() - start;
  return { peak: status('VmHWM'), before, msPerImage: ms / (job.steps * job.batch) };
}

// env: extra environment. MALLOC_MMAP_THRESHOLD_ fixed at 128 KiB makes glibc map every
// large tensor and unmap it when freed (by default the threshold grows after a large free and
// later tensors come from a heap that keeps its high-water mark: peaks then vary by ±150 MB
// from run to run of the same step), so that the peak measures the tensors alive at once.
function runChild(job, env = {}) {
  const r = spawnSync(process.execPath, [__filename, JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`memory child ${JSON.stringify(job)} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const MB = (bytes) => (bytes / 2 ** 20).toFixed(0);

// The table: per network, one 128-image step, then B = 1,024 and 4,096 unchunked and with chunk 128.
function memoryTable({ threads, networks, steps }) {
  console.log('');
  console.log(`peak RSS and compute of training steps (${threads} threads, batchNorm 'sync', one warm-up then timed steps, each row its own process)`);
  console.log('');
  console.log('| network | batch | chunk | peak RSS MB (mmap 128 KiB) | RSS before MB | peak / 128-step | peak RSS MB (glibc default) | ms per image | / 128-step | / unchunked, same batch |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const network of networks) {
    const rows = [[128, 0], [1024, 0], [1024, 128], [4096, 0], [4096, 128]];
    let base = null;
    let unchunked = null;
    for (const [batch, chunk] of rows) {
      const n = Math.max(1, Math.round((steps * 128) / batch));
      const m = runChild({ network, batch, chunk, threads, steps: n }, { MALLOC_MMAP_THRESHOLD_: '131072' });
      const r = runChild({ network, batch, chunk, threads, steps: n });
      base ??= { peak: m.peak, msPerImage: r.msPerImage };
      if (!chunk) unchunked = r;
      console.log(
        `| ${network} | ${batch} | ${chunk || '—'} | ${MB(m.peak)} | ${MB(m.before)} | ${(m.peak / base.peak).toFixed(2)} | ${MB(r.peak)} | ${r.msPerImage.toFixed(2)} | ${(r.msPerImage / base.msPerImage).toFixed(2)} | ${(r.msPerImage / unchunked.msPerImage).toFixed(2)} |`,
      );
    }
  }
  console.log('');
  console.log('BatchNorm on chunks (batch statistics per chunk) against the whole batch: one step at the initial weights');
  console.log('');
  console.log('| network | batch | chunk | ‖g_chunked − g_whole‖ / ‖g_whole‖ | loss whole | loss chunked |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const network of networks.filter((n) => n === 'convnet')) {
    for (const [batch, chunk] of [[1024, 128], [1024, 256], [4096, 128]]) {
      const r = runChild({ network, batch, chunk, threads, mode: 'deviation' });
      console.log(`| ${network} | ${batch} | ${chunk} | ${r.relative.toExponential(2)} | ${r.loss.toFixed(4)} | ${r.chunkedLoss.toFixed(4)} |`);
    }
  }
}

module.exports = { memoryTable };

if (require.main === module) {
  child(JSON.parse(process.argv[2])).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e) => {
      process.stderr.write(`${e.stack}\n`);
      process.exitCode = 1;
    },
  );
}
