/**
 * The leader's guarantees over random interleavings (fast-check): publishes,
 * replies (ok, duplicate, STALE, QUOTA, network errors that did or did not
 * reach the server, timeouts that did or did not land) and timer ticks, against
 * a model server that dedupes op ids and refuses a wrong base seq as Lua does.
 * Asserted on every run:
 *  - at most one request in flight;
 *  - an op id always carries the same state (and patch, until STALE makes it
 *    whole), and a request that may have landed (timeout, 502) is retried with
 *    its op id before anything else;
 *  - once the server recovers, the last state published is acknowledged and
 *    is the server's state (unless it was refused STALE for good: then its
 *    caller heard STALE), and nothing waits any more.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GatewayError, NetworkError, OpError, TimeoutError } from "../../src/core/errors.ts";
import { Leader, type LeaderDeps, type PublishReply } from "../../src/core/leader.ts";

type Outcome = "ok" | "refused" | "503" | "502" | "timeout-landed" | "timeout-lost" | "quota";
type Cmd = { t: "publish" } | { t: "reply"; outcome: Outcome } | { t: "tick"; ms: number } | { t: "move" };

interface Call {
  op: string;
  json: string;
  patch: string;
  base: number;
  /** The reply it got (recovery answers "ok"). */
  outcome?: Outcome;
  resolve: (r: PublishReply) => void;
  reject: (e: unknown) => void;
}

/** The stream as Lua keeps it: seq, state, and which seq each op id landed at. */
function modelServer() {
  const srv = { seq: 0, json: "{}", ops: new Map<string, number>() };
  const apply = (c: Call): PublishReply => {
    const seen = srv.ops.get(c.op);
    if (seen !== undefined) return { seq: seen, changed: false, duplicate: true };
    if (c.base !== srv.seq)
      throw new OpError("STALE", `the state builds on seq ${c.base} but the stream is at seq ${srv.seq}`);
    if (c.json !== srv.json) {
      srv.seq++;
      srv.json = c.json;
    }
    srv.ops.set(c.op, srv.seq);
    return { seq: srv.seq, changed: true, duplicate: false };
  };
  return { srv, apply };
}

const refused = () => new NetworkError("fetch failed", Object.assign(new Error("x"), { code: "ECONNREFUSED" }));

async function run(cmds: Cmd[]) {
  const { srv, apply } = modelServer();
  const open: Call[] = [];
  const calls: Call[] = [];
  const deps: LeaderDeps = {
    heartbeatMs: 0,
    backoff: (n) => Math.min(10 * n, 200),
    publish: (s, op, json, patch) =>
      new Promise((resolve, reject) => {
        const c = { op, json, patch, base: s.seq, resolve, reject };
        open.push(c);
        calls.push(c);
        expect(open.length).toBeLessThanOrEqual(1); // one request in flight
      }),
    async heartbeat() {},
    async stop() {},
  };
  const leader = new Leader({ ...session(), seq: 0, state: {} }, deps);
  const results: Promise<{ json: string; ok: boolean; code?: string }>[] = [];
  let n = 0;
  let moved = false;
  const reply = (outcome: Outcome) => {
    const c = open.shift();
    if (!c) return;
    c.outcome = outcome;
    try {
      if (outcome === "ok") return c.resolve(apply(c));
      if (outcome === "refused") return c.reject(refused());
      if (outcome === "503") return c.reject(new GatewayError("service unavailable", 503));
      if (outcome === "quota") return c.reject(new OpError("QUOTA", "spent; retry in 1 s"));
      if (outcome === "timeout-landed" || outcome === "502") {
        try {
          apply(c);
        } catch {
          // refused (STALE) but the reply was lost all the same
        }
      }
      c.reject(outcome === "502" ? new GatewayError("bad gateway", 502) : new TimeoutError("no reply"));
    } catch (e) {
      c.reject(e);
    }
  };
  for (const cmd of cmds) {
    if (cmd.t === "publish") {
      const json = JSON.stringify({ n: ++n, pad: "p".repeat(60) });
      results.push(
        leader.publish(JSON.parse(json)).then(
          () => ({ json, ok: true }),
          (e) => ({ json, ok: false, code: e.code }),
        ),
      );
    } else if (cmd.t === "reply") reply(cmd.outcome);
    else if (cmd.t === "move") {
      // A state landed behind the leader's back (or writes were lost): the next send meets STALE.
      moved = true;
      srv.seq += 1;
      srv.json = JSON.stringify({ behind: srv.seq });
    }
    await vi.advanceTimersByTimeAsync(cmd.t === "tick" ? cmd.ms : 0);
  }
  // The server recovers: every request is answered, timers run, until the queue is empty.
  for (let i = 0; i < 500 && (open.length > 0 || leader.pending > 0); i++) {
    if (open.length > 0) reply("ok");
    await vi.advanceTimersByTimeAsync(open.length > 0 ? 0 : 250);
  }
  await vi.advanceTimersByTimeAsync(0);
  const settled = await Promise.all(results);
  return { leader, srv, calls, settled, open, moved };
}

const session = () => ({ name: "s", channel: "c", epoch: "1", term: 1, seq: 0, state: {}, token: "t", pass: "-" });

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ t: "publish" } as const) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom<Outcome>("ok", "ok", "refused", "503", "502", "timeout-landed", "timeout-lost", "quota")
      .map((outcome) => ({ t: "reply", outcome }) as const),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 1_200 }).map((ms) => ({ t: "tick", ms }) as const) },
  { weight: 1, arbitrary: fc.constant({ t: "move" } as const) },
);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("leader over random interleavings", () => {
  it("one in flight, op ids kept on retry, the last state acknowledged after recovery", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 40 }), async (cmds) => {
        const { leader, srv, calls, settled, open, moved } = await run(cmds);
        expect([open.length, leader.pending]).toEqual([0, 0]);
        // An op id names one request: the same state and the same patch on every attempt.
        const byOp = new Map<string, Call>();
        for (const c of calls) {
          const first = byOp.get(c.op) ?? c;
          byOp.set(c.op, first);
          expect([c.json, c.patch === "-" || c.patch === first.patch]).toEqual([first.json, true]);
        }
        // A request that may have landed is sent again, op id and all, before anything newer.
        calls.forEach((c, i) => {
          const next = calls[i + 1];
          if (next && (c.outcome === "502" || c.outcome?.startsWith("timeout"))) expect(next.op).toBe(c.op);
        });
        // Each caller hears success, or STALE refused twice in a row (the stream kept moving).
        for (const r of settled) if (!r.ok) expect(r.code).toBe("STALE");
        const last = settled.at(-1);
        if (last?.ok) {
          // The server acknowledged an op carrying it, and that is the leader's state now.
          expect(calls.some((c) => c.json === last.json && srv.ops.has(c.op))).toBe(true);
          expect(JSON.stringify(leader.state)).toBe(last.json);
          // Nothing moved the stream behind the leader's back: it is the stream's state too.
          if (!moved) expect([srv.json, srv.seq]).toEqual([last.json, leader.seq]);
        }
        expect(leader.status).toBe("live");
      }),
      { numRuns: 300 },
    );
  });
});
