/**
 * What travels inside the seal, and how a reader turns sealed envelopes into
 * a state. A "s" change holds the state's JSON as the leader stringified it; a
 * "p" change holds `{"h":"<sha1 of the resulting state's JSON>","patch":[...]}`:
 * the result check rides inside the seal (a plaintext hash of a plan would
 * itself tell a guessed plan apart). Followers validate what they open: a text
 * that opens but is not a plan is refused like one that does not open.
 *
 * A text of COMPRESS_FROM bytes or more is sealed deflated when that is
 * smaller, marked by a first byte 0 (JSON text never starts with one).
 * Compressing before sealing lets sizes tell how compressible a plan is;
 * only the leader writes plans, so no attacker text shares a seal with it
 * (the condition CRIME-style attacks need). SECURITY.md, "Sealed plans".
 */

import { deflate, inflate } from "./deflate.ts";
import { RelayError } from "./errors.ts";
import { applyChange, type Change, type Position } from "./follower/delta.ts";
import { type SealPlace, sealBytes, unsealBytes } from "./seal.ts";
import { sha1hex } from "./sha1.ts";
import { type ConnectReply, patchBody, type SealedEnvelope } from "./wire.ts";

/** A change before sealing: its kind and the plaintext. */
export interface ChangeText {
  kind: "s" | "p";
  text: string;
}

export const wholeState = (json: string): ChangeText => ({ kind: "s", text: json });

/** `patchJson`: the JSON Patch from the base to the state whose JSON is `json`. */
export const patchChange = (json: string, patchJson: string): ChangeText => ({
  kind: "p",
  text: `{"h":"${sha1hex(json)}","patch":${patchJson}}`,
});

/**
 * `patchChange` with the SHA-1 taken by WebCrypto where the runtime has it: browsers and
 * Node run the digest off the main thread, and a 2,000-waypoint plan's hash costs the
 * page ~0.5 ms instead of several (bench scenario 12). The same text as `patchChange`.
 */
export async function patchChangeAsync(json: string, patchJson: string): Promise<ChangeText> {
  return { kind: "p", text: `{"h":"${await sha1Async(json)}","patch":${patchJson}}` };
}

/** `sha1hex(text)` by WebCrypto (off the main thread) where the runtime has it, else by sha1.ts. */
export async function sha1Async(text: string): Promise<string> {
  if (typeof globalThis.crypto?.subtle?.digest !== "function") return sha1hex(text);
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-1", enc.encode(text)));
  let h = "";
  for (const b of bytes) h += b.toString(16).padStart(2, "0");
  return h;
}

const isPlainObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

export const COMPRESS_FROM = 1024;
/** What one change may inflate to on a follower (max_state is 1 MiB sealed; plans compress well, not 64x). */
export const MAX_INFLATED = 64 * 1024 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

async function packed(text: string): Promise<Uint8Array> {
  const bytes = enc.encode(text);
  // Runtimes without CompressionStream (old Safari) seal the text as it is; every reader can still open it.
  if (bytes.length < COMPRESS_FROM || typeof CompressionStream === "undefined") return bytes;
  const z = await deflate(bytes);
  if (z.length + 1 >= bytes.length) return bytes;
  const out = new Uint8Array(z.length + 1);
  out.set(z, 1);
  return out;
}

async function unpacked(bytes: Uint8Array, limit: number): Promise<string | undefined> {
  try {
    return dec.decode(bytes[0] === 0 ? await inflate(bytes.subarray(1), limit) : bytes);
  } catch {
    return undefined;
  }
}

export async function sealChange(key: CryptoKey, at: Omit<SealPlace, "kind">, change: ChangeText): Promise<string> {
  return sealBytes(key, { ...at, kind: change.kind }, await packed(change.text));
}

/**
 * A leader's state (its JSON) sealed for the leader's own disk: the unsent edits a page
 * keeps so they survive the tab (web/store.ts). Bound to the stream and the epoch/seq the
 * edits were based on, deflated like a change; opens with the stream's password only.
 */
export async function sealKept(key: CryptoKey, at: Omit<SealPlace, "kind">, json: string): Promise<string> {
  return sealBytes(key, { ...at, kind: "kept" }, await packed(json));
}

/** The state `sealKept` sealed, or SEALED (another password, another place, altered, not an object). */
export async function openKept(key: CryptoKey, at: Omit<SealPlace, "kind">, sealed: string): Promise<unknown> {
  const bytes = await unsealBytes(key, { ...at, kind: "kept" }, sealed).catch(() => {
    throw new RelayError(
      "SEALED",
      "the kept state does not open with this stream's key (another password, or altered)",
    );
  });
  const text = await unpacked(bytes, MAX_INFLATED);
  let value: unknown;
  try {
    value = text === undefined ? undefined : JSON.parse(text);
  } catch {}
  if (!isPlainObject(value)) throw new RelayError("SEALED", "the kept state opened, but is not a state");
  return value;
}

/** Opens one sealed envelope of stream `name` into a change; SEALED when it does not open or is not a plan. */
/** `limit`: the bytes a deflated text may inflate to (MAX_INFLATED; tests lower it). */
export async function openChange(
  key: CryptoKey,
  name: string,
  env: SealedEnvelope,
  limit = MAX_INFLATED,
): Promise<Change> {
  const bytes = await unsealBytes(key, { name, epoch: env.epoch, seq: env.seq, kind: env.k }, env.c);
  const text = await unpacked(bytes, limit);
  const base = { seq: env.seq, epoch: env.epoch, ts: env.ts };
  let value: unknown;
  try {
    value = text === undefined ? undefined : JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (env.k === "s") {
    if (isPlainObject(value)) return { ...base, state: value };
  } else {
    const r = patchBody.safeParse(value);
    if (r.success) return { ...base, patch: r.data.patch, h: r.data.h };
  }
  throw new RelayError("SEALED", `change ${env.seq} opened, but is not a ${env.k === "s" ? "state" : "patch"}`);
}

/**
 * The changes of one reply, opened one after another (each may inflate to
 * MAX_INFLATED: not all at once). Each must be of the reply's epoch: the key
 * depends on name and password only, so an older instance's change would open,
 * and the epoch it claims is the server's word; here it is the reply's.
 */
export async function openChanges(
  key: CryptoKey,
  name: string,
  epoch: string,
  envs: readonly SealedEnvelope[],
): Promise<Change[]> {
  const out: Change[] = [];
  for (const e of envs) {
    if (e.epoch !== epoch) throw new RelayError("SEALED", `change ${e.seq} is of another instance of the stream`);
    out.push(await openChange(key, name, e));
  }
  return out;
}

/**
 * The state a "full" reply stands for: its snapshot (or {} at seq 0 when the
 * stream has none yet) with every change since applied in order. The last
 * patch is checked against its SHA-1 (each one is authenticated by its seal);
 * anything that does not add up to the reply's seq is a PROTOCOL error, never
 * a partial state.
 */
export function fold(reply: { epoch: string; seq: number }, changes: readonly Change[]): Position {
  let at: Position = { seq: 0, epoch: reply.epoch, state: {} };
  let rest = changes;
  const first = changes[0];
  if (first && !first.patch) {
    at = { seq: first.seq, epoch: reply.epoch, state: first.state };
    rest = changes.slice(1);
  }
  for (const [i, c] of rest.entries()) {
    if (c.seq !== at.seq + 1) break;
    const r = applyChange(at, c, false, i === rest.length - 1);
    if (r.kind !== "state") break;
    at = { seq: c.seq, epoch: reply.epoch, state: r.state };
  }
  if (at.seq !== reply.seq) throw new RelayError("PROTOCOL", `the stream's changes do not add up to seq ${reply.seq}`);
  return at;
}

/** A connect reply with its sealed changes opened: "full" folded into one state. */
export type OpenedReply =
  | Extract<ConnectReply, { mode: "current" }>
  | (Omit<Extract<ConnectReply, { mode: "changes" }>, "changes"> & { changes: Change[] })
  | (Omit<Extract<ConnectReply, { mode: "full" }>, "changes"> & { state: unknown });

export async function openReply(key: CryptoKey, name: string, reply: ConnectReply): Promise<OpenedReply> {
  if (reply.mode === "current") return reply;
  const changes = await openChanges(key, name, reply.epoch, reply.changes);
  if (reply.mode === "changes") return { ...reply, changes };
  const { changes: _sealed, ...head } = reply;
  return { ...head, state: fold(reply, changes).state };
}
