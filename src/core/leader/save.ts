/**
 * A live leader saved and restored without the code (`leader.save()`,
 * `relay.resume(saved)`): the session as the server knows it (name, channel,
 * epoch, origin, term, seq, the token and the code pass), the last acknowledged
 * state's JSON, the content key and the two verifiers a heal needs.
 *
 * The record is structured-clonable: the content key stays the non-extractable
 * AES-GCM CryptoKey it is (IndexedDB keeps CryptoKeys as they are; its bytes are
 * never readable). Whoever holds the record can write to the stream as this
 * leader until another leader takes over (SECURITY.md), so keep it no longer
 * than needed. Nothing is checked with the server here: the next publish or
 * heartbeat is, as every leader's (a session taken over meanwhile is fenced
 * with LEADER_REPLACED, a stopped one is gone).
 */
import * as z from "zod/mini";
import { RelayError } from "../errors.ts";
import { pass } from "../wire.ts";
import type { LeaderSession } from "./types.ts";

export interface SavedLeader {
  v: 1;
  name: string;
  channel: string;
  epoch: string;
  origin: string;
  term: number;
  seq: number;
  token: string;
  pass: string;
  /** The last state the server acknowledged, as JSON ("" when this leader holds none: its next publish goes whole). */
  json: string;
  snapshot: boolean;
  key: CryptoKey;
  /** The code's verifier (stop, heal) and the password's (heal): derived, not the secrets themselves. */
  codeVerifier: string;
  passwordVerifier: string;
}

/** The verifiers the relay derived at start or reconnect (they stay out of the session). */
export interface LeaderVerifiers {
  code: string;
  password: string;
}

const text = z.string().check(z.minLength(1), z.maxLength(1024));
const contentKey = z.custom<CryptoKey>(
  (v) =>
    typeof CryptoKey === "function" &&
    v instanceof CryptoKey &&
    v.type === "secret" &&
    v.algorithm.name === "AES-GCM" &&
    v.usages.includes("encrypt"),
  { message: "is not the stream's AES-GCM content key" },
);

/** The saved shape as it comes back from storage (the CryptoKey is checked for kind only: its bytes are not readable). */
export const savedLeaderSchema = z.object({
  v: z.literal(1),
  name: text,
  channel: text,
  epoch: text,
  origin: text,
  term: z.number().check(z.int(), z.gte(0)),
  seq: z.number().check(z.int(), z.gte(0)),
  token: text,
  pass,
  json: z.string(),
  snapshot: z.boolean(),
  key: contentKey,
  codeVerifier: text,
  passwordVerifier: text,
});

/** The record of a live session (a copy: later changes to the leader do not reach it). */
export function savedOf(s: LeaderSession, verifiers: LeaderVerifiers): SavedLeader {
  return {
    v: 1,
    name: s.name,
    channel: s.channel,
    epoch: s.epoch,
    origin: s.origin ?? s.epoch,
    term: s.term,
    seq: s.seq,
    token: s.token,
    pass: s.pass,
    json: s.json,
    snapshot: s.snapshot,
    key: s.key,
    codeVerifier: verifiers.code,
    passwordVerifier: verifiers.password,
  };
}

/** Checks a record read back and splits it into the session and the verifiers; INVALID names the first bad field. */
export function restoreSaved(value: unknown): { session: LeaderSession; verifiers: LeaderVerifiers } {
  const r = savedLeaderSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue?.path.map(String).join(".") || "value";
    throw new RelayError("INVALID", `saved leader: ${at} ${issue?.message ?? "invalid"}`);
  }
  const s = r.data;
  let state: unknown;
  if (s.json !== "") {
    try {
      state = JSON.parse(s.json);
    } catch {
      throw new RelayError("INVALID", "saved leader: json is not JSON");
    }
  }
  return {
    session: {
      name: s.name,
      channel: s.channel,
      epoch: s.epoch,
      origin: s.origin,
      term: s.term,
      seq: s.seq,
      token: s.token,
      pass: s.pass,
      json: s.json,
      state,
      // No acknowledged state: the first publish goes whole, as after a reconnect that could not open the plan.
      snapshot: s.json === "" ? true : s.snapshot,
      key: s.key,
    },
    verifiers: { code: s.codeVerifier, password: s.passwordVerifier },
  };
}
