/**
 * The wire: how arguments travel to Webdis, how keys are named, and the zod
 * schemas of every reply and envelope. Both sides of each contract are here or
 * in lua/. test/unit/wire.test.ts tests the encoding, baseKey and nameProblem
 * on their own; test/lua/lib.test.ts checks baseKey against Lua's base_key; the
 * schemas meet real Lua replies and envelopes only end to end (test/integration/).
 */
import * as z from "zod/mini";

/**
 * Percent-encodes one command argument for a Webdis path or POST body.
 * Webdis splits on `/`, decodes `%XX`, turns `+` into a space, cuts at `?`
 * and reads a final `.ext` as the output format, so all of these are encoded;
 * other bytes (UTF-8 included) pass as they are, which keeps JSON small.
 */
export function encodeArg(value: string): string {
  return value.replace(/[%/+?#.]/g, (c) => {
    const hex = c.charCodeAt(0).toString(16).toUpperCase();
    return `%${hex.length < 2 ? `0${hex}` : hex}`;
  });
}

/** A command line for `POST /`: `CMD/arg1/arg2...`, every argument encoded. */
export function commandBody(command: string, args: readonly string[]): string {
  return [command, ...args.map(encodeArg)].join("/");
}

/** The stream's base key, the same as `base_key` in lua/lib/3_keys.lua. */
export function baseKey(name: string): string {
  return `relay:{${name.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`;
}

export const MAX_NAME_BYTES = 200;

const utf8 = new TextEncoder();

/** Client-side check of a stream name, before any secret is derived. */
export function nameProblem(name: string): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "name is empty";
  if (utf8.encode(name).length > MAX_NAME_BYTES) return `name is longer than ${MAX_NAME_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f]/.test(name)) return "name contains a control character";
  if (/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")))
    return "name is not valid UTF-16 text";
  return undefined;
}

const seq = z.number().check(z.int(), z.nonnegative());
const epoch = z.string().check(z.regex(/^\d+$/));
const hex = z.string().check(z.regex(/^[0-9a-f]+$/));
/** Sealed content (src/core/seal.ts): base64url, opaque to everyone but the password's holders. */
const sealed = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/));

/** A rate-limit pass (lua/lib/5_secrets.lua make_pass): "<expiry s>.<40 hex>". */
export const pass = z.string().check(z.regex(/^\d+\.[0-9a-f]{40}$/));

export const startReply = z.object({
  channel: hex,
  epoch,
  seq,
  term: z.number().check(z.int(), z.positive()),
  pass,
});
export const publishReply = z.object({
  seq,
  changed: z.boolean(),
  duplicate: z.boolean(),
  /** Send a whole state next: the log since the snapshot is as heavy as it (lua/publish.lua). */
  snapshot: z.optional(z.boolean()),
});
export const heartbeatReply = z.object({ seq, deadline: z.number() });
/** relay_heal (lua/heal.lua): where the re-made stream is (a duplicate: where the first attempt put it). */
export const healReply = z.object({
  channel: hex,
  epoch,
  seq,
  term: z.number().check(z.int(), z.positive()),
  pass,
  duplicate: z.boolean(),
});
export const stopReply = z.object({ seq });

/**
 * A change as Redis keeps it (snapshot and log) and replies with it: `k` "s" (a
 * whole state) or "p" (a patch to the state of seq - 1), `c` sealed.
 */
export const sealedEnvelope = z.object({
  v: z.literal(2),
  t: z.literal("state"),
  epoch,
  seq,
  ts: z.number(),
  k: z.enum(["s", "p"]),
  c: sealed,
});
export type SealedEnvelope = z.infer<typeof sealedEnvelope>;
/** On the channel: a sealed change, or (too large to push: Webdis breaks big frames) a notice to read it with relay_connect. */
export const stateEnvelope = z.union([
  sealedEnvelope,
  z.object({ v: z.literal(2), t: z.literal("state"), epoch, seq, ts: z.number(), fetch: z.literal(true) }),
]);
export type StateEnvelope = z.infer<typeof stateEnvelope>;
export const heartbeatEnvelope = z.object({ v: z.literal(2), t: z.literal("hb"), epoch, seq, ts: z.number() });
export const endedEnvelope = z.object({
  v: z.literal(2),
  t: z.literal("ended"),
  epoch,
  seq,
  ts: z.number(),
  reason: z.enum(["stopped", "expired"]),
});
export const envelope = z.union([stateEnvelope, heartbeatEnvelope, endedEnvelope]);
export type Envelope = z.infer<typeof envelope>;

/** Inside the seal of a "p" change: the patch, and `h`, the SHA-1 of the whole resulting state's JSON. */
export const patchOp = z.object({
  op: z.enum(["add", "remove", "replace"]),
  path: z.string(),
  value: z.optional(z.unknown()),
});
export const patchBody = z.object({ h: z.string().check(z.regex(/^[0-9a-f]{40}$/)), patch: z.array(patchOp) });

const connectBase = z.object({
  channel: hex,
  epoch,
  seq,
  term: z.number().check(z.int()),
  updated: z.number(),
  pass,
});
/** relay_connect also says when the leader was last heard and the server's clock (absent from older libraries). */
const connectHead = z.extend(connectBase, { heard: z.optional(z.number()), now: z.optional(z.number()) });
/**
 * relay_connect: "changes" are the ones after the follower's seq; "full" is the
 * stream whole: its snapshot (a "s" change) and the changes since, or without
 * a snapshot yet the changes since {} at seq 0 (lua/lib/7_stream.lua catch_up).
 */
export const connectReply = z.discriminatedUnion("mode", [
  z.extend(connectHead, { mode: z.literal("current") }),
  z.extend(connectHead, { mode: z.literal("changes"), changes: z.array(sealedEnvelope) }),
  z.extend(connectHead, { mode: z.literal("full"), changes: z.array(sealedEnvelope) }),
]);
export type ConnectReply = z.infer<typeof connectReply>;
export const reconnectReply = z.extend(connectBase, {
  /** The epoch relay_start gave the stream (heals keep it; absent from an older library). */
  origin: z.optional(epoch),
  term: z.number().check(z.int(), z.positive()),
  snapshot: z.boolean(),
  mode: z.literal("full"),
  changes: z.array(sealedEnvelope),
});

export const streamInfo = z.object({
  name: z.string(),
  seq,
  created: z.number(),
  updated: z.number(),
  /** The leader's last word (a change or a heartbeat), server ms; absent from older servers. */
  heard: z.optional(z.number()),
});
export type StreamInfo = z.infer<typeof streamInfo>;
export const listReply = z.object({ streams: z.array(streamInfo), cursor: z.nullable(z.string()) });
export type ListPage = z.infer<typeof listReply>;
