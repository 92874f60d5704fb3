#!/usr/bin/env node
'use strict';
// npm run bench:dist [-- --cores 2 --batches 128,320 --steps 10,30]
//
// Training steps per second at the same global batch: one process with all the cores next to
// `--nproc N` ranks (c10d Gloo over loopback) sharing them, one after the other in this run.
// Each configuration trains the default convnet on the embedded digits (unfrozen phase,
// augmentation on) twice, for a short and a long number of steps; the difference of the wall
// times is the time of the extra steps, free of start-up, data loading and the validation pass.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'lib', 'cli.js');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const cores = Number(arg('cores', String(Math.min(os.availableParallelism?.() ?? os.cpus().length, 16))));
const batches = arg('batches', '128,320').split(',').map(Number);
const [short, long] = arg('steps', '10,30').split(',').map(Number);
const rankCounts = arg('ranks', '2').split(',').map(Number);

function wallSeconds(nproc, batch, steps) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-bench-dist-'));
  const classes = batch % 10 === 0 ? 10 : 8; // P x K: the default 8 x 16 for 128
  const args = [cli, 'train', '--data', 'mnist', '--classes', String(classes), '--per-class', String(batch / classes), '--frozen-epochs', '0',
    '--epochs', '1', '--max-steps', String(steps), '--device', 'cpu', '--checkpoint-dir', dir, '--json'];
  if (nproc > 1) args.push('--nproc', String(nproc), '--threads', String(Math.max(1, Math.floor(cores / nproc))));
  else args.push('--threads', String(cores));
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${nproc} rank(s), batch ${batch}: exit ${r.status}\n${r.stderr}`);
  return seconds;
}

function stepsPerSecond(nproc, batch) {
  const t0 = wallSeconds(nproc, batch, short);
  const t1 = wallSeconds(nproc, batch, long);
  return (long - short) / Math.max(t1 - t0, 1e-9);
}

function main() {
  if (!fs.existsSync(cli)) throw new Error('dist/lib/cli.js is missing: run npm install (or npm run build:ts) first');
  const rows = [];
  const header = ['global batch', `1 process × ${cores} threads`, ...rankCounts.map((n) => `${n} ranks × ${Math.max(1, Math.floor(cores / n))} threads`), ...rankCounts.map((n) => `${n} ranks / 1`)];
  for (const batch of batches) {
    if (batch % 10 !== 0 && batch % 8 !== 0) throw new Error(`batch ${batch}: must be a multiple of 8 or 10 classes`);
    const one = stepsPerSecond(1, batch);
    const many = rankCounts.map((n) => stepsPerSecond(n, batch));
    rows.push([String(batch), one.toFixed(2), ...many.map((v) => v.toFixed(2)), ...many.map((v) => (v / one).toFixed(2))]);
    process.stderr.write(`batch ${batch} done\n`);
  }
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const table = [line(header), line(header.map(() => '---:')), ...rows.map(line)].join('\n');
  process.stdout.write(
    `\nsteps/s, convnet, embedded MNIST, augmentation on, unfrozen; (${long} - ${short}) steps timed by difference\n` +
      `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, ${cores} cores used\n\n${table}\n`,
  );
}

main();
