// launchRanks (lib/launch.ts) with tiny node scripts as the ranks: its checks, the variables
// each rank gets, the environment it passes on, the ranks' prefixed stderr, and how one
// rank's failure ends the run. No training: the ranks only report and exit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { launchRanks, type LaunchOptions } from '../lib';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-launch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// node rank.js <dir> <mode>: writes what it was given to <dir>/rank-<RANK>.json, then
//  - report: ranks other than 0 write two stderr lines; all exit 0;
//  - fail:   rank 1 waits until ranks 0 and 2 have started, then exits 3; ranks 0 and 2 wait
//            a minute (writing finished-<RANK> if they ever get there); rank 2 answers SIGTERM
//            by writing sigterm-2 and exiting 5.
const script = path.join(tmp, 'rank.js');
fs.writeFileSync(
  script,
  `const fs = require('node:fs');
const path = require('node:path');
const [dir, mode] = process.argv.slice(2);
const rank = Number(process.env.RANK);
const file = (name) => path.join(dir, name);
const pick = (names) => Object.fromEntries(names.map((n) => [n, process.env[n] ?? null]));
// Before the report exists: once it does, rank 1 may fail and the launcher send SIGTERM.
if (mode === 'fail' && rank === 2) {
  process.on('SIGTERM', () => {
    fs.writeFileSync(file('sigterm-2'), '');
    process.exit(5);
  });
}
// Written whole or not at all (a rename): a rank stopped meanwhile leaves no half a report.
fs.writeFileSync(file('.rank-' + rank), JSON.stringify({
  pid: process.pid,
  argv: process.argv.slice(2),
  env: pick(['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'SEMIHARD_TEST_GIVEN', 'SEMIHARD_TEST_PARENT_ONLY']),
}));
fs.renameSync(file('.rank-' + rank), file('rank-' + rank + '.json'));
if (mode === 'report') {
  if (rank !== 0) process.stderr.write('first line of ' + rank + '\\nsecond line of ' + rank + '\\n');
} else if (mode === 'fail') {
  if (rank === 1) {
    const wait = setInterval(() => {
      if (fs.existsSync(file('rank-0.json')) && fs.existsSync(file('rank-2.json'))) {
        clearInterval(wait);
        process.exit(3);
      }
    }, 20);
  } else {
    setTimeout(() => fs.writeFileSync(file('finished-' + rank), ''), 60000);
  }
}
`,
);

let runs = 0;
function runDir(): string {
  const dir = path.join(tmp, `run-${runs++}`);
  fs.mkdirSync(dir);
  return dir;
}

interface RankReport {
  pid: number;
  argv: string[];
  env: Record<string, string | null>;
}
function report(dir: string, rank: number): RankReport {
  return JSON.parse(fs.readFileSync(path.join(dir, `rank-${rank}.json`), 'utf8')) as RankReport;
}

/** A stream that keeps what is written to it. */
function collector(): { stream: NodeJS.WritableStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('launchRanks checks its options before starting anything', () => {
  const cases: [Partial<LaunchOptions>, string, string, string][] = [
    [{ nproc: 0 }, 'RangeError', 'nproc', 'Expected a positive integer for nproc but received 0 of type number'],
    [{ nproc: 1.5 }, 'RangeError', 'nproc', 'Expected a positive integer for nproc but received 1.5 of type number'],
    [{ nproc: NaN }, 'RangeError', 'nproc', 'Expected a positive integer for nproc but received NaN of type number'],
    [{ nproc: '2' as unknown as number }, 'TypeError', 'nproc', "Expected a positive integer for nproc but received '2' of type string"],
    [{ nproc: 1025 }, 'RangeError', 'nproc', 'Expected at most 1024 processes for nproc but received 1025 of type number'],
    [{ masterAddr: '' }, 'RangeError', 'masterAddr', "Expected a host name or address for masterAddr but received '' of type string"],
    [{ masterAddr: 127 as unknown as string }, 'TypeError', 'masterAddr', 'Expected a host name or address for masterAddr but received 127 of type number'],
    [{ masterPort: 0 }, 'RangeError', 'masterPort', 'Expected a positive integer for masterPort but received 0 of type number'],
    [{ masterPort: 65536 }, 'RangeError', 'masterPort', 'Expected a TCP port (1..65535) for masterPort but received 65536 of type number'],
    [{ masterPort: '29500' as unknown as number }, 'TypeError', 'masterPort', "Expected a positive integer for masterPort but received '29500' of type string"],
  ];
  it.each(cases)('%j: %s naming %s', async (bad, name, argument, message) => {
    const dir = runDir();
    await expect(launchRanks({ nproc: 2, script, args: [dir, 'report'], ...bad })).rejects.toMatchObject({ name, argument, message });
    expect(fs.readdirSync(dir)).toEqual([]); // no rank ran (each writes a file first)
  });
});

describe('launchRanks runs the ranks', () => {
  it("gives each rank RANK, WORLD_SIZE, LOCAL_RANK, the script's arguments and the given MASTER_ADDR / MASTER_PORT", async () => {
    const dir = runDir();
    const code = await launchRanks({ nproc: 3, script, args: [dir, 'report'], masterAddr: 'localhost', masterPort: 23456, stderr: collector().stream });
    expect(code).toBe(0);
    const pids = new Set<number>();
    for (let rank = 0; rank < 3; rank++) {
      const r = report(dir, rank);
      expect(r.argv).toEqual([dir, 'report']);
      expect(r.env).toMatchObject({ RANK: String(rank), WORLD_SIZE: '3', LOCAL_RANK: String(rank), MASTER_ADDR: 'localhost', MASTER_PORT: '23456' });
      pids.add(r.pid);
    }
    expect(pids.size).toBe(3); // three processes, not one
  });

  it('defaults MASTER_ADDR to 127.0.0.1 and MASTER_PORT to one free port below the ephemeral range, the same for every rank', async () => {
    const dir = runDir();
    expect(await launchRanks({ nproc: 2, script, args: [dir, 'report'], stderr: collector().stream })).toBe(0);
    const [a, b] = [report(dir, 0).env, report(dir, 1).env];
    expect(a.MASTER_ADDR).toBe('127.0.0.1');
    expect(b.MASTER_PORT).toBe(a.MASTER_PORT);
    const port = Number(a.MASTER_PORT);
    expect(Number.isInteger(port)).toBe(true);
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThanOrEqual(32767);
  });

  it("passes the given env (instead of this process's), under the launcher's own variables", async () => {
    process.env.SEMIHARD_TEST_PARENT_ONLY = 'parent';
    try {
      const given = runDir();
      const env = { PATH: process.env.PATH, SEMIHARD_TEST_GIVEN: 'given', RANK: '99', WORLD_SIZE: '99' };
      expect(await launchRanks({ nproc: 2, script, args: [given, 'report'], env, stderr: collector().stream })).toBe(0);
      for (const rank of [0, 1]) {
        expect(report(given, rank).env).toMatchObject({
          SEMIHARD_TEST_GIVEN: 'given',
          SEMIHARD_TEST_PARENT_ONLY: null,
          RANK: String(rank),
          WORLD_SIZE: '2',
        });
      }
      const inherited = runDir();
      expect(await launchRanks({ nproc: 2, script, args: [inherited, 'report'], stderr: collector().stream })).toBe(0);
      expect(report(inherited, 1).env).toMatchObject({ SEMIHARD_TEST_GIVEN: null, SEMIHARD_TEST_PARENT_ONLY: 'parent' });
    } finally {
      delete process.env.SEMIHARD_TEST_PARENT_ONLY;
    }
  });

  it("writes the other ranks' stderr lines, each prefixed with its rank, to the given stream", async () => {
    const dir = runDir();
    const out = collector();
    expect(await launchRanks({ nproc: 3, script, args: [dir, 'report'], stderr: out.stream })).toBe(0);
    // Lines of one rank keep their order; the ranks interleave as they please.
    const lines = out.text().split('\n').filter((l) => l.length > 0);
    expect([...lines].sort()).toEqual(['[rank 1] first line of 1', '[rank 1] second line of 1', '[rank 2] first line of 2', '[rank 2] second line of 2']);
    for (const rank of [1, 2]) {
      const own = lines.filter((l) => l.startsWith(`[rank ${rank}]`));
      expect(own).toEqual([`[rank ${rank}] first line of ${rank}`, `[rank ${rank}] second line of ${rank}`]);
    }
  });

  it("resolves with the first failing rank's exit code and stops the others", async () => {
    const dir = runDir();
    const code = await launchRanks({ nproc: 3, script, args: [dir, 'fail'], stderr: collector().stream });
    // Rank 1 failed first (3); rank 2, told to stop, exited 5 after it: the first failure counts.
    expect(code).toBe(3);
    expect(fs.existsSync(path.join(dir, 'sigterm-2'))).toBe(true);
    // Neither waiting rank ran its minute out, and none is still alive.
    expect(fs.existsSync(path.join(dir, 'finished-0'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'finished-2'))).toBe(false);
    for (const rank of [0, 1, 2]) {
      expect(() => process.kill(report(dir, rank).pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    }
  });
});
