// info()'s CUDA facts and the addon's RUNPATH, against the LibTorch the addon was built with:
// its own Python (recorded by scripts/build-addon.js in <out>/libtorch.json) says which CUDA
// runtime and cuDNN it was compiled with and how many devices it sees. Runs against the CPU
// build in CI and against build-cuda/ in `npm run check:cuda-build`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { info } from '../../lib';

const addon = process.env.SEMIHARD_ADDON ?? path.join(__dirname, '..', '..', 'build', 'Release', 'semihard.node');
const stampFile = path.join(path.dirname(path.dirname(addon)), 'libtorch.json');

interface Stamp {
  flavour: 'cpu' | 'cuda';
  prefix: string;
  python: string | null;
}

function stamp(): Stamp {
  if (!fs.existsSync(stampFile)) throw new Error(`${stampFile} is missing: build the addon with scripts/build-addon.js`);
  return JSON.parse(fs.readFileSync(stampFile, 'utf8')) as Stamp;
}

describe("info() against the build's own LibTorch", () => {
  it('reports the CUDA runtime, cuDNN and device count that its Python torch reports', () => {
    const s = stamp();
    const i = info();
    if (s.python === null) {
      // An unpacked LibTorch (LIBTORCH): no Python to ask; the flavour still must agree.
      expect(i.cudaVersion !== null).toBe(s.flavour === 'cuda');
      return;
    }
    const probe = spawnSync(
      s.python,
      [
        '-c',
        'import json, torch\n' +
          'cudnn = torch._C._cudnn.getCompileVersion() if torch.version.cuda and hasattr(torch._C, "_cudnn") else None\n' +
          'print(json.dumps({"cuda": torch.version.cuda, "cudnn": ".".join(map(str, cudnn)) if cudnn else None, "devices": torch.cuda.device_count()}))',
      ],
      { encoding: 'utf8' },
    );
    expect({ status: probe.status, stderr: probe.status === 0 ? '' : probe.stderr }).toEqual({ status: 0, stderr: '' });
    const reference = JSON.parse(probe.stdout) as { cuda: string | null; cudnn: string | null; devices: number };
    expect(i.cudaVersion).toBe(reference.cuda);
    expect(i.cudnnVersion).toBe(reference.cudnn);
    expect(i.cudaDevices).toHaveLength(reference.devices);
    expect(i.cudaDevices.map((d) => d.index)).toEqual([...Array(reference.devices).keys()]);
    expect(s.flavour).toBe(reference.cuda ? 'cuda' : 'cpu');
  });

  it("has a RUNPATH to LibTorch's lib and, for a CUDA wheel, every NVIDIA library folder beside it", () => {
    const s = stamp();
    const r = spawnSync('readelf', ['-d', addon], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const line = r.stdout.split('\n').find((l) => /\((RUNPATH|RPATH)\)/.test(l)) ?? '';
    const entries = ((/\[(.*)\]/.exec(line) ?? [])[1] ?? '').split(':').map((e) => path.resolve(e));
    const wanted = [path.join(s.prefix, 'lib')];
    const nvidia = path.resolve(s.prefix, '..', 'nvidia');
    if (s.flavour === 'cuda' && fs.existsSync(nvidia)) {
      for (const p of fs.readdirSync(nvidia)) if (fs.existsSync(path.join(nvidia, p, 'lib'))) wanted.push(path.join(nvidia, p, 'lib'));
      expect(wanted.length).toBeGreaterThan(1);
    }
    for (const w of wanted) expect(entries).toContain(w);
  });
});
