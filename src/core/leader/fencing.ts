/**
 * Fencing: a server answer that ends this leader's right to write. Each
 * `relay_reconnect` bumps the stream's term, and Lua refuses an older term
 * with LEADER_REPLACED; NOT_FOUND means the stream was stopped or expired.
 * Either ends the leader, whichever request (publish, heartbeat, stop) hears it.
 */
import type { RelayError } from "../errors.ts";

export type FenceEvent = { type: "replaced"; error: RelayError } | { type: "gone" };

export function fenceFor(err: RelayError): FenceEvent | undefined {
  if (err.code === "LEADER_REPLACED") return { type: "replaced", error: err };
  if (err.code === "NOT_FOUND") return { type: "gone" };
  return undefined;
}
