// A trained embedding network loaded from a training checkpoint, for inference: a native
// Embedder (native/core/embedder.h) holding only the network's weights, BatchNorm buffers and
// normalisation, built from the checkpoint's model configuration; no optimiser, no data.
import type { NativeEmbedder } from '../binding';
import { createEmbedder } from './binding';
import { readCheckpoint } from './checkpoint';
import { SemihardError, rangeErrorWithMessage, typeError } from './errors';
import { BACKBONES, DEVICES, isMember, type Device } from './enums';
import { upgradeConfig, type TrainCheckpointHeader } from './train';
import { checkKnownKeys, isPlainObject, oneOf, optionsObject, positiveInteger } from './validate';

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
   * Calls made while another runs wait for it (their images are copied at the call).
   */
  embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
}

class LoadedModel implements Model {
  private pending = 0;
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly embedder: NativeEmbedder,
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
    // The native embedder runs one job at a time: a call made while another runs waits for it,
    // with a copy of its images taken now (the native side copies them only when it starts).
    let run: Promise<Float32Array>;
    if (this.pending === 0) {
      run = this.embedder.embed(images, count);
    } else {
      const copy = images instanceof Float32Array ? new Float32Array(images) : new Uint8Array(images);
      run = this.last.then(() => this.embedder.embed(copy, count));
    }
    this.pending++;
    this.last = run.then(
      () => this.pending--,
      () => this.pending--,
    );
    return run;
  }
}

function notTraining(file: string): SemihardError {
  return new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} is not a training checkpoint`);
}

/**
 * Loads the network of a training checkpoint (its last state) for inference. A file that is
 * missing, unreadable, corrupt, truncated, not a semihard checkpoint or not a training one is
 * refused with a SemihardError of code ERR_SEMIHARD_CHECKPOINT that names it.
 */
export async function loadModel(checkpoint: string, options?: { device?: Device }): Promise<Model> {
  if (typeof checkpoint !== 'string' || checkpoint.length === 0) throw typeError('checkpoint', 'a file path', checkpoint);
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, ['device'], 'options');
  const device = oneOf(o.device, 'options.device', DEVICES, 'auto');
  const { header, state } = await readCheckpoint<TrainCheckpointHeader>(checkpoint);
  if (header.kind !== 'semihard-train' || !isPlainObject(header.config) || !isPlainObject(header.config.model) || !isPlainObject(header.dataset)) {
    throw notTraining(checkpoint);
  }
  const { model } = upgradeConfig(header.config);
  if (!isMember(BACKBONES, model.backbone) || !Number.isSafeInteger(model.dim) || model.dim < 1) {
    throw new SemihardError(
      'ERR_SEMIHARD_CHECKPOINT',
      `Checkpoint ${checkpoint} records a network this semihard cannot build: ${JSON.stringify(header.config.model)}`,
    );
  }
  let embedder: NativeEmbedder;
  try {
    embedder = await createEmbedder({ backbone: model.backbone, dim: model.dim, device }, state);
  } catch (err) {
    // A wrong device is the caller's; anything else is what the file holds.
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${checkpoint} holds no loadable network: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return new LoadedModel(embedder, header);
}
