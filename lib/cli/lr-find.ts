// `semihard lr-find`: the learning-rate range test (lrFind) for the frozen or the unfrozen
// phase, its suggestion printed and its curve drawn. Values go to lrFind() untouched.
import { Option, type Command } from 'commander';
import { BACKBONES, DEVICES, FREEZE_MODES, POOLS, PRECISIONS, STEMS, lrFind, type Backbone, type Device, type Freeze, type Pool, type Precision, type Stem } from '../index';
import { dataSource, given, number } from './parse';
import { modelFromFlags } from './train';

/** The flags as commander hands them over, typed as lrFind() declares them; lrFind() checks them. */
export interface LrFindFlags {
  data: string;
  backbone?: Backbone;
  dim?: number;
  stem?: Stem;
  pretrained?: string;
  pool?: Pool;
  dropout?: number;
  /** false with --no-head-batch-norm. */
  headBatchNorm?: boolean;
  classes?: number;
  perClass?: number;
  freeze?: Freeze;
  startLr?: number;
  endLr?: number;
  steps?: number;
  seed?: number;
  device?: Device;
  precision?: Precision;
  threads?: number;
  out: string;
  json?: boolean;
}

async function runLrFind(flags: LrFindFlags): Promise<number> {
  if (!flags.json) process.stderr.write('learning-rate range test...\n');
  const r = await lrFind({
    data: dataSource(flags.data),
    model: modelFromFlags(flags),
    batch: given({ classes: flags.classes, perClass: flags.perClass }),
    freeze: flags.freeze,
    startLr: flags.startLr,
    endLr: flags.endLr,
    steps: flags.steps,
    seed: flags.seed,
    device: flags.device,
    precision: flags.precision,
    threads: flags.threads,
    out: flags.out,
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } else {
    process.stdout.write(
      `suggested learning rate: ${r.suggestion.toExponential(2)} (the middle of the smoothed loss's valley)\n` +
        `${r.lrs.length} steps${r.diverged ? ', stopped when the loss diverged' : ''}\npicture: ${r.plot}\n`,
    );
  }
  return 0;
}

export function addLrFindCommand(program: Command): void {
  program
    .command('lr-find')
    .description("learning-rate range test (fastai's lr_find) for the frozen or the unfrozen phase, with a picture")
    .option('--data <source>', "'mnist', 'fashion-mnist' or a folder of MNIST-format IDX files", 'mnist')
    .addOption(new Option('--backbone <name>', 'CNN backbone').choices(BACKBONES))
    .option('--dim <n>', 'embedding width', number)
    .option('--pretrained <file>', "ResNets: start the backbone from a torchvision weight file (.pth or .safetensors)")
    .addOption(new Option('--stem <kind>', "ResNets: torchvision's stem or a small-image one (default: imagenet with --pretrained or images ≥ 64 px, else small)").choices(STEMS))
    .addOption(new Option('--pool <kind>', "head: [average, max] (concat) or average (avg)").choices(POOLS))
    .option('--dropout <p>', 'head: dropout before the linear layer, in [0, 1)', number)
    .option('--no-head-batch-norm', 'head: no BatchNorm before the linear layer')
    .option('--classes <P>', 'classes per batch', number)
    .option('--per-class <K>', 'samples per class per batch', number)
    .addOption(new Option('--freeze <what>', 'backbone: phase 1 (head + BatchNorm learn); none: phase 2').choices(FREEZE_MODES))
    .option('--start-lr <lr>', 'first learning rate', number)
    .option('--end-lr <lr>', 'last learning rate', number)
    .option('--steps <n>', 'steps at most', number)
    .option('--seed <n>', 'seed', number)
    .addOption(new Option('--device <d>', 'where to compute (auto: CUDA when available)').choices(DEVICES))
    .addOption(new Option('--precision <p>', "the network's arithmetic (as train's)").choices(PRECISIONS))
    .option('--threads <n>', 'CPU threads', number)
    .option('--out <file>', 'the picture (.png or .svg)', 'lr-find.png')
    .option('--json', 'print the curve and suggestion as JSON')
    .addHelpText('after', '\nA setting not given takes the default of lrFind() (README: Evaluation and pictures).')
    .action(async (flags: LrFindFlags) => {
      process.exitCode = await runLrFind(flags);
    });
}
