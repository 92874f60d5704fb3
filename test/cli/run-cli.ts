// Runs the `semihard` command as a user does (node dist/lib/cli.js, built by `npm run build:ts`),
// with a time limit well below jest's per-test timeout so that a hang fails with a message.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'lib', 'cli.js');

/** One command's limit: half of jest's 120 s, so a hang is reported as such, not as jest's timeout. */
export const CLI_TIMEOUT_MS = 60_000;

/** jest's limit for a test that runs `commands` commands one after the other. */
export function testTimeout(commands: number): number {
  return commands * CLI_TIMEOUT_MS + 30_000;
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

function describeRun(args: string[], stdout: string, stderr: string): string {
  return `semihard ${args.join(' ')}\n--- stdout\n${stdout.slice(-2000)}\n--- stderr\n${stderr.slice(-2000)}`;
}

export function runCli(args: string[], options: { cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: CLI_TIMEOUT_MS, cwd: options.cwd });
  if (r.error || r.status === null) {
    const why = r.error ? r.error.message : `killed by ${r.signal}`;
    throw new Error(`did not finish within ${CLI_TIMEOUT_MS / 1000} s (${why}): ${describeRun(args, r.stdout ?? '', r.stderr ?? '')}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts the command, calls `onStderr` with all stderr so far whenever more arrives (it may
 * signal the child), and resolves when it exits; a run past the limit is killed and rejected.
 */
export function runCliAsync(args: string[], onStderr: (stderr: string, child: { kill(signal: NodeJS.Signals): void }) => void): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    onStderr(stderr, child);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not finish within ${CLI_TIMEOUT_MS / 1000} s: ${describeRun(args, stdout, stderr)}`));
    }, CLI_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === null) reject(new Error(`killed by ${signal}: ${describeRun(args, stdout, stderr)}`));
      else resolve({ status: code, stdout, stderr });
    });
  });
}

/** stderr may carry LibTorch's or Node's notices, but nothing that reports a failure. */
export function expectNoErrorText(stderr: string): void {
  expect(stderr).not.toMatch(/semihard: (?!LibTorch )|\berror\b|exception|\bfail(s|ed|ure)?\b/i);
}
