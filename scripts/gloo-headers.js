'use strict';
// Gloo's headers for the distributed backend (native/core/process_group_backends.cc).
// LibTorch carries Gloo compiled in (c10d's ProcessGroupGloo) but Python wheels ship
// without its headers. Order:
//   1. SEMIHARD_GLOO_INCLUDE (a folder holding gloo/algorithm.h);
//   2. LibTorch's own include folder, when it has gloo/ (some LibTorch builds do);
//   3. the system's (/usr/include/gloo from Debian's libgloo-dev, or /usr/local/include);
//   4. Debian's libgloo-dev package unpacked into the project (.gloo-headers, git-ignored)
//      with `apt-get download` + `dpkg-deb -x`: no root, nothing linked from it;
//   5. otherwise null: the addon builds without multi-process training and says so.
// Only declarations are used: the Gloo code that runs is the copy inside LibTorch, and the
// one file that includes these headers touches Gloo types through pointers only.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const local = path.join(root, '.gloo-headers');

const hasGloo = (dir) => fs.existsSync(path.join(dir, 'gloo', 'algorithm.h'));

function fromDebianPackage(log) {
  const unpacked = path.join(local, 'usr', 'include');
  if (hasGloo(unpacked)) return unpacked;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-gloo-'));
  try {
    const download = spawnSync('apt-get', ['download', 'libgloo-dev'], { cwd: tmp, encoding: 'utf8' });
    const deb = fs.existsSync(tmp) ? fs.readdirSync(tmp).find((f) => f.endsWith('.deb')) : undefined;
    if (download.error || !deb) {
      log(`could not fetch Debian's libgloo-dev (${download.error ? download.error.message : (download.stderr || '').trim().split('\n').pop()})`);
      return null;
    }
    const staging = `${local}.partial`;
    fs.rmSync(staging, { recursive: true, force: true });
    const x = spawnSync('dpkg-deb', ['-x', path.join(tmp, deb), staging], { encoding: 'utf8' });
    if (x.status !== 0 || !hasGloo(path.join(staging, 'usr', 'include'))) {
      log(`could not unpack ${deb}: ${(x.stderr || '').trim()}`);
      fs.rmSync(staging, { recursive: true, force: true });
      return null;
    }
    fs.rmSync(local, { recursive: true, force: true });
    fs.renameSync(staging, local);
    log(`Gloo headers from Debian's ${deb} in ${path.relative(root, local)}/`);
    return unpacked;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The include folder that holds gloo/, or null. `torchPrefix` is LibTorch's install prefix when known. */
function locateGlooHeaders(torchIncludeDirs, log = () => {}) {
  if (process.env.SEMIHARD_GLOO_INCLUDE) {
    const dir = path.resolve(process.env.SEMIHARD_GLOO_INCLUDE);
    if (!hasGloo(dir)) throw new Error(`SEMIHARD_GLOO_INCLUDE=${dir} has no gloo/algorithm.h`);
    return dir;
  }
  for (const dir of [...torchIncludeDirs, '/usr/include', '/usr/local/include']) {
    if (hasGloo(dir)) return dir;
  }
  return fromDebianPackage(log);
}

module.exports = { locateGlooHeaders };
