/**
 * What a message on the channel, or a sync's full-state reply, means for a
 * follower at a given position. Pure: the shell acts on the answer.
 */

import type { OpenedReply } from "../content.ts";
import { RelayError } from "../errors.ts";
import { type Envelope, envelope, type SealedEnvelope } from "../wire.ts";
import type { EventCodes } from "./machine.ts";
import type { DeltaCode } from "./reasons.ts";

export interface At {
  seq: number;
  epoch: string | undefined;
  syncing: boolean;
}

export type Action =
  | { kind: "malformed"; error: RelayError }
  /** Nothing to do (another instance's `ended`, or a large change we have). */
  | { kind: "ignore" }
  | { kind: "end"; code: EventCodes["end"] }
  /** `heard`: a seq of ours it announced (a large change). */
  | { kind: "need-sync"; code: EventCodes["need-sync"]; heard?: number }
  /** Heard of `seq` (a heartbeat: nothing to hold). */
  | { kind: "heard"; seq: number }
  /** A sealed change to open, then hold in the window. */
  | { kind: "hold"; env: SealedEnvelope };

export function classify(payload: string, at: At): Action {
  let env: Envelope;
  try {
    env = envelope.parse(JSON.parse(payload));
  } catch (e) {
    return { kind: "malformed", error: new RelayError("PROTOCOL", "malformed message on the channel", { cause: e }) };
  }
  if (env.t === "ended") return env.epoch === at.epoch ? { kind: "end", code: env.reason } : { kind: "ignore" };
  // Not our instance's numbering: only a sync can tell where we stand.
  if (env.epoch !== at.epoch) return { kind: "need-sync", code: "epoch-changed" };
  // A heartbeat carries the stream's seq as it is now: below ours means the stream
  // went back (Redis lost writes we had shown). A state below ours is an ordinary
  // late duplicate and says nothing; a heartbeat is the witness.
  if (env.t === "hb") {
    return env.seq < at.seq && !at.syncing
      ? { kind: "need-sync", code: "heartbeat-behind" }
      : { kind: "heard", seq: env.seq };
  }
  // Too large to push: the change waits in the history; read it now.
  if ("fetch" in env) {
    return env.seq > at.seq ? { kind: "need-sync", code: "large-change", heard: env.seq } : { kind: "ignore" };
  }
  return { kind: "hold", env };
}

/** Why a sync answered with the full state while we had one. */
export function fullStateCode(
  reply: OpenedReply,
  at: { seq: number; epoch: string | undefined },
  deltaFailed: DeltaCode | undefined,
): EventCodes["full-state"] {
  if (deltaFailed) return deltaFailed;
  if (reply.epoch !== at.epoch) return "epoch-changed";
  return reply.seq < at.seq ? "went-back" : "history-too-short";
}
