/** Assertions and set-up shared by the integration tests. */
import { expect } from "vitest";
import { type ChangeText, patchChange, sealChange, wholeState } from "../../src/core/content.ts";
import { httpCommander } from "../../src/core/http.ts";
import type { OpName } from "../../src/core/ops.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay, type Relay, RelayError, type RelayOptions } from "../../src/node.ts";
import { fastBackoff } from "../faults/support.ts";
import type { Stack } from "../setup/types.ts";
import { uniqueName } from "../support/util.ts";

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

/**
 * One stream function called straight through the command door of `stack`,
 * as another process or a buggy leader would; the reply parsed, errors typed.
 */
export async function fcallOn(
  stack: Stack,
  fn: OpName,
  name: string,
  args: string[],
): Promise<Record<string, unknown>> {
  const raw = await httpCommander({ url: stack.webdisUrl }).call("FCALL", [fn, "1", baseKey(name), name, ...args]);
  return JSON.parse(String(raw)) as Record<string, unknown>;
}

export interface RawPublish {
  /** The seq the change builds on (a string: sent as it is); default: the stream's seq as this helper last saw it. */
  base?: number | string;
  op?: string;
  token?: string;
  /** Send a "p" change with this JSON Patch (its hash: of `state`) instead of the state whole. */
  patch?: unknown[];
  /** Send this instead of the sealed change (form checks); `kind` with it, default "s". */
  content?: string;
  kind?: string;
}

/**
 * A stream started straight through the functions with a leader token the
 * test knows, so it can publish as the leader, or as a buggy one, would:
 * changes are sealed with the password's real content key, so followers open
 * them (src/core/content.ts), whatever they hold.
 */
export async function sealedStream(
  stack: Stack,
  prefix: string,
  creds: { password: string; code: string },
  name = uniqueName(prefix),
) {
  const token = randomHex(24);
  const [pw, code] = await Promise.all([
    derivePasswordKeys(name, creds.password),
    deriveVerifier("code", name, creds.code),
  ]);
  const started = await fcallOn(stack, "relay_start", name, [pw.verifier, code, randomHex(24), token]);
  const epoch = String(started.epoch);
  let seq = 0;
  const s = {
    name,
    epoch,
    key: pw.content,
    verifier: pw.verifier,
    /** The stream's seq after this helper's last applied publish. */
    get seq() {
      return seq;
    },
    /** `change` sealed for the seq after `base`, as the leader would send it. */
    seal: (change: ChangeText, base = seq) => sealChange(pw.content, { name, epoch, seq: base + 1 }, change),
    async publish(state: unknown, o: RawPublish = {}) {
      const base = o.base ?? seq;
      const at = typeof base === "number" ? base : seq;
      const json = typeof state === "string" ? state : JSON.stringify(state);
      const change = o.patch ? patchChange(json, JSON.stringify(o.patch)) : wholeState(json);
      const kind = o.content !== undefined ? (o.kind ?? "s") : change.kind;
      const content = o.content ?? (await s.seal(change, at));
      const args = [o.token ?? token, "1", o.op ?? randomHex(16), String(base), kind, content];
      const r = await fcallOn(stack, "relay_publish", name, args);
      if (r.changed === true) seq = Number(r.seq);
      return r;
    },
  };
  return s;
}

/** What Redis holds of a stream's plan: the snapshot envelope (null before the first) and the log's envelopes. */
export async function storedChanges(stack: Stack, name: string): Promise<{ snap: string | null; log: string[] }> {
  const snap = (await stack.redis("GET", `${baseKey(name)}:snap`)) as string | null;
  const log = (await stack.redis("LRANGE", `${baseKey(name)}:log`, 0, -1)) as string[];
  return { snap, log };
}
