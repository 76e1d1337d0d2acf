/**
 * The publishing queue, pure (no timers, no I/O). A plan is a state, not a log
 * of edits, so only the newest waiting state is kept (`pending`); a newer
 * publish takes the waiting one's callers along. One job is in flight at most.
 *
 * A job whose outcome is unknown (timeout, reset, 502/504, a garbled reply) is
 * "in doubt": the server may have applied it, or may still apply it later. It
 * is retried with the same op id (Lua dedupes it) before any newer state, or a
 * late copy could land after the newer one and followers would end on an older
 * plan. Once in doubt, always in doubt: a later "surely not sent" speaks only
 * for that attempt. Only a job that surely never left, on every attempt, is
 * dropped in favour of a newer state (`requeue`).
 */
import { type ChangeText, patchChangeAsync, wholeState } from "../content.ts";
import { apply, diff } from "../patch.ts";
import { randomHex } from "../secrets.ts";
import type { PublishResult, SealedHeal, SealedPublish } from "./types.ts";

export interface Waiter {
  resolve: (r: PublishResult) => void;
  reject: (e: unknown) => void;
}

export interface Job {
  json: string;
  state: unknown;
  /** `json` parsed (plainOf). */
  plain?: unknown;
  opId: string;
  /** What to send, made once on the first attempt: a retry sends the very same change. */
  change?: ChangeText;
  /** `change` sealed on its base seq (sealing is random: a retry must resend these bytes). */
  sealed?: SealedPublish;
  /** The heal this job goes out as (the state whole, sealed for the proposed epoch and seq): a retry resends it. */
  heal?: SealedHeal;
  /** Replies that did not parse so far. */
  garbled: number;
  /** Some attempt may have reached Redis: the job stays in doubt. */
  maybeSent: boolean;
  /** STALE refusals so far (each resends the state whole, on the stream's seq). */
  stale: number;
  waiters: Waiter[];
}

/** Retries of one job after STALE, and after garbled replies, before the caller hears the error. */
export const MAX_STALE = 2;
export const MAX_GARBLED = 3;

/**
 * Leaders send edits: a JSON Patch from the last state the server acknowledged,
 * when it is smaller than the whole state; else "-" (send the state whole).
 * `next` must be plain JSON data (as JSON.parse gives it): `patchFor` makes it so.
 */
export function patchText(base: unknown, next: unknown, fullLength: number, json?: string): string {
  if (typeof base !== "object" || base === null || Array.isArray(base)) return "-";
  const ops = diff(base, next);
  const text = JSON.stringify(ops);
  if (text.length >= fullLength) return "-";
  // The diff sees objects, not their key order: a key added mid-object or keys reordered
  // give a patch whose result stringifies otherwise, and followers would refuse it (its
  // SHA-1 is of `json`) at every catch-up until the next whole state. Such a state goes whole.
  if (json !== undefined && JSON.stringify(apply(base, ops)) !== json) return "-";
  return text;
}

export const patchFor = (base: unknown, next: unknown, fullLength: number): string =>
  patchText(base, JSON.parse(JSON.stringify(next)), fullLength);

/**
 * Makes the change from the acknowledged state's JSON to the next one's: a patch (with
 * the SHA-1 of `json`) when smaller, else the state whole. What a leader's `makeChange`
 * (RelayOptions) must answer; a page runs it in a Worker (web/patch-worker.ts), so the
 * parse, the diff and the hash of a big plan leave the thread that draws it.
 */
export type MakeChange = (baseJson: string, json: string) => Promise<ChangeText>;

/** The change `changeOf` makes in this thread, from the JSON of both states: the reference `MakeChange`. */
export const changeText: MakeChange = async (baseJson, json) => {
  const patch = baseJson === "" ? "-" : patchText(JSON.parse(baseJson), JSON.parse(json), json.length, json);
  return patch === "-" ? wholeState(json) : patchChangeAsync(json, patch);
};

/** A change from elsewhere (a Worker) is taken only in the shape one has. */
const isChange = (c: unknown): c is ChangeText =>
  typeof c === "object" &&
  c !== null &&
  ((c as ChangeText).kind === "s" || (c as ChangeText).kind === "p") &&
  typeof (c as ChangeText).text === "string";

/** The job's state as its JSON says it (undefined dropped, dates as text...), parsed once: diffed, then kept as the base. */
export function plainOf(job: Job): unknown {
  job.plain ??= JSON.parse(job.json);
  return job.plain;
}

/** Where `changeOf` has the change made instead of here: the acknowledged JSON and the maker. */
export interface Elsewhere {
  json: string;
  make: MakeChange;
}

export class PublishQueue {
  #pending: Job | undefined;
  #inDoubt: Job | undefined;
  #inFlight: Job | undefined;
  /** After STALE: the stream's state is not the one we hold, so patches against it are wrong. */
  baseUnknown = false;
  readonly #newOpId: () => string;

  constructor(newOpId: () => string = () => randomHex(16)) {
    this.#newOpId = newOpId;
  }

  /** Jobs waiting (0, 1 or 2: an in-doubt one and the newest state); the one in flight is not counted. */
  get waiting(): number {
    return (this.#pending ? 1 : 0) + (this.#inDoubt ? 1 : 0);
  }
  get idle(): boolean {
    return this.waiting === 0;
  }
  get inFlight(): Job | undefined {
    return this.#inFlight;
  }

  /** A new state replaces the waiting one (a fresh op id) and answers its callers too. */
  offer(json: string, state: unknown, waiter: Waiter): void {
    const waiters = this.#pending?.waiters ?? [];
    waiters.push(waiter);
    this.#pending = { json, state, opId: this.#newOpId(), waiters, garbled: 0, maybeSent: false, stale: 0 };
  }

  /** The next job to send (in doubt first), or undefined when one is in flight or none waits. */
  take(): Job | undefined {
    if (this.#inFlight) return undefined;
    const job = this.#inDoubt ?? this.#pending;
    if (job === this.#inDoubt) this.#inDoubt = undefined;
    else this.#pending = undefined;
    this.#inFlight = job;
    return job;
  }

  /**
   * What the job sends: a patch against `base` (the acknowledged state), or the
   * state whole when the base is unknown, the server asked for a whole state
   * (`whole`), or the patch would not be smaller. Made on its first attempt and
   * kept for every retry. With `elsewhere` the patch is made there from the JSON of both
   * states (`base` is not read: the acknowledged state need never be parsed here).
   */
  async changeOf(job: Job, base: unknown, whole: boolean, elsewhere?: Elsewhere): Promise<ChangeText> {
    if (job.change) return job.change;
    if (this.baseUnknown || whole) {
      job.change = wholeState(job.json);
    } else if (elsewhere) {
      // A Worker that fails (or answers nonsense) costs this thread the work, not the publish.
      const made = await elsewhere.make(elsewhere.json, job.json).catch(() => undefined);
      job.change = isChange(made) ? made : await changeText(elsewhere.json, job.json);
    } else {
      const patch = patchText(base, plainOf(job), job.json.length, job.json);
      job.change = patch === "-" ? wholeState(job.json) : await patchChangeAsync(job.json, patch);
    }
    return job.change;
  }

  /** The job landed: the acknowledged state is known again. */
  acked(job: Job): void {
    this.#settle(job);
    this.baseUnknown = false;
  }

  /** The caller hears the error: the job leaves the queue. */
  failed(job: Job): void {
    this.#settle(job);
  }

  /** STALE: resend whole on the stream's seq (a newer waiting state goes instead); false once retries are spent. */
  stale(job: Job): boolean {
    if (job.stale >= MAX_STALE) return false;
    job.stale++;
    this.baseUnknown = true;
    this.#whole(job);
    this.#settle(job);
    this.#requeue(job);
    return true;
  }

  /**
   * The stream is behind or gone (BEHIND, NOT_FOUND; or a heal's STALE): nothing of this
   * attempt was written there. The job goes again as a heal (a newer waiting state instead:
   * a heal carries the newest state whole, and a late copy of an older heal never lands
   * over a newer one, the epoch must go up). A proposal the stream is past is dropped.
   */
  heal(job: Job, repropose: boolean): void {
    if (repropose) job.heal = undefined;
    this.#settle(job);
    this.#requeue(job);
  }

  /** NEED_STATE: the log is full and nothing was written; the job goes again, whole (in doubt stays first). */
  needState(job: Job): void {
    this.#whole(job);
    this.#settle(job);
    if (job.maybeSent) this.#inDoubt = job;
    else this.#requeue(job);
  }

  #whole(job: Job) {
    job.change = wholeState(job.json);
    job.sealed = undefined;
  }

  /** QUOTA: nothing was written by this attempt; an in-doubt job stays first, else the newest state goes. */
  quota(job: Job): void {
    this.#settle(job);
    if (job.maybeSent) this.#inDoubt = job;
    else this.#requeue(job);
  }

  /** A reply that did not parse; false once this job's retries are spent. */
  garbled(job: Job): boolean {
    job.garbled++;
    return job.garbled <= MAX_GARBLED;
  }

  /** Unreachable (or garbled): retried; `notSent` only keeps it replaceable if no attempt may have landed. */
  unreachable(job: Job, notSent: boolean): void {
    this.#settle(job);
    if (!notSent) job.maybeSent = true;
    if (job.maybeSent) this.#inDoubt = job;
    else this.#requeue(job);
  }

  /** Empties the queue (the job in flight settles on its own reply); returns the jobs taken out. */
  drain(): Job[] {
    const jobs = [this.#inDoubt, this.#pending].filter((j): j is Job => j !== undefined);
    this.#inDoubt = undefined;
    this.#pending = undefined;
    return jobs;
  }

  #settle(job: Job) {
    if (this.#inFlight === job) this.#inFlight = undefined;
  }

  /** A job that surely did not land: a newer waiting state replaces it and answers its callers too. */
  #requeue(job: Job) {
    if (this.#pending) this.#pending.waiters.unshift(...job.waiters);
    else this.#pending = job;
  }
}
