/**
 * The Leader shell with fake deps and vitest's fake timers: the timers it owns
 * (heartbeat, backoff, the QUOTA wait) in milliseconds, one request in flight,
 * the same op id on a retry, fencing, and the status events with their codes.
 * Replies are held until the test settles them, so interleavings are exact.
 * Sealing is faked (leader-fakes.ts says why); leader-sealed.test.ts seals for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NetworkError, OpError, RelayError, TimeoutError } from "../../src/core/errors.ts";
import { Leader, type LeaderDeps } from "../../src/core/leader.ts";
import { session, stateJsonOf } from "./leader-fakes.ts";

vi.mock("../../src/core/content.ts", async (real) => (await import("./leader-fakes.ts")).fakedContent(real));

/** Deps whose publish replies wait for `answer(value | error)`; tracks how many are open at once. */
function held(o: Partial<LeaderDeps> = {}) {
  const calls: { op: string; json: string; kind: string; base: number; content: string; at: number }[] = [];
  const open: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  let maxOpen = 0;
  let seq = 0;
  const deps: LeaderDeps = {
    heartbeatMs: 0,
    backoff: (n) => 100 * n,
    publish: (s, op, body) =>
      new Promise((resolve, reject) => {
        calls.push({ op, json: stateJsonOf(s, body), ...body, at: Date.now() });
        open.push({ resolve: resolve as (v: unknown) => void, reject });
        maxOpen = Math.max(maxOpen, open.length);
      }),
    async heartbeat() {},
    async stop() {},
    ...o,
  };
  const answer = async (r: { duplicate?: boolean; snapshot?: boolean } | Error = {}) => {
    await settle(); // the request goes out once its change is sealed (a few microtasks)
    const c = open.shift();
    if (!c) throw new Error("no request in flight");
    if (r instanceof Error) c.reject(r);
    else c.resolve({ seq: ++seq, changed: true, ...r });
    await vi.advanceTimersByTimeAsync(0);
  };
  return { deps, calls, answer, open: () => open.length, maxOpen: () => maxOpen };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

function watch(leader: Leader) {
  const statuses: string[] = [];
  leader.on("status", (s) => statuses.push(`${s.previous}>${s.status}:${s.code}`));
  return statuses;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("leader shell: sending", () => {
  it("one request in flight; the newest waiting state goes next and answers every caller", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const a = leader.publish({ v: "A" });
    const rest = [leader.publish({ v: "B" }), leader.publish({ v: "C" })];
    await settle();
    expect([h.open(), leader.pending]).toEqual([1, 1]);
    await h.answer();
    expect(h.calls.map((c) => c.json)).toEqual(['{"v":"A"}', '{"v":"C"}']);
    await h.answer();
    expect(await a).toEqual({ seq: 1, changed: true });
    expect(await Promise.all(rest)).toEqual([
      { seq: 2, changed: true },
      { seq: 2, changed: true },
    ]);
    expect(h.maxOpen()).toBe(1);
    expect(leader.state).toEqual({ v: "C" });
  });

  it("a timeout: offline, the same op id again after backoff(1) ms, then live with retry-confirmed", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    const a = leader.publish({ v: "A" });
    await h.answer(new TimeoutError("no reply"));
    leader.publish({ v: "B" }).catch(() => {});
    await vi.advanceTimersByTimeAsync(99);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls.map((c) => c.op)).toEqual([h.calls[0]?.op, h.calls[0]?.op]);
    await h.answer({ duplicate: true });
    // B still waits, so the leader stays offline until it lands.
    expect(statuses).toEqual(["live>offline:unreachable"]);
    await h.answer();
    expect(statuses).toEqual(["live>offline:unreachable", "offline>live:published"]);
    expect(await a).toEqual({ seq: 1, changed: true });
    expect(h.maxOpen()).toBe(1);
  });

  it("backoff grows with each failure and resets after a success", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    void leader.publish({ v: "A" });
    await h.answer(new NetworkError("down"));
    await vi.advanceTimersByTimeAsync(100);
    await h.answer(new NetworkError("down"));
    await vi.advanceTimersByTimeAsync(199);
    expect(h.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(3);
    await h.answer();
    void leader.publish({ v: "B" });
    await h.answer(new NetworkError("down"));
    await vi.advanceTimersByTimeAsync(100);
    expect(h.calls).toHaveLength(5);
  });

  it("QUOTA waits exactly the server's retry-after, stays live, and emits error", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    const errors: string[] = [];
    leader.on("error", (e) => errors.push(e.error.code));
    const a = leader.publish({ v: "A" });
    await h.answer(new OpError("QUOTA", "this stream published 5 of 4 bytes allowed per 10 s; retry in 2 s"));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);
    await h.answer();
    expect(await a).toEqual({ seq: 1, changed: true });
    expect([statuses, errors, leader.status]).toEqual([[], ["QUOTA"], "live"]);
  });

  it("a final error (not retried) goes to the caller and as error; the leader goes on", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const errors: string[] = [];
    leader.on("error", (e) => errors.push(e.error.code));
    const a = leader.publish({ v: "A" });
    a.catch(() => {});
    await h.answer(new OpError("TOO_LARGE", "too large"));
    await expect(a).rejects.toMatchObject({ code: "TOO_LARGE" });
    expect([errors, leader.status]).toEqual([["TOO_LARGE"], "live"]);
  });

  it("publish refuses what is not a JSON object", async () => {
    const leader = new Leader(session(), held().deps);
    await expect(leader.publish([1])).rejects.toMatchObject({ code: "INVALID" });
    await expect(leader.publish("x")).rejects.toMatchObject({ code: "INVALID" });
  });
});

describe("leader shell: fencing and ending", () => {
  it("LEADER_REPLACED on a publish: replaced once (with the server's error), queued callers rejected, no more heartbeats", async () => {
    const beats: number[] = [];
    const h = held({
      heartbeatMs: 1000,
      async heartbeat() {
        beats.push(Date.now());
      },
    });
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    const replaced: string[] = [];
    leader.on("replaced", (e) => replaced.push(e.error.message));
    const a = leader.publish({ v: "A" });
    const b = leader.publish({ v: "B" });
    for (const p of [a, b]) p.catch(() => {});
    await h.answer(new OpError("LEADER_REPLACED", "another leader took over this stream"));
    await expect(a).rejects.toMatchObject({ code: "LEADER_REPLACED" });
    await expect(b).rejects.toMatchObject({ code: "LEADER_REPLACED", message: "another leader took over" });
    expect(statuses).toEqual(["live>replaced:replaced"]);
    expect(replaced).toEqual(["another leader took over this stream"]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(beats).toEqual([]);
    await expect(leader.publish({ v: "C" })).rejects.toMatchObject({ code: "LEADER_REPLACED" });
    expect(h.calls).toHaveLength(1);
  });

  it("NOT_FOUND on a publish: stopped (gone)", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    const a = leader.publish({ v: "A" });
    a.catch(() => {});
    await h.answer(new OpError("NOT_FOUND", "no such stream"));
    await expect(a).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(statuses).toEqual(["live>stopped:gone"]);
    await expect(leader.publish({ v: "B" })).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("close() with a publish in flight: its late ack resolves the caller, and the leader stays closed", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    const a = leader.publish({ v: "A" });
    const b = leader.publish({ v: "B" });
    leader.close();
    await expect(b).rejects.toMatchObject({ code: "CLOSED" });
    await h.answer();
    expect(await a).toEqual({ seq: 1, changed: true });
    expect(leader.status).toBe("closed");
    expect(statuses).toEqual(["live>closed:closed"]);
    expect(h.calls).toHaveLength(1);
  });

  it("close() cuts a QUOTA wait short: the waiting state is rejected, nothing more is sent", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const a = leader.publish({ v: "A" });
    await h.answer(new OpError("QUOTA", "retry in 60 s"));
    leader.close();
    await expect(a).rejects.toMatchObject({ code: "CLOSED" });
    await vi.advanceTimersByTimeAsync(0);
    await leader.flushed();
    expect(h.calls).toHaveLength(1);
  });

  it("stop(): waits for the queue, then stopped; from closed it still ends the stream; NOT_FOUND stops and throws", async () => {
    const h = held();
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    void leader.publish({ v: "A" });
    const stopping = leader.stop();
    await vi.advanceTimersByTimeAsync(20);
    expect(leader.status).toBe("live");
    await h.answer();
    await vi.advanceTimersByTimeAsync(10);
    await stopping;
    expect(statuses).toEqual(["live>stopped:stopped"]);

    const closed = new Leader(session(), held().deps);
    const s2 = watch(closed);
    closed.close();
    await closed.stop();
    expect(s2).toEqual(["live>closed:closed", "closed>stopped:stopped"]);

    const gone = new Leader(session(), {
      ...held().deps,
      stop: async () => {
        throw new OpError("NOT_FOUND", "no such stream");
      },
    });
    const s3 = watch(gone);
    await expect(gone.stop()).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(s3).toEqual(["live>stopped:gone"]);
  });
});

describe("leader shell: heartbeat", () => {
  it("beats every heartbeatMs, never with 0, and not after close()", async () => {
    const beats: number[] = [];
    const t0 = Date.now();
    const leader = new Leader(session(), {
      ...held().deps,
      heartbeatMs: 250,
      async heartbeat() {
        beats.push(Date.now() - t0);
      },
    });
    await vi.advanceTimersByTimeAsync(249);
    expect(beats).toEqual([]);
    await vi.advanceTimersByTimeAsync(501);
    expect(beats).toEqual([250, 500, 750]);
    leader.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beats).toHaveLength(3);
    let none = 0;
    new Leader(session(), { ...held().deps, heartbeat: async () => void none++ }).close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(none).toBe(0);
  });

  it("a transient failure: offline; a good beat brings it live only when nothing waits to be sent", async () => {
    let fail = true;
    const h = held({
      heartbeatMs: 1000,
      backoff: () => 5_000,
      async heartbeat() {
        if (fail) throw new NetworkError("cannot reach");
      },
    });
    const leader = new Leader(session(), h.deps);
    const statuses = watch(leader);
    await vi.advanceTimersByTimeAsync(1000);
    expect(leader.status).toBe("offline");
    void leader.publish({ v: "A" });
    await h.answer(new TimeoutError("no reply")); // A waits in doubt, for 5 s of backoff
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect([leader.pending, leader.status]).toEqual([1, "offline"]); // the beat was good, but A waits
    await vi.advanceTimersByTimeAsync(4000);
    expect(h.calls).toHaveLength(2);
    await h.answer();
    expect(leader.status).toBe("live");
    expect(statuses).toEqual(["live>offline:unreachable", "offline>live:published"]);
    leader.close();
  });

  it("a good beat while offline and idle: live (heartbeat); other errors only as error events", async () => {
    let err: Error | undefined = new NetworkError("cannot reach");
    const leader = new Leader(session(), {
      ...held().deps,
      heartbeatMs: 1000,
      async heartbeat() {
        if (err) throw err;
      },
    });
    const statuses = watch(leader);
    const errors: string[] = [];
    leader.on("error", (e) => errors.push(e.error.code));
    await vi.advanceTimersByTimeAsync(1000);
    err = undefined;
    await vi.advanceTimersByTimeAsync(1000);
    err = new RelayError("PROTOCOL", "garbled");
    await vi.advanceTimersByTimeAsync(1000);
    expect(statuses).toEqual(["live>offline:unreachable", "offline>live:heartbeat"]);
    expect([errors, leader.status]).toEqual([["PROTOCOL"], "live"]);
    leader.close();
  });

  it("fenced by a heartbeat: NOT_FOUND stops the leader (gone) and the beats", async () => {
    let beats = 0;
    const leader = new Leader(session(), {
      ...held().deps,
      heartbeatMs: 1000,
      async heartbeat() {
        beats++;
        throw new OpError("NOT_FOUND", "no such stream");
      },
    });
    const statuses = watch(leader);
    await vi.advanceTimersByTimeAsync(5000);
    expect([beats, statuses]).toEqual([1, ["live>stopped:gone"]]);
  });
});
