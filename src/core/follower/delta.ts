/**
 * The delta applier: a change is a whole state or a JSON Patch from the state
 * of seq - 1 that must hash to the leader's SHA-1 of the full new state (both
 * opened from their seals: src/core/content.ts). Pure.
 */
import { apply as applyPatch, type PatchOp } from "../patch.ts";
import { sha1hex } from "../sha1.ts";
import type { DeltaCode } from "./reasons.ts";

export interface Position {
  seq: number;
  epoch: string | undefined;
  state: unknown;
}

export interface Change {
  seq: number;
  epoch: string;
  ts: number;
  state?: unknown;
  patch?: readonly { op: "add" | "remove" | "replace"; path: string; value?: unknown }[];
  h?: string;
  /**
   * This patch already applied to `base` with its SHA-1 found equal to `h`, before it
   * was due (the shell does it while the change is held, by WebCrypto off the main
   * thread): taken as it is when the state it lands on is still `base`.
   */
  checked?: { base: unknown; state: unknown };
}

export type Applied =
  /** Already applied (same epoch, seq not above ours): nothing to do. */
  | { kind: "old" }
  | { kind: "state"; state: unknown }
  /** The delta does not fit our state: fetch the whole state. */
  | { kind: "mismatch"; code: DeltaCode };

/**
 * What `change` makes of `at`. `force` (a full state from a sync) takes it
 * whatever its seq. `check` false skips the SHA-1 (a fold checks its last
 * change only: every change is authenticated by its seal, and the hash of a
 * 200 KB plan costs milliseconds).
 */
export function applyChange(at: Position, change: Change, force = false, check = true): Applied {
  if (!force && change.epoch === at.epoch && change.seq <= at.seq) return { kind: "old" };
  if (!change.patch) return { kind: "state", state: change.state };
  if (change.epoch !== at.epoch || change.seq !== at.seq + 1) return { kind: "mismatch", code: "delta-out-of-order" };
  if (change.checked && change.checked.base === at.state) return { kind: "state", state: change.checked.state };
  let state: unknown;
  try {
    state = applyPatch(at.state, change.patch as PatchOp[]);
  } catch {
    return { kind: "mismatch", code: "delta-failed" };
  }
  if (check && change.h && sha1hex(JSON.stringify(state)) !== change.h)
    return { kind: "mismatch", code: "delta-mismatch" };
  return { kind: "state", state };
}
