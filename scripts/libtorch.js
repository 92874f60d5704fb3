'use strict';
// Locates LibTorch for the build, in this order, and says which one it chose:
//   1. LIBTORCH (an unpacked LibTorch folder) or Torch_DIR (the folder of TorchConfig.cmake);
//   2. a Python torch importable by `python3` (or $PYTHON): torch.utils.cmake_prefix_path;
//   3. a project-local venv (.libtorch-venv, git-ignored) with the torch version pinned in
//      package.json "libtorch.pythonTorch", created on first use from the package registry;
//   4. otherwise one error that says what to install or set.
// Nothing is downloaded from outside the package registries.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const venvDir = path.join(root, '.libtorch-venv');

function log(message) {
  process.stderr.write(`semihard: ${message}\n`);
}

function hasTorchConfig(prefix) {
  return fs.existsSync(path.join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'));
}

function fromEnvironment(env) {
  if (env.LIBTORCH) {
    const prefix = path.resolve(env.LIBTORCH);
    if (!hasTorchConfig(prefix)) {
      throw new Error(`LIBTORCH=${env.LIBTORCH} has no share/cmake/Torch/TorchConfig.cmake: point it at an unpacked LibTorch folder`);
    }
    return { source: 'LIBTORCH', cmakeArgs: [`--CDCMAKE_PREFIX_PATH=${prefix}`], where: prefix };
  }
  if (env.Torch_DIR) {
    const dir = path.resolve(env.Torch_DIR);
    if (!fs.existsSync(path.join(dir, 'TorchConfig.cmake'))) {
      throw new Error(`Torch_DIR=${env.Torch_DIR} has no TorchConfig.cmake`);
    }
    return { source: 'Torch_DIR', cmakeArgs: [`--CDTorch_DIR=${dir}`], where: dir };
  }
  return null;
}

// The CMake prefix of the torch importable by `python`, or null.
function pythonTorchPrefix(python) {
  const probe = spawnSync(
    python,
    ['-c', 'import torch, sys; sys.stdout.write(torch.utils.cmake_prefix_path + "\\n" + torch.__version__)'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  if (probe.status !== 0 || !probe.stdout) return null;
  const [prefix, version] = probe.stdout.trim().split('\n');
  return prefix && fs.existsSync(prefix) ? { prefix, version } : null;
}

function fromPython(python, source) {
  const found = pythonTorchPrefix(python);
  if (!found) return null;
  return {
    source,
    cmakeArgs: [`--CDCMAKE_PREFIX_PATH=${found.prefix}`],
    where: `${found.prefix} (torch ${found.version}, ${python})`,
  };
}

function venvPython() {
  return path.join(venvDir, 'bin', 'python');
}

function run(command, args) {
  log(`$ ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { stdio: 'inherit' });
  return r.status === 0;
}

function provisionVenv(torchVersion) {
  if (!fs.existsSync(venvPython())) {
    const base = process.env.PYTHON || 'python3';
    if (!run(base, ['-m', 'venv', venvDir])) return false;
  }
  return run(venvPython(), ['-m', 'pip', 'install', '--disable-pip-version-check', `torch==${torchVersion}`]);
}

function locateLibTorch({ env = process.env, provision = true } = {}) {
  const explicit = fromEnvironment(env);
  if (explicit) return explicit;
  const python = env.PYTHON || 'python3';
  const system = fromPython(python, 'python');
  if (system) return system;
  if (fs.existsSync(venvPython())) {
    const existing = fromPython(venvPython(), 'provisioned venv');
    if (existing) return existing;
  }
  const pinned = require(path.join(root, 'package.json')).libtorch.pythonTorch;
  if (provision) {
    log(`no LibTorch found: provisioning torch==${pinned} into ${venvDir}`);
    if (provisionVenv(pinned)) {
      const made = fromPython(venvPython(), 'provisioned venv');
      if (made) return made;
    }
  }
  throw new Error(
    'semihard could not find LibTorch. Do one of:\n' +
      '  - set LIBTORCH to an unpacked LibTorch folder (or Torch_DIR to its share/cmake/Torch);\n' +
      `  - pip install torch (python3 -c "import torch" must work), or set PYTHON to a Python that has it;\n` +
      `  - make sure python3 with venv and pip works so that torch==${pinned} can be provisioned into .libtorch-venv.`,
  );
}

module.exports = { locateLibTorch, hasTorchConfig };
