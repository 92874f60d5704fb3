// Reading weight files users already have (a torchvision .pth, a .safetensors) into
// NamedTensors. The format is told by the file's first bytes, never by its extension.
import * as fs from 'node:fs';
import { binding } from '../binding';
import { SemihardError, typeError } from '../errors';
import { MAX_SAFETENSORS_HEADER_BYTES, readSafetensors } from './safetensors';
import type { NamedTensor } from './named-tensor';

export type WeightFileFormat = 'pth' | 'safetensors';

const NEITHER = 'is neither a PyTorch .pth (zip) nor a .safetensors file';

/** The format of `file` from its first bytes; a SemihardError (ERR_SEMIHARD_WEIGHTS) naming it when it has none. */
export async function weightFileFormat(file: string): Promise<WeightFileFormat> {
  const head = new Uint8Array(16);
  let size: number;
  let read: number;
  try {
    const handle = await fs.promises.open(file, 'r');
    try {
      size = (await handle.stat()).size;
      ({ bytesRead: read } = await handle.read(head, 0, head.length, 0));
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new SemihardError('ERR_SEMIHARD_WEIGHTS', `${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (size === 0) throw new SemihardError('ERR_SEMIHARD_WEIGHTS', `${file} is empty: it ${NEITHER}`);
  // A zip's local file header: torch.save's format since PyTorch 1.6.
  if (read >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth';
  // safetensors: a u64 header length, then the header's JSON object.
  if (read >= 9 && head[8] === 0x7b) {
    const length = Buffer.from(head.buffer, 0, 8).readBigUInt64LE(0);
    if (length >= 2n && length <= BigInt(MAX_SAFETENSORS_HEADER_BYTES)) return 'safetensors';
  }
  // A bare pickle (PROTO 2..5): torch.save's legacy format, before PyTorch 1.6.
  if (read >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) {
    throw new SemihardError(
      'ERR_SEMIHARD_WEIGHTS',
      `${file} is a bare pickle (torch.save's legacy format from before PyTorch 1.6), which is not read; ` +
        're-save it with a current PyTorch: torch.save(torch.load(f, weights_only=True), "new.pth")',
    );
  }
  throw new SemihardError('ERR_SEMIHARD_WEIGHTS', `${file} ${NEITHER}`);
}

/**
 * Every tensor of a torchvision `.pth` (torch.save's zip with a pickled state_dict, also under
 * a 'state_dict' or 'model' key) or of a `.safetensors` file, in the file's order. The .pth's
 * pickle is read by an allowlist: any other global (os.system, builtins.eval, …) is refused by
 * name and nothing in the file is ever executed. Errors are SemihardErrors with code
 * ERR_SEMIHARD_WEIGHTS naming the file; nothing is returned halfway.
 */
export async function readWeightFile(file: string): Promise<NamedTensor[]> {
  if (typeof file !== 'string' || file === '') throw typeError('file', 'a path string', file);
  if ((await weightFileFormat(file)) === 'safetensors') return (await readSafetensors(file)).tensors;
  try {
    return await binding.readTorchFile(file);
  } catch (err) {
    if (!(err instanceof SemihardError) || (err.code !== 'ERR_SEMIHARD_NATIVE' && err.code !== 'ERR_SEMIHARD_TORCH')) throw err;
    throw new SemihardError('ERR_SEMIHARD_WEIGHTS', err.message, { cause: err });
  }
}
