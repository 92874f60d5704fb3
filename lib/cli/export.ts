// `semihard export`: a training checkpoint's network as a .safetensors file for PyTorch
// (torchvision's keys for the backbone, head.* for the head; the description in its metadata
// and in a JSON file next to it). The README shows the Python that loads it.
import { Option, type Command } from 'commander';
import { DEVICES, exportModel, type Device } from '../index';

export interface ExportFlags {
  checkpoint: string;
  out: string;
  device?: Device;
}

async function runExport(flags: ExportFlags): Promise<number> {
  const r = await exportModel(flags.checkpoint, flags.out, { device: flags.device });
  const d = r.description;
  const network = `${d.backbone}${d.stem ? ` (${d.stem} stem)` : ''}, ${d.pool} pool, ${d.features} → ${d.dim}`;
  process.stdout.write(`wrote ${r.file}: ${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB; ${network}\nwrote ${r.json}\n`);
  return 0;
}

export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description("write a trained network as .safetensors for PyTorch: torchvision's keys for the backbone, head.* for the head")
    .requiredOption('--checkpoint <file>', 'a training checkpoint (last.ckpt)')
    .requiredOption('--out <file>', 'the .safetensors file to write (its description goes to the .json next to it)')
    .addOption(new Option('--device <d>', 'where to load the network (auto: CUDA when available)').choices(DEVICES))
    .addHelpText('after', '\nLoad it in Python with safetensors.torch.load_file; the README shows the lines that rebuild the network from torchvision.')
    .action(async (flags: ExportFlags) => {
      process.exitCode = await runExport(flags);
    });
}
