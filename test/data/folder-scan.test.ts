// scanImageFolder on folders written here: what it finds is checked against what was written
// (the writer's own records), the splits against counts computed from the spec.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanImageFolder, type FolderScan } from '../../lib/data/folder-scan';
import { writeImageFolder, type WrittenFolder } from '../helpers/image-folder';
import { expectSemihardError } from '../helpers/expect';
import { largestDelay } from '../helpers/event-loop';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-scan-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Class names whose code-unit order differs from a "natural" or case-insensitive one.
const NAMES = ['cat', 'Dog', 'ant', '10', '9'];
const SORTED = ['10', '9', 'Dog', 'ant', 'cat'];
const PER_CLASS = [9, 7, 12, 5, 20];

let split: WrittenFolder;
/** Files written by hand into `split` beyond the writer's: class name → absolute paths. */
const extraImages = new Map<string, string[]>();
const extraIgnored: string[] = [];

function touch(file: string, text = ''): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  const root = path.join(tmp, 'split');
  split = await writeImageFolder(root, { classes: NAMES, perClass: PER_CLASS, specials: 'all', size: 16 });
  const image = (cls: string): string => split.images.find((i) => i.className === cls)!.file;
  // Hidden folders are skipped, at the root and inside a class.
  fs.mkdirSync(path.join(root, '.git'));
  fs.copyFileSync(image('cat'), path.join(root, '.git', 'x.png'));
  fs.mkdirSync(path.join(root, 'cat', '.thumbnails'));
  fs.copyFileSync(image('cat'), path.join(root, 'cat', '.thumbnails', 'x.png'));
  // An image directly under the root belongs to no class.
  extraIgnored.push(path.join(root, 'stray.png'));
  fs.copyFileSync(image('cat'), path.join(root, 'stray.png'));
  // Links: a file link counts as an image of the class holding it; a link back to a folder
  // above is not followed; a broken link is ignored; a linked folder is walked.
  fs.symlinkSync(image('ant'), path.join(root, 'cat', 'linked.png'));
  fs.symlinkSync('..', path.join(root, 'cat', 'loop'));
  fs.symlinkSync(path.join(root, 'cat'), path.join(root, 'cat', 'sub', 'back-to-class'));
  fs.symlinkSync(path.join(tmp, 'nowhere.png'), path.join(root, 'ant', 'broken.png'));
  extraIgnored.push(path.join(root, 'ant', 'broken.png'));
  const outside = path.join(tmp, 'outside');
  fs.mkdirSync(outside);
  fs.copyFileSync(image('Dog'), path.join(outside, 'far.webp'));
  fs.symlinkSync(outside, path.join(root, 'Dog', 'elsewhere'));
  extraImages.set('cat', [path.join(root, 'cat', 'linked.png')]);
  extraImages.set('Dog', [path.join(root, 'Dog', 'elsewhere', 'far.webp')]);
});

/** Every image of the written folder by class (the writer's records plus the extras). */
function expectedImages(folder: WrittenFolder, extras = new Map<string, string[]>()): Map<string, string[]> {
  const byClass = new Map<string, string[]>();
  for (const image of folder.images) byClass.set(image.className, [...(byClass.get(image.className) ?? []), image.file]);
  for (const [cls, files] of extras) byClass.set(cls, [...(byClass.get(cls) ?? []), ...files]);
  return byClass;
}

function filesOf(scan: FolderScan, set: 'train' | 'valid', className: string): string[] {
  const label = scan.classNames.indexOf(className);
  return scan[set].files.filter((_, i) => scan[set].labels[i] === label);
}

function expectSortedByClassThenPath(scan: FolderScan): void {
  for (const set of [scan.train, scan.valid]) {
    expect(set.labels.length).toBe(set.files.length);
    for (let i = 1; i < set.files.length; i++) {
      const ordered = set.labels[i - 1] < set.labels[i] || (set.labels[i - 1] === set.labels[i] && set.files[i - 1] < set.files[i]);
      expect([set.files[i - 1], set.files[i], ordered]).toEqual([set.files[i - 1], set.files[i], true]);
    }
  }
}

/** Rejects with SemihardError 'ERR_SEMIHARD_DATA' and this message. */
const expectDataError = (promise: Promise<unknown>, message: string | RegExp): Promise<void> => expectSemihardError(promise, 'ERR_SEMIHARD_DATA', message);

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

describe('the split layout (root/<class>/**)', () => {
  it('finds every image of each class at any depth, and lists what is not an image', async () => {
    const scan = await scanImageFolder({ imageFolder: split.root, seed: 1 });
    expect(scan.root).toBe(split.root);
    expect(scan.layout).toBe('split');
    expect(scan.classNames).toEqual(SORTED);
    const expected = expectedImages(split, extraImages);
    for (const name of NAMES) {
      const found = [...filesOf(scan, 'train', name), ...filesOf(scan, 'valid', name)].sort(byCodeUnit);
      expect([name, found]).toEqual([name, [...expected.get(name)!].sort(byCodeUnit)]);
    }
    expect(scan.ignored).toEqual([...split.nonImages, ...extraIgnored].sort(byCodeUnit));
    expect(scan.ignored.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['.DS_Store', 'Thumbs.db', 'notes.txt']));
    expect([...scan.train.files, ...scan.valid.files].some((f) => f.includes(`${path.sep}.`))).toBe(false);
    expectSortedByClassThenPath(scan);
  });

  it('splits each class by seed: round(n · validFraction) validation images, at most n − 1', async () => {
    const counts = new Map([...expectedImages(split, extraImages)].map(([name, files]) => [name, files.length]));
    for (const validFraction of [undefined, 0, 0.5, 0.95]) {
      const scan = await scanImageFolder({ imageFolder: split.root, seed: 3, ...(validFraction === undefined ? {} : { validFraction }) });
      for (const name of NAMES) {
        const n = counts.get(name)!;
        const nValid = Math.min(Math.round(n * (validFraction ?? 0.2)), n - 1);
        expect([validFraction, name, filesOf(scan, 'valid', name).length, filesOf(scan, 'train', name).length]).toEqual([validFraction, name, nValid, n - nValid]);
      }
    }
  });

  it('gives the same split for the same seed and another for another seed', async () => {
    const a = await scanImageFolder({ imageFolder: split.root, seed: 11, validFraction: 0.3 });
    const b = await scanImageFolder({ imageFolder: split.root, seed: 11, validFraction: 0.3 });
    const c = await scanImageFolder({ imageFolder: split.root, seed: 12, validFraction: 0.3 });
    expect(b).toEqual(a);
    // Another seed picks other validation images: per class, the chance of the same pick is
    // 1 / C(n, k); over these five classes it is below 1e-9.
    expect(c.valid.files).not.toEqual(a.valid.files);
    expect(c.valid.labels).toEqual(a.valid.labels);
  });
});

describe('the train/valid layout', () => {
  it('reads root/train/<class> and root/valid/<class> (or val/), class names over both', async () => {
    for (const validName of ['valid', 'val'] as const) {
      const folder = await writeImageFolder(path.join(tmp, `tv-${validName}`), {
        layout: 'train-valid',
        validName,
        classes: ['b', 'a', 'c'],
        perClass: [4, 3, 5],
        validPerClass: [2, 1, 0],
        specials: ['rgba', 'corrupt'],
      });
      const readme = touch(path.join(folder.root, 'README.md'), 'about');
      fs.mkdirSync(path.join(folder.root, 'test', 'a'), { recursive: true });
      const scan = await scanImageFolder({ imageFolder: folder.root, seed: 0, validFraction: 0.2 }); // validFraction has nothing to split here
      expect([scan.layout, scan.classNames]).toEqual(['train-valid', ['a', 'b', 'c']]);
      for (const set of ['train', 'valid'] as const) {
        for (const name of ['a', 'b', 'c']) {
          const written = folder.images.filter((i) => i.split === set && i.className === name).map((i) => i.file);
          expect([set, name, filesOf(scan, set, name)]).toEqual([set, name, written.sort(byCodeUnit)]);
        }
      }
      expect(scan.ignored).toEqual([...folder.nonImages, readme, path.join(folder.root, 'test')].sort(byCodeUnit));
      expectSortedByClassThenPath(scan);
    }
  });

  it('names a validation class that has no training folder', async () => {
    const folder = await writeImageFolder(path.join(tmp, 'tv-extra'), { layout: 'train-valid', classes: 2, perClass: 2, validPerClass: 1 });
    fs.mkdirSync(path.join(folder.root, 'valid', 'zebra'));
    fs.copyFileSync(folder.images[0].file, path.join(folder.root, 'valid', 'zebra', 'z.png'));
    await expectDataError(scanImageFolder({ imageFolder: folder.root, seed: 0 }), `${folder.root}: the validation class zebra has no training folder; each validation class needs training images`);
  });
});

describe('validFolder', () => {
  it('takes the validation classes from another folder', async () => {
    const train = await writeImageFolder(path.join(tmp, 'vf-train'), { classes: ['x', 'y'], perClass: 3 });
    const valid = await writeImageFolder(path.join(tmp, 'vf-valid'), { classes: ['y'], perClass: 2, seed: 5 });
    const scan = await scanImageFolder({ imageFolder: train.root, validFolder: valid.root, seed: 0 });
    expect([scan.layout, scan.classNames]).toEqual(['valid-folder', ['x', 'y']]);
    expect(scan.train.files).toEqual(train.images.map((i) => i.file).sort(byCodeUnit));
    expect(scan.valid.files).toEqual(valid.images.map((i) => i.file).sort(byCodeUnit));
    expect([...scan.valid.labels]).toEqual([1, 1]);
  });

  it('is an error when it is missing or not a folder', async () => {
    const missing = path.join(tmp, 'no-such-valid');
    await expectDataError(scanImageFolder({ imageFolder: split.root, validFolder: missing, seed: 0 }), `The validation folder ${missing} does not exist`);
    const file = touch(path.join(tmp, 'a-file'));
    await expectDataError(scanImageFolder({ imageFolder: split.root, validFolder: file, seed: 0 }), `The validation folder ${file} is not a folder`);
  });
});

describe('validFiles', () => {
  let folder: WrittenFolder;
  beforeAll(async () => {
    folder = await writeImageFolder(path.join(tmp, 'vfiles'), { classes: ['p', 'q'], perClass: 5, nonImages: true });
  });
  const chosen = (): string[] => [folder.images[1].relative, folder.images[3].relative, folder.images[7].relative];

  it('takes the listed files (relative to the root) as the validation set, from an Array or a text file', async () => {
    const expectedValid = chosen()
      .map((r) => path.join(folder.root, r))
      .sort(byCodeUnit);
    const listFile = touch(path.join(tmp, 'valid.txt'), `# validation images\n\n${chosen()[0]}\n  ./${chosen()[1]}  \n\n# more\n${chosen()[2]}\n${chosen()[2]}\n`);
    for (const validFiles of [chosen(), listFile]) {
      const scan = await scanImageFolder({ imageFolder: folder.root, validFiles, seed: 0 });
      expect([scan.layout, scan.classNames]).toEqual(['valid-files', ['p', 'q']]);
      expect(scan.valid.files).toEqual(expectedValid);
      expect(scan.train.files).toEqual(folder.images.map((i) => i.file).filter((f) => !expectedValid.includes(f)).sort(byCodeUnit));
    }
  });

  it('names a listed file that does not exist, or is not one of the images', async () => {
    const missing = path.join(folder.root, 'p', 'gone.png');
    await expectDataError(scanImageFolder({ imageFolder: folder.root, validFiles: [...chosen(), 'p/gone.png'], seed: 0 }), `The validation file ${missing} does not exist`);
    const notes = folder.nonImages.find((f) => f.endsWith('notes.txt'))!;
    await expectDataError(scanImageFolder({ imageFolder: folder.root, validFiles: [path.relative(folder.root, notes)], seed: 0 }), `The validation file ${notes} is not one of the images of ${folder.root} (each must be an image inside a class folder)`);
    const listFile = path.join(tmp, 'no-such-list.txt');
    await expectDataError(scanImageFolder({ imageFolder: folder.root, validFiles: listFile, seed: 0 }), /^The validation file list .*no-such-list\.txt cannot be read: ENOENT/);
  });

  it('is an error when every image of a class is listed', async () => {
    const allOfQ = folder.images.filter((i) => i.className === 'q').map((i) => i.relative);
    await expectDataError(scanImageFolder({ imageFolder: folder.root, validFiles: allOfQ, seed: 0 }), `${folder.root}: every image of the class q is listed in data.validFiles; each validation class needs training images`);
  });
});

describe('folders that cannot be used', () => {
  it('names the root when it is missing, a file, or holds no class folders', async () => {
    const missing = path.join(tmp, 'missing-root');
    await expectDataError(scanImageFolder({ imageFolder: missing, seed: 0 }), `The image folder ${missing} does not exist`);
    const file = touch(path.join(tmp, 'root-file.png'));
    await expectDataError(scanImageFolder({ imageFolder: file, seed: 0 }), `The image folder ${file} is not a folder`);
    const flat = path.join(tmp, 'flat');
    touch(path.join(flat, 'a.png'));
    fs.mkdirSync(path.join(flat, '.hidden'));
    await expectDataError(scanImageFolder({ imageFolder: flat, seed: 0 }), `${flat} holds no class folders: put each class's images in a folder of its own (${path.join(flat, '<class>', '<image>')})`);
  });

  it('names an empty class folder and a class with a single image', async () => {
    const folder = await writeImageFolder(path.join(tmp, 'one-empty'), { classes: 2, perClass: 2, nested: false });
    const empty = path.join(folder.root, 'empty-class');
    touch(path.join(empty, 'sub', '.DS_Store'));
    await expectDataError(scanImageFolder({ imageFolder: folder.root, seed: 0 }), `The class folder ${empty} holds no images`);
    fs.rmSync(empty, { recursive: true });
    const single = path.join(folder.root, 'single');
    fs.mkdirSync(single);
    fs.copyFileSync(folder.images[0].file, path.join(single, 'only.png'));
    await expectDataError(scanImageFolder({ imageFolder: folder.root, seed: 0 }), `The class folder ${single} holds a single image: a class needs at least two (an anchor and a positive)`);
  });

  it('rejects bad arguments with TypeError or RangeError naming them', async () => {
    const root = split.root;
    const cases: [unknown, ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, string][] = [
      [null, TypeError, 'Expected an object for data but received null'],
      [{ seed: 0 }, TypeError, 'Expected a folder path for data.imageFolder but received undefined'],
      [{ imageFolder: 3, seed: 0 }, TypeError, 'Expected a folder path for data.imageFolder but received 3 of type number'],
      [{ imageFolder: '', seed: 0 }, RangeError, "Expected a non-empty folder path for data.imageFolder but received '' of type string"],
      [{ imageFolder: root, validFolder: 1, seed: 0 }, TypeError, 'Expected a folder path for data.validFolder but received 1 of type number'],
      [{ imageFolder: root, validFraction: '0.2', seed: 0 }, TypeError, "Expected a number in [0, 1) for data.validFraction but received '0.2' of type string"],
      [{ imageFolder: root, validFraction: 1, seed: 0 }, RangeError, 'Expected a number in [0, 1) for data.validFraction but received 1 of type number'],
      [{ imageFolder: root, validFraction: -0.1, seed: 0 }, RangeError, 'Expected a number in [0, 1) for data.validFraction but received -0.1 of type number'],
      [{ imageFolder: root, validFraction: NaN, seed: 0 }, RangeError, 'Expected a number in [0, 1) for data.validFraction but received NaN of type number'],
      [{ imageFolder: root, validFiles: 5, seed: 0 }, TypeError, 'Expected a path of a text file or an Array of paths for data.validFiles but received 5 of type number'],
      [{ imageFolder: root, validFiles: '', seed: 0 }, RangeError, "Expected a non-empty folder path for data.validFiles but received '' of type string"],
      [{ imageFolder: root, validFiles: ['a.png', 2], seed: 0 }, TypeError, 'Expected a path relative to data.imageFolder for data.validFiles[1] but received 2 of type number'],
      [{ imageFolder: root, validFiles: [''], seed: 0 }, RangeError, "Expected a non-empty path relative to data.imageFolder for data.validFiles[0] but received '' of type string"],
      [{ imageFolder: root, validFolder: root, validFiles: ['a.png'], seed: 0 }, RangeError, 'Give one way to choose validation images, not data.validFolder and data.validFiles'],
      [{ imageFolder: root, validFolder: root, validFraction: 0.1, seed: 0 }, RangeError, 'Give one way to choose validation images, not data.validFolder and data.validFraction'],
      [{ imageFolder: root }, TypeError, 'Expected a non-negative integer for seed but received undefined'],
      [{ imageFolder: root, seed: -1 }, RangeError, 'Expected a non-negative integer for seed but received -1 of type number'],
      [{ imageFolder: root, seed: '1' }, TypeError, "Expected a non-negative integer for seed but received '1' of type string"],
    ];
    for (const [options, kind, message] of cases) {
      const error = await scanImageFolder(options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect([options, error]).toEqual([options, expect.any(kind)]);
      expect((error as Error).message).toBe(message);
    }
  });
});

it('keeps the event loop turning while scanning 2,000 files (largest delay under 50 ms)', async () => {
  // The bound, 50 ms. The walk reads folders asynchronously in batches; only sorting and
  // splitting run on the loop, in slices. On a loaded machine (2 shared cores) the scheduler
  // alone can hold the loop longer than that, so the same tree is also read by Node's own
  // recursive readdir (no semihard code on the loop) as a control: the bound is 50 ms, or twice
  // the control's largest delay when the machine makes even that exceed 25 ms.
  const root = path.join(tmp, 'many');
  for (let c = 0; c < 10; c++) {
    for (let k = 0; k < 200; k++) touch(path.join(root, `class-${c}`, `d${k % 7}`, `e${k % 3}`, `image-${k}.jpg`));
    touch(path.join(root, `class-${c}`, 'notes.txt'));
  }
  // A scheduler stall hits one window by chance; code that blocked the loop would do it in every
  // window: so three rounds, and the best of ours is compared.
  const ours: number[] = [];
  const control: number[] = [];
  for (let round = 0; round < 3; round++) {
    let scan: FolderScan | undefined;
    ours.push(await largestDelay(async () => (scan = await scanImageFolder({ imageFolder: root, seed: 0 }))));
    expect(scan!.train.files.length + scan!.valid.files.length).toBe(2000);
    expect(scan!.ignored.length).toBe(10);
    control.push(await largestDelay(() => fs.promises.readdir(root, { recursive: true, withFileTypes: true })));
  }
  const bound = Math.max(50, 2 * Math.max(...control));
  expect({ ours, control, bestUnderBound: Math.min(...ours) < bound }).toEqual({ ours, control, bestUnderBound: true });
});
