/**
 * The leader's status machine as data: `(status, event) -> (status, effects)`.
 * `transition` is pure; the shell (leader.ts) applies the effects in order.
 * An event with no matching row changes nothing (e.g. a late heartbeat reply
 * after `close()`): terminal states stay put, and only an explicit stop (or
 * the stream being gone) may still turn one into `stopped`.
 */
import type { RelayError } from "../errors.ts";
import type { LeaderReason, LeaderStatus } from "./types.ts";

export type LeaderEvent =
  /** A publish was acknowledged; `idle`: nothing else waits to be sent. */
  | { type: "ack"; duplicate: boolean; idle: boolean }
  /** The stream was re-made from this leader's state (relay_heal); `idle`: nothing else waits. */
  | { type: "healed"; idle: boolean }
  /** A heartbeat was acknowledged. */
  | { type: "beat-ok"; idle: boolean }
  /** The server refused a publish for good (its caller hears why): it answers, so it is reachable. */
  | { type: "answered"; idle: boolean }
  /** A publish or heartbeat could not reach the server (it will be retried). */
  | { type: "unreachable"; message: string }
  /** LEADER_REPLACED: another leader holds a newer term. */
  | { type: "replaced"; error: RelayError }
  /** NOT_FOUND: the stream was stopped elsewhere or expired. */
  | { type: "gone" }
  /** `stop()` succeeded. */
  | { type: "stop" }
  /** `close()`. */
  | { type: "close" };

export type LeaderEventType = LeaderEvent["type"];

/**
 * `end`: stop the heartbeat, cut a QUOTA wait short, reject every queued
 * publish. `emit-status`: the `status` event (only when the status changes).
 * `emit-replaced`: the `replaced` event.
 */
export type LeaderEffect = "end" | "emit-status" | "emit-replaced";

export interface Row {
  from: readonly LeaderStatus[];
  on: LeaderEventType;
  /** Guards on the event's fields; absent = any. */
  idle?: boolean;
  duplicate?: boolean;
  /** "same": the status does not change. */
  to: LeaderStatus | "same";
  code: LeaderReason;
  effects: readonly LeaderEffect[];
}

const SENDING = ["live", "offline"] as const;

export const ROWS: readonly Row[] = [
  { from: SENDING, on: "ack", idle: true, duplicate: false, to: "live", code: "published", effects: ["emit-status"] },
  {
    from: SENDING,
    on: "ack",
    idle: true,
    duplicate: true,
    to: "live",
    code: "retry-confirmed",
    effects: ["emit-status"],
  },
  { from: SENDING, on: "healed", idle: true, to: "live", code: "healed", effects: ["emit-status"] },
  // Offline stays offline until the queue has drained (an ack with more waiting matches no row).
  { from: ["offline"], on: "beat-ok", idle: true, to: "live", code: "heartbeat", effects: ["emit-status"] },
  { from: ["offline"], on: "answered", idle: true, to: "live", code: "reachable", effects: ["emit-status"] },
  { from: SENDING, on: "unreachable", to: "offline", code: "unreachable", effects: ["emit-status"] },
  {
    from: SENDING,
    on: "replaced",
    to: "replaced",
    code: "replaced",
    effects: ["end", "emit-status", "emit-replaced"],
  },
  // A publish in flight at close()/stop() may still hear LEADER_REPLACED: the user is told, the status stays.
  { from: ["closed", "stopped"], on: "replaced", to: "same", code: "replaced", effects: ["emit-replaced"] },
  {
    from: [...SENDING, "replaced", "closed"],
    on: "gone",
    to: "stopped",
    code: "gone",
    effects: ["end", "emit-status"],
  },
  {
    from: [...SENDING, "replaced", "closed"],
    on: "stop",
    to: "stopped",
    code: "stopped",
    effects: ["end", "emit-status"],
  },
  { from: SENDING, on: "close", to: "closed", code: "closed", effects: ["end", "emit-status"] },
];

/** The words for each reason (`unreachable` uses the error's own message). */
export const REASON_TEXT: Record<LeaderReason, string> = {
  published: "published",
  "retry-confirmed": "published (retry confirmed)",
  heartbeat: "heartbeat",
  reachable: "the server answered again",
  unreachable: "the server could not be reached",
  replaced: "another leader took over",
  healed: "the stream had lost writes in a failover; re-made from the leader's state",
  gone: "the stream no longer exists",
  stopped: "stopped by the leader",
  closed: "closed by the leader",
};

export interface Transition {
  to: LeaderStatus;
  code: LeaderReason;
  reason: string;
  effects: readonly LeaderEffect[];
}

function matches(row: Row, status: LeaderStatus, e: LeaderEvent): boolean {
  if (row.on !== e.type || !row.from.includes(status)) return false;
  if (row.idle !== undefined && "idle" in e && row.idle !== e.idle) return false;
  if (row.duplicate !== undefined && "duplicate" in e && row.duplicate !== e.duplicate) return false;
  return true;
}

/** The row for `(status, event)`, or undefined: nothing happens. */
export function transition(status: LeaderStatus, e: LeaderEvent): Transition | undefined {
  const row = ROWS.find((r) => matches(r, status, e));
  if (!row) return undefined;
  const to = row.to === "same" ? status : row.to;
  const reason = e.type === "unreachable" ? e.message : REASON_TEXT[row.code];
  return { to, code: row.code, reason, effects: row.effects };
}

/** Live or offline: the leader still sends (not stopped, replaced or closed). */
export function isSending(status: LeaderStatus): boolean {
  return status === "live" || status === "offline";
}
