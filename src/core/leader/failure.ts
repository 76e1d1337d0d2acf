/**
 * What a failed request says about its outcome. Pure: only the error is read.
 * "Transient" means worth retrying; "surely not sent" means nothing can land
 * later, so a newer state may take the job's place.
 */
import { GatewayError, OpError, type RelayError, staleSeq } from "../errors.ts";

/** Worth retrying: the server could not be reached or had no Redis behind it. */
export function isTransient(err: RelayError): boolean {
  if (err.code === "NETWORK" || err.code === "TIMEOUT") return true;
  return err instanceof GatewayError && (err.status === 502 || err.status === 503 || err.status === 504);
}

const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** True when the request surely never reached Redis, so nothing can land later. */
export function surelyNotSent(err: RelayError): boolean {
  if (err instanceof GatewayError) return err.status === 503; // Webdis: no Redis connection
  let c: unknown = err.cause;
  for (let i = 0; i < 5 && c; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && NOT_SENT_CODES.has(code)) return true;
    c = (c as { cause?: unknown }).cause;
  }
  return false;
}

/** Seconds until a spent publish budget refills (QUOTA's `retry in N s`, else 1). */
export function quotaSeconds(err: RelayError): number {
  return err instanceof OpError && err.retryAfter !== undefined ? err.retryAfter : 1;
}

/**
 * The kind of a publish failure, before the job's own counters are consulted:
 * `stale` (the stream is at another seq), `need-state` (the log is full: send
 * the state whole), `quota`, `garbled` (a reply that did
 * not parse: outcome unknown), `transient`, or `final` (the caller hears it).
 */
export type FailureKind =
  | { kind: "stale"; at: number }
  | { kind: "need-state" | "quota" | "garbled" | "transient" | "final" };

export function classify(err: RelayError): FailureKind {
  const at = staleSeq(err);
  if (at !== undefined) return { kind: "stale", at };
  if (err.code === "NEED_STATE") return { kind: "need-state" };
  if (err.code === "QUOTA") return { kind: "quota" };
  if (err.code === "PROTOCOL") return { kind: "garbled" };
  return { kind: isTransient(err) ? "transient" : "final" };
}
