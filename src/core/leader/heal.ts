/**
 * Healing after a failover, the pure parts. Redis replicates asynchronously, so
 * a promoted replica may lack writes the leader saw acknowledged: its stream is
 * at an older seq, epoch or term (relay_publish and relay_heartbeat answer
 * BEHIND to a leader that says where it stands) or gone (NOT_FOUND: its
 * relay_start never replicated, or it was stopped: lua/heal.lua tells them
 * apart by the tombstone a stop leaves). The leader is the source of truth for
 * its own state: it re-makes the stream from it (relay_heal), whole, on a new
 * epoch and a seq past its own and the stream's, so a follower that saw the
 * lost writes resets onto it and never takes another state at a seq it saw.
 */

import type { RelayError } from "../errors.ts";
import { isTransient } from "./failure.ts";

/** Where a stream stands, from a BEHIND or a heal's STALE message ("... epoch <e> seq <n>)"). */
export function streamAt(err: RelayError): { epoch: string; seq: number } | undefined {
  const m = /epoch (\d+) seq (\d+)\)?$/.exec(err.message);
  return m ? { epoch: m[1] as string, seq: Number(m[2]) } : undefined;
}

/** Why the stream needs healing, and where it stands when known (gone: nowhere). */
export interface HealNeed {
  why: "behind" | "gone";
  epoch?: string;
  seq?: number;
}

/** From a publish or heartbeat failure: the stream lost what this leader had acknowledged. */
export function healNeed(err: RelayError): HealNeed | undefined {
  if (err.code === "BEHIND") return { why: "behind", ...streamAt(err) };
  if (err.code === "NOT_FOUND") return { why: "gone" };
  return undefined;
}

/** The largest epoch Lua takes: 16 digits (tonumber compares them exactly). */
const MAX_EPOCH = 10n ** 16n - 1n;

/**
 * What a heal proposes: an epoch after the leader's and the stream's (the
 * leader's clock in microseconds when that is later, so two leaders rarely
 * propose the same), and a seq after both seqs: seq keeps going up for every
 * follower, across the reset too.
 */
export function healTarget(
  at: { epoch: string; seq: number },
  need: HealNeed,
  nowMs: number,
): { epoch: string; seq: number } {
  const floor = [BigInt(at.epoch) + 1n, BigInt(need.epoch ?? "0") + 1n, BigInt(Math.floor(nowMs)) * 1000n];
  let epoch = floor.reduce((a, b) => (b > a ? b : a));
  if (epoch > MAX_EPOCH) epoch = MAX_EPOCH;
  return { epoch: String(epoch), seq: Math.max(at.seq, need.seq ?? 0) + 1 };
}

/**
 * What a failed relay_heal means: `retry` it as it was (the outcome is unknown:
 * the same op id and bytes, Lua answers a landed one as a duplicate),
 * `repropose` (STALE: the stream is already past the proposal), `gone` (it ended
 * on purpose, or another stream took the name), `replaced` (a later term), or
 * `final` (refused: the caller hears it; the next publish tries again).
 */
export type HealOutcome = "retry" | "repropose" | "gone" | "replaced" | "final";

export function healFailure(err: RelayError): HealOutcome {
  if (err.code === "STALE") return "repropose";
  if (err.code === "NOT_FOUND") return "gone";
  if (err.code === "LEADER_REPLACED") return "replaced";
  if (isTransient(err) || err.code === "PROTOCOL") return "retry";
  return "final";
}

/** Re-proposals of one heal (each after a STALE) before the caller hears the error. */
export const MAX_REPROPOSE = 2;
