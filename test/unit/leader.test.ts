/**
 * The leader's retry rules and heartbeat reactions with fake deps (no server):
 * which failures are worth retrying, which ones surely never reached Redis,
 * in which order an in-doubt and a newer state go out, and what a heartbeat
 * failure does to the status. The real-stack versions are in
 * test/integration/leader.test.ts. Sealing is faked (leader-fakes.ts says why).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { GatewayError, NetworkError, OpError, RelayError, TimeoutError } from "../../src/core/errors.ts";
import { isTransient, Leader, type LeaderDeps, surelyNotSent } from "../../src/core/leader.ts";
import { session, stateJsonOf } from "./leader-fakes.ts";

vi.mock("../../src/core/content.ts", async (real) => (await import("./leader-fakes.ts")).fakedContent(real));

/** A fake server: each publish call is recorded and answered by `answer` (throw to fail). */
function fakeDeps(answer: (n: number, json: string) => void, o: Partial<LeaderDeps> = {}) {
  const calls: { op: string; json: string }[] = [];
  let seq = 0;
  const deps: LeaderDeps = {
    heartbeatMs: 0,
    backoff: () => 0,
    async publish(s, opId, body) {
      const json = stateJsonOf(s, body);
      calls.push({ op: opId, json });
      answer(calls.length, json);
      seq++;
      return { seq, changed: true, duplicate: false };
    },
    async heartbeat() {},
    async stop() {},
    ...o,
  };
  return { deps, calls };
}

const refused = (code: string) => Object.assign(new Error("fetch failed"), { cause: { code } });

describe("retry rules", () => {
  it("transient: network, timeout and 502/503/504; not: 403, 500, Lua codes, protocol", () => {
    expect(isTransient(new NetworkError("x"))).toBe(true);
    expect(isTransient(new TimeoutError("x"))).toBe(true);
    for (const s of [502, 503, 504]) expect(isTransient(new GatewayError("x", s))).toBe(true);
    for (const s of [403, 500, undefined]) expect(isTransient(new GatewayError("x", s))).toBe(false);
    expect(isTransient(new OpError("NOT_FOUND", "x"))).toBe(false);
    expect(isTransient(new RelayError("PROTOCOL", "x"))).toBe(false);
  });

  it("surely not sent: a refused connection (anywhere in the cause chain) or a 503; a reset or a timeout may have landed", () => {
    expect(surelyNotSent(new NetworkError("x", refused("ECONNREFUSED")))).toBe(true);
    expect(surelyNotSent(new NetworkError("x", { cause: { cause: refused("EHOSTUNREACH") } }))).toBe(true);
    expect(surelyNotSent(new GatewayError("x", 503))).toBe(true);
    expect(surelyNotSent(new NetworkError("x", refused("ECONNRESET")))).toBe(false);
    expect(surelyNotSent(new TimeoutError("x"))).toBe(false);
    expect(surelyNotSent(new GatewayError("x", 502))).toBe(false);
  });

  it("a 502 leaves the state in doubt: its op id is retried before the newer state", async () => {
    const { deps, calls } = fakeDeps((n) => {
      if (n === 1) throw new GatewayError("bad gateway", 502);
    });
    const leader = new Leader(session(), deps);
    const a = leader.publish({ v: "A" });
    const b = leader.publish({ v: "B" });
    await Promise.all([a, b]);
    expect(calls.map((c) => c.json)).toEqual(['{"v":"A"}', '{"v":"A"}', '{"v":"B"}']);
    expect(calls[0]?.op).toBe(calls[1]?.op);
  });

  it("a refused connection means not sent: the newer state goes out instead", async () => {
    const { deps, calls } = fakeDeps((n) => {
      if (n === 1) throw new NetworkError("cannot reach", refused("ECONNREFUSED"));
    });
    const leader = new Leader(session(), deps);
    const [a, b] = await Promise.all([leader.publish({ v: "A" }), leader.publish({ v: "B" })]);
    expect(calls.map((c) => c.json)).toEqual(['{"v":"A"}', '{"v":"B"}']);
    expect(a).toEqual(b);
  });

  it("once in doubt, always in doubt: a 503 on a retry does not prove the first attempt never landed", async () => {
    // Attempt 1 times out (it may sit in Webdis's socket to Redis and land later);
    // attempt 2 gets 503 (Webdis reconnecting). Dropping A for B here let A's late
    // copy land after B: followers ended on A, one seq past the leader (the
    // partition fault test saw seq 12 against the leader's 11).
    const { deps, calls } = fakeDeps((n) => {
      if (n === 1) throw new TimeoutError("no reply");
      if (n === 2) throw new GatewayError("service unavailable", 503);
    });
    const leader = new Leader(session(), deps);
    await Promise.all([leader.publish({ v: "A" }), leader.publish({ v: "B" })]);
    expect(calls.map((c) => c.json)).toEqual(['{"v":"A"}', '{"v":"A"}', '{"v":"A"}', '{"v":"B"}']);
    expect(new Set(calls.slice(0, 3).map((c) => c.op)).size).toBe(1);
  });

  it("STALE: the state goes again whole, on the stream's seq; a newer waiting state goes instead", async () => {
    const sent: { json: string; kind: string; base: number; seq: number }[] = [];
    let serverSeq = 7; // the stream went back (or moved) behind the leader's back
    const deps: LeaderDeps = {
      heartbeatMs: 0,
      backoff: () => 0,
      async publish(s, _op, body) {
        sent.push({ json: stateJsonOf(s, body), kind: body.kind, base: body.base, seq: s.seq });
        if (s.seq !== serverSeq)
          throw new OpError("STALE", `the state builds on seq ${s.seq} but the stream is at seq ${serverSeq}`);
        serverSeq++;
        return { seq: serverSeq, changed: true, duplicate: false };
      },
      async heartbeat() {},
      async stop() {},
    };
    const notes = "n".repeat(200); // big enough that a patch is worth sending
    const leader = new Leader(session({ seq: 9, state: { v: 0, notes } }), deps);
    expect(await leader.publish({ v: 1, notes })).toEqual({ seq: 8, changed: true });
    const v1 = JSON.stringify({ v: 1, notes });
    expect(sent).toEqual([
      { json: v1, kind: "p", base: 9, seq: 9 },
      { json: v1, kind: "s", base: 7, seq: 7 },
    ]);
    // A newer state waiting when STALE comes back: it goes instead, whole, and answers both callers.
    sent.length = 0;
    serverSeq = 3;
    const [a, b] = await Promise.all([leader.publish({ v: "A", notes }), leader.publish({ v: "B", notes })]);
    expect(sent.map((x) => [JSON.parse(x.json).v, x.base, x.kind === "s"])).toEqual([
      ["A", 8, false],
      ["B", 3, true],
    ]);
    expect(a).toEqual(b);
    // Refused twice in a row (something keeps moving the stream): the caller hears STALE.
    const stuck = new Leader(session({ seq: 1 }), {
      ...deps,
      publish: async (s) => {
        throw new OpError("STALE", `the state builds on seq ${s.seq} but the stream is at seq ${s.seq + 5}`);
      },
    });
    await expect(stuck.publish({ v: 2 })).rejects.toMatchObject({ code: "STALE" });
  });

  it("garbled replies are counted per state: each new state gets its own three retries", async () => {
    const { deps, calls } = fakeDeps((n) => {
      if (n !== 4 && n !== 8) throw new RelayError("PROTOCOL", "reply is not JSON");
    });
    const leader = new Leader(session(), deps);
    await leader.publish({ v: 1 });
    await leader.publish({ v: 2 });
    expect(calls.map((c) => c.json)).toEqual([...Array(4).fill('{"v":1}'), ...Array(4).fill('{"v":2}')]);
    const more = fakeDeps(() => {
      throw new RelayError("PROTOCOL", "reply is not JSON");
    });
    const other = new Leader(session(), more.deps);
    await expect(other.publish({ v: 1 })).rejects.toMatchObject({ code: "PROTOCOL" });
    expect(more.calls).toHaveLength(4);
  });
});

describe("heartbeat reactions", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("transient failure: offline, then live again on the next good heartbeat", async () => {
    vi.useFakeTimers();
    let fail = true;
    const { deps } = fakeDeps(() => {}, {
      heartbeatMs: 1000,
      async heartbeat() {
        if (fail) throw new NetworkError("cannot reach");
      },
    });
    const leader = new Leader(session(), deps);
    const path: string[] = [];
    leader.on("status", (s) => path.push(`${s.status}:${s.reason}`));
    await vi.advanceTimersByTimeAsync(1000);
    expect(leader.status).toBe("offline");
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(path).toEqual(["offline:cannot reach", "live:heartbeat"]);
    leader.close();
  });

  it("LEADER_REPLACED: replaced once, and the heartbeat stops", async () => {
    vi.useFakeTimers();
    let beats = 0;
    const { deps } = fakeDeps(() => {}, {
      heartbeatMs: 1000,
      async heartbeat() {
        beats++;
        throw new OpError("LEADER_REPLACED", "another leader took over this stream");
      },
    });
    const leader = new Leader(session(), deps);
    const replaced: unknown[] = [];
    leader.on("replaced", (e) => replaced.push(e));
    await vi.advanceTimersByTimeAsync(5000);
    expect(leader.status).toBe("replaced");
    expect(replaced).toHaveLength(1);
    expect(beats).toBe(1);
    await expect(leader.publish({ v: 1 })).rejects.toMatchObject({ code: "LEADER_REPLACED" });
  });
});

describe("QUOTA (the stream's publish budget is spent)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const quota = (s: number) =>
    new OpError("QUOTA", `this stream published 5 of 4 bytes allowed per 10 s; retry in ${s} s`);

  it("waits the window out, then sends only the newest state; every caller gets its result", async () => {
    vi.useFakeTimers();
    const { deps, calls } = fakeDeps((n) => {
      if (n === 1) throw quota(3);
    });
    const leader = new Leader(session(), deps);
    const errors: string[] = [];
    leader.on("error", ({ error }) => errors.push(error.code));
    const a = leader.publish({ v: "A" });
    await vi.advanceTimersByTimeAsync(0);
    const b = leader.publish({ v: "B" });
    const c = leader.publish({ v: "C" });
    await vi.advanceTimersByTimeAsync(2_900);
    expect(calls).toHaveLength(1); // nothing more while the window is spent: no hammering
    expect(leader.status).toBe("live"); // throttled, not offline
    await vi.advanceTimersByTimeAsync(200);
    const results = await Promise.all([a, b, c]);
    expect(calls.map((x) => x.json)).toEqual(['{"v":"A"}', '{"v":"C"}']);
    expect(results).toEqual([results[0], results[0], results[0]]);
    expect(leader.state).toEqual({ v: "C" });
    expect(errors).toEqual(["QUOTA"]);
  });

  it("alone, the refused state is sent again after the window", async () => {
    vi.useFakeTimers();
    const { deps, calls } = fakeDeps((n) => {
      if (n <= 2) throw quota(1);
    });
    const leader = new Leader(session(), deps);
    const a = leader.publish({ v: "A" });
    await vi.advanceTimersByTimeAsync(2_100);
    expect(await a).toEqual({ seq: 1, changed: true });
    expect(calls.map((x) => x.json)).toEqual(['{"v":"A"}', '{"v":"A"}', '{"v":"A"}']);
  });

  it("an in-doubt state stays first: after QUOTA its op id is retried before the newer state", async () => {
    vi.useFakeTimers();
    const { deps, calls } = fakeDeps((n) => {
      if (n === 1) throw new TimeoutError("no reply");
      if (n === 2) throw quota(1);
    });
    const leader = new Leader(session(), deps);
    const a = leader.publish({ v: "A" });
    const b = leader.publish({ v: "B" });
    await vi.advanceTimersByTimeAsync(1_100);
    await Promise.all([a, b]);
    expect(calls.map((x) => x.json)).toEqual(['{"v":"A"}', '{"v":"A"}', '{"v":"A"}', '{"v":"B"}']);
    expect(new Set(calls.slice(0, 3).map((x) => x.op)).size).toBe(1);
  });

  it("close() during the wait ends it at once and rejects the waiting publish", async () => {
    const { deps, calls } = fakeDeps(() => {
      throw quota(60);
    });
    const leader = new Leader(session(), deps);
    const a = leader.publish({ v: "A" });
    await new Promise((r) => setTimeout(r, 20));
    leader.close();
    await expect(a).rejects.toMatchObject({ code: "CLOSED" });
    await leader.flushed();
    expect(calls).toHaveLength(1);
  });
});
