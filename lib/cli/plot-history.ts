// `semihard plot-history`: the training curves recorded in a checkpoint, drawn by plotHistory().
import type { Command } from 'commander';
import { plotHistory } from '../index';

export function addPlotHistoryCommand(program: Command): void {
  program
    .command('plot-history')
    .description('draw the training curves (per epoch, and per step smoothed) of a training checkpoint')
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .option('--out <file>', 'the picture (.png or .svg)', 'history.png')
    .action(async (flags: { checkpoint: string; out: string }) => {
      process.stdout.write(`picture: ${await plotHistory(flags.checkpoint, { out: flags.out })}\n`);
    });
}
