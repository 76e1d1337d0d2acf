/**
 * A follower: an explicit state machine over a subscription. The parts are in
 * `follower/`: the transition table (machine.ts) and reason codes (reasons.ts),
 * the ordering window, the delta applier, the transport picker and what a
 * message means (inbox.ts), all pure; the shell (shell.ts, with link.ts) owns
 * the timers and the I/O. This file keeps the import path everyone uses.
 *
 *   connecting -> live <-> catching-up        (gap, silence, or re-sync after a drop)
 *        live  -> offline -> connecting -> catching-up -> live   (dropped; backoff)
 *   any        -> reset -> live               (history too short, new epoch, went back, bad delta)
 *   any        -> ended                       (stopped, expired, gone, or disconnect())
 *
 * Order: a state is applied only when its seq is the next one; a newer seq
 * waits `reorderMs` in the window (Webdis reorders), then triggers a catch-up
 * (`relay_connect` with our epoch and seq); an older or equal one is dropped.
 * Subscribe first, then sync, so nothing falls between the two. `live` is only
 * reported while the subscription is confirmed open.
 *
 * A silent subscription is presumed dead: Webdis keeps a WebSocket or chunked
 * stream open when its own Redis connection dies (e.g. Redis restarts), so the
 * follower would never hear another message. After `staleAfterMs` without a
 * message (the leader's heartbeats count) it opens a new subscription and
 * re-syncs.
 */
export { type FollowerStatus, TRANSITIONS, tableMarkdown } from "./follower/machine.ts";
export { type EndCode, REASON_CODES, REASON_TEXT, type ReasonCode } from "./follower/reasons.ts";
export { Follower } from "./follower/shell.ts";
export type { FollowerDeps, FollowerEvents, FollowerStatusEvent, FollowerUpdate } from "./follower/types.ts";
