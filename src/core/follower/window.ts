/**
 * The ordering window: states that arrived ahead of a missing seq wait here,
 * by seq, until the missing one comes (Webdis reorders pub/sub messages under
 * load) or a sync fills the gap. Pure: the caller owns the reorder timer.
 */
import type { Change } from "./delta.ts";

export class OrderingWindow {
  /** States ahead of our seq, by seq. */
  readonly #ahead = new Map<number, Change>();
  /** Highest seq an envelope of our epoch announced (heartbeats included). */
  #heard = 0;

  /** Something of our epoch announced `seq` (a state, a heartbeat, a large change). */
  hear(seq: number): void {
    if (seq > this.#heard) this.#heard = seq;
  }

  /** Keeps a state that is ahead of `applied`; older ones are late duplicates. */
  hold(env: Change, applied: number): void {
    if (env.seq > applied) this.#ahead.set(env.seq, env);
  }

  /** Removes and returns the state for `applied + 1`, if it is here. */
  next(applied: number): Change | undefined {
    const env = this.#ahead.get(applied + 1);
    if (env) this.#ahead.delete(env.seq);
    return env;
  }

  /** Forgets what `applied` already covers (a sync may have jumped past it). */
  prune(applied: number): void {
    for (const seq of this.#ahead.keys()) if (seq <= applied) this.#ahead.delete(seq);
  }

  /** A gap: a state waits for a missing one, or a seq we heard of is not applied yet. */
  behind(applied: number): boolean {
    return this.#ahead.size > 0 || this.#heard > applied;
  }

  /**
   * Drops everything held. After a full state, `heard` is that state's seq: a
   * reset makes everything heard before it moot (it may be from a lost future).
   */
  clear(heard?: number): void {
    this.#ahead.clear();
    if (heard !== undefined) this.#heard = heard;
  }

  get size(): number {
    return this.#ahead.size;
  }
}
