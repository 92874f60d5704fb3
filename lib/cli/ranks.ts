// `semihard train` in several processes: `--nproc N` starts N ranks of the same command
// (launchRanks), and a rank (started so, or by torchrun) reads its place in the group from
// torchrun's variables, with the flags' overrides. The values go to the API untouched.
import * as os from 'node:os';
import type { Command } from 'commander';
import { distributedFromEnv, launchRanks, type CollectiveBackend, type ResolvedDistributed } from '../index';
import { given } from './parse';

export interface DistributedFlags {
  nproc?: number;
  masterAddr?: string;
  masterPort?: number;
  distBackend?: CollectiveBackend;
  distTimeout?: number;
  threads?: number;
}

// argv without --nproc (the ranks run the same command alone), with --threads split among them.
function rankArgs(argv: string[], nproc: number, threads: number | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--nproc=')) continue;
    out.push(argv[i]);
  }
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  if (threads === undefined) out.push('--threads', String(Math.max(1, Math.floor(cores / nproc))));
  return out;
}

/**
 * With --nproc other than 1: starts the ranks and resolves with their exit code
 * (launchRanks checks the count). Otherwise null: this process trains.
 */
export async function launchFromFlags(flags: DistributedFlags, command: Command): Promise<number | null> {
  if (flags.nproc === undefined || flags.nproc === 1) return null;
  if (process.env.WORLD_SIZE) command.error('error: --nproc inside a rank (WORLD_SIZE is set): start the ranks one way only', { exitCode: 2 });
  return launchRanks({
    nproc: flags.nproc,
    script: process.argv[1],
    args: rankArgs(process.argv.slice(2), flags.nproc, flags.threads),
    masterAddr: flags.masterAddr,
    masterPort: flags.masterPort,
  });
}

/** This rank's place in the group (torchrun's variables and the flags), or undefined in a single process. */
export function distributedFromFlags(flags: DistributedFlags, command: Command): ResolvedDistributed | undefined {
  const env = distributedFromEnv(process.env);
  if (!env) {
    const stray = Object.keys(given({ '--master-addr': flags.masterAddr, '--master-port': flags.masterPort, '--dist-backend': flags.distBackend, '--dist-timeout': flags.distTimeout }) ?? {});
    if (stray.length > 0) {
      command.error(`error: ${stray.join(', ')} only apply to training in several processes (--nproc, or torchrun's RANK and WORLD_SIZE)`, { exitCode: 2 });
    }
    return undefined;
  }
  return { ...env, ...given({ backend: flags.distBackend, timeoutMs: flags.distTimeout }) };
}
