'use strict';
// dist/lib/*.d.ts import '../binding' (the addon's types): put binding.d.ts beside them.
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
fs.copyFileSync(path.join(root, 'binding.d.ts'), path.join(root, 'dist', 'binding.d.ts'));
