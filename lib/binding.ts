// The only module that loads the native addon. Everything native goes through here, so
// tests can inject a fake binding and native errors are rebuilt with the caller's stack.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeBinding } from '../binding';
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

/** The addon's functions, with native errors rethrown as the library's errors. */
export const binding: NativeBinding = {
  tripletLoss(...args) {
    try {
      return native().tripletLoss(...args);
    } catch (err) {
      throw fromNative(err, binding.tripletLoss);
    }
  },
  async tripletLossAsync(...args) {
    try {
      return await native().tripletLossAsync(...args);
    } catch (err) {
      throw fromNative(err, binding.tripletLossAsync);
    }
  },
  tripletLossFromDistances(...args) {
    try {
      return native().tripletLossFromDistances(...args);
    } catch (err) {
      throw fromNative(err, binding.tripletLossFromDistances);
    }
  },
  async tripletLossFromDistancesAsync(...args) {
    try {
      return await native().tripletLossFromDistancesAsync(...args);
    } catch (err) {
      throw fromNative(err, binding.tripletLossFromDistancesAsync);
    }
  },
  info() {
    return native().info();
  },
  benchmarkGram(...args) {
    try {
      return native().benchmarkGram(...args);
    } catch (err) {
      throw fromNative(err, binding.benchmarkGram);
    }
  },
  setNumThreads(threads) {
    try {
      native().setNumThreads(threads);
    } catch (err) {
      throw fromNative(err, binding.setNumThreads);
    }
  },
};
