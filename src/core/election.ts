/**
 * One writer per stream across the tabs of one browser.
 *
 * Two tabs of the same leader would otherwise fight: each `reconnect` bumps the
 * term and fences the other out (LEADER_REPLACED), back and forth. A
 * TabElection picks one tab as the writer; the others stand by and may pass
 * their edits to it with `post()`.
 *
 *  - With Web Locks (`navigator.locks`): the writer holds an exclusive lock named
 *    `mission-relay:<key>`; the other tabs wait in the lock's queue. The browser
 *    releases the lock when the writer's tab closes or crashes, so the next tab
 *    takes over at once: no timers, no split brain inside one browser profile.
 *  - Without Web Locks but with BroadcastChannel: a lease. The writer says
 *    `lead` every `heartbeatMs`; a tab that heard no `lead` for 3 beats claims,
 *    and of two claimants the smaller id wins. Good enough for two tabs; a
 *    stalled writer can overlap its successor briefly, which the relay's term
 *    fencing then settles (the older one gets LEADER_REPLACED).
 *  - With neither (Node, Deno, old browsers): this tab is the writer at once.
 *
 * BroadcastChannel also carries `post()` messages between tabs and tells every
 * tab who the writer is (`writer` event).
 *
 * Typical use in the page:
 *
 *   const election = new TabElection({ key: streamName });
 *   election.on("elected", async () => { leader = await relay.reconnect(name, { code }); });
 *   election.on("demoted", () => { leader?.close(); leader = undefined; });
 *   election.on("message", ({ data }) => { if (election.isWriter) leader?.publish(data); });
 *   // in a standby tab, forward an edit to the writer: election.post(plan)
 *   election.start();
 *   addEventListener("pagehide", () => election.close());
 */

import type {
  BroadcastChannelLike,
  LockManagerLike,
  TabElectionEvents,
  TabElectionOptions,
  Wire,
} from "./election/types.ts";
import { Emitter } from "./events.ts";
import { randomHex } from "./secrets.ts";

export type { BroadcastChannelLike, LockManagerLike, TabElectionEvents, TabElectionOptions } from "./election/types.ts";

export class TabElection extends Emitter<TabElectionEvents> {
  /** This tab's random id. */
  readonly id = randomHex(8);
  readonly key: string;
  #writer = false;
  #writerId: string | undefined;
  #started = false;
  #closed = false;
  readonly #locks: LockManagerLike | undefined;
  readonly #channel: BroadcastChannelLike | undefined;
  readonly #beatMs: number;
  // Web Locks: resolves to release the held lock; aborts a queued request.
  #release: (() => void) | undefined;
  #abort: AbortController | undefined;
  // Lease fallback.
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastLead = 0;
  #claimedAt = 0;

  constructor(options: TabElectionOptions) {
    super();
    this.key = options.key;
    const g = globalThis as {
      navigator?: { locks?: LockManagerLike };
      BroadcastChannel?: new (n: string) => BroadcastChannelLike;
    };
    this.#locks = options.locks === null ? undefined : (options.locks ?? g.navigator?.locks);
    const makeChannel =
      options.channel === null
        ? undefined
        : (options.channel ??
          (g.BroadcastChannel
            ? (n: string) => new (g.BroadcastChannel as new (n: string) => BroadcastChannelLike)(n)
            : undefined));
    this.#channel = makeChannel?.(`mission-relay:${this.key}`);
    if (this.#channel) this.#channel.onmessage = (ev) => this.#onWire(ev.data as Wire);
    this.#beatMs = options.heartbeatMs ?? 1000;
  }

  /** True while this tab is the writer. */
  get isWriter(): boolean {
    return this.#writer;
  }
  /** The writer tab's id, when known (this tab's own id when it writes). */
  get writerId(): string | undefined {
    return this.#writerId;
  }
  /** Which mechanism decides: "locks", "lease" or "alone". */
  get mode(): "locks" | "lease" | "alone" {
    return this.#locks ? "locks" : this.#channel ? "lease" : "alone";
  }

  /** Joins the election. The `elected` event may come at once or much later. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#send({ t: "who", id: this.id });
    if (this.mode === "locks") this.#queue();
    else if (this.mode === "lease") {
      this.#timer = setInterval(() => this.#tick(), this.#beatMs);
      (this.#timer as { unref?: () => void }).unref?.();
      this.#tick();
    } else this.#becomeWriter();
  }

  /** Sends `data` to every other tab of this key (e.g. an edit for the writer). */
  post(data: unknown): void {
    this.#send({ t: "msg", id: this.id, data });
  }

  /** Steps down and lets another tab write; this tab queues again (unless closed). */
  resign(reason = "resigned"): void {
    if (!this.#writer) return;
    this.#stepDown(reason);
    if (this.mode === "locks") {
      this.#release?.();
      this.#release = undefined;
      // Queue again behind whoever waits now.
      setTimeout(() => this.#queue(), 0);
    } else if (this.mode === "lease") {
      this.#lastLead = Date.now(); // give the others a full lease period to claim first
    }
  }

  /** Leaves for good: releases the lock or lease and stops listening. */
  close(): void {
    if (this.#closed) return;
    if (this.#writer) this.#stepDown("closed");
    this.#closed = true;
    this.#release?.();
    this.#abort?.abort();
    clearInterval(this.#timer);
    this.#channel?.close();
  }

  // --- Web Locks

  #queue() {
    if (this.#closed || !this.#locks) return;
    this.#abort = new AbortController();
    this.#locks
      .request(`mission-relay:${this.key}`, { mode: "exclusive", signal: this.#abort.signal }, () => {
        if (this.#closed) return Promise.resolve();
        this.#becomeWriter();
        return new Promise<void>((resolve) => {
          this.#release = resolve;
        });
      })
      .catch(() => {}); // aborted by close(): nothing to do
  }

  // --- Lease fallback

  #tick() {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#writer) {
      this.#send({ t: "lead", id: this.id });
      return;
    }
    if (this.#claimedAt && now - this.#claimedAt >= this.#beatMs) {
      // Nobody led or out-claimed us for one beat: ours.
      this.#claimedAt = 0;
      this.#becomeWriter();
      return;
    }
    if (!this.#claimedAt && now - this.#lastLead > 3 * this.#beatMs) {
      this.#claimedAt = now;
      this.#send({ t: "claim", id: this.id });
    }
  }

  #onWire(m: Wire) {
    if (this.#closed || !m || typeof m !== "object" || m.id === this.id) return;
    switch (m.t) {
      case "msg":
        this.emit("message", { data: m.data, from: m.id });
        return;
      case "who":
        if (this.#writer) this.#send({ t: "lead", id: this.id });
        return;
      case "resign":
        if (this.#writerId === m.id) this.#setWriterId(undefined);
        if (this.mode === "lease") this.#lastLead = 0; // claim at the next tick
        return;
      case "claim":
        if (this.#writer) this.#send({ t: "lead", id: this.id });
        else if (this.#claimedAt && m.id < this.id) this.#claimedAt = 0; // the smaller id wins
        return;
      case "lead":
        this.#lastLead = Date.now();
        this.#claimedAt = 0;
        if (this.#writer && this.mode === "lease" && m.id < this.id) {
          // Two writers after a partition: the smaller id keeps it.
          this.#stepDown("another tab writes");
        }
        if (!this.#writer) this.#setWriterId(m.id);
        return;
    }
  }

  // --- shared

  #becomeWriter() {
    if (this.#writer || this.#closed) return;
    this.#writer = true;
    this.#setWriterId(this.id);
    this.#send({ t: "lead", id: this.id });
    this.emit("elected", { id: this.id });
  }

  #stepDown(reason: string) {
    this.#writer = false;
    this.#send({ t: "resign", id: this.id });
    this.#setWriterId(undefined);
    this.emit("demoted", { id: this.id, reason });
  }

  #setWriterId(id: string | undefined) {
    if (id === this.#writerId) return;
    this.#writerId = id;
    this.emit("writer", { id });
  }

  #send(m: Wire) {
    try {
      this.#channel?.postMessage(m);
    } catch {
      // A closed channel (tab going away): nothing to tell.
    }
  }
}
