// The training augmentation's ranges (validated here, applied natively: core/augment.cc), and
// a preview of them on a few images, to see what the network will be trained on.
import { binding } from './binding';
import { rangeError, rangeErrorWithMessage, typeError } from './errors';
import { booleanOption, checkKnownKeys, finiteNumber, isPlainObject, nonNegativeInteger, optionsObject, positiveInteger } from './validate';

/** Ranges of the per-image random affine transform (bilinear, reflection padding). */
export interface AugmentConfig {
  /** Rotation in ± degrees (default 10). */
  rotation?: number;
  /** Scale in 1 ± scale (default 0.1). */
  scale?: number;
  /** Shift in ± this fraction of the image side, each axis (default 0.1). */
  translate?: number;
  /** Mirror left-right half the time (default false for digits: right for clothes and photos, wrong for digits). */
  flip?: boolean;
  /**
   * A random resized crop first (torchvision's RandomResizedCrop): a box of a random fraction
   * `scale` of the image's area and aspect ratio `ratio` (width / height), resized to the
   * network's input. Default for photo folders { scale: [0.35, 1], ratio: [3/4, 4/3] }; for
   * digits false.
   */
  crop?: false | { scale?: [number, number]; ratio?: [number, number] };
}

export interface ResolvedCrop {
  scale: [number, number];
  ratio: [number, number];
}
export type ResolvedAugment = Required<Omit<AugmentConfig, 'crop'>> & { crop: false | ResolvedCrop };

/** The defaults for 28 × 28 digits and clothes (IDX data). */
export const DEFAULT_AUGMENT: Readonly<ResolvedAugment> = { rotation: 10, scale: 0.1, translate: 0.1, flip: false, crop: false };
export const DEFAULT_CROP: Readonly<ResolvedCrop> = { scale: [0.35, 1], ratio: [3 / 4, 4 / 3] };
/** The defaults for photo folders: the crop does the zoom and shift, so the affine only rotates. */
export const DEFAULT_PHOTO_AUGMENT: Readonly<ResolvedAugment> = { rotation: 10, scale: 0, translate: 0, flip: true, crop: DEFAULT_CROP };

function range(value: unknown, argument: string, fallback: [number, number], lo: number, hi: number, expected: string): [number, number] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.length !== 2) throw typeError(argument, 'a [min, max] pair of numbers', value);
  const a = finiteNumber(value[0], `${argument}[0]`, NaN);
  const b = finiteNumber(value[1], `${argument}[1]`, NaN);
  if (!(a >= lo && a <= b && b <= hi)) throw rangeError(argument, expected, value);
  return [a, b];
}

function resolveCrop(value: unknown, argument: string, fallback: false | ResolvedCrop): false | ResolvedCrop {
  if (value === undefined) return fallback === false ? false : { scale: [...fallback.scale], ratio: [...fallback.ratio] };
  if (value === false) return false;
  if (value === true) return { scale: [...DEFAULT_CROP.scale], ratio: [...DEFAULT_CROP.ratio] };
  if (!isPlainObject(value)) throw typeError(argument, 'false or { scale, ratio }', value);
  checkKnownKeys(value, ['scale', 'ratio'], argument);
  return {
    scale: range(value.scale, `${argument}.scale`, DEFAULT_CROP.scale, Number.MIN_VALUE, 1, 'fractions of the area with 0 < min <= max <= 1'),
    ratio: range(value.ratio, `${argument}.ratio`, DEFAULT_CROP.ratio, 0.05, 20, 'aspect ratios with 0.05 <= min <= max <= 20'),
  };
}

/** The augmentation's ranges, omitted fields taking `defaults` (DEFAULT_AUGMENT or, for photo folders, DEFAULT_PHOTO_AUGMENT). */
export function resolveAugment(value: unknown, argument: string, defaults: Readonly<ResolvedAugment> = DEFAULT_AUGMENT): false | ResolvedAugment {
  if (value === undefined || value === true) return { ...defaults, crop: resolveCrop(undefined, `${argument}.crop`, defaults.crop) };
  if (value === false) return false;
  if (!isPlainObject(value)) throw typeError(argument, 'a boolean or an object of ranges', value);
  checkKnownKeys(value, ['rotation', 'scale', 'translate', 'flip', 'crop'], argument);
  const within = (key: 'rotation' | 'scale' | 'translate', hi: number, expected: string): number => {
    const v = finiteNumber(value[key], `${argument}.${key}`, defaults[key]);
    if (v < 0 || v > hi) throw rangeError(`${argument}.${key}`, expected, value[key]);
    return v;
  };
  return {
    rotation: within('rotation', 180, 'degrees from 0 to 180'),
    scale: within('scale', 0.9, 'a number from 0 to 0.9'),
    translate: within('translate', 1, 'a fraction of the image side from 0 to 1'),
    flip: booleanOption(value.flip, `${argument}.flip`, defaults.flip),
    crop: resolveCrop(value.crop, `${argument}.crop`, defaults.crop),
  };
}

export interface AugmentImagesOptions extends AugmentConfig {
  height: number;
  width: number;
  /** 1 (default) or 3: images are count × height × width × channels, channels interleaved. */
  channels?: 1 | 3;
  /** The size of the images out (default height × width): the network's input when height × width is the stored size. */
  outHeight?: number;
  outWidth?: number;
  /** Seed of the transforms' generator (default 0). */
  seed?: number;
}

/**
 * Applies one random training transform of the given ranges (omitted: DEFAULT_AUGMENT's, so no
 * crop unless `crop` is given) to each image: the random resized crop, flip and affine,
 * resampled once to outHeight × outWidth, as train() does. images: count × height × width ×
 * channels pixels, a Uint8Array (0..255) or a Float32Array (0..1); resolves to count ×
 * outHeight × outWidth × channels pixels 0..1 (Float32Array). The work runs off the event loop.
 */
export async function augmentImages(images: Uint8Array | Float32Array, options: AugmentImagesOptions): Promise<Float32Array> {
  if (!(images instanceof Uint8Array || images instanceof Float32Array)) throw typeError('images', 'a Uint8Array or Float32Array', images);
  const o = optionsObject(options, 'options', true);
  const { height, width, seed, channels, outHeight, outWidth, ...ranges } = o;
  const h = positiveInteger(height, 'options.height');
  const w = positiveInteger(width, 'options.width');
  const c = channels === undefined ? 1 : channels;
  if (c !== 1 && c !== 3) {
    if (typeof c !== 'number') throw typeError('options.channels', '1 or 3', c);
    throw rangeError('options.channels', '1 or 3', c);
  }
  const outH = outHeight === undefined ? h : positiveInteger(outHeight, 'options.outHeight');
  const outW = outWidth === undefined ? w : positiveInteger(outWidth, 'options.outWidth');
  if (images.length === 0 || images.length % (h * w * c) !== 0) {
    throw rangeErrorWithMessage(
      'images',
      `Expected images.length to be a positive multiple of height × width × channels (${h * w * c}) but received ${images.length}`,
    );
  }
  const resolved = resolveAugment(ranges, 'options') as ResolvedAugment;
  const { crop, ...affine } = resolved;
  return binding.augmentImages({
    images,
    count: images.length / (h * w * c),
    height: h,
    width: w,
    channels: c,
    affine,
    ...(crop !== false ? { crop: { minScale: crop.scale[0], maxScale: crop.scale[1], minRatio: crop.ratio[0], maxRatio: crop.ratio[1] } } : {}),
    outHeight: outH,
    outWidth: outW,
    seed: nonNegativeInteger(seed, 'options.seed', 0),
  });
}
