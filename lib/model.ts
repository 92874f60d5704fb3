// A trained embedding network loaded from a training checkpoint, for inference: a native
// Embedder (native/core/embedder.h) holding only the network's weights, BatchNorm buffers and
// normalisation, built from the checkpoint's model configuration; no optimiser, no data.
import type { NativeEmbedder, NativeImageGeometry } from '../binding';
import { createEmbedder } from './binding';
import { readCheckpoint } from './checkpoint';
import { decodeImages, type DecodeTarget } from './data/decode';
import type { NamedTensor } from './model/named-tensor';
import { SemihardError, rangeErrorWithMessage, typeError } from './errors';
import { BACKBONES, DEVICES, POOLS, PRECISIONS, STEMS, isMember, type Device, type Precision } from './enums';
import { nativeNetworkOptions, upgradeConfig, type TrainCheckpointHeader } from './train';
import { checkKnownKeys, isPlainObject, oneOf, optionsObject, positiveInteger } from './validate';

/** Model.embed(files)'s options. */
export interface EmbedFilesOptions {
  /** Images decoded and embedded at a time (default 64): at most two batches of pixels are held at once. */
  batchSize?: number;
  /** Called after each batch with the images embedded so far and their total. */
  onProgress?: (done: number, total: number) => void;
}

/** Images Model.embed(files) decodes and embeds at a time unless told. */
const DEFAULT_EMBED_BATCH = 64;

export interface Model {
  /** Embedding width. */
  readonly dim: number;
  /** The size the network sees (validation images are centre-cropped to it). */
  readonly height: number;
  readonly width: number;
  /** Channels of the images the network takes: 1 (greyscale) or 3 (RGB). */
  readonly channels: 1 | 3;
  /** The size images are given at (decoded to, then centre-cropped to height × width); equal to height × width for IDX data. */
  readonly storedHeight: number;
  readonly storedWidth: number;
  readonly classNames: string[];
  /** Channels of the network's input: `channels`, or 3 when 1-channel images are replicated (a pretrained 3-channel backbone). */
  readonly inputChannels: 1 | 3;
  /** The per-channel statistics the network's input is normalised with ((x − mean) / std on values in [0, 1]), inputChannels each. */
  readonly normalisation: { mean: number[]; std: number[] };
  /** The training checkpoint's header (configuration, history, versions). */
  readonly checkpoint: TrainCheckpointHeader;
  /**
   * Embeds `count` images of the stored size (count × storedHeight × storedWidth × channels,
   * channels interleaved; Uint8Array 0..255 or Float32Array 0..1), centre-cropped as validation
   * images, off the event loop: count × dim float32, each row of unit norm.
   * Calls made while another runs wait for it (their images are copied at the call).
   */
  embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
  /**
   * Embeds encoded images (file paths or Buffers of JPEG, PNG, WebP, GIF, TIFF or AVIF),
   * preprocessed exactly as validation images: decoded to the stored size and channels (EXIF
   * orientation applied, alpha flattened on black, resized to cover and centre-cropped; see
   * lib/data/decode.ts), then centre-cropped natively. Decoding (libuv's threads) and embedding
   * (a native thread) run off the event loop and overlap: batch k + 1 decodes while batch k
   * embeds. files.length × dim float32 out, in the order given. An image that cannot be decoded
   * rejects the call with SemihardError 'ERR_SEMIHARD_IMAGE' naming it (a path, or
   * 'image <index>' for a Buffer).
   */
  embed(files: readonly (string | Buffer)[], options?: EmbedFilesOptions): Promise<Float32Array>;
  /**
   * Every parameter and buffer of the network on the CPU: the backbone's under torchvision's
   * state_dict keys (ResNets: conv1.weight, layer1.0.bn1.running_mean, …), the head's under
   * head.* (head.bn.*, head.linear.weight). What exportModel writes.
   */
  weights(): Promise<NamedTensor[]>;
}

/** A promise with its resolve and reject (Promise.withResolvers, which Node 20 lacks). */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}

class LoadedModel implements Model {
  private pending = 0;
  private last: Promise<unknown> = Promise.resolve();

  /** The network state's image geometry (loadModel checked that the header records the same). */
  private readonly geometry: NativeImageGeometry;

  constructor(
    private readonly embedder: NativeEmbedder,
    readonly checkpoint: TrainCheckpointHeader,
  ) {
    this.geometry = embedder.geometry;
  }

  get dim(): number {
    return this.checkpoint.config.model.dim;
  }
  get height(): number {
    return this.checkpoint.dataset.height;
  }
  get width(): number {
    return this.checkpoint.dataset.width;
  }
  get channels(): 1 | 3 {
    return this.geometry.channels;
  }
  get storedHeight(): number {
    return this.geometry.storedHeight;
  }
  get storedWidth(): number {
    return this.geometry.storedWidth;
  }
  get classNames(): string[] {
    return this.checkpoint.dataset.classNames;
  }
  get inputChannels(): 1 | 3 {
    return this.embedder.normalisation.mean.length === 3 ? 3 : 1;
  }
  get normalisation(): { mean: number[]; std: number[] } {
    const n = this.embedder.normalisation;
    return { mean: [...n.mean], std: [...n.std] };
  }

  weights(): Promise<NamedTensor[]> {
    // The native embedder runs one job at a time: after any embedding in flight.
    const run = this.pending === 0 ? this.embedder.exportWeights() : this.last.then(() => this.embedder.exportWeights());
    this.pending++;
    this.last = run.then(
      () => this.pending--,
      () => this.pending--,
    );
    return run;
  }

  embed(images: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
  embed(files: readonly (string | Buffer)[], options?: EmbedFilesOptions): Promise<Float32Array>;
  async embed(input: Uint8Array | Float32Array | readonly (string | Buffer)[], second?: number | EmbedFilesOptions): Promise<Float32Array> {
    // An Array with a count is a mistaken pixel array: embedPixels names it as one.
    if (Array.isArray(input) && typeof second !== 'number') return this.embedFiles(input, second);
    return this.embedPixels(input as Uint8Array | Float32Array, second);
  }

  private async embedPixels(images: Uint8Array | Float32Array, count: unknown): Promise<Float32Array> {
    if (!(images instanceof Uint8Array) && !(images instanceof Float32Array)) {
      throw typeError('images', 'a Uint8Array or Float32Array', images);
    }
    positiveInteger(count, 'count');
    const n = count as number;
    const sizes = [this.storedHeight, this.storedWidth, ...(this.channels === 1 ? [] : [this.channels])];
    const expected = sizes.reduce((a, b) => a * b, n);
    if (images.length !== expected) {
      throw rangeErrorWithMessage('images', `Expected images.length to be count × ${sizes.join(' × ')} = ${expected} but received ${images.length}`);
    }
    // The native embedder runs one job at a time: a call made while another runs waits for it,
    // with a copy of its images taken now (the native side copies them only when it starts).
    let run: Promise<Float32Array>;
    if (this.pending === 0) {
      run = this.embedder.embed(images, n);
    } else {
      const copy = images instanceof Float32Array ? new Float32Array(images) : new Uint8Array(images);
      run = this.last.then(() => this.embedder.embed(copy, n));
    }
    this.pending++;
    this.last = run.then(
      () => this.pending--,
      () => this.pending--,
    );
    return run;
  }

  private async embedFiles(files: readonly unknown[], options: unknown): Promise<Float32Array> {
    files.forEach((f, i) => {
      if (!((typeof f === 'string' && f.length > 0) || f instanceof Uint8Array)) throw typeError(`files[${i}]`, 'a file path or a Buffer', f);
    });
    const o = optionsObject(options, 'options', false);
    checkKnownKeys(o, ['batchSize', 'onProgress'], 'options');
    const batchSize = o.batchSize === undefined ? DEFAULT_EMBED_BATCH : positiveInteger(o.batchSize, 'options.batchSize');
    if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw typeError('options.onProgress', 'a function', o.onProgress);
    const onProgress = o.onProgress as EmbedFilesOptions['onProgress'];

    const total = files.length;
    const out = new Float32Array(total * this.dim);
    if (total === 0) return out;
    const target: DecodeTarget = { height: this.storedHeight, width: this.storedWidth, channels: this.channels };
    const imageBytes = target.height * target.width * target.channels;
    const batches = Math.ceil(total / batchSize);
    const sizeOf = (b: number): number => Math.min(batchSize, total - b * batchSize);
    // Two buffers: batch b decodes into slots[b % 2] once batch b - 2 has been embedded.
    const slots = [new Uint8Array(Math.min(batchSize, total) * imageBytes), new Uint8Array(batches > 1 ? batchSize * imageBytes : 0)];
    const filled = new Array<number>(batches).fill(0);
    const ready = Array.from({ length: batches }, () => deferred<void>());
    const embedded = Array.from({ length: batches }, () => deferred<void>());

    // A copy of the list: the caller may change theirs while this runs.
    const decoding = decodeImages(files.slice() as (string | Buffer)[], target, {
      onImage: async (index, pixels) => {
        const b = Math.floor(index / batchSize);
        if (b >= 2) await embedded[b - 2].promise;
        slots[b % 2].set(pixels, (index - b * batchSize) * imageBytes);
        if (++filled[b] === sizeOf(b)) ready[b].resolve();
      },
    });
    decoding.catch(() => {}); // raced below

    try {
      for (let b = 0; b < batches; b++) {
        await Promise.race([ready[b].promise, decoding.then(() => ready[b].promise)]);
        const n = sizeOf(b);
        const rows = await this.embedPixels(slots[b % 2].subarray(0, n * imageBytes), n);
        out.set(rows, b * batchSize * this.dim);
        embedded[b].resolve();
        onProgress?.(b * batchSize + n, total);
      }
    } catch (error) {
      // Wake decodes waiting for a buffer (they stop the pool), and let those in flight end.
      for (const e of embedded) e.reject(error);
      await decoding.catch(() => {});
      throw error;
    }
    await decoding;
    return out;
  }
}

function notTraining(file: string): SemihardError {
  return new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${file} is not a training checkpoint`);
}

/**
 * Loads the network of a training checkpoint (its last state) for inference. A file that is
 * missing, unreadable, corrupt, truncated, not a semihard checkpoint or not a training one is
 * refused with a SemihardError of code ERR_SEMIHARD_CHECKPOINT that names it. `precision`:
 * the arithmetic of embed()'s forward ('fp32' default, 'bf16' or 'fp16': autocast, as train()'s).
 */
export async function loadModel(checkpoint: string, options?: { device?: Device; precision?: Precision }): Promise<Model> {
  if (typeof checkpoint !== 'string' || checkpoint.length === 0) throw typeError('checkpoint', 'a file path', checkpoint);
  const o = optionsObject(options, 'options', false);
  checkKnownKeys(o, ['device', 'precision'], 'options');
  const device = oneOf(o.device, 'options.device', DEVICES, 'auto');
  const precision = oneOf(o.precision, 'options.precision', PRECISIONS, 'fp32');
  const { header, state } = await readCheckpoint<TrainCheckpointHeader>(checkpoint);
  if (header.kind !== 'semihard-train' || !isPlainObject(header.config) || !isPlainObject(header.config.model) || !isPlainObject(header.dataset)) {
    throw notTraining(checkpoint);
  }
  const { model } = upgradeConfig(header.config);
  const buildable =
    isMember(BACKBONES, model.backbone) && Number.isSafeInteger(model.dim) && model.dim >= 1 && (model.stem === null || isMember(STEMS, model.stem)) &&
    isMember(POOLS, model.pool) && typeof model.headBatchNorm === 'boolean' && typeof model.dropout === 'number' && model.dropout >= 0 && model.dropout < 1;
  if (!buildable) {
    throw new SemihardError(
      'ERR_SEMIHARD_CHECKPOINT',
      `Checkpoint ${checkpoint} records a network this semihard cannot build: ${JSON.stringify(header.config.model)}`,
    );
  }
  const geometry = recordedGeometry(header.dataset, checkpoint);
  let embedder: NativeEmbedder;
  try {
    embedder = await createEmbedder({ ...nativeNetworkOptions(model, geometry.channels), device, precision }, state);
  } catch (err) {
    // A wrong device is the caller's; anything else is what the file holds.
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    throw new SemihardError('ERR_SEMIHARD_CHECKPOINT', `Checkpoint ${checkpoint} holds no loadable network: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const held = embedder.geometry;
  const describeGeometry = (g: NativeImageGeometry): string =>
    `${g.channels}-channel images stored at ${g.storedHeight} × ${g.storedWidth}, seen at ${g.height} × ${g.width}`;
  if ((Object.keys(geometry) as (keyof NativeImageGeometry)[]).some((k) => geometry[k] !== held[k])) {
    throw new SemihardError(
      'ERR_SEMIHARD_CHECKPOINT',
      `Checkpoint ${checkpoint} records ${describeGeometry(geometry)} but its network state holds ${describeGeometry(held)}`,
    );
  }
  return new LoadedModel(embedder, header);
}

/**
 * The image geometry a checkpoint's header records: its dataset's channels, storedHeight and
 * storedWidth (checkpoints from before image folders lack them: 1, and the network size).
 */
function recordedGeometry(dataset: Record<string, unknown>, checkpoint: string): NativeImageGeometry {
  const { height, width, channels = 1, storedHeight = height, storedWidth = width } = dataset;
  const side = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (!side(height) || !side(width) || !side(storedHeight) || !side(storedWidth) || storedHeight < height || storedWidth < width || (channels !== 1 && channels !== 3)) {
    throw new SemihardError(
      'ERR_SEMIHARD_CHECKPOINT',
      `Checkpoint ${checkpoint} records an image geometry this semihard cannot use: ${JSON.stringify({ height, width, channels, storedHeight, storedWidth })}`,
    );
  }
  return { channels, storedHeight, storedWidth, height, width };
}
