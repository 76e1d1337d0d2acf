/**
 * Fakes for follower tests: a stream that keeps a snapshot and the changes
 * since and answers `sync` like lua/connect.lua (current / changes / full,
 * lua/lib/7_stream.lua catch_up), and subscribers whose subscriptions the test
 * opens, feeds and drops by hand. No network, no timers of their own: with
 * vitest's fake timers a whole scenario runs in milliseconds.
 *
 * The fake seal is base64url of the plaintext (what src/core/content.ts puts
 * inside a real seal): it opens in a microtask, so fake-timer interleavings
 * stay exact (real AES-GCM resolves on Node's thread pool, outside fake time).
 * Real sealing is tested in seal.test.ts and content.test.ts.
 */

import { type ChangeText, fold, type OpenedReply, patchChange, wholeState } from "../../src/core/content.ts";
import { NetworkError, OpError, RelayError } from "../../src/core/errors.ts";
import type { Change } from "../../src/core/follower/delta.ts";
import { Follower, type FollowerDeps, type FollowerStatusEvent } from "../../src/core/follower.ts";
import { diff } from "../../src/core/patch.ts";
import { fromBase64Url, toBase64Url } from "../../src/core/seal.ts";
import type { Subscriber, SubscriptionHandlers, TransportName } from "../../src/core/subscribe.ts";
import { type ConnectReply, patchBody, type SealedEnvelope, type StateEnvelope } from "../../src/core/wire.ts";

const utf8 = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

export const fakeSeal = (text: string): string => toBase64Url(utf8.encode(text));

/** Opens a fake-sealed envelope as content.ts openChange does a real one: SEALED when it is not a plan. */
export function fakeOpenSync(env: SealedEnvelope): Change {
  let value: unknown;
  try {
    value = JSON.parse(strict.decode(fromBase64Url(env.c)));
  } catch {
    throw new RelayError("SEALED", `change ${env.seq} does not open (fake)`);
  }
  const base = { seq: env.seq, epoch: env.epoch, ts: env.ts };
  if (env.k === "s" && typeof value === "object" && value !== null && !Array.isArray(value))
    return { ...base, state: value };
  const r = patchBody.safeParse(value);
  if (env.k === "p" && r.success) return { ...base, patch: r.data.patch, h: r.data.h };
  throw new RelayError("SEALED", `change ${env.seq} is not a plan (fake)`);
}

export const fakeOpen = async (env: SealedEnvelope): Promise<Change> => fakeOpenSync(env);

/** A reply opened as content.ts openReply does (the real fold), with the fake seal. */
export function openFake(reply: ConnectReply): OpenedReply {
  if (reply.mode === "current") return reply;
  const changes = reply.changes.map(fakeOpenSync);
  if (reply.mode === "changes") return { ...reply, changes };
  const { changes: _sealed, ...head } = reply;
  return { ...head, state: fold(reply, changes).state };
}

/** The same change with its plaintext altered and sealed again: authentic, but wrong (a leader's bug). */
export function spoil(env: StateEnvelope, f: (body: Record<string, unknown>) => unknown): SealedEnvelope {
  if (!("c" in env)) throw new Error("not a sealed change");
  const body = JSON.parse(strict.decode(fromBase64Url(env.c)));
  return { ...env, c: fakeSeal(JSON.stringify(f(body))) };
}

const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

export class FakeStream {
  epoch = "1";
  seq = 0;
  /** No snapshot yet: the empty state at seq 0, as a new stream. */
  state: unknown = {};
  updated = 1_000;
  channel = "c1";
  /**
   * When the leader last spoke, server ms (relay_connect `heard`, with `now` its clock: fake
   * time); unset, the reply has neither, as from an older library.
   */
  heard: number | undefined;
  /** How many changes the log keeps after the snapshot (the server's `history`); one more goes whole. */
  history = 8;
  snap: SealedEnvelope | undefined;
  log: SealedEnvelope[] = [];
  /** Every state of this epoch by seq (to check what followers show). */
  states = new Map<number, unknown>([[0, {}]]);
  /** Every stored envelope of this epoch, oldest first (goBack rebuilds snapshot and log from it). */
  #all: SealedEnvelope[] = [];

  /**
   * Publishes a new state: a patch ("p", appended to the log) unless `whole`,
   * the log is full (Lua's NEED_STATE; the leader then sends it whole) or the
   * base is not an object; a whole state ("s") becomes the snapshot. `fetch`:
   * too large to push, the channel gets the notice.
   */
  publish(state: unknown, o: { whole?: boolean; fetch?: boolean } = {}): StateEnvelope {
    const prev = this.state;
    this.seq++;
    this.updated++;
    this.state = state;
    this.states.set(this.seq, state);
    const json = JSON.stringify(state);
    const patch = !o.whole && this.log.length < this.history && isObject(prev);
    const change: ChangeText = patch ? patchChange(json, JSON.stringify(diff(prev, state))) : wholeState(json);
    const base = { v: 2 as const, t: "state" as const, epoch: this.epoch, seq: this.seq, ts: this.updated };
    const env: SealedEnvelope = { ...base, k: change.kind, c: fakeSeal(change.text) };
    this.#store(env);
    return o.fetch ? { ...base, fetch: true } : env;
  }

  #store(env: SealedEnvelope) {
    this.#all.push(env);
    if (env.k === "s") {
      this.snap = env;
      this.log = [];
    } else this.log.push(env);
  }

  hb(seq = this.seq): string {
    return JSON.stringify({ v: 2, t: "hb", epoch: this.epoch, seq, ts: this.updated });
  }

  ended(reason: "stopped" | "expired"): string {
    return JSON.stringify({ v: 2, t: "ended", epoch: this.epoch, seq: this.seq, ts: this.updated, reason });
  }

  /** The stream was stopped and started again under the same name, and its leader published `state`. */
  restart(state: unknown, channel = this.channel): void {
    this.epoch = String(Number(this.epoch) + 1);
    this.channel = channel;
    this.seq = 0;
    this.state = {};
    this.states = new Map([[0, {}]]);
    this.snap = undefined;
    this.log = [];
    this.#all = [];
    this.publish(state, { whole: true });
  }

  /** Redis lost the last `n` writes (AOF loss): the seq goes back, with the snapshot and log of then. */
  goBack(n: number): void {
    this.seq -= n;
    this.state = this.states.get(this.seq);
    for (const s of [...this.states.keys()]) if (s > this.seq) this.states.delete(s);
    const kept = this.#all.filter((e) => e.seq <= this.seq);
    this.snap = undefined;
    this.log = [];
    this.#all = [];
    for (const e of kept) this.#store(e);
  }

  /** What relay_connect answers to (epoch, last), sealed, as lua/lib/7_stream.lua catch_up. */
  reply(epoch: string | undefined, last: number): ConnectReply {
    const base = { channel: this.channel, epoch: this.epoch, seq: this.seq, term: 1, updated: this.updated, pass: "-" };
    const head = this.heard === undefined ? base : { ...base, heard: this.heard, now: Date.now() };
    if (epoch === this.epoch && last === this.seq) return { ...head, mode: "current" };
    const snapSeq = this.snap?.seq ?? 0;
    if (epoch === this.epoch && last >= snapSeq && last < this.seq) {
      return { ...head, mode: "changes", changes: this.log.slice(last - snapSeq) };
    }
    const all = this.snap ? [this.snap, ...this.log] : [...this.log];
    const next = this.snap !== undefined && epoch === this.epoch && last === snapSeq - 1;
    return { ...head, mode: next ? "changes" : "full", changes: all };
  }
}

export const msg = (env: StateEnvelope) => JSON.stringify(env);

export class FakeSub {
  closed = false;
  opened = false;
  constructor(
    readonly transport: TransportName,
    readonly channel: string,
    readonly h: SubscriptionHandlers,
  ) {}
  open(): void {
    if (this.closed || this.opened) return;
    this.opened = true;
    this.h.onOpen();
  }
  send(payload: string): void {
    if (!this.closed) this.h.onMessage(payload);
  }
  drop(why = "dropped by the test"): void {
    if (this.closed) return;
    this.closed = true;
    this.h.onDrop(new NetworkError(why));
  }
  close(): void {
    this.closed = true;
  }
}

export class FakeSubscriber implements Subscriber {
  readonly subs: FakeSub[] = [];
  /** Throw at once on subscribe (e.g. no WebSocket here). */
  throws = false;
  constructor(
    readonly name: TransportName,
    /** The door it stands for (Link.door reports it; a door probe is asked about it). */
    readonly url?: string,
  ) {}
  subscribe(channel: string, h: SubscriptionHandlers): FakeSub {
    if (this.throws) throw new Error(`${this.name} refused`);
    const sub = new FakeSub(this.name, channel, h);
    this.subs.push(sub);
    return sub;
  }
  get last(): FakeSub | undefined {
    return this.subs.at(-1);
  }
}

/** A sync the test answers by hand (`manual`) or at once from the stream; its reply is opened like relay.ts does. */
export class FakeSync {
  calls: { epoch: string | undefined; last: number }[] = [];
  manual = false;
  pending: { epoch: string | undefined; last: number; resolve: () => void; reject: (e: RelayError) => void }[] = [];
  /** The next calls fail with these errors, in order. */
  failures: RelayError[] = [];
  constructor(readonly stream: FakeStream) {}

  readonly fn = (epoch: string | undefined, last: number): Promise<OpenedReply> => {
    this.calls.push({ epoch, last });
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    const opened = () => openFake(this.stream.reply(epoch, last));
    // The executor runs now (the reply is the stream as it is now); a throw rejects.
    if (!this.manual) return new Promise((resolve) => resolve(opened()));
    return new Promise((resolve, reject) => {
      // The reply reflects the stream when the test answers, as a real one would.
      this.pending.push({ epoch, last, resolve: () => resolve(opened()), reject });
    });
  };

  answer(): void {
    this.pending.shift()?.resolve();
  }
}

export const opError = (code: string) => new OpError(code as never, `${code} from the fake`);

export interface Rig {
  f: Follower;
  stream: FakeStream;
  sync: FakeSync;
  ws: FakeSubscriber;
  http: FakeSubscriber;
  statuses: FollowerStatusEvent[];
  applied: number[];
  errors: RelayError[];
  ended: string[];
}

/** A follower on fakes, opened (first sync answered), its subscription not yet confirmed. */
export async function rig(
  o: Partial<FollowerDeps> & { websocket?: boolean; wsThrows?: boolean; stream?: FakeStream } = {},
): Promise<Rig> {
  const stream = o.stream ?? new FakeStream();
  const sync = new FakeSync(stream);
  const ws = new FakeSubscriber("websocket");
  const http = new FakeSubscriber("http-stream");
  ws.throws = o.wsThrows ?? false;
  const f = new Follower({
    name: "s",
    sync: sync.fn,
    open: fakeOpen,
    subscribers: o.websocket === false ? [http] : [ws, http],
    staleAfterMs: 3_000,
    reorderMs: 200,
    backoff: () => 100,
    ...o,
  });
  const r: Rig = { f, stream, sync, ws, http, statuses: [], applied: [], errors: [], ended: [] };
  f.on("status", (s) => r.statuses.push(s));
  f.on("state", (u) => r.applied.push(u.seq));
  f.on("error", (e) => r.errors.push(e.error));
  f.on("ended", (e) => r.ended.push(e.reason));
  await f.open();
  return r;
}

/** The current subscription (whichever transport), for feeding. */
export const current = (r: Rig): FakeSub | undefined => [...r.ws.subs, ...r.http.subs].filter((s) => !s.closed).at(-1);
