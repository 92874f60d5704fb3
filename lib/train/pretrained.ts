// A pretrained backbone: a torchvision weight file read (lib/model/weight-file.ts) and loaded
// into a fresh trainer's body, all or nothing; every failure a SemihardError naming the file.
import type { NativeTrainer } from '../../binding';
import { SemihardError } from '../errors';
import { readWeightFile } from '../model/weight-file';
import type { Backbone } from '../enums';

export async function loadPretrained(trainer: NativeTrainer, file: string, backbone: Backbone): Promise<void> {
  let tensors;
  try {
    tensors = await readWeightFile(file);
  } catch (err) {
    if (err instanceof SemihardError && err.message.includes(file)) throw err;
    throw new SemihardError('ERR_SEMIHARD_WEIGHTS', `Weight file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    await trainer.loadBackboneWeights(tensors);
  } catch (err) {
    throw new SemihardError('ERR_SEMIHARD_WEIGHTS', `Weight file ${file} does not fit a torchvision ${backbone}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
