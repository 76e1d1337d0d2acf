/**
 * The follower shell on fakes (follower-fakes.ts) with vitest's fake timers:
 * every event of the table and every reason code it can reach, and the
 * guarantees (in order, none twice, a reset when it cannot catch up, the
 * silence watchdog, the WebSocket -> HTTP stream fallback), in milliseconds.
 * The end-to-end proof on real processes stays in test/integration and
 * test/faults.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NetworkError, RelayError } from "../../src/core/errors.ts";
import type { Change } from "../../src/core/follower/delta.ts";
import { type FollowerUpdate, REASON_CODES, type ReasonCode } from "../../src/core/follower.ts";
import type { SealedEnvelope } from "../../src/core/wire.ts";
import {
  current,
  FakeStream,
  FakeSubscriber,
  fakeOpen,
  fakeSeal,
  msg,
  opError,
  type Rig,
  rig,
  spoil,
} from "./follower-fakes.ts";

const settle = () => vi.advanceTimersByTimeAsync(0);
const trail = (r: Rig) => r.statuses.map((s) => `${s.status}:${s.code}`);

/** Opens the first subscription and lets the first sync finish: live. */
async function live(o: Parameters<typeof rig>[0] = {}): Promise<Rig> {
  const r = await rig(o);
  current(r)?.open();
  await settle();
  expect(r.f.status).toBe("live");
  return r;
}

const seen = new Set<ReasonCode>();
let rigs: Rig[] = [];
const track = async (p: Promise<Rig>) => {
  const r = await p;
  rigs.push(r);
  return r;
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const r of rigs) {
    for (const s of r.statuses) seen.add(s.code);
    r.f.disconnect();
  }
  rigs = [];
  vi.useRealTimers();
});

describe("follower shell", () => {
  it("connects: the current state at once, live once the subscription is open and synced", async () => {
    const r = await track(rig());
    expect(r.applied).toEqual([0]);
    expect(r.f.status).toBe("connecting");
    expect(r.ws.subs).toHaveLength(1);
    r.ws.last?.open();
    await settle();
    expect(trail(r)).toEqual(["live:subscribed"]);
    expect(r.f.transport).toBe("websocket");
    expect(r.sync.calls).toEqual([
      { epoch: undefined, last: 0 },
      { epoch: "1", last: 0 },
    ]);
  });

  it("applies in order, holds early states, drops duplicates and old ones", async () => {
    const r = await track(live());
    const [e1, e2, e3] = [1, 2, 3].map((n) => r.stream.publish({ n }));
    const sub = current(r);
    for (const e of [e2, e1, e1, e3, e2]) sub?.send(msg(e as never));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.applied).toEqual([0, 1, 2, 3]);
    expect(r.f.state).toEqual({ n: 3 });
    expect(r.sync.calls).toHaveLength(2); // reordered within reorderMs: no catch-up
    expect(trail(r)).toEqual(["live:subscribed"]);
  });

  it("a gap waits reorderMs, then catches up from the history", async () => {
    const r = await track(live());
    r.stream.publish({ n: 1 });
    current(r)?.send(msg(r.stream.publish({ n: 2 })));
    await vi.advanceTimersByTimeAsync(199);
    expect(r.sync.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    // The catch-up's changes (1 and 2) are applied in order and shown once.
    expect(r.applied).toEqual([0, 2]);
    expect(r.f.state).toEqual({ n: 2 });
    expect(trail(r)).toEqual(["live:subscribed", "catching-up:gap", "live:gap"]);
  });

  it("a heartbeat ahead of us is a gap too", async () => {
    const r = await track(live());
    r.stream.publish({ n: 1 });
    current(r)?.send(r.stream.hb());
    await vi.advanceTimersByTimeAsync(200);
    expect(r.applied).toEqual([0, 1]);
    expect(trail(r)).toContain("catching-up:gap");
  });

  it("resets when the history is too short to catch up", async () => {
    const stream = new FakeStream();
    stream.history = 2;
    const r = await track(live({ stream }));
    for (let n = 1; n <= 4; n++) stream.publish({ n });
    current(r)?.send(msg(stream.publish({ n: 5 })));
    await vi.advanceTimersByTimeAsync(200);
    expect(r.applied).toEqual([0, 5]);
    expect(trail(r)).toEqual(["live:subscribed", "catching-up:gap", "reset:history-too-short", "live:gap"]);
    expect(r.statuses[2]?.reason).toBe("history too short");
    const updates: unknown[] = [];
    r.f.on("state", (u) => updates.push(u.reset));
    for (let n = 6; n <= 9; n++) stream.publish({ n });
    current(r)?.send(stream.hb());
    await vi.advanceTimersByTimeAsync(200);
    expect(updates).toEqual(["history-too-short"]); // the update says it is a jump
  });

  it("a message of another epoch re-syncs and resets", async () => {
    const r = await track(live());
    r.stream.restart({ n: 100 });
    current(r)?.send(r.stream.hb());
    await settle();
    expect(r.f.epoch).toBe("2");
    expect(r.f.state).toEqual({ n: 100 });
    expect(trail(r)).toEqual([
      "live:subscribed",
      "catching-up:epoch-changed",
      "reset:epoch-changed",
      "live:epoch-changed",
    ]);
  });

  it("a heartbeat behind our seq re-syncs; the stream went back: reset", async () => {
    const r = await track(live());
    for (let n = 1; n <= 3; n++) current(r)?.send(msg(r.stream.publish({ n })));
    await settle(); // sealed changes open asynchronously
    expect(r.f.seq).toBe(3);
    r.stream.goBack(2);
    current(r)?.send(r.stream.hb());
    await settle();
    expect(r.f.seq).toBe(1);
    expect(r.f.state).toEqual({ n: 1 });
    expect(r.statuses.map((s) => s.code)).toEqual(["subscribed", "heartbeat-behind", "went-back", "heartbeat-behind"]);
    expect(r.statuses[2]?.reason).toBe("stream went back");
  });

  it("a large change is read from the history", async () => {
    const r = await track(live());
    current(r)?.send(msg(r.stream.publish({ n: 1, big: "x" }, { fetch: true })));
    await settle();
    expect(r.applied).toEqual([0, 1]);
    expect(r.f.state).toEqual({ n: 1, big: "x" });
    expect(trail(r)).toEqual(["live:subscribed", "catching-up:large-change", "live:large-change"]);
  });

  it("applies a delta whose SHA-1 matches, and a whole state, without a sync", async () => {
    const r = await track(live());
    const e1 = r.stream.publish({ n: 1, list: [1, 2] });
    const e2 = r.stream.publish({ n: 2, list: [1, 2, 3] });
    const e3 = r.stream.publish({ n: 3 }, { whole: true });
    expect([e1, e2, e3].map((e) => ("k" in e ? e.k : "fetch"))).toEqual(["p", "p", "s"]);
    for (const e of [e1, e2]) current(r)?.send(msg(e));
    await settle();
    expect(r.f.state).toEqual({ n: 2, list: [1, 2, 3] });
    current(r)?.send(msg(e3));
    await settle();
    expect(r.f.state).toEqual({ n: 3 });
    expect(r.sync.calls).toHaveLength(2);
  });

  it("with deps.digest, a delta on the state held is checked while held and applied without hashing again", async () => {
    const asked: string[] = [];
    // A digest that vouches for anything: what it says is taken, so a bad h gets through
    // here only because the synchronous check did not run (the live case's precheck did).
    const r = await track(
      live({
        digest: async (text) => {
          asked.push(text);
          return "0".repeat(40);
        },
      }),
    );
    const good = r.stream.publish({ n: 1, list: [1, 2] });
    current(r)?.send(msg(spoil(good, (b) => ({ ...b, h: "0".repeat(40) }))));
    await settle();
    expect(r.f.state).toEqual({ n: 1, list: [1, 2] });
    expect(asked).toEqual([JSON.stringify({ n: 1, list: [1, 2] })]);
    expect(trail(r)).toEqual(["live:subscribed"]);
  });

  it("with deps.digest, a digest that disagrees leaves the delta to the synchronous check (a mismatch still resets)", async () => {
    const r = await track(live({ digest: async () => "f".repeat(40) }));
    const ok = r.stream.publish({ n: 1 });
    current(r)?.send(msg(ok)); // its real h is right: the synchronous SHA-1 applies it
    await settle();
    expect(r.f.state).toEqual({ n: 1 });
    const bad = r.stream.publish({ n: 2 });
    current(r)?.send(msg(spoil(bad, (b) => ({ ...b, h: "0".repeat(40) }))));
    await settle();
    expect(trail(r)).toEqual([
      "live:subscribed",
      "catching-up:delta-mismatch",
      "reset:delta-mismatch",
      "live:delta-mismatch",
    ]);
    expect(r.f.state).toEqual({ n: 2 });
  });

  it.each([
    ["delta-mismatch", (b: Record<string, unknown>) => ({ ...b, h: "0".repeat(40) })],
    ["delta-failed", (b: Record<string, unknown>) => ({ ...b, patch: [{ op: "remove", path: "/nope/deeper" }] })],
  ] as const)("a delta that opens but does not fit (%s) fetches the whole state: reset", async (code, wrong) => {
    const r = await track(live());
    const env = r.stream.publish({ n: 1 });
    current(r)?.send(msg(spoil(env, wrong)));
    await settle();
    expect(r.f.state).toEqual({ n: 1 });
    expect(trail(r)).toEqual(["live:subscribed", `catching-up:${code}`, `reset:${code}`, `live:${code}`]);
    // The full read, then one more round for what the reset cleared meanwhile.
    expect(r.sync.calls.slice(2)).toEqual([
      { epoch: undefined, last: 0 },
      { epoch: "1", last: 1 },
    ]);
  });

  it("the round after a reset's full state catches up, still in `reset`: only the run's last state is shown", async () => {
    // What the fault checker must allow (test/faults/checker.ts, CATCHING_UP): CI's campaign
    // saw a follower in `reset` go from seq 148 to 156 in one step.
    const r = await track(live());
    r.sync.manual = true;
    const env = r.stream.publish({ n: 1 });
    current(r)?.send(msg(spoil(env, (b) => ({ ...b, h: "0".repeat(40) }))));
    await settle();
    r.sync.answer(); // the full read: seq 1, reset
    await settle();
    expect(r.f.status).toBe("reset");
    for (let n = 2; n <= 4; n++) r.stream.publish({ n }); // published while the next round is asked
    r.sync.answer(); // that round's catch-up: 2, 3, 4
    await settle();
    expect(r.applied).toEqual([0, 1, 4]);
    expect(trail(r)).toEqual([
      "live:subscribed",
      "catching-up:delta-mismatch",
      "reset:delta-mismatch",
      "live:delta-mismatch",
    ]);
  });

  it("silence: a live follower resubscribes after staleAfterMs and re-syncs; heartbeats keep it quiet", async () => {
    const r = await track(live());
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      current(r)?.send(r.stream.hb());
    }
    expect(trail(r)).toEqual(["live:subscribed"]);
    const first = current(r);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(first?.closed).toBe(true);
    expect(r.statuses.at(-1)).toMatchObject({ status: "catching-up", code: "silence" });
    expect(r.statuses.at(-1)?.reason).toMatch(/^no message for \d+ ms; resubscribing$/);
    current(r)?.open();
    await settle();
    expect(trail(r).at(-1)).toBe("live:resubscribed");
  });

  it("dropped: offline, an error, a retry after the backoff, a re-sync", async () => {
    const r = await track(live());
    r.stream.publish({ n: 1 });
    current(r)?.drop("WebSocket closed");
    expect(r.statuses.at(-1)).toMatchObject({ status: "offline", code: "dropped", reason: "WebSocket closed" });
    expect(r.errors.map((e) => e.code)).toEqual(["NETWORK"]);
    await vi.advanceTimersByTimeAsync(99);
    expect(r.f.status).toBe("offline");
    await vi.advanceTimersByTimeAsync(1);
    expect(r.statuses.at(-1)).toMatchObject({ status: "connecting", code: "retry", reason: "reconnecting" });
    expect(r.ws.subs).toHaveLength(2); // the WebSocket worked: it is used again
    current(r)?.open();
    await settle();
    expect(trail(r).slice(-2)).toEqual(["catching-up:resubscribed", "live:resubscribed"]);
    expect(r.applied).toEqual([0, 1]);
  });

  it("fallback: a WebSocket that never opens -> the HTTP stream, and it stays there", async () => {
    const r = await track(rig());
    r.ws.last?.drop("WebSocket did not open within 5000 ms");
    expect(r.statuses.at(-1)).toMatchObject({ status: "offline", reason: expect.stringMatching(/WebSocket/) });
    await vi.advanceTimersByTimeAsync(100);
    expect(r.http.subs).toHaveLength(1);
    r.http.last?.open();
    await settle();
    expect(r.f.status).toBe("live");
    expect(r.f.transport).toBe("http-stream");
    r.http.last?.drop();
    await vi.advanceTimersByTimeAsync(100);
    expect(r.ws.subs).toHaveLength(1); // never opened: not tried again
    expect(r.http.subs).toHaveLength(2);
  });

  it("fallback: a transport that throws at once is skipped too; none at all is a PROTOCOL error", async () => {
    const r = await track(rig({ wsThrows: true }));
    expect(r.statuses.at(-1)).toMatchObject({ status: "offline", code: "dropped", reason: "cannot subscribe" });
    await vi.advanceTimersByTimeAsync(100);
    r.http.last?.open();
    await settle();
    expect(r.f.transport).toBe("http-stream");
    expect(r.f.status).toBe("live");
    await expect(rig({ subscribers: [] })).rejects.toMatchObject({ code: "PROTOCOL" });
  });

  it("back to the WebSocket only once it has opened: after an HTTP-stream drop", async () => {
    const r = await track(live());
    current(r)?.drop(); // the WebSocket had opened
    await vi.advanceTimersByTimeAsync(100);
    r.ws.last?.drop("WebSocket error"); // this time it never opens
    await vi.advanceTimersByTimeAsync(100);
    expect(r.http.subs).toHaveLength(1);
    r.http.last?.open();
    await settle();
    r.http.last?.drop();
    await vi.advanceTimersByTimeAsync(100);
    expect(r.ws.subs).toHaveLength(3);
    expect(r.http.subs).toHaveLength(1);
  });

  it.each([
    ["sync-failed", new NetworkError("fetch failed")],
    ["rate-limited", opError("RATE_LIMITED")],
  ] as const)("a failed sync (%s): offline, subscription closed, retry", async (code, error) => {
    const r = await track(live());
    r.sync.failures.push(error);
    r.stream.publish({ n: 1 });
    current(r)?.send(r.stream.hb());
    const transports: unknown[] = [];
    r.f.on("status", (s) => s.status === "offline" && transports.push(r.f.transport));
    await vi.advanceTimersByTimeAsync(200);
    expect(r.statuses.at(-1)).toMatchObject({ status: "offline", code });
    expect(current(r)).toBeUndefined();
    expect(transports).toEqual([undefined]); // closed before the status event (the page shows no transport)
    await vi.advanceTimersByTimeAsync(100);
    current(r)?.open();
    await settle();
    expect(r.f.status).toBe("live");
    expect(r.applied).toEqual([0, 1]);
  });

  it.each(["NOT_FOUND", "BAD_PASSWORD"])("a sync answered %s ends the follower: gone", async (code) => {
    const r = await track(live());
    r.sync.failures.push(opError(code));
    current(r)?.send(r.stream.hb(5));
    await vi.advanceTimersByTimeAsync(200);
    expect(trail(r).at(-1)).toBe("ended:gone");
    expect(r.ended).toEqual(["gone"]);
  });

  it.each(["stopped", "expired"] as const)(
    "ended (%s) on our epoch ends; on another epoch it is ignored",
    async (why) => {
      const r = await track(live());
      current(r)?.send(JSON.stringify({ ...JSON.parse(r.stream.ended(why)), epoch: "9" }));
      expect(r.f.status).toBe("live");
      const sub = current(r);
      sub?.send(r.stream.ended(why));
      expect(trail(r).at(-1)).toBe(`ended:${why}`);
      expect(r.ended).toEqual([why]);
      expect(sub?.closed).toBe(true);
      // Nothing moves an ended follower.
      await vi.advanceTimersByTimeAsync(10_000);
      expect(r.statuses.at(-1)?.status).toBe("ended");
    },
  );

  it("disconnect ends, closes the subscription, finishes the iterator; the iterator gets the newest state", async () => {
    const r = await track(live());
    for (let n = 1; n <= 3; n++) current(r)?.send(msg(r.stream.publish({ n })));
    await settle(); // sealed changes open asynchronously
    const it = r.f[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: { n: 3 }, done: false });
    const waiting = it.next();
    const sub = current(r);
    r.f.disconnect();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(sub?.closed).toBe(true);
    expect(trail(r).at(-1)).toBe("ended:disconnected");
    expect(r.ended).toEqual(["disconnected"]);
  });

  it("a new channel (same name, new stream) is subscribed after the sync that tells it", async () => {
    const r = await track(live());
    r.stream.restart({ n: 7 }, "c2");
    await vi.advanceTimersByTimeAsync(4_000); // silence: resubscribe on the old channel
    current(r)?.open();
    await settle();
    expect(r.f.state).toEqual({ n: 7 });
    expect(current(r)?.channel).toBe("c2");
  });

  it("a malformed message is an error, nothing else; so is a v1 envelope (a plaintext state)", async () => {
    const r = await track(live());
    current(r)?.send("{not json");
    current(r)?.send(JSON.stringify({ v: 2, t: "state", epoch: "1" }));
    current(r)?.send(JSON.stringify({ v: 1, t: "state", epoch: "1", seq: 1, ts: 1, state: { n: 1 } }));
    current(r)?.send(JSON.stringify({ v: 2, t: "state", epoch: "1", seq: 1, ts: 1, k: "s", c: "not+base64url" }));
    await settle();
    expect(r.errors.map((e) => e.code)).toEqual(["PROTOCOL", "PROTOCOL", "PROTOCOL", "PROTOCOL"]);
    expect(trail(r)).toEqual(["live:subscribed"]);
    expect(r.applied).toEqual([0]);
  });
});

describe("follower shell: sealed changes", () => {
  it("a live change that does not open is never applied: a SEALED error, then a sync (sealed-refused)", async () => {
    // What a wrong key sees: the forged change carries a plan, but open() refuses it.
    const forged: SealedEnvelope = { v: 2, t: "state", epoch: "1", seq: 1, ts: 5, k: "s", c: fakeSeal('{"evil":1}') };
    const r = await track(
      live({
        open: (env) => (env.c === forged.c ? Promise.reject(new RelayError("SEALED", "does not open")) : fakeOpen(env)),
      }),
    );
    const states: unknown[] = [];
    r.f.on("state", (u) => states.push(u.state));
    r.stream.publish({ n: 1 }); // the real change 1, in the history
    current(r)?.send(msg(forged));
    await settle();
    expect(r.errors.map((e) => e.code)).toEqual(["SEALED"]);
    expect(trail(r)).toEqual(["live:subscribed", "catching-up:sealed-refused", "live:sealed-refused"]);
    expect(r.sync.calls.at(-1)).toEqual({ epoch: "1", last: 0 });
    expect(states).toEqual([{ n: 1 }]); // the real one, from the sync; never the forged plan
    expect(r.f.state).toEqual({ n: 1 });
  });

  it("a change that opens to something that is not a plan is refused the same way; any open() failure is SEALED", async () => {
    let fail = false;
    const r = await track(live({ open: (env) => (fail ? Promise.reject(new Error("boom")) : fakeOpen(env)) }));
    const e1 = r.stream.publish({ n: 1 }) as SealedEnvelope;
    current(r)?.send(msg({ ...e1, c: fakeSeal("[1,2]") })); // a state that is an array
    await settle();
    expect(r.f.state).toEqual({ n: 1 }); // from the sync
    fail = true; // open() fails with something that is not a RelayError
    current(r)?.send(msg(r.stream.publish({ n: 2 })));
    await settle();
    expect(r.errors.map((e) => e.code)).toEqual(["SEALED", "SEALED"]);
    expect(r.errors[1]?.message).not.toMatch(/boom/);
    expect(trail(r).filter((t) => t.endsWith("sealed-refused"))).toEqual([
      "catching-up:sealed-refused",
      "live:sealed-refused",
      "catching-up:sealed-refused",
      "live:sealed-refused",
    ]);
    expect(r.f.state).toEqual({ n: 2 }); // the sync's reply is opened by sync(), not open()
  });

  it("changes whose open() resolves out of order reach the window in arrival order (no gap, no sync)", async () => {
    const gates = new Map<number, { promise: Promise<void>; resolve: () => void }>();
    const gate = (seq: number) => {
      let g = gates.get(seq);
      if (!g) {
        let resolve = () => {};
        const promise = new Promise<void>((ok) => {
          resolve = ok;
        });
        g = { promise, resolve };
        gates.set(seq, g);
      }
      return g;
    };
    const opened: number[] = [];
    const r = await track(
      live({
        open: async (env): Promise<Change> => {
          await gate(env.seq).promise;
          opened.push(env.seq);
          return fakeOpen(env);
        },
      }),
    );
    const [e1, e2] = [r.stream.publish({ n: 1 }), r.stream.publish({ n: 2 })];
    current(r)?.send(msg(e1));
    current(r)?.send(msg(e2));
    gate(2).resolve(); // the second one would open first...
    await vi.advanceTimersByTimeAsync(500); // ...and wait in the window as a gap past reorderMs
    expect(r.applied).toEqual([0]);
    gate(1).resolve();
    await settle();
    expect(opened).toEqual([1, 2]);
    expect(r.applied).toEqual([0, 1, 2]);
    expect(r.sync.calls).toHaveLength(2); // no catch-up: nothing was missing
    expect(trail(r)).toEqual(["live:subscribed"]);
  });

  it("a catch-up of many changes emits ONE state event, with the final state", async () => {
    const r = await track(live());
    const updates: FollowerUpdate[] = [];
    r.f.on("state", (u) => updates.push(u));
    for (let n = 1; n <= 6; n++) r.stream.publish({ n, list: Array.from({ length: n }, (_, i) => i) });
    expect(r.stream.log).toHaveLength(6);
    current(r)?.send(r.stream.hb());
    await vi.advanceTimersByTimeAsync(200);
    expect(r.sync.calls.at(-1)).toEqual({ epoch: "1", last: 0 });
    expect(updates).toEqual([{ seq: 6, epoch: "1", ts: r.stream.updated, state: r.stream.state }]);
    expect(trail(r)).toEqual(["live:subscribed", "catching-up:gap", "live:gap"]);
  });
});

describe("follower shell: several subscription doors", () => {
  /** Two doors, each a WebSocket then an HTTP stream. */
  const twoDoors = () => {
    const [aWs, aHttp, bWs, bHttp] = (["websocket", "http-stream", "websocket", "http-stream"] as const).map(
      (t, i) => new FakeSubscriber(t, i < 2 ? "http://door-a" : "http://door-b"),
    ) as [FakeSubscriber, FakeSubscriber, FakeSubscriber, FakeSubscriber];
    return {
      aWs,
      aHttp,
      bWs,
      bHttp,
      doors: [
        [aWs, aHttp],
        [bWs, bHttp],
      ],
    };
  };

  it("a drop of a working door: the next door, a catch-up, and the status says door-switched", async () => {
    const d = twoDoors();
    const r = await track(rig({ doors: d.doors }));
    d.aWs.last?.open();
    await settle();
    expect(trail(r)).toEqual(["live:subscribed"]);
    r.stream.publish({ n: 1 }); // missed: it is published while the door is down
    d.aWs.last?.drop("WebSocket closed");
    await vi.advanceTimersByTimeAsync(100);
    expect([d.aWs.subs.length, d.bWs.subs.length]).toEqual([1, 1]);
    d.bWs.last?.open();
    await settle();
    expect(trail(r).slice(-3)).toEqual(["connecting:retry", "catching-up:door-switched", "live:door-switched"]);
    expect(r.applied).toEqual([0, 1]);
    expect(r.f.status).toBe("live");
  });

  it("a door that never answers: each transport fails to open there, then the next door", async () => {
    const d = twoDoors();
    const r = await track(rig({ doors: d.doors }));
    d.aWs.last?.drop("WebSocket did not open within 5000 ms");
    await vi.advanceTimersByTimeAsync(100);
    expect(d.aHttp.subs).toHaveLength(1);
    d.aHttp.last?.drop("subscription stream failed");
    await vi.advanceTimersByTimeAsync(100);
    expect(d.bWs.subs).toHaveLength(1);
    d.bWs.last?.open();
    await settle();
    expect(r.f.status).toBe("live");
    expect(r.f.transport).toBe("websocket");
    // A transport that worked and then fails to open says the door is down: straight to the other door.
    d.bWs.last?.drop();
    await vi.advanceTimersByTimeAsync(100);
    d.aWs.last?.drop("WebSocket did not open within 5000 ms");
    await vi.advanceTimersByTimeAsync(100);
    expect([d.aHttp.subs.length, d.bWs.subs.length]).toEqual([1, 2]);
  });

  it("silence on a door: the next door (a silent subscription is presumed dead with its door)", async () => {
    const d = twoDoors();
    const r = await track(rig({ doors: d.doors }));
    d.aWs.last?.open();
    await settle();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(d.aWs.last?.closed).toBe(true);
    expect(d.bWs.subs).toHaveLength(1);
    d.bWs.last?.open();
    await settle();
    expect(trail(r).slice(-2)).toEqual(["catching-up:silence", "live:door-switched"]);
  });
});

describe("follower shell: asking the relay about a silence (leader away or channel stalled)", () => {
  // heartbeatMs 1,000: the relay is asked past 1,500 ms of silence; staleAfterMs is 3,000.
  const quiet = async () => {
    const r = await track(live({ heartbeatMs: 1_000 }));
    r.stream.heard = Date.now(); // the leader's last word: just before it went quiet
    return r;
  };

  it("the relay heard the leader as long ago as we did: away, the relay answered; no resubscribe", async () => {
    const r = await quiet();
    const sub = current(r);
    const calls = r.sync.calls.length;
    const answered = r.f.answeredAt ?? 0;
    await vi.advanceTimersByTimeAsync(1_800);
    expect(r.sync.calls.slice(calls)).toEqual([{ epoch: r.stream.epoch, last: r.stream.seq }]);
    expect(r.f.answeredAt).toBeGreaterThan(answered + 1_500);
    expect(sub?.closed).toBe(false);
    expect(trail(r)).toEqual(["live:subscribed"]);
    // Once per silence: not again before the watchdog's resubscribe at staleAfterMs.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.sync.calls.length).toBe(calls + 1);
  });

  it("the relay heard the leader since (a beat this channel never brought): resubscribes at once", async () => {
    const r = await quiet();
    const sub = current(r);
    await vi.advanceTimersByTimeAsync(1_000);
    r.stream.heard = Date.now(); // a heartbeat published, not delivered here
    const answered = r.f.answeredAt;
    await vi.advanceTimersByTimeAsync(800);
    expect(sub?.closed).toBe(true);
    expect(r.statuses.at(-1)).toMatchObject({ status: "catching-up", code: "silence" });
    expect(r.statuses.at(-1)?.reason).toMatch(/^no message for \d+ ms while the relay heard the leader \d+ ms ago/);
    expect(r.f.answeredAt).toBe(answered); // not "the relay answers, the leader is away"
  });

  it("a change this channel never brought: resubscribes and catches up", async () => {
    const r = await quiet();
    const sub = current(r);
    r.stream.publish({ title: "missed" }); // published, not sent on the subscription
    r.stream.heard = Date.now() - 10_000; // even with a stale `heard`: the seq says it
    await vi.advanceTimersByTimeAsync(1_800);
    expect(sub?.closed).toBe(true);
    current(r)?.open();
    await settle();
    expect(r.f.status).toBe("live");
    expect(r.f.seq).toBe(r.stream.seq);
  });

  it("a reply without `heard` (an older library) still says the relay answers", async () => {
    const r = await track(live({ heartbeatMs: 1_000 }));
    const answered = r.f.answeredAt ?? 0;
    await vi.advanceTimersByTimeAsync(1_800);
    expect(r.f.answeredAt).toBeGreaterThan(answered + 1_500);
    expect(trail(r)).toEqual(["live:subscribed"]);
  });

  it("no heartbeat (0), or a relay that does not answer: nothing is concluded, staleAfterMs as before", async () => {
    const off = await track(live({ heartbeatMs: 0 }));
    const calls = off.sync.calls.length;
    await vi.advanceTimersByTimeAsync(2_500);
    expect(off.sync.calls.length).toBe(calls);
    const down = await quiet();
    const answered = down.f.answeredAt;
    down.sync.failures.push(new RelayError("NETWORK", "no answer (fake)"));
    await vi.advanceTimersByTimeAsync(1_800);
    expect(down.f.answeredAt).toBe(answered);
    expect(trail(down)).toEqual(["live:subscribed"]);
  });
});

describe("follower shell: asking a silent door", () => {
  const twoDoors = () => {
    const [a, b] = ["http://door-a", "http://door-b"].map((u) => new FakeSubscriber("websocket", u)) as [
      FakeSubscriber,
      FakeSubscriber,
    ];
    return { a, b, doors: [[a], [b]] };
  };
  /** A probe the test answers: `alive` per door, and every URL it was asked about. */
  const prober = (alive: Record<string, boolean>) => {
    const asked: string[] = [];
    return {
      asked,
      probeDoor: async (url: string) => {
        asked.push(url);
        return alive[url] ?? false;
      },
    };
  };

  it("silence past suspectAfterMs and a door that does not answer: the next door at once, long before staleAfterMs", async () => {
    const d = twoDoors();
    const p = prober({ "http://door-a": false, "http://door-b": true });
    const r = await track(rig({ doors: d.doors, staleAfterMs: 45_000, suspectAfterMs: 1_500, probeDoor: p.probeDoor }));
    d.a.last?.open();
    await settle();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(p.asked).toEqual([]); // within the heartbeat's margin: nothing asked
    await vi.advanceTimersByTimeAsync(1_500);
    expect(p.asked).toEqual(["http://door-a"]);
    expect(d.a.last?.closed).toBe(true);
    expect(d.b.subs).toHaveLength(1);
    d.b.last?.open();
    await settle();
    expect(trail(r).slice(-2)).toEqual(["catching-up:silence", "live:door-switched"]);
  });

  it("a door that answers: the leader is away, not the door; stay, and ask again ever less often", async () => {
    const d = twoDoors();
    const p = prober({ "http://door-a": true });
    const r = await track(rig({ doors: d.doors, staleAfterMs: 45_000, suspectAfterMs: 1_500, probeDoor: p.probeDoor }));
    d.a.last?.open();
    await settle();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(r.f.status).toBe("live");
    expect(d.b.subs).toHaveLength(0);
    // At about 1.5, 3, 6, 12, 24 s of silence: a handful, not one every tick (60 ticks).
    expect(p.asked.length).toBeGreaterThanOrEqual(3);
    expect(p.asked.length).toBeLessThanOrEqual(6);
    // A message starts the count again; staleAfterMs still ends a silence the door denies.
    d.a.last?.send(msg(r.stream.publish({ n: 1 }) as never));
    await settle();
    const before = p.asked.length;
    await vi.advanceTimersByTimeAsync(2_500);
    expect(p.asked.length).toBe(before + 1);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(d.b.subs).toHaveLength(1);
  });

  it("a move to another door starts the asking again: a dead new door is found after suspectAfterMs, not after the old door's backoff", async () => {
    const d = twoDoors();
    const p = prober({ "http://door-a": true, "http://door-b": false });
    const r = await track(rig({ doors: d.doors, staleAfterMs: 20_000, suspectAfterMs: 1_500, probeDoor: p.probeDoor }));
    d.a.last?.open();
    await settle();
    // Door A answers through 20 s of silence: its asking backs off to 12 s apart (1.5, 3, 6, 12 s).
    await vi.advanceTimersByTimeAsync(20_000 + 1_000);
    expect(d.b.subs).toHaveLength(1); // the watchdog moved on
    d.b.last?.open();
    await settle();
    const before = p.asked.length;
    // Door B is dead: asked within a tick or two past suspectAfterMs, and left.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(p.asked.slice(before)).toEqual(["http://door-b"]);
    expect(d.b.last?.closed).toBe(true);
    expect(r.f.status).not.toBe("live");
  });

  it("one door, or no probe: staleAfterMs only", async () => {
    const p = prober({});
    const one = new FakeSubscriber("websocket", "http://only");
    const r = await track(rig({ doors: [[one]], staleAfterMs: 10_000, suspectAfterMs: 1_500, probeDoor: p.probeDoor }));
    one.last?.open();
    await settle();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(p.asked).toEqual([]);
    expect(r.f.status).toBe("live");
  });
});

afterAll(() => {
  // delta-out-of-order cannot come from the shell (the window only hands on seq + 1 of
  // our epoch); follower-parts.test.ts drives it on the delta applier.
  const missing = REASON_CODES.filter((c) => !seen.has(c) && c !== "delta-out-of-order");
  expect(missing).toEqual([]);
});
