/**
 * A follower: one explicit state machine over a subscription.
 *
 *   connecting -> live <-> catching-up        (gap, silence, or re-sync after a drop)
 *        live  -> offline -> connecting -> catching-up -> live   (dropped; backoff)
 *   any        -> reset -> live               (history too short / stream restarted)
 *   any        -> ended                       (stopped, expired, or disconnect())
 *
 * Order: a state is applied only when its seq is the next one; a newer seq
 * triggers a catch-up (`relay_connect` with our epoch and seq), an older or equal
 * one is dropped. Subscribe first, then sync, so nothing falls between the two.
 * `live` is only reported while the subscription is confirmed open.
 *
 * A silent subscription is presumed dead: Webdis keeps a WebSocket or chunked
 * stream open when its own Redis connection dies (e.g. Redis restarts), so
 * the follower would never hear another message. After `staleAfterMs` without
 * a message (the leader's heartbeats count) it closes the subscription, opens
 * a new one and re-syncs.
 */
import { type OpError, RelayError } from "./errors.ts";
import { Emitter } from "./events.ts";
import { apply as applyPatch, type PatchOp } from "./patch.ts";
import { sha1hex } from "./sha1.ts";
import type { Subscriber, Subscription, TransportName } from "./subscribe.ts";
import { type ConnectReply, type Envelope, envelope, type StateEnvelope } from "./wire.ts";

type WirePatch = readonly { op: "add" | "remove" | "replace"; path: string; value?: unknown }[];

export type FollowerStatus = "connecting" | "live" | "catching-up" | "reset" | "ended" | "offline";

export interface FollowerUpdate {
  seq: number;
  state: unknown;
  /** Server time of the change (ms since epoch). */
  ts: number;
  epoch: string;
}

export interface FollowerEvents {
  state: FollowerUpdate;
  status: { status: FollowerStatus; previous: FollowerStatus; reason: string; seq: number; updated: number };
  ended: { reason: "stopped" | "expired" | "gone" | "disconnected" };
  error: { error: RelayError };
}

export interface FollowerDeps {
  name: string;
  /** Calls relay_connect(epoch, lastSeq); already holds the verifier. */
  sync(epoch: string | undefined, lastSeq: number): Promise<ConnectReply>;
  subscribers: readonly Subscriber[];
  /** Re-sync when nothing (not even a heartbeat) arrived for this long. */
  staleAfterMs: number;
  /**
   * How long a gap may stay open before a catch-up: Webdis delivers pub/sub
   * messages out of order under load, so a missing seq usually arrives a few
   * ms later. Default 200.
   */
  reorderMs?: number;
  backoff: (attempt: number) => number;
}

export class Follower extends Emitter<FollowerEvents> implements AsyncIterable<unknown> {
  readonly name: string;
  #status: FollowerStatus = "connecting";
  #seq = 0;
  #epoch: string | undefined;
  #state: unknown;
  #updated = 0;
  #channel: string | undefined;
  #sub: Subscription | undefined;
  /** The current subscription confirmed it is open. */
  #subOpen = false;
  /** Went live at least once: later syncs are catch-ups, not the first connect. */
  #wasLive = false;
  /** Highest seq an envelope of our epoch announced (heartbeats included). */
  #heardSeq = 0;
  /** States that arrived ahead of a missing seq (or during a sync), by seq. */
  #ahead = new Map<number, StateEnvelope>();
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  #transportIndex = 0;
  /** Transports (by index) that opened at least once: worth going back to. */
  #worked = new Set<number>();
  #attempt = 0;
  #syncing: Promise<void> | undefined;
  #resyncWanted = false;
  #lastHeard = Date.now();
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #waiters: ((r: IteratorResult<unknown>) => void)[] = [];
  #pending: { value: unknown } | undefined;
  readonly #deps: FollowerDeps;

  constructor(deps: FollowerDeps) {
    super();
    this.name = deps.name;
    this.#deps = deps;
  }

  get status(): FollowerStatus {
    return this.#status;
  }
  get seq(): number {
    return this.#seq;
  }
  get epoch(): string | undefined {
    return this.#epoch;
  }
  get state(): unknown {
    return this.#state;
  }
  /** Time of the last change (server clock, ms since epoch). */
  get updated(): number {
    return this.#updated;
  }
  get transport(): TransportName | undefined {
    return this.#sub?.transport;
  }

  /** First contact: the current state at once, then the live subscription. */
  async open(): Promise<void> {
    const reply = await this.#deps.sync(undefined, 0);
    this.#channel = reply.channel;
    this.#applyReply(reply, false);
    this.#subscribe();
    const tick = Math.max(250, Math.min(5_000, this.#deps.staleAfterMs / 3));
    this.#watchdog = setInterval(() => this.#checkStale(), tick);
    (this.#watchdog as { unref?: () => void }).unref?.();
  }

  /** Read through a method: the status changes across awaits, which narrowing cannot see. */
  #ended(): boolean {
    return this.#status === "ended";
  }

  disconnect(): void {
    this.#end("disconnected");
  }

  #setStatus(status: FollowerStatus, reason: string) {
    if (status === this.#status) return;
    const previous = this.#status;
    this.#status = status;
    this.emit("status", { status, previous, reason, seq: this.#seq, updated: this.#updated });
  }

  #subscribe() {
    if (this.#status === "ended" || !this.#channel) return;
    const subscriber = this.#deps.subscribers[this.#transportIndex % this.#deps.subscribers.length];
    if (!subscriber) throw new RelayError("PROTOCOL", "no transport configured");
    let opened = false;
    this.#subOpen = false;
    try {
      const sub: Subscription = subscriber.subscribe(this.#channel, {
        onOpen: () => {
          if (this.#sub !== sub) return;
          opened = true;
          this.#subOpen = true;
          this.#worked.add(this.#transportIndex % this.#deps.subscribers.length);
          this.#attempt = 0;
          this.#lastHeard = Date.now();
          void this.#resync(this.#wasLive ? "re-sync after reconnecting" : "subscribed");
        },
        onMessage: (payload) => {
          if (this.#sub === sub) this.#onMessage(payload);
        },
        onDrop: (error) => {
          if (this.#sub !== sub) return;
          this.#sub = undefined;
          this.#subOpen = false;
          // A transport that never opened is skipped next time (WebSocket -> HTTP stream).
          // After a drop of one that worked: the most preferred transport that ever
          // worked (one the server refuses, e.g. a WebSocket, is not retried each time).
          if (!opened) this.#transportIndex++;
          else this.#transportIndex = Math.min(...this.#worked);
          this.#scheduleRetry(error);
        },
      });
      this.#sub = sub;
    } catch (e) {
      this.#transportIndex++;
      this.#scheduleRetry(e instanceof RelayError ? e : new RelayError("NETWORK", "cannot subscribe", { cause: e }));
    }
  }

  #scheduleRetry(error: RelayError) {
    if (this.#status === "ended") return;
    this.#setStatus("offline", error.message);
    this.emit("error", { error });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(
      () => {
        if (this.#status === "ended") return;
        this.#setStatus("connecting", "reconnecting");
        this.#subscribe();
      },
      this.#deps.backoff(++this.#attempt),
    );
  }

  #checkStale() {
    if (this.#status !== "live") return;
    const silent = Date.now() - this.#lastHeard;
    if (silent > this.#deps.staleAfterMs) {
      this.#lastHeard = Date.now();
      // Presumed dead (see the header): a new subscription, whose open re-syncs.
      this.#setStatus("catching-up", `no message for ${silent} ms; resubscribing`);
      this.#closeSub();
      this.#subscribe();
    }
  }

  #closeSub() {
    this.#sub?.close();
    this.#sub = undefined;
    this.#subOpen = false;
  }

  #onMessage(payload: string) {
    this.#lastHeard = Date.now();
    let env: Envelope;
    try {
      env = envelope.parse(JSON.parse(payload));
    } catch (e) {
      this.emit("error", { error: new RelayError("PROTOCOL", "malformed message on the channel", { cause: e }) });
      return;
    }
    if (env.t === "ended") {
      if (env.epoch === this.#epoch) this.#end(env.reason);
      return;
    }
    if (env.epoch !== this.#epoch) {
      // Not our instance's numbering: only a sync can tell where we stand.
      void this.#resync("stream restarted");
      return;
    }
    if (env.t === "hb" && env.seq < this.#seq && !this.#syncing) {
      // A heartbeat carries the stream's seq as it is now: below ours means the
      // stream went back (Redis lost writes we had shown). States below ours are
      // ordinary late duplicates and say nothing; a heartbeat is the witness.
      void this.#resync("heartbeat behind our seq: the stream may have gone back");
      return;
    }
    if (env.seq > this.#heardSeq) this.#heardSeq = env.seq;
    if (env.t === "state" && env.fetch) {
      // Too large to push: the change waits in the history; read it now.
      if (env.seq > this.#seq) void this.#resync("large change");
      return;
    }
    if (env.t === "state" && env.seq > this.#seq) this.#ahead.set(env.seq, env);
    // During a sync everything waits in #ahead and is drained after the reply.
    if (!this.#syncing) this.#drain();
  }

  /**
   * Applies waiting states in seq order while the next one is there. A gap that
   * is still open after reorderMs (a lost message, not a late one) starts a
   * catch-up.
   */
  #drain() {
    for (let next = this.#ahead.get(this.#seq + 1); next; next = this.#ahead.get(this.#seq + 1)) {
      this.#ahead.delete(next.seq);
      if (!this.#apply(next)) return;
    }
    for (const seq of this.#ahead.keys()) if (seq <= this.#seq) this.#ahead.delete(seq);
    if (!this.#behind()) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
      return;
    }
    if (this.#gapTimer) return;
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.#behind()) void this.#resync("gap");
    }, this.#deps.reorderMs ?? 200);
  }

  #behind(): boolean {
    return this.#ahead.size > 0 || this.#heardSeq > this.#seq;
  }

  /** Asks the server for what we lack; one sync at a time, repeated if asked again meanwhile. */
  async #resync(reason: string): Promise<void> {
    if (this.#status === "ended") return;
    if (this.#syncing) {
      this.#resyncWanted = true;
      return this.#syncing;
    }
    if (this.#status === "live" || (this.#status === "connecting" && this.#wasLive)) {
      this.#setStatus("catching-up", reason);
    }
    this.#syncing = (async () => {
      try {
        do {
          this.#resyncWanted = false;
          // After a delta that did not fit, ask for the whole state (no epoch: always "full").
          const full = this.#fullWanted;
          const reply = full ? await this.#deps.sync(undefined, 0) : await this.#deps.sync(this.#epoch, this.#seq);
          if (this.#ended()) return;
          this.#applyReply(reply, true);
          if (full && this.#fullWanted === full) this.#fullWanted = undefined;
          // What arrived meanwhile; a gap left over gets the reorder grace first.
          this.#drain();
        } while (this.#resyncWanted && !this.#ended());
        // Live only with an open subscription; otherwise a retry is already scheduled.
        if (!this.#ended() && this.#subOpen) {
          this.#wasLive = true;
          this.#setStatus("live", reason);
        }
      } catch (e) {
        const err = e instanceof RelayError ? e : new RelayError("NETWORK", "sync failed", { cause: e });
        if (err.code === "NOT_FOUND") {
          this.#end("gone");
        } else if ((err as OpError).code === "BAD_PASSWORD") {
          // The stream was stopped and a new one took the name with another password.
          this.#end("gone");
        } else {
          this.#closeSub();
          this.#scheduleRetry(err);
        }
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }

  #applyReply(reply: ConnectReply, hadState: boolean) {
    if (reply.channel !== this.#channel && hadState) {
      // Same name, new stream instance (stopped and started again): a new channel too.
      this.#channel = reply.channel;
      this.#closeSub();
      queueMicrotask(() => this.#subscribe());
    }
    this.#channel = reply.channel;
    if (reply.mode === "changes") {
      for (const env of reply.changes) if (env.seq === this.#seq + 1 && !this.#apply(env)) break;
      return;
    }
    if (reply.mode === "full") {
      if (hadState) {
        const why = this.#fullWanted
          ? this.#fullWanted
          : reply.epoch !== this.#epoch
            ? "stream restarted"
            : reply.seq < this.#seq
              ? "stream went back"
              : "history too short";
        this.#setStatus("reset", why);
      }
      // A reset makes everything heard before it moot (it may even be from a lost future).
      this.#ahead.clear();
      this.#heardSeq = reply.seq;
      this.#apply({ seq: reply.seq, state: reply.state, ts: reply.updated, epoch: reply.epoch }, true);
      return;
    }
    this.#epoch = reply.epoch;
  }

  /**
   * Applies one change; false when it could not be (a delta that does not fit
   * our state), in which case a full re-sync is already on its way.
   */
  #apply(
    u: { seq: number; state?: unknown; ts: number; epoch: string; patch?: WirePatch; h?: string },
    force = false,
  ): boolean {
    if (!force && u.epoch === this.#epoch && u.seq <= this.#seq) return true;
    let state = u.state;
    if (u.patch) {
      // A delta applies to the state of seq - 1 and must hash to the server's SHA-1.
      if (u.epoch !== this.#epoch || u.seq !== this.#seq + 1) return this.#wantFull("delta out of order");
      try {
        state = applyPatch(this.#state, u.patch as PatchOp[]);
      } catch {
        return this.#wantFull("delta does not apply");
      }
      if (u.h && sha1hex(JSON.stringify(state)) !== u.h) return this.#wantFull("delta result differs");
    }
    this.#seq = u.seq;
    this.#epoch = u.epoch;
    this.#state = state;
    this.#updated = u.ts;
    const update: FollowerUpdate = { seq: u.seq, state, ts: u.ts, epoch: u.epoch };
    this.emit("state", update);
    this.#deliver({ value: state });
    return true;
  }

  #fullWanted: string | undefined;

  #wantFull(reason: string): false {
    this.#fullWanted = reason;
    this.#ahead.clear();
    void this.#resync(reason);
    if (this.#syncing) this.#resyncWanted = true;
    return false;
  }

  #end(reason: FollowerEvents["ended"]["reason"]) {
    if (this.#status === "ended") return;
    clearInterval(this.#watchdog);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#gapTimer);
    this.#closeSub();
    this.#setStatus("ended", reason);
    this.emit("ended", { reason });
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  // Async iteration: a plan is a state, not a log, so a slow reader gets the newest.
  #deliver(item: { value: unknown }) {
    const w = this.#waiters.shift();
    if (w) w({ value: item.value, done: false });
    else this.#pending = item;
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return {
      next: () => {
        if (this.#pending) {
          const { value } = this.#pending;
          this.#pending = undefined;
          return Promise.resolve({ value, done: false });
        }
        if (this.#status === "ended") return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => {
        this.disconnect();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
