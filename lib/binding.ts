// The only module that loads the native addon. Everything native goes through here, so
// tests can inject a fake binding and native errors are rebuilt with the caller's stack.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeBinding, NativeEmbedder, NativeEmbedderOptions, NativeTrainer, NativeTrainerOptions } from '../binding';
import { SemihardError, fromNative } from './errors';

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'semihard') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, '..');
    dir = parent;
  }
}

/** Where the addon is looked for: $SEMIHARD_ADDON, else build/Release/semihard.node. */
export function addonPath(): string {
  return process.env.SEMIHARD_ADDON ?? path.join(packageRoot(), 'build', 'Release', 'semihard.node');
}

/** semihard's own package.json version. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function load(): NativeBinding {
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new SemihardError(
      'ERR_SEMIHARD_LOAD',
      `The semihard native addon is not built (${file} is missing). Run \`npm run build:addon\` in ${packageRoot()}; ` +
        'it needs CMake, a C++17 compiler and LibTorch (see README: "How LibTorch is found").',
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  } catch (err) {
    throw new SemihardError(
      'ERR_SEMIHARD_LOAD',
      `The semihard native addon at ${file} could not be loaded: ${(err as Error).message}. ` +
        'If LibTorch moved since the build, rebuild with `npm run build:addon`.',
      { cause: err },
    );
  }
}

let injected: NativeBinding | undefined;
let loaded: NativeBinding | undefined;

/** Replaces the native addon (tests of the TypeScript layer); `undefined` restores it. */
export function setBindingForTesting(fake: NativeBinding | undefined): void {
  injected = fake;
}

function native(): NativeBinding {
  if (injected) return injected;
  loaded ??= load();
  return loaded;
}

/** Calls `fn`, turning native errors (thrown or rejected) into the library's errors. */
function translated<R>(fn: () => R, caller: Function): R {
  let result: R;
  try {
    result = fn();
  } catch (err) {
    throw fromNative(err, caller);
  }
  // A thenable, not instanceof Promise: the addon's promises may belong to another realm.
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    return (result as unknown as Promise<unknown>).then(undefined, (err: unknown) => {
      throw fromNative(err, caller);
    }) as R;
  }
  return result;
}

/** Every method of a native object, with errors translated. */
function withTranslatedErrors<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, property) {
      const value = Reflect.get(t, property) as unknown;
      if (typeof value !== 'function') return value;
      const wrapper = (...args: unknown[]): unknown => translated(() => (value as Function).apply(t, args), wrapper);
      return wrapper;
    },
  });
}

/**
 * `names` of a native object's methods, with errors translated, set on the object itself: a
 * Proxy would hide the native object from the addon when it is handed back (an image store
 * given to setData).
 */
function translateMethods<T extends object>(target: T, names: (keyof T & string)[]): T {
  for (const name of names) {
    const method = target[name] as unknown as Function;
    const wrapper = (...args: unknown[]): unknown => translated(() => method.apply(target, args), wrapper);
    Object.defineProperty(target, name, { value: wrapper, enumerable: false, configurable: true, writable: false });
  }
  return target;
}

/** The addon's functions, with native errors rethrown as the library's errors. */
export const binding: Omit<NativeBinding, 'Trainer' | 'createEmbedder'> = withTranslatedErrors({
  tripletLoss: (...args) => native().tripletLoss(...args),
  tripletLossAsync: (...args) => native().tripletLossAsync(...args),
  tripletLossFromDistances: (...args) => native().tripletLossFromDistances(...args),
  tripletLossFromDistancesAsync: (...args) => native().tripletLossFromDistancesAsync(...args),
  info: () => native().info(),
  setNumThreads: (threads) => native().setNumThreads(threads),
  benchmarkGram: (...args) => native().benchmarkGram(...args),
  lrSuggestion: (...args) => native().lrSuggestion(...args),
  cropBoxesForTesting: (...args) => native().cropBoxesForTesting(...args),
  networkInputForTesting: (...args) => native().networkInputForTesting(...args),
  evaluateEmbeddings: (...args) => native().evaluateEmbeddings(...args),
  nearestNeighbours: (...args) => native().nearestNeighbours(...args),
  linearSvmForTesting: (...args) => native().linearSvmForTesting(...args),
  projectEmbeddings: (...args) => native().projectEmbeddings(...args),
  augmentImages: (...args) => native().augmentImages(...args),
  readTorchFile: (path) => native().readTorchFile(path),
  createImageStore: (...args) => translateMethods(native().createImageStore(...args), ['write', 'read']),
} satisfies Omit<NativeBinding, 'Trainer' | 'createEmbedder'>);

/** A native trainer whose errors are the library's errors. */
export function createTrainer(options: NativeTrainerOptions): NativeTrainer {
  const Trainer = native().Trainer;
  return withTranslatedErrors(translated(() => new Trainer(options), createTrainer));
}

/** A native embedder (inference only) whose errors are the library's errors. */
export async function createEmbedder(options: NativeEmbedderOptions, state: Uint8Array): Promise<NativeEmbedder> {
  return withTranslatedErrors(await translated(() => native().createEmbedder(options, state), createEmbedder));
}
