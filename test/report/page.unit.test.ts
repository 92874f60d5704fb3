// The report's page without a browser: jsonForScriptElement on seeded random strings full of
// markup, separators and lone surrogates; renderReportPage on a small synthetic report whose
// names, title and configuration are hostile strings (4 script elements, nothing hostile left
// raw, the CSP's hashes those of the inlined texts, the JSON block parsing back to the data);
// and every argument check report() makes before it reads the checkpoint (class and message).
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { SemihardError } from '../../lib/errors';
import { report } from '../../lib/report';
import { compileSpecs, jsonForScriptElement, renderReportPage, type ReportPageData } from '../../lib/report/page';
import { rng } from '../reference/triplet-reference';

const HOSTILE = ['</script><script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<!--', '\u2028'];

describe('jsonForScriptElement', () => {
  /** Characters that matter inside a <script> element or to JSON, drawn often. */
  const SPECIAL = ['<', '>', '&', '/', '\u2028', '\u2029', '"', "'", '\\', '\ud800', '\udc00', '\udbff', '</script>', '<!--', '<script>', '\u0000', '\n', '-->', '\u{1f600}'];

  /** A random string: special characters and pieces, or code points from the whole range (lone surrogates included). */
  function randomString(next: () => number): string {
    const length = Math.floor(next() * 40);
    let s = '';
    for (let i = 0; i < length; i++) {
      const r = next();
      if (r < 0.5) s += SPECIAL[Math.floor(next() * SPECIAL.length)];
      else if (r < 0.8) s += String.fromCharCode(Math.floor(next() * 0x80));
      else if (r < 0.9) s += String.fromCharCode(Math.floor(next() * 0x10000)); // may be a lone surrogate
      else s += String.fromCodePoint(Math.floor(next() * 0x110000));
    }
    return s;
  }

  function expectSafe(value: unknown): void {
    const json = jsonForScriptElement(value);
    expect(JSON.parse(json)).toEqual(value);
    for (const c of ['<', '>', '&', '\u2028', '\u2029']) expect(json.includes(c)).toBe(false);
  }

  it('2,000 seeded random strings (as values, keys and in arrays) parse back unchanged and leave no <, >, &, U+2028, U+2029 raw', () => {
    const next = rng(2028);
    for (let n = 0; n < 2000; n++) {
      const s = randomString(next);
      expectSafe(s);
      expectSafe({ [s]: [s, { s, n }], t: `${s}${s}` });
    }
  });

  it('the pieces on their own: every special string, and all of them joined', () => {
    for (const s of [...SPECIAL, ...HOSTILE, SPECIAL.join(''), HOSTILE.join('')]) expectSafe(s);
    expect(jsonForScriptElement('</script>')).toBe('"\\u003c/script\\u003e"');
    expect(jsonForScriptElement('a&b\u2028\u2029')).toBe('"a\\u0026b\\u2028\\u2029"');
  });
});

describe('renderReportPage on hostile names', () => {
  let data: ReportPageData;
  let html: string;

  beforeAll(async () => {
    const classes = [...HOSTILE, 'plain'];
    const png = (grey: number): Promise<Buffer> => sharp({ create: { width: 1, height: 1, channels: 3, background: { r: grey, g: grey, b: grey } } }).png().toBuffer();
    const thumbs = await Promise.all(classes.map((_, c) => png(40 * c)));
    const points = classes.flatMap((cls, c) => [0, 1].map((j) => ({ i: 2 * c + j, x: c + 0.1 * j, y: j - c, cls, index: 2 * c + j, source: j === 0 ? `/data/${cls}/${HOSTILE[c % HOSTILE.length]}.png` : null })));
    const n = points.length;
    data = {
      run: {
        title: HOSTILE.join(' '),
        checkpoint: `/runs/${HOSTILE[0]}/last.ckpt`,
        data: HOSTILE[1],
        classNames: classes,
        config: { data: { imageFolder: HOSTILE[0] }, note: HOSTILE[1], list: [HOSTILE[2], HOSTILE[3]] },
        versions: { semihard: '0.1.0', libtorchTraining: '2.13.0', libtorchReport: '2.13.0' },
        steps: 12,
        trainingSeconds: 3.5,
        device: 'cpu (training\'s setting)',
        precision: 'fp32',
        finished: true,
        createdAt: '2024-01-01T00:00:00.000Z',
        generatedAt: '2024-01-01T00:01:00.000Z',
      },
      history: {
        epochs: [{ epoch: 0, phase: 0, phaseEpoch: 0, trainLoss: 0.5, validLoss: 0.4, seconds: 3.5 }],
        steps: [0, 1, 2].map((step) => ({ epoch: 0, step, steps: 3, loss: 0.6 - 0.1 * step, lr: 1e-3 * (step + 1) })),
        phases: [{ epoch: 0, label: `phase 1 ${HOSTILE[0]}` }],
      },
      metrics: {
        k: 5, knnAccuracy: 0.5, linearAccuracy: 0.6, svmAccuracy: 0.7, precisionAt1: 0.5, rPrecision: 0.4, mapAtR: 0.3, retrievalQueries: n, trainCount: 20, validCount: n,
        perClass: classes.map((name) => ({ name, count: 2, knnAccuracy: 0.5 })),
      },
      confusion: [...classes.map((name) => ({ truth: name, predicted: name, count: 1 })), { truth: HOSTILE[0], predicted: HOSTILE[1], count: 1 }],
      confusionClasses: classes.length,
      map: { method: 'pca', validCount: n, points, thumbnails: points.map((p) => thumbs[Math.floor(p.i / 2)].toString('base64')), thumbnailType: 'image/png', thumbnailSize: 1 },
      neighbours: { k: 2, indices: points.map((p) => [(p.i + 1) % n, (p.i + 2) % n]), distances: points.map(() => [0.25, 0.5]) },
      mistakes: [{ point: 0, neighbour: 2, distance: 0.25, sameClassDistance: null }],
      specs: compileSpecs(classes, n, classes),
    };
    html = renderReportPage(data);
  });

  it('holds exactly 4 <script> elements: the JSON block and 3 scripts', () => {
    expect(html.match(/<script/gi)).toHaveLength(4);
    expect(html.match(/<\/script>/gi)).toHaveLength(4);
    expect(html.match(/<script type="application\/json" id="semihard-data">/g)).toHaveLength(1);
    expect(html.match(/<script>/g)).toHaveLength(3);
  });

  it('leaves none of the hostile strings raw anywhere in the page', () => {
    for (const h of HOSTILE) expect([h, html.includes(h)]).toEqual([h, false]);
    expect(html.includes('\u2029')).toBe(false);
    // Their harmless pieces (alert(1), src=x) exist only as escaped text in the JSON block (Vega's own code sets img.onerror).
    const outsideJson = html.replace(/<script type="application\/json" id="semihard-data">[^<]*<\/script>/, '');
    expect(outsideJson.length).toBeLessThan(html.length);
    expect(outsideJson.match(/<img|<!--|src=x|alert\(1\)/gi)).toBeNull();
  });

  it('the JSON block parses back to the data given', () => {
    const block = /<script type="application\/json" id="semihard-data">([^<]*)<\/script>/.exec(html);
    expect(block).not.toBeNull();
    expect(JSON.parse(block![1])).toEqual(data);
  });

  it('the CSP allows exactly the 3 inline scripts and the <style> by their SHA-256, and nothing else', () => {
    const hash = (text: string): string => `'sha256-${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('base64')}'`;
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(3);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    expect(styles).toHaveLength(1);
    const metas = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/g)];
    expect(metas).toHaveLength(1);
    const directives = Object.fromEntries(
      metas[0][1].split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives['script-src']).toEqual(scripts.map(hash));
    expect(directives['style-src']).toEqual([hash(styles[0])]);
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['img-src']).toEqual(['data:']);
    expect(Object.keys(directives).sort()).toEqual(['base-uri', 'default-src', 'form-action', 'img-src', 'script-src', 'style-src']);
  });
});

describe('report() arguments (checked before the checkpoint is read)', () => {
  const checkpoint = path.join(os.tmpdir(), 'semihard-no-such-dir', 'last.ckpt');
  const base = { checkpoint, out: path.join(os.tmpdir(), 'semihard-no-such-dir', 'report.html') };
  const KNOWN = 'checkpoint, out, data, method, maxPoints, k, neighbours, thumbnailSize, mistakes, device, precision, title, seed, onProgress';

  async function rejection(options: unknown): Promise<Error> {
    try {
      await report(options as Parameters<typeof report>[0]);
    } catch (err) {
      return err as Error;
    }
    throw new Error('report() resolved');
  }

  type Case = [string, unknown, typeof TypeError | typeof RangeError, string];
  const integerCases = (key: string, expected: string): Case[] => [
    [`${key} a string`, { ...base, [key]: '10' }, TypeError, `Expected ${expected} for options.${key} but received '10' of type string`],
    [`${key} null`, { ...base, [key]: null }, TypeError, `Expected ${expected} for options.${key} but received null`],
    [`${key} -1`, { ...base, [key]: -1 }, RangeError, `Expected ${expected} for options.${key} but received -1 of type number`],
    [`${key} 1.5`, { ...base, [key]: 1.5 }, RangeError, `Expected ${expected} for options.${key} but received 1.5 of type number`],
    [`${key} NaN`, { ...base, [key]: NaN }, RangeError, `Expected ${expected} for options.${key} but received NaN of type number`],
    [`${key} Infinity`, { ...base, [key]: Infinity }, RangeError, `Expected ${expected} for options.${key} but received Infinity of type number`],
    [`${key} 2^53`, { ...base, [key]: 2 ** 53 }, RangeError, `Expected ${expected} for options.${key} but received 9007199254740992 of type number`],
  ];
  const positive = (key: string): Case[] => [
    ...integerCases(key, 'a positive integer'),
    [`${key} 0`, { ...base, [key]: 0 }, RangeError, `Expected a positive integer for options.${key} but received 0 of type number`],
  ];
  const cases: Case[] = [
    ['options missing', undefined, TypeError, 'Expected an object for options but received undefined'],
    ['options null', null, TypeError, 'Expected an object for options but received null'],
    ['options an array', [base], TypeError, 'Expected an object for options but received an Array of length 1'],
    ['options a string', 'last.ckpt', TypeError, "Expected an object for options but received 'last.ckpt' of type string"],
    ['an unknown key', { ...base, epochs: 3 }, TypeError, `Expected no such option (known: ${KNOWN}) for options.epochs but received 3 of type number`],
    ['a misspelt key', { ...base, maxpoints: 10 }, TypeError, `Expected no such option (known: ${KNOWN}) for options.maxpoints but received 10 of type number`],
    ['checkpoint missing', { out: base.out }, TypeError, 'Expected a file path for options.checkpoint but received undefined'],
    ['checkpoint a number', { ...base, checkpoint: 5 }, TypeError, 'Expected a file path for options.checkpoint but received 5 of type number'],
    ['checkpoint empty', { ...base, checkpoint: '' }, RangeError, "Expected a file path for options.checkpoint but received '' of type string"],
    ['out missing', { checkpoint }, TypeError, 'Expected an .html file path for options.out but received undefined'],
    ['out a number', { ...base, out: 5 }, TypeError, 'Expected an .html file path for options.out but received 5 of type number'],
    ['out not .html', { ...base, out: 'report.txt' }, RangeError, "Expected an .html file path for options.out but received 'report.txt' of type string"],
    ['out .html.bak', { ...base, out: 'report.html.bak' }, RangeError, "Expected an .html file path for options.out but received 'report.html.bak' of type string"],
    ['method a number', { ...base, method: 1 }, TypeError, "Expected one of 'tsne', 'pca' for options.method but received 1 of type number"],
    ['method unknown', { ...base, method: 'umap' }, RangeError, "Expected one of 'tsne', 'pca' for options.method but received 'umap' of type string"],
    ['method in capitals', { ...base, method: 'PCA' }, RangeError, "Expected one of 'tsne', 'pca' for options.method but received 'PCA' of type string"],
    ...positive('maxPoints'),
    ...positive('k'),
    ...positive('neighbours'),
    ...positive('thumbnailSize'),
    ['thumbnailSize 513', { ...base, thumbnailSize: 513 }, RangeError, 'Expected at most 512 pixels for options.thumbnailSize but received 513 of type number'],
    ...integerCases('mistakes', 'a non-negative integer'),
    ['device a number', { ...base, device: 0 }, TypeError, "Expected one of 'cpu', 'cuda', 'auto' for options.device but received 0 of type number"],
    ['device unknown', { ...base, device: 'gpu' }, RangeError, "Expected one of 'cpu', 'cuda', 'auto' for options.device but received 'gpu' of type string"],
    ['precision a boolean', { ...base, precision: true }, TypeError, "Expected one of 'fp32', 'bf16', 'fp16' for options.precision but received true of type boolean"],
    ['precision unknown', { ...base, precision: 'fp64' }, RangeError, "Expected one of 'fp32', 'bf16', 'fp16' for options.precision but received 'fp64' of type string"],
    ['title a number', { ...base, title: 5 }, TypeError, 'Expected a string for options.title but received 5 of type number'],
    ['title null', { ...base, title: null }, TypeError, 'Expected a string for options.title but received null'],
    ['onProgress a string', { ...base, onProgress: 'log' }, TypeError, "Expected a function for options.onProgress but received 'log' of type string"],
    ['onProgress an object', { ...base, onProgress: {} }, TypeError, 'Expected a function for options.onProgress but received an object ([object Object])'],
    ...integerCases('seed', 'a non-negative integer'),
    // The data source's checks are loadDataset's (they name config.data); they run before the checkpoint is read.
    ['data unknown', { ...base, data: 'cifar' }, RangeError, "Expected 'mnist', 'fashion-mnist', { idxDir } or { imageFolder } for config.data but received 'cifar' of type string"],
  ];

  it.each(cases)('%s', async (_name, options, ErrorClass, message) => {
    const err = await rejection(options);
    expect([err.constructor, err.message]).toEqual([ErrorClass, message]);
    expect((err as Error & { code?: string }).code).toBe('ERR_SEMIHARD_ARGUMENT');
  });

  // Values at the edges pass every check: the call gets as far as reading the (missing) checkpoint.
  it.each([
    ['thumbnailSize 1', { thumbnailSize: 1 }],
    ['thumbnailSize 512', { thumbnailSize: 512 }],
    ['maxPoints, k and neighbours 1', { maxPoints: 1, k: 1, neighbours: 1 }],
    ['mistakes 0, seed 0', { mistakes: 0, seed: 0 }],
    ['method pca, device cpu, precision bf16', { method: 'pca', device: 'cpu', precision: 'bf16' }],
    ['an empty title and a progress callback', { title: '', onProgress: () => undefined }],
    ['out ending .HTM', { out: path.join(os.tmpdir(), 'semihard-no-such-dir', 'R.HTM') }],
  ])('%s: accepted (the checkpoint is read next)', async (_name, extra) => {
    const err = await rejection({ ...base, ...extra });
    expect(err).toBeInstanceOf(SemihardError);
    expect((err as SemihardError).code).toBe('ERR_SEMIHARD_CHECKPOINT');
    expect(err.message.startsWith(`Cannot read checkpoint ${checkpoint}: `)).toBe(true);
  });
});
