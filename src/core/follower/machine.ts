/**
 * The follower's transition table, as data: (status, event) -> (status,
 * effects). The shell (follower/shell.ts) turns I/O and timers into events,
 * looks the event up here, sets the status it says (one status event per
 * change) and runs the effects. Rows are tried in order; the first whose
 * `from`, `on` and `when` match wins. `ended` is final: no row leaves it.
 */
import type { ReasonCode } from "./reasons.ts";

export type FollowerStatus = "connecting" | "live" | "catching-up" | "reset" | "ended" | "offline";

export type MachineEvent =
  /** A sync is needed (a subscription opened, a gap outlived reorderMs, a new epoch, a delta that did not fit…). */
  | "need-sync"
  /** A sync round finished and nothing more is wanted. */
  | "synced"
  /** A sync answered with a full state while we had one. */
  | "full-state"
  /** Nothing heard for staleAfterMs. */
  | "silence"
  /** The subscription dropped or could not open, or a sync failed on the network. */
  | "dropped"
  /** The backoff timer fired. */
  | "retry"
  /** Stopped, expired, gone or disconnect(). */
  | "end";

export type Effect =
  /** Start a sync (relay_connect with our epoch and seq, or for the full state after a bad delta). */
  | "sync"
  /** A sync is running: run one more round after it. */
  | "sync-again"
  /** Close the current subscription and open a new one, on the next door if there are several (its open re-syncs). */
  | "resubscribe"
  /** Open a subscription with the transport the picker says. */
  | "subscribe"
  /** Close the subscription (before the status event: an offline follower has no transport). */
  | "close"
  /** Emit the error, start the backoff timer. */
  | "retry-later"
  /** Close the subscription (before the status event), stop every timer, emit `ended`, finish iterators. */
  | "teardown";

/** Facts the shell knows that decide between rows. */
export type Guard = "syncing" | "was-live" | "sub-open";

export interface Row {
  from: FollowerStatus | "*";
  on: MachineEvent;
  when?: Guard;
  /** "=" keeps the status (and emits nothing). */
  to: FollowerStatus | "=";
  effects: readonly Effect[];
}

export const TRANSITIONS: readonly Row[] = [
  { from: "ended", on: "need-sync", to: "=", effects: [] },
  { from: "ended", on: "synced", to: "=", effects: [] },
  { from: "ended", on: "full-state", to: "=", effects: [] },
  { from: "ended", on: "silence", to: "=", effects: [] },
  { from: "ended", on: "dropped", to: "=", effects: [] },
  { from: "ended", on: "retry", to: "=", effects: [] },
  { from: "ended", on: "end", to: "=", effects: [] },
  // One sync at a time: a need that arrives during one is one more round.
  { from: "*", on: "need-sync", when: "syncing", to: "=", effects: ["sync-again"] },
  { from: "live", on: "need-sync", to: "catching-up", effects: ["sync"] },
  // The first connect stays `connecting`; after having been live it is a catch-up.
  { from: "connecting", on: "need-sync", when: "was-live", to: "catching-up", effects: ["sync"] },
  { from: "*", on: "need-sync", to: "=", effects: ["sync"] },
  // Live only with a confirmed subscription; otherwise a retry is already scheduled.
  { from: "*", on: "synced", when: "sub-open", to: "live", effects: [] },
  { from: "*", on: "synced", to: "=", effects: [] },
  { from: "*", on: "full-state", to: "reset", effects: [] },
  // Only a live follower's silence counts: otherwise something is already under way.
  { from: "live", on: "silence", to: "catching-up", effects: ["resubscribe"] },
  { from: "*", on: "silence", to: "=", effects: [] },
  { from: "*", on: "dropped", to: "offline", effects: ["close", "retry-later"] },
  { from: "*", on: "retry", to: "connecting", effects: ["subscribe"] },
  { from: "*", on: "end", to: "ended", effects: ["teardown"] },
];

export interface Step {
  status: FollowerStatus;
  effects: readonly Effect[];
  row: Row;
}

/** The table lookup; pure. Every (status, event) pair has a row (a unit test checks). */
export function transition(status: FollowerStatus, event: MachineEvent, facts: Readonly<Record<Guard, boolean>>): Step {
  for (const row of TRANSITIONS) {
    if (row.on !== event || (row.from !== "*" && row.from !== status)) continue;
    if (row.when && !facts[row.when]) continue;
    return { status: row.to === "=" ? status : row.to, effects: row.effects, row };
  }
  throw new Error(`no transition for ${status} on ${event}`);
}

/** Which codes each event may carry (the shell's events are typed by it). */
export interface EventCodes {
  "need-sync": Extract<
    ReasonCode,
    | "subscribed"
    | "resubscribed"
    | "door-switched"
    | "gap"
    | "epoch-changed"
    | "heartbeat-behind"
    | "large-change"
    | "delta-out-of-order"
    | "delta-failed"
    | "delta-mismatch"
    | "sealed-refused"
  >;
  synced: EventCodes["need-sync"];
  "full-state": Extract<
    ReasonCode,
    "epoch-changed" | "went-back" | "history-too-short" | "delta-out-of-order" | "delta-failed" | "delta-mismatch"
  >;
  silence: "silence";
  dropped: Extract<ReasonCode, "dropped" | "sync-failed" | "rate-limited">;
  retry: "retry";
  end: Extract<ReasonCode, "stopped" | "expired" | "gone" | "disconnected">;
}

/** The table as markdown (for ARCHITECTURE.md; a unit test keeps it in step). */
export function tableMarkdown(): string {
  const lines = ["| from | event | when | to | effects |", "|---|---|---|---|---|"];
  for (const r of TRANSITIONS) {
    if (r.from === "ended") continue;
    lines.push(
      `| ${r.from} | ${r.on} | ${r.when ?? ""} | ${r.to === "=" ? "(same)" : r.to} | ${r.effects.join(", ")} |`,
    );
  }
  lines.push("| ended | any | | (same) | |");
  return lines.join("\n");
}
