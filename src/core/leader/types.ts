/** The leader's public shapes and the deps its shell calls (the I/O seam). */
import type { RelayError } from "../errors.ts";
import type { MakeChange } from "./queue.ts";

export type LeaderStatus = "live" | "offline" | "replaced" | "stopped" | "closed";

/**
 * Why the status changed, as a stable code (the `reason` text says it in words).
 * `unreachable`: a publish or heartbeat could not reach the server (the text is the error's).
 */
export type LeaderReason =
  | "published"
  | "retry-confirmed"
  | "heartbeat"
  /** Offline, then the server refused a publish for good: it is reachable again (nothing waits). */
  | "reachable"
  | "unreachable"
  | "replaced"
  /** The stream had lost writes this leader had acknowledged (a failover): re-made from the leader's state. */
  | "healed"
  | "gone"
  | "stopped"
  | "closed";

export interface PublishResult {
  seq: number;
  changed: boolean;
}

export interface LeaderEvents {
  status: { status: LeaderStatus; previous: LeaderStatus; reason: string; code: LeaderReason };
  published: PublishResult & { state: unknown };
  replaced: { error: RelayError };
  /**
   * The stream was behind this leader (a failover lost acknowledged writes) or gone without
   * having been stopped: it was re-made from the leader's state on a new epoch (src/core/leader/heal.ts).
   */
  healed: { epoch: string; seq: number; why: "behind" | "gone"; duplicate: boolean };
  error: { error: RelayError };
}

export interface LeaderSession {
  name: string;
  channel: string;
  epoch: string;
  /** The epoch relay_start gave the stream: a heal keeps it (lua/heal.lua). Absent: the epoch the leader starts with. */
  origin?: string;
  term: number;
  seq: number;
  /**
   * The last state the server acknowledged, and its JSON (a patch is made from it). With
   * `makeChange` the state may be left undefined while `json` is set: it is parsed when read.
   */
  state: unknown;
  json: string;
  /** The content key (from the password): every change is sealed with it before it leaves. */
  key: CryptoKey;
  /** The server asked for a whole state next (the log since the snapshot is as heavy as it). */
  snapshot: boolean;
  token: string;
  /**
   * The code pass from start or reconnect: given to a later reconnect or stop,
   * it exempts them from the failed-code rate limit (an outsider's flood of
   * wrong codes cannot lock this leader out; SECURITY.md).
   */
  pass: string;
}

export interface PublishReply {
  seq: number;
  changed: boolean;
  duplicate?: boolean;
  snapshot?: boolean;
}

/** One publish as it goes to relay_publish: built on `base`, a whole state ("s") or a change ("p"), sealed. */
export interface SealedPublish {
  base: number;
  kind: "s" | "p";
  content: string;
}

/** One relay_heal as it goes out: the state whole, sealed for the new epoch and seq. */
export interface SealedHeal {
  epoch: string;
  seq: number;
  content: string;
}

export interface HealReply {
  channel: string;
  epoch: string;
  seq: number;
  term: number;
  pass: string;
  duplicate: boolean;
}

export interface LeaderDeps {
  publish(session: LeaderSession, opId: string, body: SealedPublish): Promise<PublishReply>;
  /** Publish and heartbeat send the session's epoch and seq: a stream behind them answers BEHIND. */
  heartbeat(session: LeaderSession): Promise<void>;
  /**
   * relay_heal: re-makes the stream from the leader's state (the deps hold the verifiers and
   * the seed). Without it a stream behind or gone ends the leader, as before heals.
   */
  heal?(session: LeaderSession, opId: string, body: SealedHeal): Promise<HealReply>;
  stop(): Promise<void>;
  /** The verifiers behind this session, for `save()` (save.ts); without them the leader cannot be saved. */
  verifiers?: { code: string; password: string };
  heartbeatMs: number;
  backoff: (attempt: number) => number;
  /** Makes each change elsewhere (RelayOptions.makeChange: a page's Worker); absent, in this thread. */
  makeChange?: MakeChange;
}
