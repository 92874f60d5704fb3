'use strict';
// Locates LibTorch for the build, in this order, and says which one it chose and why:
//   1. LIBTORCH (an unpacked LibTorch folder) or Torch_DIR (the folder of TorchConfig.cmake);
//   2. a Python torch importable by `python3` (or $PYTHON): torch.utils.cmake_prefix_path, when
//      its flavour is the one asked for (any flavour under SEMIHARD_TORCH=auto);
//   3. the shared per-user cache ($SEMIHARD_CACHE, else $XDG_CACHE_HOME/semihard, else
//      ~/.cache/semihard): one venv per torch version and flavour, torch-<version>-<flavour>,
//      reused by every project and every reinstall;
//   4. otherwise that venv is provisioned from the package registry (scripts/torch-cache.js);
//   5. and failing that, one error that says what to install or set.
// The flavour: SEMIHARD_TORCH, else package.json's config.torch (npm_package_config_torch),
// = cpu | cuda | auto; auto is cuda when `nvidia-smi -L` lists a GPU. The versions per
// flavour are package.json's "libtorch". Nothing is downloaded from outside the registries.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { cacheRoot, cachedTorch, provisionTorch } = require('./torch-cache');

const root = path.resolve(__dirname, '..');
const FLAVOURS = ['cpu', 'cuda', 'auto'];

function log(message) {
  process.stderr.write(`semihard: ${message}\n`);
}

function hasTorchConfig(prefix) {
  return fs.existsSync(path.join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'));
}

// 'cuda' when the LibTorch whose lib/ folder is `libDir` carries libtorch_cuda, else 'cpu'.
function flavourOfLibDir(libDir) {
  return fs.existsSync(path.join(libDir, 'libtorch_cuda.so')) ? 'cuda' : 'cpu';
}

// The flavour asked for and why: { requested, flavour, reason }.
function chooseFlavour(env = process.env, probeGpu = gpuListed) {
  const fromEnv = env.SEMIHARD_TORCH;
  const fromConfig = env.npm_package_config_torch;
  const requested = (fromEnv || fromConfig || 'auto').trim().toLowerCase();
  const origin = fromEnv ? 'SEMIHARD_TORCH' : fromConfig ? "package.json's config.torch" : 'the default';
  if (!FLAVOURS.includes(requested)) {
    throw new Error(`${origin} is ${JSON.stringify(requested)}: expected one of ${FLAVOURS.join(', ')}`);
  }
  if (requested !== 'auto') return { requested, flavour: requested, reason: `${origin} asks for ${requested}` };
  const gpu = probeGpu();
  return gpu
    ? { requested, flavour: 'cuda', reason: `auto (${origin}): nvidia-smi lists ${gpu}` }
    : { requested, flavour: 'cpu', reason: `auto (${origin}): no GPU listed by nvidia-smi` };
}

// The first GPU line of `nvidia-smi -L`, or null (no nvidia-smi, no driver, no GPU).
function gpuListed() {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000 });
  if (r.status !== 0 || !r.stdout) return null;
  const line = r.stdout.split('\n').find((l) => /^GPU \d+/.test(l));
  return line ? line.trim() : null;
}

function fromEnvironment(env) {
  if (env.LIBTORCH) {
    const prefix = path.resolve(env.LIBTORCH);
    if (!hasTorchConfig(prefix)) {
      throw new Error(`LIBTORCH=${env.LIBTORCH} has no share/cmake/Torch/TorchConfig.cmake: point it at an unpacked LibTorch folder`);
    }
    const flavour = flavourOfLibDir(path.join(prefix, 'lib'));
    return { source: 'LIBTORCH', cmakeArgs: [`--CDCMAKE_PREFIX_PATH=${prefix}`], where: `${prefix} (${flavour})`, flavour, prefix };
  }
  if (env.Torch_DIR) {
    const dir = path.resolve(env.Torch_DIR);
    if (!fs.existsSync(path.join(dir, 'TorchConfig.cmake'))) {
      throw new Error(`Torch_DIR=${env.Torch_DIR} has no TorchConfig.cmake`);
    }
    const flavour = flavourOfLibDir(path.resolve(dir, '..', '..', '..', 'lib'));
    const prefix = path.resolve(dir, '..', '..', '..');
    return { source: 'Torch_DIR', cmakeArgs: [`--CDTorch_DIR=${dir}`], where: `${dir} (${flavour})`, flavour, prefix };
  }
  return null;
}

// What the torch importable by `python` is, or null: its CMake prefix, version, CUDA version.
function pythonTorch(python) {
  const probe = spawnSync(
    python,
    ['-c', 'import torch, sys; sys.stdout.write("\\n".join([torch.utils.cmake_prefix_path, torch.__version__, str(torch.version.cuda), sys.executable]))'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  if (probe.status !== 0 || !probe.stdout) return null;
  const [prefix, version, cuda, executable] = probe.stdout.trim().split('\n');
  if (!prefix || !fs.existsSync(prefix)) return null;
  const flavour = flavourOfLibDir(path.resolve(prefix, '..', '..', 'lib'));
  return { prefix, version, cuda: cuda === 'None' ? null : cuda, flavour, executable };
}

function fromPython(python, source) {
  const found = pythonTorch(python);
  if (!found) return null;
  return {
    source,
    cmakeArgs: [`--CDCMAKE_PREFIX_PATH=${found.prefix}`],
    where: `${found.prefix} (torch ${found.version}, ${found.flavour}, ${python})`,
    flavour: found.flavour,
    prefix: path.resolve(found.prefix, '..', '..'),
    python: found.executable,
  };
}

function pinnedVersion(flavour) {
  const pins = require(path.join(root, 'package.json')).libtorch;
  if (!pins || typeof pins[flavour] !== 'string') throw new Error(`package.json has no "libtorch".${flavour} version`);
  return pins[flavour];
}

function locateLibTorch({ env = process.env, provision = true, probeGpu = gpuListed } = {}) {
  const explicit = fromEnvironment(env);
  if (explicit) return { ...explicit, reason: `${explicit.source} is set` };
  const choice = chooseFlavour(env, probeGpu);
  const python = env.PYTHON || 'python3';
  const system = fromPython(python, 'python');
  if (system) {
    if (choice.requested === 'auto' || system.flavour === choice.flavour) {
      return { ...system, reason: `${python} imports torch (${choice.requested === 'auto' ? 'any flavour under auto' : choice.reason})` };
    }
    log(`${python}'s torch is ${system.flavour}, but ${choice.reason}: not using it`);
  }
  const version = pinnedVersion(choice.flavour);
  const cache = cacheRoot(env);
  const cached = cachedTorch(cache, version, choice.flavour, log, env);
  if (cached) {
    const found = fromPython(cached.python, 'shared cache');
    if (found) return { ...found, reason: choice.reason };
  }
  if (provision) {
    log(`${choice.reason}: provisioning torch==${version} (${choice.flavour}) into ${cache}`);
    const made = provisionTorch(cache, version, choice.flavour, env, log);
    if (made) {
      const found = fromPython(made.python, 'shared cache (just provisioned)');
      if (found) return { ...found, reason: choice.reason };
    }
  }
  throw new Error(
    'semihard could not find LibTorch. Do one of:\n' +
      '  - set LIBTORCH to an unpacked LibTorch folder (or Torch_DIR to its share/cmake/Torch);\n' +
      `  - pip install torch (python3 -c "import torch" must work), or set PYTHON to a Python that has it;\n` +
      `  - make sure python3 with venv and pip works so that torch==${version} can be provisioned into ${cache}\n` +
      '    (SEMIHARD_CACHE moves that folder; SEMIHARD_TORCH=cpu|cuda|auto chooses the flavour).',
  );
}

module.exports = { locateLibTorch, hasTorchConfig, chooseFlavour, flavourOfLibDir, pythonTorch, FLAVOURS };
