// Tiny predicates for option validation, each throwing through lib/errors.ts.
import { rangeError, typeError } from './errors';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Throws on keys the caller probably misspelt. */
export function checkKnownKeys(options: Record<string, unknown>, known: readonly string[], argument: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw typeError(`${argument}.${key}`, `no such option (known: ${known.join(', ')})`, options[key]);
    }
  }
}

export function optionsObject(value: unknown, argument: string, required: boolean): Record<string, unknown> {
  if (value === undefined && !required) return {};
  if (!isPlainObject(value)) throw typeError(argument, 'an object', value);
  return value;
}

export function positiveInteger(value: unknown, argument: string): number {
  if (typeof value !== 'number') throw typeError(argument, 'a positive integer', value);
  if (!Number.isSafeInteger(value) || value < 1) throw rangeError(argument, 'a positive integer', value);
  return value;
}

export function nonNegativeInteger(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(argument, 'a non-negative integer', value);
  if (!Number.isSafeInteger(value) || value < 0) throw rangeError(argument, 'a non-negative integer', value);
  return value;
}

export function finiteNumber(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError(argument, 'a finite number', value);
  if (!Number.isFinite(value)) throw rangeError(argument, 'a finite number', value);
  return value;
}

/** float32's largest finite value: a number beyond it becomes Infinity in the native layer. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A finite number that float32 can hold (|value| ≤ 3.4028235e38). */
export function float32Number(value: unknown, argument: string, fallback: number): number {
  const v = finiteNumber(value, argument, fallback);
  if (Math.abs(v) > FLOAT32_MAX) throw rangeError(argument, 'a number within float32 range (|x| ≤ 3.4028235e38)', value);
  return v;
}

/** A host name or address for a rendezvous: a non-empty string. */
export function hostName(value: unknown, argument: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw typeError(argument, 'a host name or address', value);
  if (value.length === 0) throw rangeError(argument, 'a host name or address', value);
  return value;
}

/** A TCP port, 1..65535. */
export function tcpPort(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = positiveInteger(value, argument);
  if (port > 65535) throw rangeError(argument, 'a TCP port (1..65535)', value);
  return port;
}

export function booleanOption(value: unknown, argument: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw typeError(argument, 'a boolean', value);
  return value;
}

export function oneOf<T extends string>(value: unknown, argument: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const expected = `one of ${allowed.map((a) => `'${a}'`).join(', ')}`;
  if (typeof value !== 'string') throw typeError(argument, expected, value);
  if (!(allowed as readonly string[]).includes(value)) throw rangeError(argument, expected, value);
  return value as T;
}
