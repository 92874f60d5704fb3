// One place builds every error the library throws: TypeError for a wrong type, RangeError
// for a right type with a bad value (both naming the argument and what was expected), and
// SemihardError with a stable `code` for everything else.

export type SemihardErrorCode =
  | 'ERR_SEMIHARD_LOAD' // the native addon could not be loaded
  | 'ERR_SEMIHARD_TORCH' // LibTorch reported a failure
  | 'ERR_SEMIHARD_NATIVE' // another native failure
  | 'ERR_SEMIHARD_DATA' // a data set is missing, unreadable or corrupt
  | 'ERR_SEMIHARD_IMAGE' // an image file is corrupt, truncated, empty or not decodable (the message names it)
  | 'ERR_SEMIHARD_CHECKPOINT' // a checkpoint is corrupt, truncated or incompatible
  | 'ERR_SEMIHARD_BUSY' // a trainer is already running a job
  | 'ERR_SEMIHARD_DISTRIBUTED' // a peer process of multi-process training exited, hung or could not be reached
  | 'ERR_SEMIHARD_WEIGHTS' // a weight file (.pth, .safetensors) is unreadable, corrupt, truncated or refused (the message names it)
  | 'ERR_SEMIHARD_PLOT' // a picture could not be drawn (Vega-Lite, Vega or resvg failed on the render worker)
  | 'ABORT_ERR'; // training was cancelled through its AbortSignal

export class SemihardError extends Error {
  readonly code: SemihardErrorCode;
  constructor(code: SemihardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SemihardError';
    this.code = code;
  }
}

/** An argument error carries the name of the argument it is about. */
export type ArgumentError = (TypeError | RangeError) & { argument: string; code: 'ERR_SEMIHARD_ARGUMENT' };

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}' of type string`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${String(value)} of type ${typeof value}`;
}

function decorate<E extends TypeError | RangeError>(error: E, argument: string): E & ArgumentError {
  Object.defineProperty(error, 'argument', { value: argument, enumerable: true });
  Object.defineProperty(error, 'code', { value: 'ERR_SEMIHARD_ARGUMENT', enumerable: true });
  return error as E & ArgumentError;
}

/** "Expected <expected> for <argument> but received <value>" as a TypeError. */
export function typeError(argument: string, expected: string, received: unknown): TypeError & ArgumentError {
  return decorate(new TypeError(`Expected ${expected} for ${argument} but received ${describe(received)}`), argument);
}

/** "Expected <expected> for <argument> but received <value>" as a RangeError. */
export function rangeError(argument: string, expected: string, received: unknown): RangeError & ArgumentError {
  return decorate(new RangeError(`Expected ${expected} for ${argument} but received ${describe(received)}`), argument);
}

/** A RangeError whose whole message is given (when "received" needs more words). */
export function rangeErrorWithMessage(argument: string, message: string): RangeError & ArgumentError {
  return decorate(new RangeError(message), argument);
}

/**
 * Native errors arrive as plain Error/RangeError/TypeError objects with a `code`; rebuild
 * them here so that they carry the caller's JavaScript stack and the library's classes.
 */
export function fromNative(error: unknown, caller: Function): Error {
  if (error instanceof SemihardError) return error; // already ours (e.g. the addon failed to load)
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') {
    return new SemihardError('ERR_SEMIHARD_NATIVE', String(error));
  }
  const native = error as Error & { code?: string; argument?: string };
  let out: Error;
  // By name, not instanceof: the addon's errors may come from another realm (vm contexts).
  if (native.name === 'RangeError' || native.name === 'TypeError') {
    const Ctor = native.name === 'RangeError' ? RangeError : TypeError;
    out = decorate(new Ctor(native.message), native.argument ?? 'arguments');
  } else {
    const code: SemihardErrorCode =
      native.code === 'ERR_SEMIHARD_TORCH' || native.code === 'ERR_SEMIHARD_BUSY' || native.code === 'ERR_SEMIHARD_DISTRIBUTED'
        ? native.code
        : 'ERR_SEMIHARD_NATIVE';
    out = new SemihardError(code, native.message, { cause: native });
  }
  Error.captureStackTrace?.(out, caller);
  return out;
}
