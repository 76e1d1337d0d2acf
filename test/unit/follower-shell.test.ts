/**
 * The follower shell on fakes (follower-fakes.ts) with vitest's fake timers:
 * every event of the table and every reason code it can reach, and the
 * guarantees (in order, none twice, a reset when it cannot catch up, the
 * silence watchdog, the WebSocket -> HTTP stream fallback), in milliseconds.
 * The end-to-end proof on real processes stays in test/integration and
 * test/faults.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NetworkError } from "../../src/core/errors.ts";
import { REASON_CODES, type ReasonCode } from "../../src/core/follower.ts";
import { current, FakeStream, msg, opError, type Rig, rig } from "./follower-fakes.ts";

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
    expect(r.applied).toEqual([0, 1, 2]);
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
    r.stream.goBack(2, { n: 1 });
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

  it("applies a delta whose SHA-1 matches, without a sync", async () => {
    const r = await track(live());
    current(r)?.send(msg(r.stream.publish({ n: 1, list: [1, 2] }, { delta: true })));
    current(r)?.send(msg(r.stream.publish({ n: 2, list: [1, 2, 3] }, { delta: true })));
    await settle();
    expect(r.f.state).toEqual({ n: 2, list: [1, 2, 3] });
    expect(r.sync.calls).toHaveLength(2);
  });

  it.each([
    ["delta-mismatch", (e: Record<string, unknown>) => ({ ...e, h: "0".repeat(40) })],
    ["delta-failed", (e: Record<string, unknown>) => ({ ...e, patch: [{ op: "remove", path: "/nope/deeper" }] })],
  ] as const)("a delta that does not fit (%s) fetches the whole state: reset", async (code, spoil) => {
    const r = await track(live());
    const env = r.stream.publish({ n: 1 }, { delta: true });
    current(r)?.send(JSON.stringify(spoil(env as never)));
    await settle();
    expect(r.f.state).toEqual({ n: 1 });
    expect(trail(r)).toEqual(["live:subscribed", `catching-up:${code}`, `reset:${code}`, `live:${code}`]);
    // The full read, then one more round for what the reset cleared meanwhile.
    expect(r.sync.calls.slice(2)).toEqual([
      { epoch: undefined, last: 0 },
      { epoch: "1", last: 1 },
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

  it("a malformed message is an error, nothing else", async () => {
    const r = await track(live());
    current(r)?.send("{not json");
    current(r)?.send(JSON.stringify({ v: 1, t: "state", epoch: "1" }));
    expect(r.errors.map((e) => e.code)).toEqual(["PROTOCOL", "PROTOCOL"]);
    expect(trail(r)).toEqual(["live:subscribed"]);
  });
});

afterAll(() => {
  // delta-out-of-order cannot come from the shell (the window only hands on seq + 1 of
  // our epoch); follower-parts.test.ts drives it on the delta applier.
  const missing = REASON_CODES.filter((c) => !seen.has(c) && c !== "delta-out-of-order");
  expect(missing).toEqual([]);
});
