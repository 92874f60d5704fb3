#!/usr/bin/env node
'use strict';
// npm run bench:peers [-- --sizes 128,512 --classes 10,100 --peers tfa,pml --timeout 300 --out docs/benchmarks.md]
//
// The semi-hard triplet loss of semihard next to the real peer implementations, on the same
// inputs: TF-Addons (tfa.losses.TripletSemiHardLoss), sentence-transformers
// (BatchSemiHardTripletLoss) and pytorch-metric-learning (TripletMarginMiner "semihard" +
// TripletMarginLoss; different semantics). Forward + backward (loss and d loss / d embeddings),
// median of R repeats after one warm-up, 2 threads, each (peer, B, classes) in its own process
// under a memory cap (prlimit --as) and a wall-time cap; OOM, timeout or error are recorded.
//
// Options:
//   --sizes 128,512,2048,8192,32768   batch sizes B (D = --dim, 128)
//   --classes 10,100                  label classes (labels i % classes, shuffled)
//   --peers tfa,sentence-transformers,pml,semihard-cpp,semihard
//   --timeout 300                     seconds per (peer, B, classes) process
//   --mem-gib 16                      address-space cap per process
//   --threads 2                       intra-op threads for every peer
//   --out docs/benchmarks.md          markdown written here ('' or '-' = stdout only)
//   --venv .venv-peers                the Python venv (created + pip install -r if missing)
//   --python python3.11               interpreter used to create the venv
//   --no-skip                         run larger B even after OOM/timeout at a smaller B
//   --keep-inputs                     keep the generated inputs (temp dir printed)
// Only Node built-ins are used.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');

const here = __dirname;
const root = path.resolve(here, '..', '..', '..');
const ALL_PEERS = ['tfa', 'sentence-transformers', 'pml', 'semihard-cpp', 'semihard'];
const SAME_SEMANTICS = ['tfa', 'sentence-transformers', 'semihard-cpp', 'semihard'];
// The C++ tensor API's runner (native/tools/peer_runner.cc), built here on first use.
const cppRunner = path.join(root, 'build-check', 'semihard_peer_runner');

function parseArgs(argv) {
  const args = {
    sizes: [128, 512, 2048, 8192, 32768],
    classes: [10, 100],
    peers: ALL_PEERS.slice(),
    timeout: 300,
    memGiB: 16,
    threads: 2,
    dim: 128,
    margin: 1.0,
    out: 'docs/benchmarks.md',
    venv: path.join(root, '.venv-peers'),
    python: 'python3.11',
    skip: true,
    keepInputs: false,
  };
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const num = (key, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${key}: expected a positive number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const takes = () => {
      if (i + 1 >= argv.length) throw new Error(`${key} needs a value`);
      return argv[++i];
    };
    if (key === '--sizes') args.sizes = list(takes()).map((v) => num(key, v));
    else if (key === '--classes') args.classes = list(takes()).map((v) => num(key, v));
    else if (key === '--peers') args.peers = list(takes());
    else if (key === '--timeout') args.timeout = num(key, takes());
    else if (key === '--mem-gib') args.memGiB = num(key, takes());
    else if (key === '--threads') args.threads = num(key, takes());
    else if (key === '--dim') args.dim = num(key, takes());
    else if (key === '--margin') args.margin = num(key, takes());
    else if (key === '--out') args.out = takes();
    else if (key === '--venv') args.venv = path.resolve(takes());
    else if (key === '--python') args.python = takes();
    else if (key === '--no-skip') args.skip = false;
    else if (key === '--keep-inputs') args.keepInputs = true;
    else if (key === '--help' || key === '-h') {
      const head = fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 25);
      process.stdout.write(head.map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${key}`);
  }
  for (const p of args.peers) if (!ALL_PEERS.includes(p)) throw new Error(`unknown peer ${p} (${ALL_PEERS.join(', ')})`);
  args.sizes.sort((a, b) => a - b);
  return args;
}

const log = (s) => process.stderr.write(s + '\n');

function run(cmd, argv, opts = {}) {
  log(`$ ${[cmd, ...argv].join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status ?? r.signal}`);
  return r;
}

function venvPython(args) {
  return path.join(args.venv, 'bin', 'python');
}

// Create the venv and install the pinned peers when missing, or when requirements.txt changed
// since the last install (its sha256 is kept in the venv).
function ensureVenv(args) {
  const req = path.join(here, 'requirements.txt');
  const sha = crypto.createHash('sha256').update(fs.readFileSync(req)).digest('hex');
  const stamp = path.join(args.venv, '.semihard-peers-requirements.sha256');
  const py = venvPython(args);
  const have = fs.existsSync(py);
  if (have && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === sha) return;
  const t0 = Date.now();
  if (!have) {
    log(`peer venv ${args.venv} is missing: creating it with ${args.python} and installing ${path.relative(root, req)}`);
    run(args.python, ['-m', 'venv', args.venv]);
  } else {
    log(`peer venv ${args.venv}: ${path.relative(root, req)} is new or changed, installing it`);
  }
  run(py, ['-m', 'pip', 'install', '-r', req]);
  fs.writeFileSync(stamp, sha + '\n');
  log(`peer venv ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function pythonVersions(args) {
  const code = [
    'import json, importlib.metadata as m',
    "names = ['tensorflow-cpu', 'tensorflow-addons', 'torch', 'sentence-transformers', 'pytorch-metric-learning', 'transformers', 'numpy']",
    'out = {}',
    'for n in names:',
    '    try: out[n] = m.version(n)',
    '    except Exception: out[n] = None',
    'import sys; out["python"] = sys.version.split()[0]',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(venvPython(args), ['-c', code], { encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout.trim());
  } catch {
    return {};
  }
}

// CMake build of native/tools/peer_runner.cc against the LibTorch the addon uses.
function ensureCppRunner() {
  const { locateLibTorch } = require(path.join(root, 'scripts', 'libtorch.js'));
  const torch = locateLibTorch({ provision: false });
  const defines = torch.cmakeArgs.map((a) => a.replace(/^--CD/, '-D'));
  run('cmake', ['-S', root, '-B', path.join(root, 'build-check'), '-DSEMIHARD_BUILD_CHECKS=ON', '-DCMAKE_BUILD_TYPE=Release', ...defines]);
  run('cmake', ['--build', path.join(root, 'build-check'), '--target', 'semihard_peer_runner', '-j', '2']);
}

function semihardVersion() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const r = spawnSync(
    process.execPath,
    ['-e', `process.stdout.write(require(${JSON.stringify(path.join(root, 'dist', 'lib', 'index.js'))}).info().torchVersion)`],
    { encoding: 'utf8' },
  );
  const torch = r.status === 0 ? r.stdout.trim() : null;
  return `semihard ${pkg.version}${torch ? `, LibTorch ${torch}` : ''}`;
}

function hasPrlimit() {
  const r = spawnSync('prlimit', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

const repeatsFor = (B) => (B <= 512 ? 7 : B <= 2048 ? 3 : 1);

const OOM_RE =
  /MemoryError|ResourceExhausted|OOM when allocating|out of memory|can't allocate memory|cannot allocate memory|bad_alloc|allocation failed|Failed to allocate|heap out of memory/i;

// One (peer, input) in its own process, capped in address space and wall time.
function runOne(args, peer, prefix, prlimit) {
  const B = Number(path.basename(prefix).match(/^B(\d+)_/)[1]);
  const repeats = repeatsFor(B);
  const common = [prefix, '--repeats', String(repeats), '--threads', String(args.threads), '--margin', String(args.margin)];
  const inner =
    peer === 'semihard'
      ? [process.execPath, path.join(here, 'run_semihard.js'), ...common]
      : peer === 'semihard-cpp'
        ? [cppRunner, ...common]
        : [venvPython(args), path.join(here, 'run_peer.py'), peer, ...common];
  const capBytes = Math.round(args.memGiB * 2 ** 30);
  const [cmd, argv] = prlimit
    ? ['prlimit', [`--as=${capBytes}`, '--', ...inner]]
    : ['bash', ['-c', `ulimit -v ${Math.round(capBytes / 1024)} && exec "$@"`, 'bash', ...inner]];
  const t = String(args.threads);
  const env = {
    ...process.env,
    OMP_NUM_THREADS: t,
    MKL_NUM_THREADS: t,
    OPENBLAS_NUM_THREADS: t,
    TF_NUM_INTRAOP_THREADS: t,
    TF_NUM_INTEROP_THREADS: t,
    TF_CPP_MIN_LOG_LEVEL: '2',
    PYTHONWARNINGS: 'ignore',
  };
  const t0 = Date.now();
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env,
    cwd: root,
    timeout: args.timeout * 1000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 2 ** 20,
  });
  const wallS = (Date.now() - t0) / 1000;
  const base = { peer, B, classes: null, repeats, wall_s: Math.round(wallS * 10) / 10 };
  let line = null;
  for (const l of (r.stdout || '').trim().split('\n').reverse()) {
    if (l.startsWith('{')) {
      try {
        line = JSON.parse(l);
        break;
      } catch {
        /* keep looking */
      }
    }
  }
  if (line && line.message) line.message = line.message.replace(/\s+/g, ' ');
  const stderrTail = (r.stderr || '').trim().split('\n').slice(-3).join(' | ').slice(0, 400);
  if ((r.error && r.error.code === 'ETIMEDOUT') || (r.signal === 'SIGKILL' && wallS >= args.timeout - 1)) {
    return { ...base, ...(line || {}), error: 'timeout', message: `killed after ${args.timeout} s` };
  }
  if (line) {
    if (line.error) return { ...base, ...line };
    if (r.status === 0) return { ...base, ...line };
  }
  const oom = OOM_RE.test(r.stderr || '') || r.signal === 'SIGKILL'; // SIGKILL before the timeout: the kernel's OOM killer
  return {
    ...base,
    ...(line || {}),
    error: oom ? 'OOM' : 'error',
    message: `exit ${r.status ?? r.signal}${stderrTail ? `: ${stderrTail}` : ''}`,
  };
}

// ---------- markdown ----------

const fmtMs = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtMiB = (x) => x.toFixed(0);
const fmtLoss = (x) => x.toFixed(7);

function cell(r, what) {
  if (!r) return '';
  if (r.skipped) return what === 'ms' ? `(${r.skipped})` : '';
  if (r.error) {
    if (what === 'ms') return r.error;
    return Number.isFinite(r.peak_rss_mib) ? `${fmtMiB(r.peak_rss_mib)}*` : '';
  }
  return what === 'ms' ? fmtMs(r.median_ms) : fmtMiB(r.peak_rss_mib);
}

function machine() {
  const n = spawnSync('nproc', [], { encoding: 'utf8' });
  const nproc = n.status === 0 ? n.stdout.trim() : String(os.cpus().length);
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  const mem = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${nproc} CPUs (nproc; ${cpu.trim()}), ${mem} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}`;
}

function markdown(args, results, meta) {
  const L = [];
  const peers = args.peers;
  const others = peers.filter((p) => p !== 'semihard');
  const find = (peer, B, c) => results.find((r) => r.peer === peer && r.B === B && r.classes === c);
  L.push('# Peer benchmark: semi-hard triplet loss');
  L.push('');
  L.push('Generated by `scripts/bench/peers/bench.js` (`npm run bench:peers`).');
  L.push('');
  L.push(`- Command: \`${meta.command}\``);
  L.push(`- Date: ${meta.date}`);
  L.push(`- Machine: ${meta.machine}`);
  L.push(
    `- Load average (1 min) at start / end: ${meta.loadStart.toFixed(2)} / ${meta.loadEnd.toFixed(2)} ` +
      '(anything near or above the CPU count means other work shared the cores and the timings are noisy).',
  );
  L.push(
    `- Settings: D = ${args.dim}, margin ${args.margin.toFixed(1)}, distance L2 (Euclidean), float32, CPU, ${args.threads} threads per peer ` +
      `(tf.config.threading intra/inter-op, torch.set_num_threads, OMP_NUM_THREADS; semihard setNumThreads). ` +
      `Each (peer, B, classes) runs in its own process capped at ${args.memGiB} GiB of address space ` +
      `(${meta.prlimit ? 'prlimit --as' : 'ulimit -v'}) and ${args.timeout} s of wall time.`,
  );
  L.push(
    '- Timing: forward + backward (the loss and its gradient with respect to the embeddings), one warm-up, then the median of ' +
      'R calls: R = 7 for B ≤ 512, 3 for B = 2048, 1 above.',
  );
  L.push(
    '- Inputs (`make_inputs.py`, seeded numpy): L2-normalised Gaussian embeddings; labels `i % classes`, shuffled ' +
      '(every class holds ⌊B/classes⌋ or ⌈B/classes⌉ examples). All peers read the same bytes.',
  );
  L.push('- Versions:');
  for (const [peer, v] of Object.entries(meta.versions)) L.push(`  - ${peer}: ${v}`);
  L.push('');
  L.push('Peers:');
  L.push('');
  const describe = {
    tfa: '`tfa.losses.TripletSemiHardLoss(margin=1.0)` called as a Keras loss on (labels, embeddings) under `tf.GradientTape` (eager), gradient w.r.t. the embeddings variable.',
    'sentence-transformers':
      '`BatchSemiHardTripletLoss(model=None, margin=1.0)` (default euclidean distance): `compute_loss_from_embeddings([emb], labels)`, what its `forward` runs once the model has produced the embeddings; `loss.backward()`. (Releases up to 6.1.0 ship the O(B³) port of TF-Addons instead: the B×B matrix `.repeat([B, 1])`; 6.2.0 sorts each row of negatives and binary-searches it.)',
    pml: '`losses.TripletMarginLoss(margin=1.0)` on `miners.TripletMarginMiner(margin=1.0, type_of_triplets="semihard")`; `loss.backward()`. **Different semantics**: it averages over every semi-hard (a, p, n), not one negative per (a, p), so its loss is not comparable.',
    semihard: '`tripletSemiHardLoss(embeddings, labels, { dim: 128, margin: 1.0, distance: "L2", device: "cpu" })`: loss and gradient in one call.',
    'semihard-cpp':
      '`semihard::core::triplet_semihard_loss(x, labels, 1.0)` then `backward()` on a LibTorch tensor that requires grad, from C++ (`native/tools/peer_runner.cc`, no Node): the same native code without the binding and the typed-array copies.',
  };
  for (const p of peers) {
    const note = meta.notes[p] ? ` Algorithm: ${meta.notes[p]}.` : '';
    L.push(`- **${p}**: ${describe[p]}${note}`);
  }
  L.push('');
  L.push(
    'Cells: median ms; peak MiB = peak RSS of the whole process (getrusage ru_maxrss / process.resourceUsage().maxRSS), ' +
      'runtime included. ' +
      `RSS after start-up and input loading, before the first call, at the smallest B: ${
        Object.entries(meta.baseline)
          .map(([p, v]) => `${p} ${fmtMiB(v)} MiB`)
          .join(', ') || 'n/a'
      }. ` +
      '`OOM` = failed to allocate under the cap (`N*` = the peak RSS it had reached when the allocation failed), ' +
      '`timeout` = killed at the wall-time cap, `(… at B)` = not run because it already failed at a smaller B. ' +
      'Ratio = peer ms / semihard ms (higher = semihard faster).',
  );
  for (const c of args.classes) {
    L.push('');
    L.push(`## ${c} classes`);
    L.push('');
    const head = ['B'];
    for (const p of peers) head.push(`${p} ms`, `${p} peak MiB`);
    if (peers.includes('semihard')) for (const p of others) head.push(`ratio ${p}/semihard`);
    L.push(`| ${head.join(' | ')} |`);
    L.push(`|${head.map(() => '---:').join('|')}|`);
    for (const B of args.sizes) {
      const row = [String(B)];
      for (const p of peers) {
        const r = find(p, B, c);
        row.push(cell(r, 'ms'), cell(r, 'mib'));
      }
      if (peers.includes('semihard')) {
        const s = find('semihard', B, c);
        for (const p of others) {
          const r = find(p, B, c);
          const ok = (x) => x && !x.error && !x.skipped && x.median_ms > 0;
          row.push(ok(r) && ok(s) ? `${(r.median_ms / s.median_ms).toFixed(1)}×` : '');
        }
      }
      L.push(`| ${row.join(' | ')} |`);
    }
  }
  L.push('');
  L.push('## Loss agreement');
  L.push('');
  const same = SAME_SEMANTICS.filter((p) => peers.includes(p));
  L.push(
    `${same.join(', ')} implement the same loss (TF-Addons' semantics) and should agree to about 1e-5 in float32; ` +
      'max |Δ| is taken over those that ran. pml is shown for reference only (†: different semantics by design, not part of max |Δ|).',
  );
  L.push('');
  const head = ['classes', 'B', ...same.map((p) => `${p} loss`), 'max |Δ|'];
  if (peers.includes('pml')) head.push('pml loss †');
  L.push(`| ${head.join(' | ')} |`);
  L.push(`|${head.map(() => '---:').join('|')}|`);
  let worst = 0;
  for (const c of args.classes) {
    for (const B of args.sizes) {
      const row = [String(c), String(B)];
      const vals = [];
      for (const p of same) {
        const r = find(p, B, c);
        if (r && !r.error && !r.skipped && Number.isFinite(r.loss)) {
          row.push(fmtLoss(r.loss));
          vals.push(r.loss);
        } else row.push(r ? (r.skipped ? 'not run' : r.error) : '');
      }
      if (vals.length >= 2) {
        const d = Math.max(...vals) - Math.min(...vals);
        worst = Math.max(worst, d);
        row.push(d.toExponential(1));
      } else row.push('');
      if (peers.includes('pml')) {
        const r = find('pml', B, c);
        row.push(r && !r.error && !r.skipped && Number.isFinite(r.loss) ? fmtLoss(r.loss) : r ? (r.skipped ? 'not run' : r.error) : '');
      }
      L.push(`| ${row.join(' | ')} |`);
    }
  }
  L.push('');
  L.push(`Largest disagreement among ${same.join(', ')}: ${worst.toExponential(1)}.`);
  const failures = results.filter((r) => r.error);
  if (failures.length) {
    L.push('');
    L.push('## Failures');
    L.push('');
    for (const r of failures) L.push(`- ${r.peer}, B = ${r.B}, ${r.classes} classes: ${r.error}${r.message ? ` (${r.message.replace(/\|/g, '/').slice(0, 300)})` : ''}`);
  }
  L.push('');
  L.push('<details><summary>Raw results (JSON lines)</summary>');
  L.push('');
  L.push('```');
  for (const r of results) {
    const { note, version, message, ...rest } = r; // eslint-disable-line no-unused-vars
    L.push(JSON.stringify(rest));
  }
  L.push('```');
  L.push('');
  L.push('</details>');
  L.push('');
  return L.join('\n');
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const command = ['node', 'scripts/bench/peers/bench.js', ...process.argv.slice(2)].join(' ');
  const needsPython = args.peers.some((p) => p !== 'semihard' && p !== 'semihard-cpp');
  if (args.peers.includes('semihard-cpp')) ensureCppRunner();
  if (args.peers.includes('semihard') && !fs.existsSync(path.join(root, 'dist', 'lib', 'index.js'))) {
    throw new Error('dist/lib/index.js is missing: build semihard first (npm run build:ts, npm run build:addon)');
  }
  // make_inputs.py needs only numpy: the peer venv has it.
  ensureVenv(args);
  const prlimit = hasPrlimit();
  const inputs = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-peers-'));
  run(venvPython(args), [
    path.join(here, 'make_inputs.py'),
    inputs,
    '--sizes',
    args.sizes.join(','),
    '--classes',
    args.classes.join(','),
    '--dim',
    String(args.dim),
  ]);

  const versions = {};
  const py = needsPython ? pythonVersions(args) : {};
  if (args.peers.includes('tfa')) versions.tfa = `tensorflow-addons ${py['tensorflow-addons']}, tensorflow-cpu ${py['tensorflow-cpu']}`;
  if (args.peers.includes('sentence-transformers'))
    versions['sentence-transformers'] = `sentence-transformers ${py['sentence-transformers']} (transformers ${py.transformers}), torch ${py.torch}`;
  if (args.peers.includes('pml')) versions.pml = `pytorch-metric-learning ${py['pytorch-metric-learning']}, torch ${py.torch}`;
  if (args.peers.includes('semihard')) versions.semihard = semihardVersion();
  if (args.peers.includes('semihard-cpp')) versions['semihard-cpp'] = `${semihardVersion()} (C++ tensor API)`;
  if (needsPython) versions['python side'] = `Python ${py.python}, numpy ${py.numpy}`;

  const loadStart = os.loadavg()[0];
  const results = [];
  const notes = {};
  const baseline = {};
  const t0 = Date.now();
  try {
    for (const c of args.classes) {
      const failedAt = {};
      for (const B of args.sizes) {
        for (const peer of args.peers) {
          const tag = `${peer} B=${B} classes=${c}`;
          if (args.skip && failedAt[peer]) {
            const f = failedAt[peer];
            results.push({ peer, B, classes: c, skipped: `${f.error} at ${f.B}` });
            log(`[${tag}] skipped: ${f.error} at B=${f.B}`);
            continue;
          }
          log(`[${tag}] running (R=${repeatsFor(B)}, timeout ${args.timeout} s, cap ${args.memGiB} GiB)`);
          const r = runOne(args, peer, path.join(inputs, `B${B}_c${c}`), prlimit);
          r.classes = c;
          r.B = B;
          results.push(r);
          if (r.note && !notes[peer]) notes[peer] = r.note;
          if (r.rss_before_mib && baseline[peer] === undefined) baseline[peer] = r.rss_before_mib;
          if (r.error) {
            if (r.error === 'OOM' || r.error === 'timeout') failedAt[peer] = { error: r.error, B };
            log(`[${tag}] ${r.error}: ${r.message || ''} (${r.wall_s} s)`);
          } else {
            log(`[${tag}] loss ${r.loss}, ${r.median_ms} ms, peak ${r.peak_rss_mib} MiB (${r.wall_s} s)`);
          }
        }
      }
    }
  } finally {
    if (args.keepInputs) log(`inputs kept in ${inputs}`);
    else fs.rmSync(inputs, { recursive: true, force: true });
  }
  log(`all runs: ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const md = markdown(args, results, {
    command,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machine(),
    versions,
    notes,
    baseline,
    prlimit,
    loadStart,
    loadEnd: os.loadavg()[0],
  });
  process.stdout.write(md);
  if (args.out && args.out !== '-') {
    const out = path.resolve(args.out);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, md);
    log(`wrote ${out}`);
  }
}

try {
  main();
} catch (e) {
  log(`bench:peers: ${e.message}`);
  process.exitCode = 1;
}
