'use strict';
// `npm install` hook: builds build/Release/semihard.node with cmake-js against the LibTorch
// that scripts/libtorch.js locates. The build is incremental; it starts clean when the
// LibTorch differs from the last build's (recorded in build/libtorch.json) or with --force.
// --out <dir> builds into another folder (<dir>/Release/semihard.node): check:cuda-build
// keeps its CUDA copy next to the CPU one. SEMIHARD_NCCL=1 requires the NCCL backend (it is
// built whenever LibTorch is a CUDA build with NCCL); SEMIHARD_NCCL=0 leaves it out.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { locateLibTorch } = require('./libtorch');
const { locateGlooHeaders } = require('./gloo-headers');

const root = path.resolve(__dirname, '..');

function option(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// LibTorch's include folder, from the CMake arguments scripts/libtorch.js chose.
function torchIncludeDirs(torch) {
  const dirs = [];
  for (const arg of torch.cmakeArgs) {
    const [key, value] = arg.replace(/^--CD/, '').split('=');
    if (key === 'CMAKE_PREFIX_PATH') {
      dirs.push(path.basename(value) === 'cmake' ? path.resolve(value, '..', '..', 'include') : path.join(value, 'include'));
    } else if (key === 'Torch_DIR') {
      dirs.push(path.resolve(value, '..', '..', '..', 'include'));
    }
  }
  return dirs;
}

// Multi-process training (c10d's Gloo backend) needs Gloo's headers; without them the addon
// still builds, and train({ distributed }) says what is missing.
function glooArgs(torch) {
  let dir = null;
  try {
    dir = locateGlooHeaders(torchIncludeDirs(torch), (m) => process.stderr.write(`semihard: ${m}\n`));
  } catch (err) {
    process.stderr.write(`\nsemihard: ${err.message}\n\n`);
    process.exit(1);
  }
  if (!dir) {
    process.stderr.write('semihard: no Gloo headers found: building without multi-process training (set SEMIHARD_GLOO_INCLUDE or install libgloo-dev)\n');
    return ['--CDSEMIHARD_GLOO_INCLUDE='];
  }
  process.stderr.write(`semihard: Gloo headers from ${dir}\n`);
  return [`--CDSEMIHARD_GLOO_INCLUDE=${dir}`];
}

function main() {
  const force = process.argv.includes('--force');
  let torch;
  try {
    torch = locateLibTorch();
  } catch (err) {
    process.stderr.write(`\n${err.message}\n\n`);
    process.exit(1);
  }
  const outDir = path.resolve(root, option('--out') || 'build');
  const stamp = path.join(outDir, 'libtorch.json');
  process.stderr.write(`semihard: using a ${torch.flavour.toUpperCase()} LibTorch (${torch.reason}) from ${torch.source}: ${torch.where}\n`);
  const gloo = glooArgs(torch);
  const previous = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8') : '';
  const nccl = process.env.SEMIHARD_NCCL === undefined ? 'AUTO' : /^(0|off|false|no)$/i.test(process.env.SEMIHARD_NCCL) ? 'OFF' : 'ON';
  // What decides the build (not how it was found, so a just-provisioned LibTorch and the same
  // one found in the cache next time are one configuration). Tests read prefix and python.
  const configuration = JSON.stringify({ cmakeArgs: torch.cmakeArgs, flavour: torch.flavour, prefix: torch.prefix, python: torch.python ?? null, gloo, nccl });
  const clean = force || (previous !== '' && previous !== configuration);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : 2, 4)));
  const args = [cmakeJs, clean ? 'rebuild' : 'build', '--directory', root, '--out', outDir, '--parallel', jobs, ...torch.cmakeArgs];
  args.push(...gloo, `--CDSEMIHARD_WITH_NCCL=${nccl}`);
  if (process.env.SEMIHARD_BUILD_CHECKS) args.push('--CDSEMIHARD_BUILD_CHECKS=ON');
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    process.stderr.write('\nsemihard: the native build failed (see above).\n');
    process.exit(r.status || 1);
  }
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, configuration);
}

main();
