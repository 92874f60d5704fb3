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
  /** Mirror left-right half the time (default false: right for clothes, wrong for digits). */
  flip?: boolean;
}

export const DEFAULT_AUGMENT: Readonly<Required<AugmentConfig>> = { rotation: 10, scale: 0.1, translate: 0.1, flip: false };

export function resolveAugment(value: unknown, argument: string): false | Required<AugmentConfig> {
  if (value === undefined || value === true) return { ...DEFAULT_AUGMENT };
  if (value === false) return false;
  if (!isPlainObject(value)) throw typeError(argument, 'a boolean or an object of ranges', value);
  checkKnownKeys(value, ['rotation', 'scale', 'translate', 'flip'], argument);
  const within = (key: 'rotation' | 'scale' | 'translate', hi: number, expected: string): number => {
    const v = finiteNumber(value[key], `${argument}.${key}`, DEFAULT_AUGMENT[key]);
    if (v < 0 || v > hi) throw rangeError(`${argument}.${key}`, expected, value[key]);
    return v;
  };
  return {
    rotation: within('rotation', 180, 'degrees from 0 to 180'),
    scale: within('scale', 0.9, 'a number from 0 to 0.9'),
    translate: within('translate', 1, 'a fraction of the image side from 0 to 1'),
    flip: booleanOption(value.flip, `${argument}.flip`, DEFAULT_AUGMENT.flip),
  };
}

export interface AugmentImagesOptions extends AugmentConfig {
  height: number;
  width: number;
  /** Seed of the transforms' generator (default 0). */
  seed?: number;
}

/**
 * Applies one random transform of the given ranges (omitted: the defaults) to each image.
 * images: count × height × width pixels, a Uint8Array (0..255) or a Float32Array (0..1);
 * resolves to the transformed images as a Float32Array (0..1) of the same shape. The work
 * runs off the event loop.
 */
export async function augmentImages(images: Uint8Array | Float32Array, options: AugmentImagesOptions): Promise<Float32Array> {
  if (!(images instanceof Uint8Array || images instanceof Float32Array)) throw typeError('images', 'a Uint8Array or Float32Array', images);
  const o = optionsObject(options, 'options', true);
  const { height, width, seed, ...ranges } = o;
  const h = positiveInteger(height, 'options.height');
  const w = positiveInteger(width, 'options.width');
  if (images.length === 0 || images.length % (h * w) !== 0) {
    throw rangeErrorWithMessage('images', `Expected images.length to be a positive multiple of height × width (${h * w}) but received ${images.length}`);
  }
  const affine = resolveAugment(ranges, 'options') as Required<AugmentConfig>;
  return binding.augmentImages({
    images,
    count: images.length / (h * w),
    height: h,
    width: w,
    affine,
    seed: nonNegativeInteger(seed, 'options.seed', 0),
  });
}
