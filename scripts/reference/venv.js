'use strict';
// The Python reference venv (.venv-torch-reference, git-ignored): torch + torchvision +
// safetensors + scikit-learn pinned in scripts/reference/requirements.txt, installed from the
// package registry on first use (about 5.5 GB, a minute or two from a local mirror).
// SEMIHARD_REFERENCE_PYTHON points at an interpreter that already has them instead. jest's
// globalSetup (test/helpers/global-setup.js) provisions it once, before any worker starts,
// so that parallel workers never install it at the same time.
//   node scripts/reference/venv.js        # provisions it and prints its python
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const venvDir = path.join(root, '.venv-torch-reference');
const requirements = path.join(__dirname, 'requirements.txt');
const stamp = path.join(venvDir, '.requirements');

function run(command, args) {
  process.stderr.write(`semihard reference: $ ${command} ${args.join(' ')}\n`);
  const r = spawnSync(command, args, { stdio: ['ignore', process.stderr, process.stderr] });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

// The reference interpreter, provisioned if needed; throws with what to do when it cannot be.
function referencePython() {
  if (process.env.SEMIHARD_REFERENCE_PYTHON) return process.env.SEMIHARD_REFERENCE_PYTHON;
  const python = path.join(venvDir, 'bin', 'python');
  const wanted = fs.readFileSync(requirements, 'utf8');
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return python;
  try {
    if (!fs.existsSync(python)) run(process.env.PYTHON || 'python3', ['-m', 'venv', venvDir]);
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements]);
  } catch (err) {
    throw new Error(
      `${err.message}\nThe Python reference (${path.relative(root, requirements)}) could not be installed into ${venvDir}: ` +
        'python3 with venv and pip and the package registry are needed, or set SEMIHARD_REFERENCE_PYTHON to an interpreter that has them.',
    );
  }
  fs.writeFileSync(stamp, wanted);
  return python;
}

module.exports = { referencePython, venvDir };

if (require.main === module) process.stdout.write(`${referencePython()}\n`);
