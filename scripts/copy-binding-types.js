'use strict';
// After tsc: put beside dist/lib/ what tsc does not emit.
// - dist/lib/*.d.ts import '../binding' (the addon's types): binding.d.ts goes to dist/.
// - lib/plot/render-worker.js, the plain-JavaScript worker thread that draws pictures, goes to
//   dist/lib/plot/ (render.ts finds it beside itself, in lib/ under ts-jest as in dist/lib/).
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
fs.copyFileSync(path.join(root, 'binding.d.ts'), path.join(root, 'dist', 'binding.d.ts'));
fs.mkdirSync(path.join(root, 'dist', 'lib', 'plot'), { recursive: true });
fs.copyFileSync(path.join(root, 'lib', 'plot', 'render-worker.js'), path.join(root, 'dist', 'lib', 'plot', 'render-worker.js'));
// - lib/report/page-script.js and page.css, the report page's script and style that
//   report/page.ts inlines, go to dist/lib/report/.
fs.mkdirSync(path.join(root, 'dist', 'lib', 'report'), { recursive: true });
for (const file of ['page-script.js', 'page.css']) {
  fs.copyFileSync(path.join(root, 'lib', 'report', file), path.join(root, 'dist', 'lib', 'report', file));
}
