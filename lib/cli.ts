#!/usr/bin/env node
// The `semihard` command line: builds the commander program from the commands in cli/ and
// turns failures into exit codes. The commands drive the library only through the public API
// (./index), which owns every setting's validation, and write their own outputs with ./files'
// atomic write; the command line only parses strings into numbers and offers the API's
// enumerations (lib/enums.ts, through ./index) as commander's choices.
//
// Exit codes: 0 done; 1 a failure (missing data, a corrupt checkpoint, ...); 2 a bad value
// (the API's TypeError/RangeError, naming the setting) or a malformed command line;
// 130 interrupted by Ctrl-C (train writes a checkpoint first).
//
// Libraries: commander (argument parsing, help, errors for unknown flags) and cli-progress
// (a maintained, dependency-light progress bar that redraws in place and degrades to no
// output when stderr is not a terminal).
import * as os from 'node:os';
import { Command, CommanderError } from 'commander';
import { addEmbedCommand } from './cli/embed';
import { addEvalCommand } from './cli/eval';
import { addExportCommand } from './cli/export';
import { addLrFindCommand } from './cli/lr-find';
import { addPlotHistoryCommand } from './cli/plot-history';
import { addReportCommand } from './cli/report';
import { addTrainCommand } from './cli/train';

// libuv's thread pool runs sharp's decodes and the addon's jobs (a training run holds one of
// its threads while it lasts): unless the user chose a size, make room for a decoder per core
// besides them. libuv reads this on its first use, which comes later than this line.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism() + 2));

export function buildProgram(): Command {
  const program = new Command('semihard')
    .description('Semi-hard triplet loss embeddings (TensorFlow Addons semantics) on LibTorch')
    .showHelpAfterError()
    // Commander's own errors (already printed) are thrown to main() instead of exiting; the commands inherit this.
    .exitOverride();
  addTrainCommand(program);
  addLrFindCommand(program);
  addPlotHistoryCommand(program);
  addEvalCommand(program);
  addEmbedCommand(program);
  addExportCommand(program);
  addReportCommand(program);
  return program;
}

/** The exit code of a failure; prints its message unless commander already did. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  const e = err as Error;
  process.stderr.write(`semihard: ${e?.message ?? String(err)}\n`);
  return e?.name === 'TypeError' || e?.name === 'RangeError' ? 2 : 1;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeOf(err);
  }
}

if (require.main === module) void main(process.argv);
