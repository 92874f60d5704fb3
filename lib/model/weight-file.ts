// Reading weight files users already have (a torchvision .pth, a .safetensors) into NamedTensors.
// (Being written: the weights-I/O work replaces this placeholder; see issue 13.)
import type { NamedTensor } from './named-tensor';

/** Every tensor of a torchvision `.pth` (zip + pickled state_dict) or a `.safetensors` file. */
export async function readWeightFile(file: string): Promise<NamedTensor[]> {
  throw new Error(`reading weight files is not implemented yet (${file})`);
}
