// The small two-phase run from a torchvision resnet18 .pth that the pretrained-weights tests
// train: 4 × 4 batches of 1-channel digits, a frozen phase at 1e-2, an unfrozen one at 1e-3
// with the backbone at a tenth of it.
import type { TrainConfig } from '../../lib';

export function pretrainedRunConfig(run: { dataDir: string; pth: string; checkpointDir: string; seed: number }, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    data: { idxDir: run.dataDir },
    model: { backbone: 'resnet18', dim: 16, pretrained: run.pth },
    batch: { classes: 4, perClass: 4 },
    phases: [
      { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
      { epochs: 1, maxLr: 1e-3, freeze: 'none', backboneLrFactor: 0.1 },
    ],
    seed: run.seed,
    device: 'cpu',
    threads: 2,
    checkpointDir: run.checkpointDir,
    ...extra,
  };
}
