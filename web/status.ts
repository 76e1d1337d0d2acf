/**
 * What a follower may honestly say about the stream, from what it observed.
 * Pure: the follower view passes the clock and the client's read-only facts.
 *
 * The client's own status ("live") only means the subscription is confirmed
 * open; it stays "live" on a socket that stalled, and with a leader whose tab
 * closed. What tells a live leader apart is hearing it: every change and every
 * heartbeat (the leader's, every `heartbeatMs`) arrives on the channel. So:
 *
 *  - live: the client is live and something arrived within heartbeatMs + margin;
 *  - leader-away: nothing arrived, but the door answered since the last thing did
 *    (the follower's watchdog resubscribes after staleAfterMs and re-syncs: that
 *    answer proves the connection, so the silence is the leader's);
 *  - stalled: nothing arrived and the door has not answered since: from here the
 *    two cannot be told apart, and the plan shown may be out of date either way;
 *  - offline / connecting / catching-up / reset / ended: what the client says.
 */
import type { FollowerStatus, ReasonCode } from "./relay.ts";

export interface Observed {
  status: FollowerStatus;
  code?: ReasonCode | undefined;
  /** Local time the last message (change or heartbeat) arrived; undefined before the first. */
  heardAt: number | undefined;
  /** Local time the door last answered (a subscription opened, a sync replied); undefined before the first. */
  answeredAt: number | undefined;
  /** When this follower joined (local clock): the silence counts from here before anything was heard. */
  joinedAt: number;
}

export interface Timing {
  heartbeatMs: number;
  staleAfterMs: number;
}

export type Honest =
  | { kind: "live" }
  | { kind: "leader-away"; since: number }
  | { kind: "stalled"; since: number }
  | { kind: "connecting" | "catching-up" | "reset" | "offline" | "ended" };

/** Grace on top of an interval: a beat is a Redis round trip and a push away. */
export function margin(ms: number): number {
  return Math.max(1000, Math.round(ms / 2));
}

export function honestStatus(o: Observed, t: Timing, now: number): Honest {
  if (o.status === "ended" || o.status === "offline") return { kind: o.status };
  const since = o.heardAt ?? o.joinedAt;
  // A leader with heartbeats off (0) is only heard through its changes: silence proves nothing.
  const silent = t.heartbeatMs > 0 && now - since > t.heartbeatMs + margin(t.heartbeatMs);
  if (!silent) return o.status === "live" ? { kind: "live" } : { kind: o.status };
  const answered = o.answeredAt;
  const doorFine =
    answered !== undefined && answered >= since && now - answered <= t.staleAfterMs + margin(t.staleAfterMs);
  return doorFine ? { kind: "leader-away", since } : { kind: "stalled", since };
}

/** HH:MM in the viewer's clock (24 h), as the pill says it. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** The pill's words. */
export function honestWords(s: Honest): string {
  switch (s.kind) {
    case "live":
      return "Live";
    case "leader-away":
      return `Leader away since ${clock(s.since)}`;
    case "stalled":
      return "Connection stalled";
    case "connecting":
      return "Connecting…";
    case "catching-up":
      return "Catching up…";
    case "reset":
      return "Reloading plan…";
    case "offline":
      return "Reconnecting…";
    case "ended":
      return "Ended";
  }
}

/** The sentence under the title for the two states the client does not know; undefined: the client's reason. */
export function honestSentence(s: Honest): string | undefined {
  if (s.kind === "leader-away")
    return `The relay answers, but the leader has not been heard since ${clock(s.since)} (its tab may be closed or offline). The plan below is the last one it sent.`;
  if (s.kind === "stalled")
    return `Nothing has arrived since ${clock(s.since)}; checking the connection. The plan below may be out of date.`;
  return undefined;
}
