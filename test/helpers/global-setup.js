'use strict';
// jest's globalSetup: provisions the Python reference venv (scripts/reference/venv.js) once, in
// jest's own process before any worker starts, so that workers running tests that compare with
// torch, torchvision, safetensors or scikit-learn never install it concurrently. The first run
// on a machine installs it (about 5.5 GB, a minute or two from a local package mirror).
const { referencePython } = require('../../scripts/reference/venv.js');

module.exports = async function globalSetup() {
  process.env.SEMIHARD_REFERENCE_PYTHON ??= referencePython();
};
