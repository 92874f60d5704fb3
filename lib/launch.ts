// `semihard train --nproc N`: starts N ranks of a command on this machine, as torchrun does:
// each child gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Rank 0's output
// is shown as is; the others' stderr lines are prefixed with their rank. When one rank fails,
// the others are stopped; Ctrl-C (SIGINT) and SIGTERM are passed on to every rank once.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as readline from 'node:readline';
import { rangeError } from './errors';
import { positiveInteger } from './validate';

export interface LaunchOptions {
  nproc: number;
  /** The script every rank runs (node <script> <args>). */
  script: string;
  args: string[];
  masterAddr?: string;
  /** Default: a free port on this machine. */
  masterPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Where the other ranks' prefixed stderr goes (default process.stderr). */
  stderr?: NodeJS.WritableStream;
}

/** A TCP port that was free a moment ago (the rendezvous binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs the ranks; resolves with the exit code: 0 when all succeeded, else the first failure's. */
export async function launchRanks(options: LaunchOptions): Promise<number> {
  const nproc = positiveInteger(options.nproc, 'nproc');
  if (nproc > 1024) throw rangeError('nproc', 'at most 1024 processes', nproc);
  const masterPort = options.masterPort ?? (await freePort());
  const stderr = options.stderr ?? process.stderr;
  const children: ChildProcess[] = [];
  let failure: number | null = null;
  const stopOthers = (signal: NodeJS.Signals): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  const forward = (signal: NodeJS.Signals) => () => stopOthers(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const onExit = (): void => stopOthers('SIGKILL');
  process.on('exit', onExit);
  try {
    const exits = Array.from({ length: nproc }, (_, rank) => {
      const env = {
        ...(options.env ?? process.env),
        RANK: String(rank),
        WORLD_SIZE: String(nproc),
        LOCAL_RANK: String(rank),
        MASTER_ADDR: options.masterAddr ?? '127.0.0.1',
        MASTER_PORT: String(masterPort),
      };
      // Own process group: a terminal's Ctrl-C reaches the launcher only, which passes it on once.
      const child = spawn(process.execPath, [options.script, ...options.args], {
        env,
        detached: true,
        stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      if (child.stderr) {
        readline.createInterface({ input: child.stderr }).on('line', (line) => stderr.write(`[rank ${rank}] ${line}\n`));
      }
      return new Promise<void>((resolve) => {
        child.on('exit', (code, signal) => {
          const status = code ?? (signal === 'SIGINT' ? 130 : 1);
          if (status !== 0 && failure === null) {
            failure = status;
            // A failed rank leaves the others waiting on collectives: stop them now.
            if (status !== 130) stopOthers('SIGTERM');
          }
          resolve();
        });
        child.on('error', (err) => {
          stderr.write(`[rank ${rank}] could not start: ${err.message}\n`);
          if (failure === null) failure = 1;
          stopOthers('SIGTERM');
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
    process.removeListener('exit', onExit);
  }
  return failure ?? 0;
}
