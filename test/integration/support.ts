/** Assertions and set-up shared by the integration tests. */
import { expect } from "vitest";
import { createRelay, type Relay, RelayError, type RelayOptions } from "../../src/node.ts";
import { fastBackoff } from "../faults/support.ts";
import type { Stack } from "../setup/types.ts";

/** A relay on both doors of `stack`, with no heartbeat and fast retries; `o` overrides. */
export function relayOn(stack: Stack, o: Partial<RelayOptions> = {}): Relay {
  return createRelay({
    url: stack.webdisUrl,
    subscribeUrl: stack.subscribeUrl,
    heartbeatMs: 0,
    backoff: fastBackoff,
    ...o,
  });
}

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
