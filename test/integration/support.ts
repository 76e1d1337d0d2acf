/** Assertions shared by the integration tests. */
import { expect } from "vitest";
import { RelayError } from "../../src/node.ts";

/** Awaits `p`, expects it to reject with a RelayError of `code`, and returns that error. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<RelayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(RelayError);
  expect((err as RelayError).code, (err as Error).message).toBe(code);
  return err as RelayError;
}

/** `p`, or a clear failure after `ms` (instead of the test's own timeout). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
