'use strict';
// `npm install` hook: builds build/Release/semihard.node with cmake-js against the LibTorch
// that scripts/libtorch.js locates. Skips the build when the addon exists and was built
// against the same LibTorch, unless --force.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { locateLibTorch } = require('./libtorch');

const root = path.resolve(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'semihard.node');
const stamp = path.join(root, 'build', 'libtorch.json');

function main() {
  const force = process.argv.includes('--force');
  let torch;
  try {
    torch = locateLibTorch();
  } catch (err) {
    process.stderr.write(`\n${err.message}\n\n`);
    process.exit(1);
  }
  process.stderr.write(`semihard: using LibTorch from ${torch.source}: ${torch.where}\n`);
  const previous = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8') : '';
  if (!force && fs.existsSync(addon) && previous === JSON.stringify(torch)) {
    process.stderr.write(`semihard: ${path.relative(root, addon)} is up to date\n`);
    return;
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : 2, 4)));
  const args = [cmakeJs, 'build', '--directory', root, '--parallel', jobs, ...torch.cmakeArgs];
  if (process.env.SEMIHARD_BUILD_CHECKS) args.push('--CDSEMIHARD_BUILD_CHECKS=ON');
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    process.stderr.write('\nsemihard: the native build failed (see above).\n');
    process.exit(r.status || 1);
  }
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, JSON.stringify(torch));
}

main();
