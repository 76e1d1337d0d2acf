/**
 * The leader's guarantees over random interleavings (fast-check): publishes,
 * replies (ok, duplicate, STALE, NEED_STATE, QUOTA, network errors that did or
 * did not reach the server, timeouts that did or did not land) and timer
 * ticks, against a model server that dedupes op ids, refuses a wrong base seq,
 * keeps a bounded log of changes since the last whole state (NEED_STATE, the
 * snapshot hint) as Lua does, and applies each change as a follower would.
 * Asserted on every run:
 *  - at most one request in flight;
 *  - an op id always stands for the same state, and its attempts on one base
 *    carry the very same sealed bytes; a request that may have landed
 *    (timeout, 502) is retried with its op id before anything else;
 *  - every change the server takes applies to the server's state and hashes
 *    to the leader's SHA-1 (a patch is always made from the acknowledged state);
 *  - once the server recovers, the last state published is acknowledged and
 *    is the server's state (unless it was refused STALE for good: then its
 *    caller heard STALE), and nothing waits any more.
 * Sealing is faked (leader-fakes.ts says why).
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GatewayError, NetworkError, OpError, TimeoutError } from "../../src/core/errors.ts";
import { Leader, type LeaderDeps, type PublishReply } from "../../src/core/leader.ts";
import { apply, type PatchOp } from "../../src/core/patch.ts";
import { sha1hex } from "../../src/core/sha1.ts";
import { fakeUnseal, session } from "./leader-fakes.ts";

vi.mock("../../src/core/content.ts", async (real) => (await import("./leader-fakes.ts")).fakedContent(real));

type Outcome = "ok" | "refused" | "503" | "502" | "timeout-landed" | "timeout-lost" | "quota";
type Cmd = { t: "publish" } | { t: "reply"; outcome: Outcome } | { t: "tick"; ms: number } | { t: "move" };

/** Changes the model keeps after a whole state (Lua's `history`). */
const HISTORY = 2;
/** The stream's state when the leader starts (a reconnect): a patch is worth sending at once. */
const START = { n: 0, pad: "p".repeat(60) };

interface Call {
  op: string;
  /** The state the leader means (the job's), read from the sealed text and the session. */
  json: string;
  kind: "s" | "p";
  content: string;
  base: number;
  /** The reply it got (recovery answers "ok"). */
  outcome?: Outcome;
  resolve: (r: PublishReply) => void;
  reject: (e: unknown) => void;
}

/** The stream as Lua keeps it: seq, state (as followers rebuild it), the log length, and where each op id landed. */
function modelServer(hints: boolean) {
  // Without hints the log starts full, and the leader meets NEED_STATE on its first patch.
  const srv = {
    seq: 0,
    json: JSON.stringify(START),
    chain: hints ? 0 : HISTORY,
    ops: new Map<string, number>(),
    needState: 0,
  };
  const take = (c: Call): PublishReply => {
    const seen = srv.ops.get(c.op);
    if (seen !== undefined) return { seq: seen, changed: false, duplicate: true, snapshot: false };
    if (c.base !== srv.seq)
      throw new OpError("STALE", `the change builds on seq ${c.base} but the stream is at seq ${srv.seq}`);
    if (c.kind === "p" && srv.chain >= HISTORY) {
      srv.needState++;
      throw new OpError("NEED_STATE", "the log since the last whole state is full; send a whole state");
    }
    const { text, at } = fakeUnseal(c.content);
    expect(at.seq).toBe(c.base + 1); // sealed for the seq it will get
    if (c.kind === "s") {
      srv.json = text;
      srv.chain = 0;
    } else {
      // What a follower does with it: apply to the state it has, check the leader's hash.
      const body = JSON.parse(text) as { h: string; patch: PatchOp[] };
      const next = JSON.stringify(apply(JSON.parse(srv.json), body.patch));
      expect(sha1hex(next)).toBe(body.h);
      srv.json = next;
      srv.chain++;
    }
    srv.seq++;
    srv.ops.set(c.op, srv.seq);
    return { seq: srv.seq, changed: true, duplicate: false, snapshot: hints && srv.chain >= HISTORY };
  };
  return { srv, take };
}

const refused = () => new NetworkError("fetch failed", Object.assign(new Error("x"), { code: "ECONNREFUSED" }));

/** `hints`: the server says when to send a whole state (else the leader meets NEED_STATE). */
async function run(cmds: Cmd[], hints: boolean) {
  const { srv, take } = modelServer(hints);
  const open: Call[] = [];
  const calls: Call[] = [];
  const deps: LeaderDeps = {
    heartbeatMs: 0,
    backoff: (n) => Math.min(10 * n, 200),
    publish: (s, op, body) =>
      new Promise((resolve, reject) => {
        // The state it stands for: a whole state's text, or the patch on the acknowledged one.
        const { text } = fakeUnseal(body.content);
        const json = body.kind === "s" ? text : JSON.stringify(apply(JSON.parse(s.json), JSON.parse(text).patch));
        expect(body.base).toBe(s.seq);
        const c: Call = { op, json, kind: body.kind, content: body.content, base: body.base, resolve, reject };
        open.push(c);
        calls.push(c);
        expect(open.length).toBeLessThanOrEqual(1); // one request in flight
      }),
    async heartbeat() {},
    async stop() {},
  };
  const leader = new Leader(session({ state: START }), deps);
  const results: Promise<{ json: string; ok: boolean; code?: string }>[] = [];
  let n = 0;
  let moved = false;
  const reply = (outcome: Outcome) => {
    const c = open.shift();
    if (!c) return;
    c.outcome = outcome;
    try {
      if (outcome === "ok") return c.resolve(take(c));
      if (outcome === "refused") return c.reject(refused());
      if (outcome === "503") return c.reject(new GatewayError("service unavailable", 503));
      if (outcome === "quota") return c.reject(new OpError("QUOTA", "spent; retry in 1 s"));
      if (outcome === "timeout-landed" || outcome === "502") {
        try {
          take(c);
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
      const json = JSON.stringify({ ...START, n: ++n });
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
    const seen = { patches: 0, needState: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 40 }), fc.boolean(), async (cmds, hints) => {
        const { leader, srv, calls, settled, open, moved } = await run(cmds, hints);
        seen.patches += calls.filter((c) => c.kind === "p").length;
        seen.needState += srv.needState;
        expect([open.length, leader.pending]).toEqual([0, 0]);
        // An op id names one request: the same state on every attempt, the same bytes on one base.
        const byOp = new Map<string, Call>();
        for (const [i, c] of calls.entries()) {
          const first = byOp.get(c.op) ?? c;
          byOp.set(c.op, first);
          expect(c.json).toBe(first.json);
          const prev = calls[i - 1];
          // Only STALE (another base) or NEED_STATE (whole now) seal it anew.
          if (prev?.op === c.op && prev.base === c.base && prev.kind === c.kind) expect(c.content).toBe(prev.content);
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
    // The runs did meet patches and full logs (else the hash and NEED_STATE checks checked nothing).
    expect(seen.patches).toBeGreaterThan(0);
    expect(seen.needState).toBeGreaterThan(0);
  });
});
