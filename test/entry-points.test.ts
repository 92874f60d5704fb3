// The package's two entry points export the same names: require('semihard') (dist/lib/index.js)
// and import 'semihard' (index.mjs, a hand-kept list that must not drift).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

it('index.mjs re-exports every name of the CommonJS build', () => {
  const root = path.join(__dirname, '..');
  const script = `
    import * as esm from ${JSON.stringify(path.join(root, 'index.mjs'))};
    import cjs from ${JSON.stringify(path.join(root, 'dist', 'lib', 'index.js'))};
    console.log(JSON.stringify({ cjs: Object.keys(cjs).sort(), esm: Object.keys(esm).filter((k) => k !== 'default').sort() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const { cjs, esm } = JSON.parse(r.stdout) as { cjs: string[]; esm: string[] };
  expect(cjs.length).toBeGreaterThan(10);
  expect(esm).toEqual(cjs);
});
