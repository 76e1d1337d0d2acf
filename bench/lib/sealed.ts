/**
 * Protocol v2 publishes for the bench (issue 14): every publish names its base
 * seq and kind and carries sealed content. Two ways to make one:
 *   - `SealedWriter`: what the leader does (a JSON Patch from the acknowledged
 *     state when it is smaller, sealed with the password's content key), for
 *     streams whose followers must open what they get;
 *   - `RawStream` + `blob`: base64url of a realistic size, for measures where
 *     only Redis and Webdis look at the bytes (Lua checks the form only).
 * Both follow the server's snapshot hint the way the leader does: a whole
 * state when the last reply asked for one.
 */
import { randomBytes } from "node:crypto";
import { type ChangeText, patchChange, sealChange, wholeState } from "../../src/core/content.ts";
import { patchFor } from "../../src/core/leader/queue.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { commandBody } from "../../src/core/wire.ts";
import { type Plan, rng, smallEdit } from "./plan.ts";
import type { BenchStack, StreamHandle } from "./stack.ts";
import { hex } from "./stack.ts";

/** Base64url text of `n` characters: what Lua accepts as sealed content. */
export function blob(n: number): string {
  return randomBytes(Math.ceil((n * 3) / 4) + 3)
    .toString("base64url")
    .slice(0, n);
}

let sizingKey: Promise<CryptoKey> | undefined;

/**
 * Sealed lengths as the client makes them (content.ts deflates texts of 1 KiB
 * or more before sealing, so only a real seal gives the size): `plan` whole,
 * and `n` one-waypoint edits of it (patches the leader's way, queue.ts patchFor).
 */
export async function sealedSizes(plan: Plan, n = 0): Promise<{ state: number; edits: number[] }> {
  sizingKey ??= derivePasswordKeys("sizes", "bench-sizes").then((k) => k.content);
  const key = await sizingKey;
  const at = { name: "sizes", epoch: "1", seq: 2 };
  const r = rng(17);
  const edits: number[] = [];
  let cur = plan;
  for (let i = 0; i < n; i++) {
    const next = smallEdit(cur, i, r);
    const json = JSON.stringify(next);
    const patch = patchFor(cur, next, json.length);
    const change = patch === "-" ? wholeState(json) : patchChange(json, patch);
    edits.push((await sealChange(key, at, change)).length);
    cur = next;
  }
  const state = (await sealChange(key, at, wholeState(JSON.stringify(plan)))).length;
  return { state, edits };
}

/** Sealed length of `plainBytes` that do not compress: base64url of 12 (iv) + n + 16 (tag). */
export const sealedLength = (plainBytes: number) => Math.ceil(((12 + plainBytes + 16) * 4) / 3);

export interface SealedStream extends StreamHandle {
  /** The password's AES-GCM content key (`key` is the stream's base key). */
  contentKey: CryptoKey;
}

/** relay_start with the password's real verifier, so followers (and sealChange) use its content key. */
export async function startSealedStream(stack: BenchStack, prefix: string, password: string): Promise<SealedStream> {
  const name = `${prefix}-${hex(6)}`;
  const keys = await derivePasswordKeys(name, password);
  const s = await stack.startStream(prefix, { name, pw: keys.verifier });
  return { ...s, contentKey: keys.content };
}

export interface PublishArgs {
  base: number;
  kind: "s" | "p";
  content: string;
}

/** The FCALL relay_publish arguments, as the client sends them (src/core/relay.ts). */
export function publishArgs(s: StreamHandle, opId: string, p: PublishArgs): string[] {
  return ["relay_publish", "1", s.key, s.name, s.token, String(s.term), opId, String(p.base), p.kind, p.content];
}

export const publishBody = (s: StreamHandle, opId: string, p: PublishArgs) =>
  commandBody("FCALL", publishArgs(s, opId, p));

export interface PublishAck {
  seq: number;
  snapshot: boolean;
}

/** relay_publish's reply, straight (RESP) or inside Webdis's {"FCALL": "<json>"}; undefined for an error. */
export function publishAck(text: string): PublishAck | undefined {
  try {
    let v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && "FCALL" in v) v = (v as { FCALL: unknown }).FCALL;
    if (typeof v === "string") v = JSON.parse(v);
    const r = v as { seq?: unknown; snapshot?: unknown };
    return typeof r.seq === "number" ? { seq: r.seq, snapshot: r.snapshot === true } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One stream published with blobs, one publish in flight: a change ("p", a
 * blob of `changeBytes`) normally, a whole state ("s", `stateBytes`) first and
 * whenever the server asked for one. Counts the kinds it sent.
 */
export class RawStream {
  seq: number;
  snapshot = true;
  sent = { s: 0, p: 0 };
  #n = 0;
  readonly #op = hex(8);
  /** `whole`: every publish is a whole state (as a leader without patches would send). */
  constructor(
    readonly stream: StreamHandle,
    readonly stateBytes: number,
    readonly changeBytes: number | readonly number[],
    readonly whole = false,
  ) {
    this.seq = 0;
  }
  /** The next publish and its op id; a blob of the right size for its kind. */
  next(): { opId: string; args: PublishArgs } {
    const n = ++this.#n;
    const kind = this.snapshot ? "s" : "p";
    const sizes = this.changeBytes;
    const size = kind === "s" ? this.stateBytes : typeof sizes === "number" ? sizes : (sizes[n % sizes.length] ?? 64);
    return {
      opId: `${this.#op}${n.toString(16).padStart(16, "0")}`,
      args: { base: this.seq, kind, content: blob(size) },
    };
  }
  /** The publish landed (reply text) or not (undefined: nothing changes, the same kind goes again). */
  ack(kind: "s" | "p", reply: PublishAck | undefined): boolean {
    if (!reply) return false;
    this.sent[kind]++;
    this.seq = reply.seq;
    this.snapshot = this.whole || reply.snapshot;
    return true;
  }
}

/**
 * What the leader sends for each new state, made the leader's way (queue.ts
 * patchFor + content.ts + seal.ts): usable where followers open the changes.
 */
export class SealedWriter {
  seq = 0;
  snapshot = false;
  #state: unknown = {};
  constructor(readonly stream: SealedStream) {}
  async change(next: unknown): Promise<{ args: PublishArgs; json: string }> {
    const json = JSON.stringify(next);
    const patch = this.snapshot ? "-" : patchFor(this.#state, next, json.length);
    const change: ChangeText = patch === "-" ? wholeState(json) : patchChange(json, patch);
    const s = this.stream;
    const content = await sealChange(s.contentKey, { name: s.name, epoch: s.epoch, seq: this.seq + 1 }, change);
    return { args: { base: this.seq, kind: change.kind, content }, json };
  }
  acked(json: string, reply: PublishAck) {
    this.seq = reply.seq;
    this.snapshot = reply.snapshot;
    this.#state = JSON.parse(json);
  }
}
