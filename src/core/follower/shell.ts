/**
 * A follower: the thin shell around the pure parts (see ../follower.ts). It
 * owns the timers and the I/O (the link, the sync) and turns what happens into
 * machine events; the status only changes in `#dispatch`, by the table.
 */

import type { OpenedReply } from "../content.ts";
import { type OpError, RelayError } from "../errors.ts";
import { Emitter } from "../events.ts";
import type { TransportName } from "../subscribe.ts";
import type { SealedEnvelope } from "../wire.ts";
import { applyChange, type Change, type Position } from "./delta.ts";
import { classify, fullStateCode } from "./inbox.ts";
import { Latest } from "./latest.ts";
import { Link } from "./link.ts";
import { type EventCodes, type FollowerStatus, type MachineEvent, transition } from "./machine.ts";
import { type DeltaCode, REASON_TEXT, type ReasonCode } from "./reasons.ts";
import type { FollowerDeps, FollowerEvents } from "./types.ts";
import { OrderingWindow } from "./window.ts";

export class Follower extends Emitter<FollowerEvents> implements AsyncIterable<unknown> {
  readonly name: string;
  #status: FollowerStatus = "connecting";
  #code: ReasonCode | undefined;
  #seq = 0;
  #epoch: string | undefined;
  #state: unknown;
  #updated = 0;
  #channel: string | undefined;
  readonly #link: Link;
  // Facts the table's guards read (with the link's `open`; machine.ts `Guard`).
  #wasLive = false;
  #syncing = false;
  /** Asked for another sync round while one runs. */
  #again = false;
  /** A delta did not fit: the next round asks for the whole state (an object, so a newer ask is told apart). */
  #fullWanted: { code: DeltaCode } | undefined;
  readonly #window = new OrderingWindow();
  #attempt = 0;
  #lastHeard = Date.now();
  /** A door probe is under way (at most one). */
  #probing = false;
  /** When the door may be probed again, and the wait after the next probe that finds it well (doubling). */
  #probeAfter = 0;
  #probeGap = 0;
  /** The silence (its #lastHeard) the relay was last asked about (#askRelay): once per silence. */
  #askedFor: number | undefined;
  /** Read-only facts for a page's honest status (web/status.ts): local times, undefined until first. */
  #heardAt: number | undefined;
  #answeredAt: number | undefined;
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  readonly #latest = new Latest<unknown>();
  /** Sealed changes from the channel open one after another, so they reach the window in arrival order. */
  #opening: Promise<void> = Promise.resolve();
  /** Moves on at every full state: changes still opening from before it are dropped. */
  #generation = 0;
  readonly #deps: FollowerDeps;

  constructor(deps: FollowerDeps) {
    super();
    this.name = deps.name;
    this.#deps = deps;
    this.#link = new Link(deps.doors ?? [deps.subscribers], {
      open: (switched) => {
        this.#attempt = 0;
        this.#lastHeard = Date.now();
        this.#answeredAt = this.#lastHeard;
        this.#dispatch("need-sync", !this.#wasLive ? "subscribed" : switched ? "door-switched" : "resubscribed");
      },
      message: (payload) => this.#onMessage(payload),
      drop: (error) => this.#dispatch("dropped", "dropped", error.message, error),
    });
  }

  get status(): FollowerStatus {
    return this.#status;
  }
  /** Why the status last changed (undefined before the first change). */
  get reasonCode(): ReasonCode | undefined {
    return this.#code;
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
    return this.#link.transport;
  }
  /** The subscription door in use (its URL), when there is a subscription. */
  get door(): string | undefined {
    return this.#link.door;
  }

  /** When the last message (a change or a leader's heartbeat) arrived on the channel (local ms), if any. */
  get heardAt(): number | undefined {
    return this.#heardAt;
  }
  /** When the relay last answered this follower (a subscription opened, a sync replied; local ms), if ever. */
  get answeredAt(): number | undefined {
    return this.#answeredAt;
  }

  /** First contact: the current state at once, then the live subscription. */
  async open(): Promise<void> {
    const reply = await this.#deps.sync(undefined, 0);
    this.#answeredAt = Date.now();
    this.#channel = reply.channel;
    this.#applyReply(reply, false);
    this.#subscribe();
    const suspect = this.#suspectAfterMs();
    // Often enough to ask the relay about a silence (#askRelay) before a page's "stalled"
    // (web/status.ts: the heartbeat and a half): an eighth of the heartbeat.
    const ask = this.#askAfterMs() === undefined ? 5_000 : (this.#deps.heartbeatMs ?? 0) / 8;
    const tick = Math.max(
      250,
      Math.min(5_000, this.#deps.staleAfterMs / 3, suspect === undefined ? 5_000 : suspect / 2, ask),
    );
    this.#watchdog = setInterval(() => this.#checkStale(), tick);
    (this.#watchdog as { unref?: () => void }).unref?.();
  }

  disconnect(): void {
    this.#dispatch("end", "disconnected");
  }

  /** Read through a method: the status changes across awaits, which narrowing cannot see. */
  #ended(): boolean {
    return this.#status === "ended";
  }

  #dispatch<E extends MachineEvent>(event: E, code: EventCodes[E], text = REASON_TEXT[code], error?: RelayError) {
    const facts = { syncing: this.#syncing, "was-live": this.#wasLive, "sub-open": this.#link.open };
    const step = transition(this.#status, event, facts);
    // Status listeners see what the status means: no subscription when offline or ended.
    if (step.effects.includes("close") || step.effects.includes("teardown")) this.#link.close();
    if (step.status !== this.#status) {
      const previous = this.#status;
      this.#status = step.status;
      this.#code = code;
      if (step.status === "live") this.#wasLive = true;
      const [seq, updated] = [this.#seq, this.#updated];
      this.emit("status", { status: step.status, previous, code, reason: text, seq, updated });
    }
    for (const effect of step.effects) {
      if (effect === "sync") void this.#sync(code as EventCodes["need-sync"]);
      else if (effect === "sync-again") this.#again = true;
      else if (effect === "subscribe") this.#subscribe();
      else if (effect === "resubscribe") {
        // A silent subscription is presumed dead, and its door with it: the next door (if any).
        this.#link.moveOn();
        this.#subscribe();
      } else if (effect === "retry-later") this.#retryLater(error ?? new RelayError("NETWORK", text));
      else if (effect === "teardown") {
        clearInterval(this.#watchdog);
        clearTimeout(this.#retryTimer);
        clearTimeout(this.#gapTimer);
        this.emit("ended", { reason: code as EventCodes["end"] });
        this.#latest.end();
      }
    }
  }

  #subscribe() {
    if (!this.#ended() && this.#channel) this.#link.connect(this.#channel);
  }

  #retryLater(error: RelayError) {
    this.emit("error", { error });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#dispatch("retry", "retry"), this.#deps.backoff(++this.#attempt));
  }

  /** Door probing is on only with several doors to move between and a probe to ask. */
  #suspectAfterMs(): number | undefined {
    const { suspectAfterMs, probeDoor, staleAfterMs } = this.#deps;
    if (!probeDoor || suspectAfterMs === undefined || this.#link.doorCount < 2) return undefined;
    return suspectAfterMs < staleAfterMs ? suspectAfterMs : undefined;
  }

  #checkStale() {
    const silent = Date.now() - this.#lastHeard;
    if (this.#status !== "live") return;
    if (silent > this.#deps.staleAfterMs) {
      this.#lastHeard = Date.now();
      this.#resetProbe();
      this.#dispatch("silence", "silence", `no message for ${silent} ms; resubscribing`);
      return;
    }
    const ask = this.#askAfterMs();
    if (ask !== undefined && silent > ask && this.#askedFor !== this.#lastHeard && !this.#syncing) this.#askRelay();
    const suspect = this.#suspectAfterMs();
    if (suspect === undefined || silent <= suspect || this.#probing || Date.now() < this.#probeAfter) return;
    this.#probeDoor(suspect);
  }

  /** Silence worth asking the relay about: the heartbeat and a quarter, while short of staleAfterMs. */
  #askAfterMs(): number | undefined {
    const hb = this.#deps.heartbeatMs ?? 0;
    if (hb <= 0) return undefined;
    const after = hb + Math.max(500, Math.round(hb / 4));
    return after < this.#deps.staleAfterMs ? after : undefined;
  }

  /**
   * Silence past the heartbeat: the leader's (away) or this channel's (stalled)? The relay
   * says when the leader last spoke (relay_connect `heard`, and its clock `now`: durations
   * on one clock each, no clock sync). Quiet there as long as here: the leader is away and
   * the relay answers, which the page shows as "leader away" (`answeredAt`). Heard there
   * since (with a quarter heartbeat for the push and the round trip), or a seq this channel
   * never brought: it stalled, and is renewed now instead of after staleAfterMs. No answer:
   * the silence stays unexplained (the page says stalled). A reply of another library
   * (no `heard`) still proves the relay answers.
   */
  #askRelay() {
    const heardBefore = this.#lastHeard;
    this.#askedFor = heardBefore;
    const hb = this.#deps.heartbeatMs ?? 0;
    // The silence as of the question: the server's `now` is later than this by the way there,
    // never earlier, so a slow way back (a loaded box, a long catch-up to open) cannot read
    // as a beat this channel missed.
    const silence = Date.now() - heardBefore;
    void this.#deps.sync(this.#epoch, this.#seq).then(
      (reply) => {
        // Heard meanwhile, no longer live, or a sync of the machine's own: the question is moot.
        if (this.#ended() || this.#lastHeard !== heardBefore || this.#status !== "live" || this.#syncing) return;
        const quiet = reply.heard !== undefined && reply.now !== undefined ? reply.now - reply.heard : undefined;
        // The leader's last beat reached the relay a push before it would have reached us.
        const slack = Math.max(250, Math.round(hb / 4));
        const missed =
          reply.epoch !== this.#epoch || reply.seq !== this.#seq || (quiet !== undefined && quiet + slack < silence);
        if (!missed) {
          this.#answeredAt = Date.now();
          return;
        }
        this.#lastHeard = Date.now();
        this.#resetProbe();
        this.#dispatch(
          "silence",
          "silence",
          `no message for ${silence} ms while the relay heard the leader ${quiet ?? "?"} ms ago (seq ${reply.seq}); resubscribing`,
        );
      },
      () => {},
    );
  }

  /**
   * Silence past the heartbeat: is it the leader (away: the door still answers) or the
   * door (its Redis gone: move on now)? A leader away for long costs its followers one
   * PING each at 1, 2, 4 … times `suspect`, not one per tick.
   */
  #probeDoor(suspect: number) {
    const url = this.#link.door;
    const probe = this.#deps.probeDoor;
    if (!url || !probe) return;
    this.#probing = true;
    const heardBefore = this.#lastHeard;
    void probe(url)
      .catch(() => false)
      .then((answers) => {
        this.#probing = false;
        // Heard meanwhile, moved, or no longer live: the question is moot.
        if (this.#lastHeard !== heardBefore || this.#link.door !== url || this.#status !== "live") return;
        if (answers) {
          this.#probeGap = Math.min(Math.max(suspect, 2 * this.#probeGap), this.#deps.staleAfterMs);
          this.#probeAfter = Date.now() + this.#probeGap;
          return;
        }
        const silent = Date.now() - this.#lastHeard;
        this.#lastHeard = Date.now();
        this.#resetProbe();
        this.#dispatch("silence", "silence", `no message for ${silent} ms and the door does not answer; moving on`);
      });
  }

  /** A message, or a move to another door: the next silence is asked about from the start. */
  #resetProbe() {
    this.#probeAfter = 0;
    this.#probeGap = 0;
  }

  #onMessage(payload: string) {
    this.#lastHeard = Date.now();
    this.#resetProbe();
    this.#heardAt = this.#lastHeard;
    const act = classify(payload, { seq: this.#seq, epoch: this.#epoch, syncing: this.#syncing });
    if (act.kind === "malformed") this.emit("error", { error: act.error });
    else if (act.kind === "end") this.#dispatch("end", act.code);
    else if (act.kind === "need-sync") {
      if (act.heard) this.#window.hear(act.heard);
      this.#dispatch("need-sync", act.code);
    } else if (act.kind === "heard") {
      this.#window.hear(act.seq);
      if (!this.#syncing) this.#drain();
    } else if (act.kind === "hold") {
      this.#hold(act.env);
    }
  }

  /** Opens a sealed change, then holds it; one that does not open is never applied (a sync fetches the real one). */
  #hold(env: SealedEnvelope) {
    // A reset while this opens (went back, new epoch) makes it news from a past the
    // stream no longer has: dropped, whatever its seq.
    const generation = this.#generation;
    this.#opening = this.#opening.then(async () => {
      let change: Change;
      try {
        change = await this.#deps.open(env);
      } catch (e) {
        if (this.#ended()) return;
        const error = e instanceof RelayError ? e : new RelayError("SEALED", "a change did not open");
        this.emit("error", { error });
        this.#dispatch("need-sync", "sealed-refused");
        return;
      }
      if (this.#ended() || generation !== this.#generation || change.epoch !== this.#epoch) return;
      change = await this.#precheck(change);
      if (this.#ended() || generation !== this.#generation || change.epoch !== this.#epoch) return;
      // Heard once opened, not on arrival: a backlog still being opened is no gap (its reorder timer would fire).
      this.#window.hear(change.seq);
      this.#window.hold(change, this.#seq);
      // During a sync everything waits in the window and is drained after the reply.
      if (!this.#syncing) this.#drain();
    });
  }

  /**
   * The live case, a patch on the very state held: applied now and its SHA-1 taken by
   * `deps.digest` (off the main thread), so #apply commits it without hashing a large
   * state in the same tick. Anything else (no digest, a gap, a mismatch) is left for
   * #apply to do as before: a mismatch is found there again and syncs.
   */
  async #precheck(change: Change): Promise<Change> {
    const digest = this.#deps.digest;
    if (!digest || !change.patch || !change.h || change.seq !== this.#seq + 1) return change;
    const base = this.#state;
    const r = applyChange({ seq: this.#seq, epoch: this.#epoch, state: base }, change, false, false);
    if (r.kind !== "state") return change;
    const h = await digest(JSON.stringify(r.state)).catch(() => undefined);
    return h === change.h ? { ...change, checked: { base, state: r.state } } : change;
  }

  /** Applies held states in seq order; a gap still open after reorderMs (a loss, not a late one) syncs. */
  #drain() {
    for (let next = this.#window.next(this.#seq); next; next = this.#window.next(this.#seq)) {
      if (!this.#apply(next)) return;
    }
    this.#window.prune(this.#seq);
    if (!this.#window.behind(this.#seq)) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
      return;
    }
    if (this.#gapTimer) return;
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.#window.behind(this.#seq)) this.#dispatch("need-sync", "gap");
    }, this.#deps.reorderMs ?? 200);
  }

  /** One sync at a time, with one more round when asked during it (the table's `sync-again`). */
  async #sync(code: EventCodes["need-sync"]): Promise<void> {
    this.#syncing = true;
    try {
      do {
        this.#again = false;
        const full = this.#fullWanted;
        // After a delta that did not fit, ask for the whole state (no epoch: always "full").
        const reply = await (full ? this.#deps.sync(undefined, 0) : this.#deps.sync(this.#epoch, this.#seq));
        if (this.#ended()) return;
        this.#answeredAt = Date.now();
        this.#applyReply(reply, true);
        if (full && this.#fullWanted === full) this.#fullWanted = undefined;
        // What arrived meanwhile; a gap left over gets the reorder grace first.
        this.#drain();
      } while (this.#again && !this.#ended());
      if (!this.#ended()) this.#dispatch("synced", code);
    } catch (e) {
      const err = e instanceof RelayError ? e : new RelayError("NETWORK", "sync failed", { cause: e });
      // NOT_FOUND, or BAD_PASSWORD: the stream was stopped and a new one took the name.
      if (err.code === "NOT_FOUND" || (err as OpError).code === "BAD_PASSWORD") this.#dispatch("end", "gone");
      else this.#dispatch("dropped", err.code === "RATE_LIMITED" ? "rate-limited" : "sync-failed", err.message, err);
    } finally {
      this.#syncing = false;
    }
  }

  #applyReply(reply: OpenedReply, hadState: boolean) {
    if (reply.channel !== this.#channel && hadState) {
      // Same name, new stream instance (stopped and started again): a new channel too.
      this.#channel = reply.channel;
      this.#link.close();
      queueMicrotask(() => this.#subscribe());
    }
    this.#channel = reply.channel;
    if (reply.mode === "changes") this.#applyRun(reply.changes);
    else if (reply.mode === "full") {
      const why = hadState ? fullStateCode(reply, this, this.#fullWanted?.code) : undefined;
      if (why) this.#dispatch("full-state", why);
      this.#window.clear(reply.seq);
      this.#generation++;
      this.#apply({ seq: reply.seq, state: reply.state, ts: reply.updated, epoch: reply.epoch }, why ?? true);
    } else this.#epoch = reply.epoch;
  }

  /** Applies one change (`force`: a full state, with why if a reset); false when a delta did not fit. */
  #apply(change: Change, force?: true | EventCodes["full-state"]): boolean {
    const r = applyChange({ seq: this.#seq, epoch: this.#epoch, state: this.#state }, change, !!force);
    if (r.kind === "old") return true;
    if (r.kind === "mismatch") return this.#misfit(r.code);
    this.#commit(change, r.state, typeof force === "string" ? force : undefined);
    return true;
  }

  /**
   * A catch-up's changes, applied in order and shown once (a joiner may get a
   * thousand): only the last result is hashed, each one is authenticated by its seal.
   */
  #applyRun(changes: readonly Change[]) {
    let at: Position = { seq: this.#seq, epoch: this.#epoch, state: this.#state };
    // The contiguous run after our seq, so the change hashed is the last one applied.
    const run: Change[] = [];
    for (const c of changes) {
      if (c.epoch === at.epoch && c.seq <= at.seq) continue;
      if (c.seq !== (run[run.length - 1]?.seq ?? at.seq) + 1) break;
      run.push(c);
    }
    for (const [i, c] of run.entries()) {
      const r = applyChange(at, c, false, i === run.length - 1);
      if (r.kind === "mismatch") return this.#misfit(r.code);
      if (r.kind === "state") at = { seq: c.seq, epoch: c.epoch, state: r.state };
    }
    const last = run[run.length - 1];
    if (last) this.#commit(last, at.state);
    return true;
  }

  #misfit(code: DeltaCode): false {
    this.#fullWanted = { code };
    this.#window.clear();
    this.#dispatch("need-sync", code);
    // Even a sync this just started gets one more round: its reset clears what arrives meanwhile.
    if (this.#syncing) this.#again = true;
    return false;
  }

  #commit(change: Change, state: unknown, reset?: EventCodes["full-state"]) {
    this.#seq = change.seq;
    this.#epoch = change.epoch;
    this.#state = state;
    this.#updated = change.ts;
    const update = { seq: change.seq, state, ts: change.ts, epoch: change.epoch };
    this.emit("state", reset ? { ...update, reset } : update);
    this.#latest.push(state);
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return this.#latest.iterator(() => this.disconnect());
  }
}
