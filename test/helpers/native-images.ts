// Images and brute-force references for the native image tests: synthetic colour images, and
// plain loops for what the network is given (torchvision's centre crop, per-channel
// normalisation) and for a crop box resized bilinearly, written from the definitions, not
// from the addon.
import type { NativeBinding, NativeImageGeometry, NativeTrainerOptions } from '../../binding';
import { addonPath } from '../../lib/binding';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const addon = require(addonPath()) as NativeBinding;

export const trainerOptions = (extra: Partial<NativeTrainerOptions> = {}): NativeTrainerOptions => ({
  backbone: 'convnet', dim: 8, lossKind: 'semihard', margin: 1, soft: false, distance: 'L2', weightDecay: 0.01, gradClip: 0,
  augment: true, device: 'cpu', seed: 5, ...extra,
});

/**
 * count images of height × width × channels bytes (HWC): a class-coloured blob whose place
 * depends on the class (label = i % classes), on a noisy background, from a fixed LCG.
 */
export function colourImages(count: number, height: number, width: number, channels: number, classes = 4, seed = 1) {
  let state = (seed * 2654435761 + 12345) >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const images = new Uint8Array(count * height * width * channels);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    labels[i] = label;
    const cy = height * (0.3 + 0.4 * ((label * 37) % classes) / classes) + (next() - 0.5) * 3;
    const cx = width * (0.25 + 0.5 * label / classes) + (next() - 0.5) * 3;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const blob = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (0.02 * height * width));
        for (let c = 0; c < channels; c++) {
          const tint = channels === 1 ? 1 : 0.4 + 0.6 * (((label + c) % 3) / 2);
          images[((i * height + y) * width + x) * channels + c] = Math.min(255, Math.round(220 * blob * tint + 35 * next()));
        }
      }
    }
  }
  return { images, labels };
}

/** Python's round(): to nearest, ties to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision's CenterCrop offsets: int(round((stored - size) / 2.0)). */
export function centreOffsets(g: NativeImageGeometry): { top: number; left: number } {
  return { top: roundHalfEven((g.storedHeight - g.height) / 2), left: roundHalfEven((g.storedWidth - g.width) / 2) };
}

/** The centre crop of count stored-size HWC images, HWC bytes. */
export function centreCrop(images: Uint8Array, count: number, g: NativeImageGeometry): Uint8Array {
  const { top, left } = centreOffsets(g);
  const out = new Uint8Array(count * g.height * g.width * g.channels);
  let k = 0;
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < g.height; y++) {
      for (let x = 0; x < g.width; x++) {
        for (let c = 0; c < g.channels; c++) {
          out[k++] = images[((n * g.storedHeight + top + y) * g.storedWidth + left + x) * g.channels + c];
        }
      }
    }
  }
  return out;
}

/**
 * What validation feeds the network, exactly (float64): count × C × height × width of
 * ((pixel / 255) − mean[c]) / std[c] over the centre crop; `scale` 255 for bytes, 1 for 0..1 floats.
 */
export function expectedNetworkInput(
  images: ArrayLike<number>,
  count: number,
  g: NativeImageGeometry,
  mean: number[],
  std: number[],
  scale: number,
): Float64Array {
  const { top, left } = centreOffsets(g);
  const out = new Float64Array(count * g.channels * g.height * g.width);
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < g.channels; c++) {
      for (let y = 0; y < g.height; y++) {
        for (let x = 0; x < g.width; x++) {
          const v = images[((n * g.storedHeight + top + y) * g.storedWidth + left + x) * g.channels + c] / scale;
          out[((n * g.channels + c) * g.height + y) * g.width + x] = (v - mean[c]) / std[c];
        }
      }
    }
  }
  return out;
}

export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * The box of one HWC image (pixels 0..1 as bytes / 255) resized to outHeight × outWidth by
 * bilinear interpolation with half-pixel centres (output pixel i samples the box at
 * top + (i + ½)·h/outHeight − ½), coordinates clamped to the image: torchvision's
 * resized_crop without antialiasing. `mirror` flips the result left-right. HWC out.
 */
export function resizedCrop(
  image: Uint8Array,
  height: number,
  width: number,
  channels: number,
  box: Box,
  outHeight: number,
  outWidth: number,
  mirror = false,
): Float64Array {
  const out = new Float64Array(outHeight * outWidth * channels);
  const at = (y: number, x: number, c: number) => image[(y * width + x) * channels + c] / 255;
  for (let i = 0; i < outHeight; i++) {
    const y = Math.min(Math.max(box.top + ((i + 0.5) * box.height) / outHeight - 0.5, 0), height - 1);
    const y0 = Math.floor(y);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = y - y0;
    for (let j = 0; j < outWidth; j++) {
      const x = Math.min(Math.max(box.left + ((j + 0.5) * box.width) / outWidth - 0.5, 0), width - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = x - x0;
      const jj = mirror ? outWidth - 1 - j : j;
      for (let c = 0; c < channels; c++) {
        out[(i * outWidth + jj) * channels + c] =
          (1 - wy) * ((1 - wx) * at(y0, x0, c) + wx * at(y0, x1, c)) + wy * ((1 - wx) * at(y1, x0, c) + wx * at(y1, x1, c));
      }
    }
  }
  return out;
}

/** The rows `indices` of count × bytes images, concatenated (what a feeder queues for one batch). */
export function gatherRows(images: Uint8Array, bytes: number, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length * bytes);
  for (let k = 0; k < indices.length; k++) out.set(images.subarray(indices[k] * bytes, (indices[k] + 1) * bytes), k * bytes);
  return out;
}

export const bitsOf = (x: Float32Array | Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
