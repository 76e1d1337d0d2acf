/**
 * Fakes for follower tests: a stream that answers `sync` like lua/connect.lua
 * (current / changes from a bounded history / full), and subscribers whose
 * subscriptions the test opens, feeds and drops by hand. No network, no timers
 * of their own: with vitest's fake timers a whole scenario runs in milliseconds.
 */

import { NetworkError, OpError, type RelayError } from "../../src/core/errors.ts";
import { Follower, type FollowerDeps, type FollowerStatusEvent } from "../../src/core/follower.ts";
import { diff } from "../../src/core/patch.ts";
import { sha1hex } from "../../src/core/sha1.ts";
import type { Subscriber, SubscriptionHandlers, TransportName } from "../../src/core/subscribe.ts";
import type { ConnectReply, StateEnvelope } from "../../src/core/wire.ts";

export class FakeStream {
  epoch = "1";
  seq = 0;
  state: unknown = { n: 0 };
  updated = 1_000;
  channel = "c1";
  /** How many envelopes the history keeps (the server's `history`). */
  history = 8;
  log: StateEnvelope[] = [];

  /** Publishes a new state; `delta` sends a patch + SHA-1 like the Lua side does. */
  publish(state: unknown, o: { delta?: boolean; fetch?: boolean } = {}): StateEnvelope {
    const prev = this.state;
    this.seq++;
    this.updated++;
    this.state = state;
    const base = { v: 1 as const, t: "state" as const, epoch: this.epoch, seq: this.seq, ts: this.updated };
    const env: StateEnvelope = o.delta
      ? { ...base, patch: diff(prev, state) as StateEnvelope["patch"], h: sha1hex(JSON.stringify(state)) }
      : { ...base, state };
    this.log.push(env);
    if (this.log.length > this.history) this.log.shift();
    return o.fetch ? { ...base, fetch: true } : env;
  }

  hb(seq = this.seq): string {
    return JSON.stringify({ v: 1, t: "hb", epoch: this.epoch, seq, ts: this.updated });
  }

  ended(reason: "stopped" | "expired"): string {
    return JSON.stringify({ v: 1, t: "ended", epoch: this.epoch, seq: this.seq, ts: this.updated, reason });
  }

  /** The stream was stopped and started again under the same name. */
  restart(state: unknown, channel = this.channel): void {
    this.epoch = String(Number(this.epoch) + 1);
    this.channel = channel;
    this.seq = 1;
    this.state = state;
    this.log = [];
  }

  /** Redis lost the last `n` writes (AOF loss): the seq goes back. */
  goBack(n: number, state: unknown): void {
    this.seq -= n;
    this.state = state;
    this.log = this.log.filter((e) => e.seq <= this.seq);
  }

  /** What relay_connect answers to (epoch, last). */
  reply(epoch: string | undefined, last: number): ConnectReply {
    const head = { channel: this.channel, epoch: this.epoch, seq: this.seq, term: 1, updated: this.updated, pass: "-" };
    if (epoch === this.epoch && last === this.seq) return { ...head, mode: "current" };
    const missing = this.seq - last;
    if (epoch === this.epoch && missing > 0 && missing <= this.log.length) {
      return { ...head, mode: "changes", changes: this.log.slice(-missing) };
    }
    return { ...head, mode: "full", state: this.state };
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
  constructor(readonly name: TransportName) {}
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

/** A sync the test answers by hand (`manual`) or at once from the stream. */
export class FakeSync {
  calls: { epoch: string | undefined; last: number }[] = [];
  manual = false;
  pending: { epoch: string | undefined; last: number; resolve: () => void; reject: (e: RelayError) => void }[] = [];
  /** The next calls fail with these errors, in order. */
  failures: RelayError[] = [];
  constructor(readonly stream: FakeStream) {}

  readonly fn = (epoch: string | undefined, last: number): Promise<ConnectReply> => {
    this.calls.push({ epoch, last });
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    if (!this.manual) return Promise.resolve(this.stream.reply(epoch, last));
    return new Promise((resolve, reject) => {
      // The reply reflects the stream when the test answers, as a real one would.
      this.pending.push({ epoch, last, resolve: () => resolve(this.stream.reply(epoch, last)), reject });
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
