/**
 * A leader: publishes states in order, one request in flight at a time.
 * A plan is a state, not a log of edits, so while a publish is in flight (or
 * the server cannot be reached) only the newest waiting state is kept; it is
 * sent as soon as the line is free. Each publish carries an op id that Lua
 * deduplicates, so a retry after a timeout never makes a second change.
 *
 * A publish whose outcome is unknown (timeout, dropped reply) is "in doubt":
 * the server may have applied it, or may still apply it later. It is retried
 * with the same op id until the server answers, before any newer state is
 * sent; otherwise a late copy could land after the newer state and followers
 * would end on an older plan than the leader's. Only a publish that surely
 * never left (connection refused, Webdis had no Redis connection), on every
 * attempt so far, is dropped in favour of a newer state.
 */
import { GatewayError, OpError, RelayError, staleSeq } from "./errors.ts";
import { Emitter } from "./events.ts";
import { diff } from "./patch.ts";
import { randomHex } from "./secrets.ts";

export type LeaderStatus = "live" | "offline" | "replaced" | "stopped" | "closed";

export interface PublishResult {
  seq: number;
  changed: boolean;
}

export interface LeaderEvents {
  status: { status: LeaderStatus; previous: LeaderStatus; reason: string };
  published: PublishResult & { state: unknown };
  replaced: { error: RelayError };
  error: { error: RelayError };
}

export interface LeaderSession {
  name: string;
  channel: string;
  epoch: string;
  term: number;
  seq: number;
  state: unknown;
  token: string;
  /**
   * The code pass from start or reconnect: given to a later reconnect or stop,
   * it exempts them from the failed-code rate limit (an outsider's flood of
   * wrong codes cannot lock this leader out; SECURITY.md).
   */
  pass: string;
}

export interface LeaderDeps {
  /** `patch`: a JSON Patch from the last acknowledged state, or "-" to send only the state. */
  publish(
    session: LeaderSession,
    opId: string,
    json: string,
    patch: string,
  ): Promise<{ seq: number; changed: boolean; duplicate?: boolean }>;
  heartbeat(session: LeaderSession): Promise<void>;
  stop(): Promise<void>;
  heartbeatMs: number;
  backoff: (attempt: number) => number;
}

interface Pending {
  json: string;
  state: unknown;
  opId: string;
  /** Made once, on the first attempt, so a retry sends the very same request. */
  patch?: string;
  /** Replies that did not parse: the outcome is unknown, so retried a few times. */
  garbled?: number;
  /**
   * Some attempt may have reached Redis (timeout, reset, 502/504). From then on
   * the job stays in doubt: a later "surely not sent" speaks only for that
   * attempt, while the earlier copy can still land.
   */
  maybeSent?: boolean;
  /** STALE refusals so far (each resends the state whole, on the stream's seq). */
  stale?: number;
  waiters: { resolve: (r: PublishResult) => void; reject: (e: unknown) => void }[];
}

/**
 * Delta updates: a JSON Patch from the last state the server acknowledged,
 * when it is less than half the size of the whole state; else "-".
 */
function patchFor(base: unknown, next: unknown, fullLength: number): string {
  if (typeof base !== "object" || base === null || Array.isArray(base)) return "-";
  const text = JSON.stringify(diff(base, JSON.parse(JSON.stringify(next))));
  return text.length * 2 < fullLength ? text : "-";
}

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

export class Leader extends Emitter<LeaderEvents> {
  readonly name: string;
  #session: LeaderSession;
  #status: LeaderStatus = "live";
  #pending: Pending | undefined;
  /** Sent, outcome unknown: retried with its op id before anything newer. */
  #inDoubt: Pending | undefined;
  #flushing = false;
  #attempt = 0;
  /** After STALE: the stream's state is not the one we hold, so patches against it are wrong. */
  #baseUnknown = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Ends a QUOTA wait early (the leader ended: nothing more will be sent). */
  #wake: (() => void) | undefined;
  readonly #deps: LeaderDeps;

  constructor(session: LeaderSession, deps: LeaderDeps) {
    super();
    this.name = session.name;
    this.#session = session;
    this.#deps = deps;
    if (deps.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => void this.#beat(), deps.heartbeatMs);
      (this.#heartbeat as { unref?: () => void }).unref?.();
    }
  }

  get status(): LeaderStatus {
    return this.#status;
  }
  get seq(): number {
    return this.#session.seq;
  }
  get epoch(): string {
    return this.#session.epoch;
  }
  /** Keep it (with the code) to reconnect or stop during a flood of wrong codes: `reconnect(name, { code, pass })`. */
  get pass(): string {
    return this.#session.pass;
  }
  get term(): number {
    return this.#session.term;
  }
  /** The last state the server has (from start/reconnect, then each publish). */
  get state(): unknown {
    return this.#session.state;
  }
  /** States waiting to be sent (0 or 1: only the newest is kept). */
  get pending(): number {
    return (this.#pending ? 1 : 0) + (this.#inDoubt ? 1 : 0);
  }

  /**
   * Publishes `state`. Resolves once this state, or a newer one that replaced
   * it while waiting, is stored and sent to followers.
   */
  publish(state: unknown): Promise<PublishResult> {
    if (this.#status === "replaced" || this.#status === "stopped" || this.#status === "closed") {
      return Promise.reject(
        new RelayError(this.#status === "replaced" ? "LEADER_REPLACED" : "CLOSED", `leader is ${this.#status}`),
      );
    }
    const json = JSON.stringify(state);
    if (typeof json !== "string" || !json.startsWith("{")) {
      return Promise.reject(new RelayError("INVALID", "state must be a JSON object"));
    }
    return new Promise((resolve, reject) => {
      const waiters = this.#pending?.waiters ?? [];
      waiters.push({ resolve, reject });
      this.#pending = { json, state, opId: randomHex(16), waiters };
      void this.#flush();
    });
  }

  /** Resolves when nothing is waiting to be sent. */
  async flushed(): Promise<void> {
    while (this.#pending || this.#inDoubt || this.#flushing) await new Promise((r) => setTimeout(r, 5));
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while ((this.#inDoubt || this.#pending) && this.#sending()) {
        // The job in flight leaves #pending, so a newer publish() starts a new job.
        const job = (this.#inDoubt ?? this.#pending) as Pending;
        if (job === this.#inDoubt) this.#inDoubt = undefined;
        else this.#pending = undefined;
        try {
          const before = this.#session.seq;
          job.patch ??= this.#baseUnknown ? "-" : patchFor(this.#session.state, job.state, job.json.length);
          const r = await this.#deps.publish(this.#session, job.opId, job.json, job.patch);
          this.#attempt = 0;
          this.#session.seq = r.seq;
          // A snapshot, not the caller's object: the next patch is made against it.
          this.#session.state = JSON.parse(job.json);
          this.#baseUnknown = false;
          if (!this.#inDoubt && !this.#pending)
            this.#setStatus("live", r.duplicate ? "published (retry confirmed)" : "published");
          // A retry the server recognised: the first attempt changed the state if the seq moved.
          const result = { seq: r.seq, changed: r.changed || (r.duplicate === true && r.seq > before) };
          this.emit("published", { ...result, state: job.state });
          for (const w of job.waiters) w.resolve(result);
        } catch (e) {
          const err = e instanceof RelayError ? e : new RelayError("NETWORK", "publish failed", { cause: e });
          // STALE: the stream is at a seq this leader never saw acknowledged (writes lost
          // with Redis, or a state that landed behind its back). Nothing changed; send this
          // state whole on top of the stream's seq, a couple of times at most.
          const at = staleSeq(err);
          if (at !== undefined && (job.stale ?? 0) < 2 && this.#sending()) {
            job.stale = (job.stale ?? 0) + 1;
            this.#session.seq = at;
            // The stream's state at that seq is not ours: no patch until one lands whole.
            this.#baseUnknown = true;
            job.patch = "-";
            this.#requeue(job); // a newer waiting state goes instead, on the same corrected base
            continue;
          }
          // QUOTA: this stream's publish budget is spent and nothing was written. Not a
          // fault and not offline: wait until the window refills, then send the newest
          // state (a newer one waiting replaces this one, unless this one may still land
          // from an earlier attempt). Still one request in flight.
          if (err.code === "QUOTA" && this.#sending()) {
            if (job.maybeSent) this.#inDoubt = job;
            else this.#requeue(job);
            this.emit("error", { error: err });
            const seconds = err instanceof OpError && err.retryAfter !== undefined ? err.retryAfter : 1;
            await this.#pause(Math.max(1_000 * seconds, this.#deps.backoff(1)));
            continue;
          }
          // A reply that does not parse (seen once after Redis was frozen under load) says
          // nothing about the outcome: retry the op id a few times before giving up.
          if (err.code === "PROTOCOL") job.garbled = (job.garbled ?? 0) + 1;
          const garbled = err.code === "PROTOCOL" && (job.garbled ?? 0) <= 3;
          if ((isTransient(err) || garbled) && this.#sending()) {
            if (!surelyNotSent(err)) job.maybeSent = true;
            if (!job.maybeSent) {
              this.#requeue(job); // it never reached the server
            } else {
              this.#inDoubt = job;
            }
            this.#setStatus("offline", err.message);
            this.emit("error", { error: err });
            await new Promise((r) => setTimeout(r, this.#deps.backoff(++this.#attempt)));
            continue;
          }
          for (const w of job.waiters) w.reject(err);
          if (err.code === "LEADER_REPLACED") this.#replaced(err);
          else if (err.code === "NOT_FOUND") this.#end("stopped", "the stream no longer exists");
          else this.emit("error", { error: err });
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * A job that surely did not land goes back to pending: a newer waiting state
   * replaces it and answers its callers too; else it waits to be sent again.
   */
  /** Live or offline: the leader still sends (not stopped, replaced or closed). */
  #sending(): boolean {
    return this.#status === "live" || this.#status === "offline";
  }

  #requeue(job: Pending) {
    if (this.#pending) this.#pending.waiters.unshift(...job.waiters);
    else this.#pending = job;
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  async #beat() {
    if (!this.#sending()) return;
    try {
      await this.#deps.heartbeat(this.#session);
      if (this.#status === "offline" && !this.#pending && !this.#inDoubt) this.#setStatus("live", "heartbeat");
    } catch (e) {
      const err = e instanceof RelayError ? e : new RelayError("NETWORK", "heartbeat failed", { cause: e });
      if (err.code === "LEADER_REPLACED") this.#replaced(err);
      else if (err.code === "NOT_FOUND") this.#end("stopped", "the stream no longer exists");
      else if (isTransient(err)) this.#setStatus("offline", err.message);
      else this.emit("error", { error: err });
    }
  }

  #replaced(error: RelayError) {
    // A publish and a heartbeat can both learn it at once: tell the user once.
    if (this.#status === "replaced") return;
    this.#end("replaced", "another leader took over");
    this.emit("replaced", { error });
  }

  #setStatus(status: LeaderStatus, reason: string) {
    if (status === this.#status) return;
    const previous = this.#status;
    this.#status = status;
    this.emit("status", { status, previous, reason });
  }

  #end(status: "replaced" | "stopped" | "closed", reason: string) {
    // Terminal states stay put (a late heartbeat reply must not turn "replaced" into
    // something else); only an explicit stop() may still end the stream.
    if (this.#status === status || (!this.#sending() && status !== "stopped")) return;
    clearInterval(this.#heartbeat);
    this.#wake?.();
    const jobs = [this.#inDoubt, this.#pending];
    this.#pending = undefined;
    this.#inDoubt = undefined;
    const err = new RelayError(status === "replaced" ? "LEADER_REPLACED" : "CLOSED", reason);
    for (const job of jobs) for (const w of job?.waiters ?? []) w.reject(err);
    this.#setStatus(status, reason);
  }

  /** Ends the stream for everyone: followers get `ended`, the name is free again. */
  async stop(): Promise<void> {
    await this.flushed().catch(() => {});
    try {
      await this.#deps.stop();
    } catch (e) {
      // Already gone (stopped elsewhere, expired): stopped here too, as publish and heartbeat do.
      if (e instanceof RelayError && e.code === "NOT_FOUND") this.#end("stopped", "the stream no longer exists");
      throw e;
    }
    this.#end("stopped", "stopped by the leader");
  }

  /** Leaves without ending the stream (another leader may `reconnect`). */
  close(): void {
    if (this.#sending()) this.#end("closed", "closed by the leader");
  }
}
