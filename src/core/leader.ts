/**
 * The leader's public entry: the shell and its pure parts live in `./leader/`
 * (queue, failure kinds, fencing, heartbeat, the status table).
 */
export { isTransient, surelyNotSent } from "./leader/failure.ts";
export { Leader } from "./leader/leader.ts";
export type { LeaderEffect, LeaderEvent } from "./leader/machine.ts";
export { changeText, type MakeChange } from "./leader/queue.ts";
export { type LeaderVerifiers, restoreSaved, type SavedLeader, savedLeaderSchema } from "./leader/save.ts";
export type {
  LeaderDeps,
  LeaderEvents,
  LeaderReason,
  LeaderSession,
  LeaderStatus,
  PublishReply,
  PublishResult,
} from "./leader/types.ts";
