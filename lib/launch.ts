// `semihard train --nproc N`: starts N ranks of a command on this machine, as torchrun does:
// each child gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Rank 0's output
// is shown as is; the others' stderr lines are prefixed with their rank. When one rank fails,
// the others are stopped; Ctrl-C (SIGINT) and SIGTERM are passed on to every rank once.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as readline from 'node:readline';
import { rangeError } from './errors';
import { hostName, positiveInteger, tcpPort } from './validate';

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

// Ports outside the kernel's ephemeral range: between the check below and c10d's bind, no
// outgoing connection (the ranks open many) can be handed one of them.
const LISTEN_PORTS = { low: 20000, high: 32767 };

function ephemeralLow(): number {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && low > LISTEN_PORTS.low + 1000 ? low : LISTEN_PORTS.high + 1;
  } catch {
    return LISTEN_PORTS.high + 1; // not Linux: the usual IANA range starts at 49152
  }
}

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port for the rendezvous that is free now and below the ephemeral range, so that only
 * another listener, not a client socket, could take it before rank 0 binds it.
 */
export async function freePort(): Promise<number> {
  const high = Math.min(LISTEN_PORTS.high, ephemeralLow() - 1);
  for (let attempt = 0; attempt < 64; attempt++) {
    const port = LISTEN_PORTS.low + Math.floor(Math.random() * (high - LISTEN_PORTS.low + 1));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free TCP port between ${LISTEN_PORTS.low} and ${high} after 64 tries`);
}

/** Runs the ranks; resolves with the exit code: 0 when all succeeded, else the first failure's. */
export async function launchRanks(options: LaunchOptions): Promise<number> {
  const nproc = positiveInteger(options.nproc, 'nproc');
  if (nproc > 1024) throw rangeError('nproc', 'at most 1024 processes', nproc);
  const masterAddr = hostName(options.masterAddr, 'masterAddr', '127.0.0.1');
  const masterPort = options.masterPort === undefined ? await freePort() : tcpPort(options.masterPort, 'masterPort', 0);
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
        MASTER_ADDR: masterAddr,
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
