// Turning command-line strings into the values the API takes. Only the syntax is checked
// here (is it a number at all?); whether a value is allowed is the API's to say, so that
// `--dim 1.5` and `train({ model: { dim: 1.5 } })` get the same RangeError. (Enumerated
// flags are commander's `.choices()` of the API's own tuples: the same list, listed in --help.)
import { InvalidArgumentError } from 'commander';
import { NAMED_DATA_SETS, type DataSource } from '../index';

/** A decimal number, as commander's option parser ('wide' is rejected as a syntax error). */
export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) throw new InvalidArgumentError(`'${value}' is not a number.`);
  return n;
}

/** `--data`: the two named sets by name, anything else a folder of IDX files. */
export function dataSource(value: string): DataSource {
  return (NAMED_DATA_SETS as readonly string[]).includes(value) ? (value as DataSource) : { idxDir: value };
}

/** The object without its undefined fields, or undefined when none is left (the API's defaults then apply). */
export function given<T extends object>(fields: T): Partial<T> | undefined {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as Partial<T>) : undefined;
}
