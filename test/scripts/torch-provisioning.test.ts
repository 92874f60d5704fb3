// scripts/libtorch.js and scripts/torch-cache.js: which LibTorch flavour an install asks for,
// and the shared cache's protocol (a killed pip is never used, a reinstall reuses the copy,
// two racing installs end with one). pip is replaced by a fake Python so that these tests
// install nothing; the real provisioning runs in CI (`npm ci` on a clean machine) and in
// `npm run check:cuda-build`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/* eslint-disable @typescript-eslint/no-require-imports */
const libtorch = require('../../scripts/libtorch.js');
const cache = require('../../scripts/torch-cache.js');
/* eslint-enable @typescript-eslint/no-require-imports */

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-provision-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A fake base Python: `-m venv DIR` makes DIR/bin/python (the fake venv Python below); it has
// no torch itself. The venv Python's `-m pip install` records the call in $FAKE_PIP_LOG, fails
// when $FAKE_PIP_FAIL is set, and, when $FAKE_RACE is set, first lets "another install" finish
// that folder. Once installed, `-c` probes answer like a CPU torch 9.9.9.
function fakePython(): string {
  const venvPython = path.join(tmp, 'venv-python');
  fs.writeFileSync(
    venvPython,
    `#!/bin/sh
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "$here" >> "$FAKE_PIP_LOG"
  [ -n "$FAKE_PIP_FAIL" ] && exit 1
  if [ -n "$FAKE_RACE" ]; then
    mkdir -p "$FAKE_RACE/bin" "$FAKE_RACE/torch/share/cmake"; cp "$0" "$FAKE_RACE/bin/python"; touch "$FAKE_RACE/installed"
    echo '{"version": "9.9.9", "flavour": "cpu", "requirements": ["torch==9.9.9"], "torch": "9.9.9+cpu", "cuda": null, "by": "the other install"}' > "$FAKE_RACE/semihard-torch.json"
  fi
  mkdir -p "$here/torch/share/cmake"; touch "$here/installed"; exit 0
fi
if [ "$1" = "-c" ]; then
  [ -f "$here/installed" ] || exit 1
  case "$2" in
    *cmake_prefix_path*) printf '%s\\n9.9.9+cpu\\nNone\\n%s' "$here/torch/share/cmake" "$here/bin/python";;
    *json*) echo '{"torch": "9.9.9+cpu", "cuda": null}';;
  esac
  exit 0
fi
exit 2
`,
    { mode: 0o755 },
  );
  const base = path.join(tmp, 'python3');
  fs.writeFileSync(
    base,
    `#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "${venvPython}" "$3/bin/python" && exit 0; fi
exit 1
`,
    { mode: 0o755 },
  );
  return base;
}

function pipCalls(log: string): string[] {
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
}

// A pid that belonged to a process that has exited (what a killed pip's install leaves).
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

// A venv folder as provisioning leaves it, with the fake venv Python (fakePython() first);
// `installed`: its torch imports.
function fakeVenv(dir: string, installed = true): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(tmp, 'venv-python'), path.join(dir, 'bin', 'python'));
  if (installed) fs.writeFileSync(path.join(dir, 'installed'), '');
}

const quiet = (): void => undefined;

describe('the flavour an install asks for', () => {
  const noGpu = (): null => null;
  const h200 = (): string => 'GPU 0: NVIDIA H200 (UUID: GPU-0)';

  it('SEMIHARD_TORCH decides, over package.json config, and says so', () => {
    expect(libtorch.chooseFlavour({ SEMIHARD_TORCH: 'cuda', npm_package_config_torch: 'cpu' }, noGpu)).toEqual({
      requested: 'cuda',
      flavour: 'cuda',
      reason: 'SEMIHARD_TORCH asks for cuda',
    });
    expect(libtorch.chooseFlavour({ npm_package_config_torch: 'cpu' }, h200)).toMatchObject({ flavour: 'cpu', reason: "package.json's config.torch asks for cpu" });
  });

  it('auto takes CUDA exactly when nvidia-smi lists a GPU', () => {
    expect(libtorch.chooseFlavour({}, h200)).toEqual({
      requested: 'auto',
      flavour: 'cuda',
      reason: 'auto (the default): nvidia-smi lists GPU 0: NVIDIA H200 (UUID: GPU-0)',
    });
    expect(libtorch.chooseFlavour({ SEMIHARD_TORCH: 'AUTO' }, noGpu)).toEqual({
      requested: 'auto',
      flavour: 'cpu',
      reason: 'auto (SEMIHARD_TORCH): no GPU listed by nvidia-smi',
    });
  });

  it('refuses an unknown flavour naming where it came from and the choices', () => {
    expect(() => libtorch.chooseFlavour({ SEMIHARD_TORCH: 'gpu' }, noGpu)).toThrow('SEMIHARD_TORCH is "gpu": expected one of cpu, cuda, auto');
  });

  it('tells a CUDA LibTorch from a CPU one by libtorch_cuda.so', () => {
    fs.mkdirSync(path.join(tmp, 'lib'));
    expect(libtorch.flavourOfLibDir(path.join(tmp, 'lib'))).toBe('cpu');
    fs.writeFileSync(path.join(tmp, 'lib', 'libtorch_cuda.so'), '');
    expect(libtorch.flavourOfLibDir(path.join(tmp, 'lib'))).toBe('cuda');
  });
});

describe('the shared cache', () => {
  it('lives in SEMIHARD_CACHE, else $XDG_CACHE_HOME/semihard, else ~/.cache/semihard', () => {
    expect(cache.cacheRoot({ SEMIHARD_CACHE: '/a/b', XDG_CACHE_HOME: '/x' })).toBe('/a/b');
    expect(cache.cacheRoot({ XDG_CACHE_HOME: '/x' })).toBe('/x/semihard');
    expect(cache.cacheRoot({})).toBe(path.join(os.homedir(), '.cache', 'semihard'));
  });

  it('provisions once; a second project (or a reinstall) reuses that copy without pip', () => {
    const root = path.join(tmp, 'cache');
    const log = path.join(tmp, 'pip.log');
    const env = { SEMIHARD_CACHE: root, SEMIHARD_TORCH: 'cpu', PYTHON: fakePython(), FAKE_PIP_LOG: log };
    const saved = { ...process.env };
    Object.assign(process.env, { FAKE_PIP_LOG: log });
    try {
      const first = libtorch.locateLibTorch({ env });
      const again = libtorch.locateLibTorch({ env });
      const entry = path.join(root, 'torch-2.13.0-cpu');
      expect(first.prefix).toBe(path.join(entry, 'torch'));
      expect(again.prefix).toBe(first.prefix);
      expect(pipCalls(log)).toHaveLength(1);
      expect(fs.readdirSync(root)).toEqual(['torch-2.13.0-cpu']);
      expect(JSON.parse(fs.readFileSync(path.join(entry, 'semihard-torch.json'), 'utf8'))).toMatchObject({ version: '2.13.0', flavour: 'cpu', requirements: ['torch==2.13.0'], torch: '9.9.9+cpu', cuda: null });
    } finally {
      process.env = saved;
    }
  });

  it('a failed pip leaves nothing that a later install would use', () => {
    const root = path.join(tmp, 'cache');
    const log = path.join(tmp, 'pip.log');
    const env = { PYTHON: fakePython(), FAKE_PIP_LOG: log, FAKE_PIP_FAIL: '1', PATH: process.env.PATH };
    const saved = { ...process.env };
    Object.assign(process.env, { FAKE_PIP_LOG: log, FAKE_PIP_FAIL: '1' });
    try {
      expect(cache.provisionTorch(root, '9.9.9', 'cpu', env, quiet)).toBeNull();
    } finally {
      process.env = saved;
    }
    expect(pipCalls(log)).toHaveLength(1);
    expect(fs.readdirSync(root)).toEqual([]);
    expect(cache.cachedTorch(root, '9.9.9', 'cpu', quiet)).toBeNull();
  });

  it('a killed provisioning (its .partial folder, its process gone) is never used, and is removed by the next', () => {
    const root = path.join(tmp, 'cache');
    const log = path.join(tmp, 'pip.log');
    const python = fakePython();
    // What a pip killed half-way through leaves: a venv that even imports "torch".
    const killed = path.join(root, `torch-9.9.9-cpu.partial-${deadPid()}`);
    fakeVenv(killed);
    expect(cache.cachedTorch(root, '9.9.9', 'cpu', quiet)).toBeNull();
    const messages: string[] = [];
    const saved = { ...process.env };
    Object.assign(process.env, { FAKE_PIP_LOG: log });
    try {
      const made = cache.provisionTorch(root, '9.9.9', 'cpu', { PYTHON: python, PATH: process.env.PATH }, (m: string) => messages.push(m));
      expect(made.dir).toBe(path.join(root, 'torch-9.9.9-cpu'));
    } finally {
      process.env = saved;
    }
    expect(messages).toContain(`removing a half-finished provisioning: ${killed}`);
    expect(fs.readdirSync(root)).toEqual(['torch-9.9.9-cpu']);
    expect(pipCalls(log)).toEqual([path.join(root, `torch-9.9.9-cpu.partial-${process.pid}`)]);
  });

  it('a cached folder without its record, or one that no longer imports torch, is removed and redone', () => {
    const root = path.join(tmp, 'cache');
    fakePython();
    const entry = path.join(root, 'torch-9.9.9-cpu');
    fakeVenv(entry);
    expect(cache.cachedTorch(root, '9.9.9', 'cpu', quiet)).toBeNull();
    expect(fs.existsSync(entry)).toBe(false);
    // With its record but torch gone: also redone.
    fakeVenv(entry, false);
    fs.writeFileSync(path.join(entry, 'semihard-torch.json'), JSON.stringify({ version: '9.9.9', flavour: 'cpu', requirements: ['torch==9.9.9'] }));
    expect(cache.cachedTorch(root, '9.9.9', 'cpu', quiet)).toBeNull();
    expect(fs.existsSync(entry)).toBe(false);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('a complete entry made with fewer requirements is completed in place with pip, never removed (other projects link against it)', () => {
    const root = path.join(tmp, 'cache');
    const log = path.join(tmp, 'pip.log');
    fakePython();
    const entry = path.join(root, 'torch-9.9.9-cuda');
    fakeVenv(entry);
    fs.writeFileSync(path.join(entry, 'linked-by-an-addon'), '');
    fs.writeFileSync(path.join(entry, 'semihard-torch.json'), JSON.stringify({ version: '9.9.9', flavour: 'cuda', requirements: ['torch==9.9.9'] }));
    const saved = { ...process.env };
    Object.assign(process.env, { FAKE_PIP_LOG: log });
    let found;
    try {
      found = cache.cachedTorch(root, '9.9.9', 'cuda', quiet);
    } finally {
      process.env = saved;
    }
    expect(found.dir).toBe(entry);
    expect(fs.existsSync(path.join(entry, 'linked-by-an-addon'))).toBe(true);
    expect(pipCalls(log)).toEqual([entry]);
    const wanted = ['torch==9.9.9', 'cuda-toolkit[crt,cccl]'];
    expect(JSON.parse(fs.readFileSync(path.join(entry, 'semihard-torch.json'), 'utf8')).requirements).toEqual(wanted);
    // And once completed, it is used as it is.
    expect(cache.cachedTorch(root, '9.9.9', 'cuda', quiet).record.requirements).toEqual(wanted);
    expect(pipCalls(log)).toHaveLength(1);
  });

  it('two installs racing: the first to finish wins, the other discards its copy and uses that one', () => {
    const root = path.join(tmp, 'cache');
    const log = path.join(tmp, 'pip.log');
    const python = fakePython();
    const entry = path.join(root, 'torch-9.9.9-cpu');
    const messages: string[] = [];
    const saved = { ...process.env };
    Object.assign(process.env, { FAKE_PIP_LOG: log, FAKE_RACE: entry });
    try {
      const made = cache.provisionTorch(root, '9.9.9', 'cpu', { PYTHON: python, PATH: process.env.PATH }, (m: string) => messages.push(m));
      expect(made.dir).toBe(entry);
    } finally {
      process.env = saved;
    }
    expect(messages).toContain(`another install provisioned ${entry} first: using that one`);
    expect(fs.readdirSync(root)).toEqual(['torch-9.9.9-cpu']);
    expect(JSON.parse(fs.readFileSync(path.join(entry, 'semihard-torch.json'), 'utf8')).by).toBe('the other install');
  });
});
