'use strict';
// What the image benchmarks share: the repository root and `--name value` options.
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');

/** The value after `--name` in argv (a string), or `fallback`. */
function option(argv, name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

module.exports = { root, option };
