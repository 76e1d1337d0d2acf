/**
 * Why a follower's status changed: a stable code for programs (the web page
 * words it, tests assert it) and the text the status event has always carried.
 */
export const REASON_CODES = [
  /** The first subscription opened and the first sync finished. */
  "subscribed",
  /** A subscription opened again after a drop or a silence: re-sync. */
  "resubscribed",
  /** A subscription opened on another door than before (the last one failed or went silent): re-sync. */
  "door-switched",
  /** The backoff timer fired: opening a new subscription. */
  "retry",
  /** The subscription dropped, or could not be opened. */
  "dropped",
  /** A sync (relay_connect) failed on the network or with a server error. */
  "sync-failed",
  /** A sync was refused for too many failed checks (RATE_LIMITED). */
  "rate-limited",
  /** Nothing heard for staleAfterMs: the subscription is presumed dead. */
  "silence",
  /** A seq stayed missing past reorderMs. */
  "gap",
  /** A message from another instance of the stream (new epoch). */
  "epoch-changed",
  /** A heartbeat carried a seq below ours: the stream may have gone back. */
  "heartbeat-behind",
  /** The server's seq is below ours (writes lost with Redis): full state. */
  "went-back",
  /** We missed more changes than the history keeps: full state. */
  "history-too-short",
  /** A change too large to push waits in the history. */
  "large-change",
  /** A delta arrived for another seq or epoch than ours. */
  "delta-out-of-order",
  /** A delta's paths do not exist in our state. */
  "delta-failed",
  /** A delta applied, but the result's SHA-1 is not the leader's. */
  "delta-mismatch",
  /** A change on the channel did not open with the stream's key (forged, or made for another place): refused, re-sync. */
  "sealed-refused",
  /** The leader stopped the stream. */
  "stopped",
  /** The stream expired (leader away too long). */
  "expired",
  /** The stream no longer exists (or the name now belongs to another stream). */
  "gone",
  /** disconnect() was called. */
  "disconnected",
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/** Why a follower ended; the `ended` event's reason. */
export type EndCode = Extract<ReasonCode, "stopped" | "expired" | "gone" | "disconnected">;

/** A delta that could not be applied: a full state is fetched instead. */
export type DeltaCode = Extract<ReasonCode, "delta-out-of-order" | "delta-failed" | "delta-mismatch">;

/**
 * The text each code's status event carries (kept as it was before the codes,
 * logs and tests read it). Drops carry the error's own message instead, and a
 * silence says how long it lasted.
 */
export const REASON_TEXT: Record<ReasonCode, string> = {
  subscribed: "subscribed",
  resubscribed: "re-sync after reconnecting",
  "door-switched": "re-sync after moving to another door",
  retry: "reconnecting",
  dropped: "subscription dropped",
  "sync-failed": "sync failed",
  "rate-limited": "sync rate limited",
  silence: "no message; resubscribing",
  gap: "gap",
  "epoch-changed": "stream restarted",
  "heartbeat-behind": "heartbeat behind our seq: the stream may have gone back",
  "went-back": "stream went back",
  "history-too-short": "history too short",
  "large-change": "large change",
  "delta-out-of-order": "delta out of order",
  "delta-failed": "delta does not apply",
  "delta-mismatch": "delta result differs",
  "sealed-refused": "a change did not open with the stream's key",
  stopped: "stopped",
  expired: "expired",
  gone: "gone",
  disconnected: "disconnected",
};

export interface Reason {
  code: ReasonCode;
  text: string;
}

export const reason = (code: ReasonCode, text = REASON_TEXT[code]): Reason => ({ code, text });
