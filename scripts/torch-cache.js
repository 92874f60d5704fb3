'use strict';
// The shared per-user cache of provisioned LibTorch: one Python venv per torch version and
// flavour, <cache>/torch-<version>-<flavour>, used by every project that installs semihard
// and kept across `rm -rf node_modules`.
//
// A venv is provisioned in <name>.partial-<pid> and renamed into place only once pip has
// finished and torch imports, with a record (semihard-torch.json) written last: a killed
// pip leaves only a .partial folder, which is never used and is removed by the next
// provisioning once its process is gone. Two installs racing each build their own .partial;
// the first rename wins and the other one is discarded.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const RECORD = 'semihard-torch.json';

// What pip installs for a flavour. The CUDA wheel brings the CUDA runtime and its headers but
// not crt/host_defines.h (cuda_runtime_api.h includes it) nor CCCL's nv/target (cuda_fp16.h
// does); the toolkit meta-package's `crt` and `cccl` extras
// add them at the version torch pins (cmake/TorchCudaRuntime.cmake: NCCL and device
// names need those headers; nothing needs nvcc).
function requirements(version, flavour) {
  return flavour === 'cuda' ? [`torch==${version}`, 'cuda-toolkit[crt,cccl]'] : [`torch==${version}`];
}

function cacheRoot(env = process.env) {
  if (env.SEMIHARD_CACHE) return path.resolve(env.SEMIHARD_CACHE);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'semihard');
}

const entryName = (version, flavour) => `torch-${version}-${flavour}`;
const venvPython = (dir) => path.join(dir, 'bin', 'python');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// Half-finished provisionings of this entry whose process is gone.
function removeAbandoned(cache, name, log) {
  if (!fs.existsSync(cache)) return;
  for (const entry of fs.readdirSync(cache)) {
    const m = entry.startsWith(`${name}.partial-`) ? /\.partial-(\d+)$/.exec(entry) : null;
    if (m && !alive(Number(m[1]))) {
      log(`removing a half-finished provisioning: ${path.join(cache, entry)}`);
      fs.rmSync(path.join(cache, entry), { recursive: true, force: true });
    }
  }
}

// The complete cache entry for (version, flavour): { dir, python, record }, or null. An entry
// without its record, or whose Python no longer imports torch, is removed (and so redone). An
// entry made with fewer requirements than this version of semihard asks for (the CUDA flavour
// gained cuda-toolkit[crt,cccl]) is completed in place with pip, never removed: addons built
// in other projects link against it. Until pip has finished, its record keeps the old list,
// so a killed pip is simply retried.
function cachedTorch(cache, version, flavour, log, env = process.env) {
  const dir = path.join(cache, entryName(version, flavour));
  if (!fs.existsSync(dir)) return null;
  let record = null;
  try {
    record = JSON.parse(fs.readFileSync(path.join(dir, RECORD), 'utf8'));
  } catch {
    record = null;
  }
  const wanted = requirements(version, flavour);
  if (record && record.version === version && record.flavour === flavour && importsTorch(venvPython(dir))) {
    if (JSON.stringify(record.requirements) === JSON.stringify(wanted)) return { dir, python: venvPython(dir), record };
    log(`the cached ${dir} was made with ${JSON.stringify(record.requirements ?? [])}: adding ${JSON.stringify(wanted)}`);
    if (!run(venvPython(dir), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...wanted], log, env)) return null;
    const completed = { ...record, requirements: wanted, completed: new Date().toISOString() };
    writeRecord(dir, completed);
    return { dir, python: venvPython(dir), record: completed };
  }
  log(`the cached ${dir} is incomplete or broken: removing it to provision it again`);
  const aside = `${dir}.partial-${process.pid}`;
  try {
    fs.renameSync(dir, aside);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err; // another install removed it first
    return null;
  }
  fs.rmSync(aside, { recursive: true, force: true });
  return null;
}

// The record replaced atomically (written beside, then renamed over it).
function writeRecord(dir, record) {
  const tmp = path.join(dir, `${RECORD}.${process.pid}`);
  fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(tmp, path.join(dir, RECORD));
}

function importsTorch(python) {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

function run(command, args, log, env) {
  log(`$ ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { stdio: ['ignore', process.stderr, process.stderr], env: { ...process.env, ...env } });
  return r.status === 0;
}

// Provisions torch==version into the cache; returns { dir, python, record } or null.
function provisionTorch(cache, version, flavour, env = process.env, log = () => {}) {
  const name = entryName(version, flavour);
  const dir = path.join(cache, name);
  fs.mkdirSync(cache, { recursive: true });
  removeAbandoned(cache, name, log);
  const partial = `${dir}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  const base = env.PYTHON || 'python3';
  const ok =
    run(base, ['-m', 'venv', partial], log, env) &&
    run(venvPython(partial), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...requirements(version, flavour)], log, env);
  const probe = ok
    ? spawnSync(venvPython(partial), ['-c', 'import torch, json; print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda}))'], {
        encoding: 'utf8',
      })
    : null;
  if (!probe || probe.status !== 0) {
    fs.rmSync(partial, { recursive: true, force: true });
    return null;
  }
  const installed = JSON.parse(probe.stdout.trim());
  const actual = installed.cuda ? 'cuda' : 'cpu';
  if (actual !== flavour) {
    log(`warning: torch==${version} from the registry is a ${actual} build (asked for ${flavour}); it is used as it is`);
  }
  const record = { version, flavour, requirements: requirements(version, flavour), ...installed, provisioned: new Date().toISOString() };
  writeRecord(partial, record);
  try {
    fs.renameSync(partial, dir);
  } catch (err) {
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    log(`another install provisioned ${dir} first: using that one`);
    fs.rmSync(partial, { recursive: true, force: true });
  }
  return { dir, python: venvPython(dir), record };
}

module.exports = { cacheRoot, cachedTorch, provisionTorch, entryName, requirements, RECORD };
