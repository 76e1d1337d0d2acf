/**
 * Every error the client throws is a RelayError with a stable `code`. Codes
 * from Lua (the server said no) are mapped in one place, apart from the codes
 * for "could not reach" (NETWORK, TIMEOUT) and "the door said no" (GATEWAY).
 * Messages never contain a password, leader code, verifier or token.
 */
export const OP_CODES = [
  "NOT_FOUND",
  "BAD_PASSWORD",
  "BAD_CODE",
  "NAME_TAKEN",
  /** Another live stream's name looks the same (case, Cyrillic/Greek look-alikes: lua/lib/0_names.lua). */
  "NAME_CONFUSABLE",
  "INVALID",
  "TOO_LARGE",
  "RATE_LIMITED",
  "LEADER_REPLACED",
  "STALE",
  /** The stream is behind what this leader had acknowledged (a failover lost writes): the leader heals it (lua/heal.lua). */
  "BEHIND",
  /** A change ("p") while the log since the last whole state is full: send a whole state (lua/publish.lua). */
  "NEED_STATE",
  /** This stream's publish budget (bytes per window) is spent; retryAfter says when it refills. */
  "QUOTA",
  /** No room: max_streams live streams, or Redis at maxmemory (its OOM refusal; nothing written). */
  "FULL",
] as const;
export type OpCode = (typeof OP_CODES)[number];
/**
 * SEALED: sealed content did not open with this stream's key (a wrong password
 * derivation, or content forged or moved to another stream, epoch or seq), or
 * opened to something that is not a plan: nothing of it is applied.
 */
export type ErrorCode = OpCode | "NETWORK" | "TIMEOUT" | "GATEWAY" | "PROTOCOL" | "CLOSED" | "SEALED";

export class RelayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RelayError";
    this.code = code;
  }
}

/** The relay's Lua refused the call; nothing changed (see the code). */
export class OpError extends RelayError {
  declare readonly code: OpCode;
  /** For RATE_LIMITED and QUOTA: seconds until the window ends, when known. */
  readonly retryAfter: number | undefined;
  constructor(code: OpCode, message: string) {
    super(code, message);
    this.name = "OpError";
    const m = /retry in (\d+) s/.exec(message);
    this.retryAfter = m ? Number(m[1]) : undefined;
  }
}

/** Webdis could not be reached (connection refused, reset, DNS...). */
export class NetworkError extends RelayError {
  constructor(message: string, cause?: unknown) {
    super("NETWORK", message, { cause });
    this.name = "NetworkError";
  }
}

export class TimeoutError extends RelayError {
  constructor(message: string) {
    super("TIMEOUT", message);
    this.name = "TimeoutError";
  }
}

/** Webdis refused the command (403) or Redis answered with a non-relay error. */
export class GatewayError extends RelayError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super("GATEWAY", message);
    this.name = "GatewayError";
    this.status = status;
  }
}

const OP_CODE_SET: ReadonlySet<string> = new Set(OP_CODES);

/** Redis errors of a node that cannot take a write now; the function never ran. */
const REFUSED_BEFORE_RUN: ReadonlySet<string> = new Set(["NOREPLICAS", "READONLY", "LOADING", "MASTERDOWN"]);

/**
 * Turns a Redis error text from Webdis (`[false, "CODE message script: ..."]`)
 * into the matching error. Redis appends where the error was raised; we drop it.
 */
export function errorFromRedis(text: string): RelayError {
  const clean = text.replace(/ script: .*$/s, "");
  const space = clean.indexOf(" ");
  const code = space < 0 ? clean : clean.slice(0, space);
  const message = space < 0 ? code : clean.slice(space + 1);
  if (OP_CODE_SET.has(code)) return new OpError(code as OpCode, message);
  // Redis at maxmemory with noeviction refuses a writing function before it runs, so
  // nothing was written: a typed "no room", not a door fault.
  if (code === "OOM") return new OpError("FULL", "the relay is out of memory; nothing was written");
  // A failover under way (src/server/topology.ts): a primary without a replica in reach
  // (min-replicas-to-write), a node demoted under the route for a moment, one loading its
  // data. Redis refused before the function ran, so nothing was written and a retry is
  // right: the status of "no Redis behind the door" (503), which the leader retries.
  if (REFUSED_BEFORE_RUN.has(code)) return new GatewayError(`Redis error: ${clean.slice(0, 200)}`, 503);
  return new GatewayError(`Redis error: ${clean.slice(0, 200)}`);
}

/**
 * The stream's seq from a STALE refusal (relay_publish: the state built on
 * another seq). Its message ends with that seq; undefined for anything else.
 */
export function staleSeq(err: RelayError): number | undefined {
  if (err.code !== "STALE") return undefined;
  const m = /seq (\d+)$/.exec(err.message);
  return m ? Number(m[1]) : undefined;
}
