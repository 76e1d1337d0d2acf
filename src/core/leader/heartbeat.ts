/**
 * Heartbeat scheduling and what a beat's outcome means. The beat moves the
 * stream's idle deadline and tells followers a quiet stream from a dead socket.
 */
import type { RelayError } from "../errors.ts";
import { isTransient } from "./failure.ts";
import { fenceFor } from "./fencing.ts";
import type { LeaderEvent } from "./machine.ts";

/** Calls `beat` every `ms` (never when `ms` is 0); returns the canceller. Does not keep Node alive. */
export function scheduleHeartbeat(ms: number, beat: () => void): () => void {
  if (ms <= 0) return () => {};
  const timer = setInterval(beat, ms);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}

/** The machine event for a failed beat, or undefined: not a status matter (reported as `error`). */
export function beatFailure(err: RelayError): LeaderEvent | undefined {
  const fence = fenceFor(err);
  if (fence) return fence;
  return isTransient(err) ? { type: "unreachable", message: err.message } : undefined;
}
