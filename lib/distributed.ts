// Multi-process training options: which process this is in a group (rank, world size),
// where the group meets (the rank-0 host's address and port), the c10d backend, and how
// long a collective may wait for a silent peer. From train({ distributed }) or from the
// variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT).
import { COLLECTIVE_BACKENDS, type CollectiveBackend } from './enums';
import { rangeError, typeError } from './errors';
import { checkKnownKeys, hostName, isPlainObject, nonNegativeInteger, oneOf, positiveInteger, tcpPort } from './validate';

export type { CollectiveBackend } from './enums';

export interface DistributedConfig {
  rank: number;
  worldSize: number;
  /** Rank 0's host (default 127.0.0.1). */
  masterAddr?: string;
  /** The rendezvous port on rank 0's host (default 29500). */
  masterPort?: number;
  /** 'gloo' (CPU), 'nccl' (each rank its own GPU) or 'auto' (NCCL on CUDA, else Gloo; default). */
  backend?: CollectiveBackend;
  /** This rank's GPU when the device is CUDA (default: LOCAL_RANK's meaning, = rank on one machine). */
  localRank?: number;
  /** How long one collective waits for a silent peer before failing (default 60 000 ms). */
  timeoutMs?: number;
  /** How long the rendezvous waits for all ranks to join (default 300 000 ms). */
  connectTimeoutMs?: number;
}

export interface ResolvedDistributed {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  backend: CollectiveBackend;
  localRank: number;
  timeoutMs: number;
  connectTimeoutMs: number;
}

const DEFAULT_MASTER_PORT = 29500;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 300_000;

const KEYS = ['rank', 'worldSize', 'masterAddr', 'masterPort', 'backend', 'localRank', 'timeoutMs', 'connectTimeoutMs'] as const;

export function resolveDistributed(value: unknown, argument = 'config.distributed'): ResolvedDistributed | null {
  if (value === undefined || value === null) return null;
  if (value === 'env') {
    const fromEnv = distributedFromEnv(process.env);
    if (!fromEnv) throw rangeError(argument, "'env' with WORLD_SIZE and RANK set in the environment", value);
    return fromEnv;
  }
  if (!isPlainObject(value)) throw typeError(argument, "an object { rank, worldSize, ... } or 'env'", value);
  checkKnownKeys(value, KEYS, argument);
  const worldSize = positiveInteger(value.worldSize, `${argument}.worldSize`);
  const rank = nonNegativeInteger(value.rank, `${argument}.rank`, NaN);
  if (Number.isNaN(rank)) throw typeError(`${argument}.rank`, 'a non-negative integer', value.rank);
  if (rank >= worldSize) throw rangeError(`${argument}.rank`, `an integer below worldSize (${worldSize})`, rank);
  const masterAddr = hostName(value.masterAddr, `${argument}.masterAddr`, '127.0.0.1');
  const masterPort = tcpPort(value.masterPort, `${argument}.masterPort`, DEFAULT_MASTER_PORT);
  return {
    rank,
    worldSize,
    masterAddr,
    masterPort,
    backend: oneOf(value.backend, `${argument}.backend`, COLLECTIVE_BACKENDS, 'auto'),
    localRank: nonNegativeInteger(value.localRank, `${argument}.localRank`, rank),
    timeoutMs: value.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : positiveInteger(value.timeoutMs, `${argument}.timeoutMs`),
    connectTimeoutMs:
      value.connectTimeoutMs === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : positiveInteger(value.connectTimeoutMs, `${argument}.connectTimeoutMs`),
  };
}

function envInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw rangeError(name, 'a non-negative integer in the environment variable', raw);
  return n;
}

/** torchrun's variables, or null when WORLD_SIZE is not set. SEMIHARD_DIST_BACKEND and SEMIHARD_DIST_TIMEOUT_MS tune the rest. */
export function distributedFromEnv(env: NodeJS.ProcessEnv): ResolvedDistributed | null {
  const worldSize = envInteger(env, 'WORLD_SIZE');
  if (worldSize === undefined) return null;
  const rank = envInteger(env, 'RANK');
  if (rank === undefined) throw rangeError('RANK', 'set alongside WORLD_SIZE', undefined);
  return resolveDistributed(
    {
      rank,
      worldSize,
      masterAddr: env.MASTER_ADDR || undefined,
      masterPort: envInteger(env, 'MASTER_PORT'),
      localRank: envInteger(env, 'LOCAL_RANK'),
      backend: env.SEMIHARD_DIST_BACKEND || undefined,
      timeoutMs: envInteger(env, 'SEMIHARD_DIST_TIMEOUT_MS'),
    },
    'environment (RANK, WORLD_SIZE, ...)',
  );
}
