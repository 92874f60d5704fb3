// A trained embedding network loaded from a training checkpoint.
import type { NativeTrainer } from '../binding';
import { createTrainer } from './binding';
import { readCheckpoint } from './checkpoint';
import { SemihardError, rangeErrorWithMessage, typeError } from './errors';
import { DEVICES, type Device } from './enums';
import { nativeTrainerOptions, upgradeConfig, type TrainCheckpointHeader } from './train';
import { oneOf, optionsObject, checkKnownKeys, positiveInteger } from './validate';

export interface Model {
  /** Embedding width. */
  readonly dim: number;
  readonly height: number;
  readonly width: number;
  readonly classNames: string[];
  /** The training checkpoint's header (configuration, history, versions). */
  readonly checkpoint: TrainCheckpointHeader;
  /**
   * Embeds `count` greyscale images (count × height × width, Uint8Array 0..255 or
   * Float32Array 0..1) off the event loop: count × dim float32, each row of unit norm.
   */
  embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
}

class LoadedModel implements Model {
  constructor(
    private readonly trainer: NativeTrainer,
    readonly checkpoint: TrainCheckpointHeader,
  ) {}

  get dim(): number {
    return this.checkpoint.config.model.dim;
  }
  get height(): number {
    return this.checkpoint.dataset.height;
  }
  get width(): number {
    return this.checkpoint.dataset.width;
  }
  get classNames(): string[] {
    return this.checkpoint.dataset.classNames;
  }

  async embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array> {
    if (!(images instanceof Uint8Array) && !(images instanceof Float32Array)) {
      throw typeError('images', 'a Uint8Array or Float32Array', images);
    }
    positiveInteger(count, 'count');
    const expected = count * this.height * this.width;
    if (images.length !== expected) {
      throw rangeErrorWithMessage(
        'images',
        `Expected images.length to be count × ${this.height} × ${this.width} = ${expected} but received ${images.length}`,
      );
    }
    return this.trainer.embed(images, count);
  }
}

/** Loads the model of a training checkpoint (its last state). */
export async function loadModel(checkpoint: string, options?: { device?: Device }): Promise<Model> {
  if (typeof checkpoint !== 'string' || checkpoint.length === 0) throw typeError('checkpoint', 'a file path', checkpoint);
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, ['device'], 'options');
  const device = oneOf(o.device, 'options.device', DEVICES, 'auto');
  const { header, state } = await readCheckpoint<TrainCheckpointHeader>(checkpoint);
  if (header.kind !== 'semihard-train') {
    throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${checkpoint} is not a training checkpoint`);
  }
  const trainer = createTrainer({ ...nativeTrainerOptions(upgradeConfig(header.config)), device });
  await trainer.loadState(state, false);
  return new LoadedModel(trainer, header);
}
