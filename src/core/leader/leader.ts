/**
 * A leader: publishes states in order, one request in flight at a time. This
 * is the shell: it owns the timers (heartbeat, backoff, the QUOTA wait) and
 * the I/O (`LeaderDeps`); the rules are pure parts beside it: the queue
 * (queue.ts), failure kinds (failure.ts), fencing (fencing.ts), the heartbeat
 * (heartbeat.ts) and the status table (machine.ts).
 */
import { openKept, sealChange, sealKept, wholeState } from "../content.ts";
import { OpError, RelayError } from "../errors.ts";
import { Emitter } from "../events.ts";
import { classify, quotaSeconds, surelyNotSent } from "./failure.ts";
import { fenceFor } from "./fencing.ts";
import { type HealNeed, healFailure, healNeed, healTarget, MAX_REPROPOSE, streamAt } from "./heal.ts";
import { beatFailure, scheduleHeartbeat } from "./heartbeat.ts";
import { isSending, type LeaderEvent, transition } from "./machine.ts";
import { type Job, PublishQueue, plainOf } from "./queue.ts";
import { type SavedLeader, savedOf } from "./save.ts";
import type {
  HealReply,
  LeaderDeps,
  LeaderEvents,
  LeaderSession,
  LeaderStatus,
  PublishReply,
  PublishResult,
  SealedPublish,
} from "./types.ts";

const asRelayError = (e: unknown, what: string) =>
  e instanceof RelayError ? e : new RelayError("NETWORK", what, { cause: e });

export class Leader extends Emitter<LeaderEvents> {
  readonly name: string;
  #session: LeaderSession;
  #status: LeaderStatus = "live";
  readonly #queue: PublishQueue;
  /** The send loop runs (also through its backoff and QUOTA waits): one loop, so one request in flight. */
  #flushing = false;
  #attempt = 0;
  readonly #stopHeartbeat: () => void;
  /** Ends a backoff or QUOTA wait early (the leader ended, or `retry()`). */
  #wake: (() => void) | undefined;
  readonly #deps: LeaderDeps;
  /** The stream lost what this leader had acknowledged (or is gone, not stopped): the next job heals it. */
  #behind: HealNeed | undefined;
  /** Re-proposals of the current heal (STALE: the stream was already past it). */
  #reproposed = 0;
  /** stop() runs: a NOT_FOUND now is the stop's own doing, never healed. */
  #stopping = false;

  constructor(session: LeaderSession, deps: LeaderDeps, queue = new PublishQueue()) {
    super();
    this.name = session.name;
    session.origin ??= session.epoch;
    this.#session = session;
    this.#deps = deps;
    this.#queue = queue;
    this.#stopHeartbeat = scheduleHeartbeat(deps.heartbeatMs, () => void this.#beat());
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
  /** Keep it (with the code) to reconnect or stop during a flood of wrong codes: `reconnect(name, { password, code, pass })`. */
  get pass(): string {
    return this.#session.pass;
  }
  get term(): number {
    return this.#session.term;
  }
  /** The last state the server has (from start/reconnect, then each publish). */
  get state(): unknown {
    return this.#ackedState();
  }

  /**
   * The acknowledged state, parsed from its JSON when first asked for: with `makeChange`
   * (a Worker makes the patches) a page that never reads it never parses a big plan here.
   */
  #ackedState(): unknown {
    const s = this.#session;
    if (s.state === undefined && s.json !== "") s.state = JSON.parse(s.json);
    return s.state;
  }

  /** A job landed: its state is the acknowledged one (parsed already, or when first asked for). */
  #accept(job: Job) {
    const s = this.#session;
    s.state = this.#deps.makeChange ? job.plain : plainOf(job);
    s.json = job.json;
  }
  /** States waiting to be sent (the newest, plus one in doubt at most). */
  get pending(): number {
    return this.#queue.waiting;
  }

  /**
   * Publishes `state`. Resolves once this state, or a newer one that replaced
   * it while waiting, is stored and sent to followers.
   */
  publish(state: unknown): Promise<PublishResult> {
    if (!isSending(this.#status)) {
      const code = this.#status === "replaced" ? "LEADER_REPLACED" : "CLOSED";
      return Promise.reject(new RelayError(code, `leader is ${this.#status}`));
    }
    const json = JSON.stringify(state);
    if (typeof json !== "string" || !json.startsWith("{")) {
      return Promise.reject(new RelayError("INVALID", "state must be a JSON object"));
    }
    return new Promise((resolve, reject) => {
      this.#queue.offer(json, state, { resolve, reject });
      void this.#flush();
    });
  }

  /**
   * This live session as a structured-clonable record, for `relay.resume(saved)` after a
   * reload (save.ts): the acknowledged state, not what waits to be sent (the caller keeps
   * its newest state itself). CLOSED once this leader was replaced or stopped.
   */
  save(): SavedLeader {
    if (this.#status === "replaced" || this.#status === "stopped")
      throw new RelayError(this.#status === "replaced" ? "LEADER_REPLACED" : "CLOSED", `leader is ${this.#status}`);
    const v = this.#deps.verifiers;
    if (!v) throw new RelayError("INVALID", "this leader cannot be saved");
    return savedOf(this.#session, v);
  }

  /**
   * `json` (a state of this stream) sealed with the stream's key for the caller's own disk,
   * bound to the epoch/seq it was edited on: a page keeps unsent edits this way
   * (web/store.ts), so its disk holds them as ciphertext that opens with the password
   * only. Needs no network and works after close (a tab keeping its edits as it goes).
   */
  sealKept(json: string, at: { epoch: string; seq: number }): Promise<string> {
    return sealKept(this.#session.key, { name: this.#session.name, epoch: at.epoch, seq: at.seq }, json);
  }

  /** What `sealKept` sealed (by any leader of this stream: the key comes from the password), or SEALED. */
  openKept(sealed: string, at: { epoch: string; seq: number }): Promise<unknown> {
    return openKept(this.#session.key, { name: this.#session.name, epoch: at.epoch, seq: at.seq }, sealed);
  }

  /**
   * A heartbeat now, whatever `heartbeatMs`: a resumed leader learns at once whether it
   * still holds the stream (a fenced one turns `replaced`, a stopped stream `stopped`).
   * Resolves with the status after the beat (a heal it started may still be on its way).
   */
  async ping(): Promise<LeaderStatus> {
    await this.#beat();
    return this.#status;
  }

  /**
   * Sends what waits now instead of after the backoff: the caller knows the network is back
   * (a page's 'online' event). Ends a QUOTA wait too: the server answers QUOTA again if it must.
   */
  retry(): void {
    this.#wake?.();
  }

  /** Resolves when nothing is waiting to be sent. */
  async flushed(): Promise<void> {
    while (!this.#queue.idle || this.#flushing) await new Promise((r) => setTimeout(r, 5));
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      // Settling a job and taking the next one happen in the same tick as the reply, so a
      // caller resumed by its result finds the line free (no extra await in between).
      for (let job = this.#next(); job; job = this.#next()) {
        const s = this.#session;
        const before = s.seq;
        if (this.#behind) {
          const wait = await this.#heal(job, this.#behind);
          if (wait) await wait;
          continue;
        }
        // The state the server already has: nothing to send (Redis cannot compare sealed
        // states). Not after STALE: then the server's state is not the one we hold.
        if (job.json === s.json && !job.maybeSent && !this.#queue.baseUnknown) {
          this.#acked(job, { seq: s.seq, changed: false }, before);
          continue;
        }
        // Sealing happens here, not on the wire: if it fails (a runtime without the
        // crypto or compression it needs) nothing was sent and retrying cannot help.
        let body: SealedPublish;
        try {
          body = await this.#sealed(job, s);
        } catch (e) {
          const err = new RelayError("SEALED", "this state cannot be sealed here", { cause: e });
          this.#queue.failed(job);
          for (const w of job.waiters) w.reject(err);
          this.emit("error", { error: err });
          continue;
        }
        let reply: PublishReply;
        try {
          reply = await this.#deps.publish(s, job.opId, body);
        } catch (e) {
          const wait = this.#failed(job, asRelayError(e, "publish failed"));
          if (wait) await wait;
          continue;
        }
        this.#acked(job, reply, before);
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** The job's change sealed for the seq after `s.seq`; the same bytes on every retry on that base. */
  async #sealed(job: Job, s: LeaderSession): Promise<SealedPublish> {
    if (job.sealed?.base === s.seq) return job.sealed;
    const make = this.#deps.makeChange;
    const change = make
      ? await this.#queue.changeOf(job, undefined, s.snapshot, { json: s.json, make })
      : await this.#queue.changeOf(job, this.#ackedState(), s.snapshot);
    const content = await sealChange(s.key, { name: s.name, epoch: s.epoch, seq: s.seq + 1 }, change);
    job.sealed = { base: s.seq, kind: change.kind, content };
    return job.sealed;
  }

  #next(): Job | undefined {
    return isSending(this.#status) ? this.#queue.take() : undefined;
  }

  /**
   * Re-makes the stream from this job's state, whole, on a new epoch and a seq past the
   * leader's and the stream's (heal.ts). The proposal and its sealed bytes are made once and
   * resent as they are while the outcome is unknown. Returns the wait before the next send.
   */
  async #heal(job: Job, need: HealNeed): Promise<Promise<void> | undefined> {
    const s = this.#session;
    if (!job.heal) {
      const target = healTarget(s, need, Date.now());
      try {
        const content = await sealChange(s.key, { name: s.name, ...target }, wholeState(job.json));
        job.heal = { ...target, content };
      } catch (e) {
        const err = new RelayError("SEALED", "this state cannot be sealed here", { cause: e });
        this.#queue.failed(job);
        for (const w of job.waiters) w.reject(err);
        this.emit("error", { error: err });
        return undefined;
      }
    }
    let reply: HealReply;
    try {
      if (!this.#deps.heal) throw new RelayError("NOT_FOUND", "no such stream");
      reply = await this.#deps.heal(s, job.opId, job.heal);
    } catch (e) {
      return this.#healFailed(job, asRelayError(e, "heal failed"));
    }
    this.#attempt = 0;
    this.#reproposed = 0;
    this.#behind = undefined;
    Object.assign(s, { epoch: reply.epoch, seq: reply.seq, term: reply.term, channel: reply.channel });
    s.pass = reply.pass;
    this.#accept(job);
    s.snapshot = false;
    this.#queue.acked(job);
    this.emit("healed", { epoch: reply.epoch, seq: reply.seq, why: need.why, duplicate: reply.duplicate });
    this.#dispatch({ type: "healed", idle: this.#queue.idle });
    const result = { seq: reply.seq, changed: true };
    this.emit("published", { ...result, state: job.state });
    for (const w of job.waiters) w.resolve(result);
    return undefined;
  }

  #healFailed(job: Job, err: RelayError): Promise<void> | undefined {
    const q = this.#queue;
    const outcome = isSending(this.#status) ? healFailure(err) : "final";
    if (outcome === "retry" && (err.code !== "PROTOCOL" || q.garbled(job))) {
      q.unreachable(job, surelyNotSent(err));
      this.#dispatch({ type: "unreachable", message: err.message });
      this.emit("error", { error: err });
      return this.#pause(this.#deps.backoff(++this.#attempt));
    }
    if (outcome === "repropose" && this.#reproposed < MAX_REPROPOSE) {
      this.#reproposed++;
      this.#behind = { why: this.#behind?.why ?? "behind", ...streamAt(err) };
      q.heal(job, true);
      return undefined;
    }
    q.failed(job);
    for (const w of job.waiters) w.reject(err);
    if (outcome === "gone") this.#dispatch({ type: "gone" });
    else if (outcome === "replaced") this.#dispatch({ type: "replaced", error: err });
    else {
      // Refused (a wrong code, the cap, a rate limit...): the caller hears it; the next publish heals again.
      this.#reproposed = 0;
      this.emit("error", { error: err });
      if (err instanceof OpError) this.#dispatch({ type: "answered", idle: q.idle });
    }
    return undefined;
  }

  /** A heartbeat found the stream behind or gone: heal it now with the acknowledged state, if nothing else is on the way. */
  #wantHeal(need: HealNeed) {
    this.#behind = need;
    const s = this.#session;
    if (this.#queue.idle && !this.#queue.inFlight && s.json !== "") {
      this.#queue.offer(s.json, this.#ackedState(), { resolve: () => {}, reject: () => {} });
    }
    void this.#flush();
  }

  #acked(job: Job, r: PublishReply, before: number) {
    this.#attempt = 0;
    // The stream took a publish on this leader's epoch, term and seq: it is not behind.
    this.#behind = undefined;
    this.#session.seq = r.seq;
    // A snapshot, not the caller's object: the next patch is made against it.
    this.#accept(job);
    if (job.sealed?.kind === "s") this.#session.snapshot = false;
    if (r.snapshot !== undefined && !r.duplicate) this.#session.snapshot = r.snapshot;
    this.#queue.acked(job);
    this.#dispatch({ type: "ack", duplicate: r.duplicate === true, idle: this.#queue.idle });
    // A retry the server recognised: the first attempt changed the state if the seq moved.
    const result = { seq: r.seq, changed: r.changed || (r.duplicate === true && r.seq > before) };
    this.emit("published", { ...result, state: job.state });
    for (const w of job.waiters) w.resolve(result);
  }

  /** Puts the job back or gives it up; returns the wait (backoff, QUOTA window) before the next send, if any. */
  #failed(job: Job, err: RelayError): Promise<void> | undefined {
    const q = this.#queue;
    const f = classify(err);
    const sending = isSending(this.#status);
    // BEHIND or NOT_FOUND: the stream lost what this leader had acknowledged (a failover), or
    // is gone. Nothing of this attempt landed; the job goes again as a heal (lua/heal.lua
    // refuses a stream that was stopped or expired: then the leader is gone).
    const need = sending && !this.#stopping && this.#deps.heal ? healNeed(err) : undefined;
    if (need) {
      this.#behind = need;
      q.heal(job, false);
      return undefined;
    }
    // STALE: the stream is at a seq this leader never saw acknowledged (writes lost with
    // Redis, or a state that landed behind its back). Nothing changed; send the newest
    // state whole on top of the stream's seq, a couple of times at most.
    if (f.kind === "stale" && sending && q.stale(job)) {
      this.#session.seq = f.at;
      return undefined;
    }
    // NEED_STATE: the log since the last whole state is full and nothing was written. A
    // patch over max_state (its sealed bytes: a patch may deflate worse than the state)
    // goes whole the same way, once.
    const patchTooLarge = err.code === "TOO_LARGE" && job.change?.kind === "p";
    if ((f.kind === "need-state" || patchTooLarge) && sending) {
      this.#session.snapshot = true;
      q.needState(job);
      return undefined;
    }
    // QUOTA: the budget is spent and nothing was written. Not a fault and not offline:
    // wait until the window refills, then send (still one request in flight).
    if (f.kind === "quota" && sending) {
      q.quota(job);
      this.emit("error", { error: err });
      return this.#pause(Math.max(1_000 * quotaSeconds(err), this.#deps.backoff(1)));
    }
    // A reply that does not parse (seen once after Redis was frozen under load) says
    // nothing about the outcome: retried like a timeout, a few times.
    const retry = f.kind === "transient" || (f.kind === "garbled" && q.garbled(job));
    if (retry && sending) {
      q.unreachable(job, surelyNotSent(err));
      this.#dispatch({ type: "unreachable", message: err.message });
      this.emit("error", { error: err });
      return this.#pause(this.#deps.backoff(++this.#attempt));
    }
    q.failed(job);
    for (const w of job.waiters) w.reject(err);
    const fence = fenceFor(err);
    if (fence) this.#dispatch(fence);
    else this.emit("error", { error: err });
    // A refusal is an answer: a leader that went offline on the way here is reachable again
    // (fast-check found one offline for good after a network error, then STALE twice more).
    if (!fence && err instanceof OpError) this.#dispatch({ type: "answered", idle: q.idle });
    return undefined;
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
    if (!isSending(this.#status)) return;
    try {
      await this.#deps.heartbeat(this.#session);
      this.#dispatch({ type: "beat-ok", idle: this.#queue.idle });
    } catch (e) {
      const err = asRelayError(e, "heartbeat failed");
      const need = this.#stopping || !isSending(this.#status) || !this.#deps.heal ? undefined : healNeed(err);
      if (need) return this.#wantHeal(need);
      const event = beatFailure(err);
      if (event) this.#dispatch(event);
      else this.emit("error", { error: err });
    }
  }

  /** The one place the status changes: look the event up in the table, apply its effects in order. */
  #dispatch(event: LeaderEvent) {
    const t = transition(this.#status, event);
    if (!t) return;
    const previous = this.#status;
    for (const effect of t.effects) {
      if (effect === "end") this.#end(t.to, t.reason);
      else if (effect === "emit-status") {
        this.#status = t.to;
        if (t.to !== previous) this.emit("status", { status: t.to, previous, reason: t.reason, code: t.code });
      } else if (event.type === "replaced") this.emit("replaced", { error: event.error });
    }
  }

  #end(status: LeaderStatus, reason: string) {
    this.#stopHeartbeat();
    this.#wake?.();
    const err = new RelayError(status === "replaced" ? "LEADER_REPLACED" : "CLOSED", reason);
    for (const job of this.#queue.drain()) for (const w of job.waiters) w.reject(err);
  }

  /** Ends the stream for everyone: followers get `ended`, the name is free again. */
  async stop(): Promise<void> {
    await this.flushed().catch(() => {});
    this.#stopping = true;
    try {
      await this.#deps.stop();
    } catch (e) {
      // Already gone (stopped elsewhere, expired): stopped here too, as publish and heartbeat do.
      if (e instanceof RelayError && e.code === "NOT_FOUND") this.#dispatch({ type: "gone" });
      throw e;
    }
    this.#dispatch({ type: "stop" });
  }

  /** Leaves without ending the stream (another leader may `reconnect`). */
  close(): void {
    this.#dispatch({ type: "close" });
  }
}
