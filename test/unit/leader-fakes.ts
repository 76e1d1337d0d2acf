/**
 * Fakes for the leader's shell tests that run on fake timers. Real AES-GCM (and
 * the WebCrypto SHA-1 of a patch) resolves on Node's thread pool, outside fake
 * time, so those files mock content.ts with `fakedContent`: its sealChange
 * (`fakeSealChange`) resolves in a microtask and is random like the real seal (a
 * counter), so "a retry sends the very same bytes" still means something, and
 * patchChangeAsync is the synchronous patchChange (the same text). leader-sealed.test.ts
 * runs the shell on the real seal, on real timers. This module must not import
 * content.ts at run time (it is the one being mocked).
 *
 *   vi.mock("../../src/core/content.ts", async (real) => (await import("./leader-fakes.ts")).fakedContent(real));
 */
import type * as Content from "../../src/core/content.ts";
import type { LeaderSession, SealedPublish } from "../../src/core/leader/types.ts";
import { apply, type PatchOp } from "../../src/core/patch.ts";
import { fromBase64Url, type SealPlace, toBase64Url } from "../../src/core/seal.ts";

const utf8 = new TextEncoder();
let sealed = 0;

interface FakeSealed {
  at: Omit<SealPlace, "kind">;
  kind: "s" | "p";
  text: string;
  /** Differs on every call, as the real seal's random IV does. */
  n: number;
}

export function fakeSealChange(
  _key: CryptoKey,
  at: Omit<SealPlace, "kind">,
  change: { kind: "s" | "p"; text: string },
): Promise<string> {
  const body: FakeSealed = { at, kind: change.kind, text: change.text, n: ++sealed };
  return Promise.resolve(toBase64Url(utf8.encode(JSON.stringify(body))));
}

/** content.ts with the seal and the patch's digest resolving in a microtask (above). */
export async function fakedContent(real: <T>() => Promise<T>): Promise<typeof Content> {
  const actual = await real<typeof Content>();
  return {
    ...actual,
    sealChange: fakeSealChange,
    patchChangeAsync: (json, patchJson) => Promise.resolve(actual.patchChange(json, patchJson)),
  };
}

export const fakeUnseal = (content: string): FakeSealed => JSON.parse(new TextDecoder().decode(fromBase64Url(content)));

/**
 * The state JSON a publish stands for: the text of a whole state, or the patch
 * applied to the session's acknowledged state (read at call time: the shell
 * moves it on after the reply).
 */
export function stateJsonOf(s: LeaderSession, body: SealedPublish): string {
  const { text } = fakeUnseal(body.content);
  if (body.kind === "s") return text;
  return JSON.stringify(apply(JSON.parse(s.json), JSON.parse(text).patch as PatchOp[]));
}

/** Any AES-GCM key will do where sealing is faked: the type wants one. */
export const anyKey: CryptoKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
  "encrypt",
  "decrypt",
]);

/** A session as start/reconnect makes it; `state` sets `json` too. */
export function session(o: Partial<LeaderSession> = {}): LeaderSession {
  const state = o.state ?? {};
  return {
    name: "s",
    channel: "c",
    epoch: "1",
    term: 1,
    seq: 0,
    token: "t",
    pass: "-",
    key: anyKey,
    snapshot: false,
    ...o,
    state,
    json: o.json ?? JSON.stringify(state),
  };
}
