'use strict';
// `npm install` hook: builds build/Release/semihard.node with cmake-js against the LibTorch
// that scripts/libtorch.js locates. The build is incremental; it starts clean when the
// LibTorch differs from the last build's (recorded in build/libtorch.json) or with --force.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { locateLibTorch } = require('./libtorch');

const root = path.resolve(__dirname, '..');
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
  const clean = force || (previous !== '' && previous !== JSON.stringify(torch));
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : 2, 4)));
  const args = [cmakeJs, clean ? 'rebuild' : 'build', '--directory', root, '--parallel', jobs, ...torch.cmakeArgs];
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
