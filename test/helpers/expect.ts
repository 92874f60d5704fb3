// Assertions several test files share.
import { SemihardError, type SemihardErrorCode } from '../../lib/errors';

/** Every value the same float32, bit for bit (NaN and -0 included). */
export function expectIdentical(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let differing = 0;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) differing++;
  expect(differing).toBe(0);
}

/** `promise` rejects with a SemihardError of `code` whose message is `message` (a string: exactly). */
export async function expectSemihardError(promise: Promise<unknown>, code: SemihardErrorCode, message: string | RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SemihardError);
  expect((error as SemihardError).code).toBe(code);
  if (typeof message === 'string') expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
}
