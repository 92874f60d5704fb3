// The Python reference (torch, torchvision, safetensors, scikit-learn) the tests compare with,
// provisioned once by scripts/reference/venv.js into .venv-torch-reference. Tests that need it
// call referencePython() in beforeAll: a missing reference fails them with what to do; it is
// never a silent skip.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const venv = require('../../scripts/reference/venv.js') as { referencePython(): string };

let cached: string | undefined;

export function referencePython(): string {
  cached ??= venv.referencePython();
  return cached;
}

/** Runs a Python script (a file under test/reference/python or inline code) and returns its stdout. */
export function runPython(args: string[], options: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(referencePython(), args, {
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 1 << 30,
    env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.status !== 0) throw new Error(`python ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return r.stdout;
}

export const referenceScripts = path.join(__dirname, '..', 'reference', 'python');
