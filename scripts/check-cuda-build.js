'use strict';
// `npm run check:cuda-build`: the CUDA build of the addon, checked on a machine that may have
// no GPU and no CUDA toolkit.
//   1. provisions the CUDA LibTorch (package.json "libtorch".cuda) into the shared cache, or
//      takes LIBTORCH / Torch_DIR when they point at a CUDA LibTorch;
//   2. builds a second copy of the addon into build-cuda/ (the CPU build in build/ stays);
//   3. checks its RUNPATH covers LibTorch and the NVIDIA library folders, and that it loads
//      without LD_LIBRARY_PATH and reports the CUDA runtime;
//   4. runs the whole jest suite against it (SEMIHARD_ADDON), on the CPU when there is no GPU.
// Arguments after `--` go to jest. Not part of .ci/run: the CUDA wheels are several GB.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'build-cuda');
const addon = path.join(outDir, 'Release', 'semihard.node');

function step(title) {
  process.stdout.write(`\n== check:cuda-build: ${title}\n`);
}

function fail(message) {
  process.stderr.write(`\ncheck:cuda-build FAILED: ${message}\n`);
  process.exit(1);
}

function run(command, args, env) {
  const r = spawnSync(command, args, { stdio: 'inherit', cwd: root, env });
  return r.status === null ? 1 : r.status;
}

const env = { ...process.env, SEMIHARD_TORCH: 'cuda' };

step('build the addon against a CUDA LibTorch into build-cuda/');
if (run(process.execPath, [path.join(__dirname, 'build-addon.js'), '--out', outDir], env) !== 0) fail('the CUDA build failed');
const stamp = JSON.parse(fs.readFileSync(path.join(outDir, 'libtorch.json'), 'utf8'));
if (stamp.flavour !== 'cuda') fail(`the LibTorch built against is a ${stamp.flavour} build (${stamp.prefix}): LIBTORCH / Torch_DIR must point at a CUDA one`);

step('RUNPATH: LibTorch and the NVIDIA library folders (no LD_LIBRARY_PATH needed)');
const readelf = spawnSync('readelf', ['-d', addon], { encoding: 'utf8' });
if (readelf.status !== 0) fail(`readelf -d ${addon}: ${readelf.stderr}`);
const runpathLine = readelf.stdout.split('\n').find((l) => /\((RUNPATH|RPATH)\)/.test(l)) || '';
const runpath = (/\[(.*)\]/.exec(runpathLine) || [])[1] || '';
process.stdout.write(`${runpathLine.trim()}\n`);
const entries = runpath.split(':');
const nvidia = path.resolve(stamp.prefix, '..', 'nvidia');
const wanted = [path.join(stamp.prefix, 'lib')];
if (fs.existsSync(nvidia)) {
  for (const p of fs.readdirSync(nvidia)) if (fs.existsSync(path.join(nvidia, p, 'lib'))) wanted.push(path.join(nvidia, p, 'lib'));
}
const missing = wanted.filter((w) => !entries.some((e) => path.resolve(e) === w));
if (missing.length > 0) fail(`RUNPATH lacks ${missing.join(', ')}`);
process.stdout.write(`covers ${wanted.length} folders: LibTorch's lib and ${wanted.length - 1} NVIDIA wheel lib folders\n`);

step('load it without LD_LIBRARY_PATH');
const loadEnv = { ...process.env, SEMIHARD_ADDON: addon };
delete loadEnv.LD_LIBRARY_PATH;
const probe = spawnSync(process.execPath, ['-e', `const i = require(${JSON.stringify(addon)}).info(); console.log(JSON.stringify(i))`], {
  encoding: 'utf8',
  env: loadEnv,
});
if (probe.status !== 0) fail(`the CUDA addon does not load: ${probe.stderr}`);
const info = JSON.parse(probe.stdout);
process.stdout.write(`${probe.stdout.trim()}\n`);
if (!info.cudaVersion) fail('info().cudaVersion is null: the addon was not linked against LibTorch CUDA');

step(`the whole jest suite against build-cuda (${info.cudaDevices.length} CUDA devices visible)`);
const dash = process.argv.indexOf('--');
const jestArgs = dash >= 0 ? process.argv.slice(dash + 1) : process.argv.slice(2);
const jest = require.resolve('jest/bin/jest');
const status = run(process.execPath, [jest, ...jestArgs], { ...process.env, SEMIHARD_ADDON: addon });
if (status !== 0) fail('jest failed against the CUDA build');
process.stdout.write('\ncheck:cuda-build passed\n');
