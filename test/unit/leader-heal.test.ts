/**
 * Healing after a failover, unit level: the pure parts (src/core/leader/heal.ts),
 * the machine row, and the shell against a fake server that keeps a stream the way
 * lua/heal.lua does (epoch, seq, term, the ops it saw, a tombstone). Sealing is
 * faked (leader-fakes.ts says why); test/faults/heal.test.ts runs it on Redis.
 */
import { describe, expect, it, vi } from "vitest";
import { NetworkError, OpError } from "../../src/core/errors.ts";
import { healFailure, healNeed, healTarget, streamAt } from "../../src/core/leader/heal.ts";
import { ROWS, transition } from "../../src/core/leader/machine.ts";
import type { LeaderSession, SealedHeal } from "../../src/core/leader/types.ts";
import { Leader, type LeaderDeps } from "../../src/core/leader.ts";
import { fakeUnseal, session, stateJsonOf } from "./leader-fakes.ts";

vi.mock("../../src/core/content.ts", async (real) => (await import("./leader-fakes.ts")).fakedContent(real));

const behind = (epoch: string, seq: number) =>
  new OpError(
    "BEHIND",
    `the stream lost writes this leader had acknowledged (the stream is at epoch ${epoch} seq ${seq})`,
  );

describe("heal.ts, pure", () => {
  it("reads where the stream is from BEHIND and from a heal's STALE", () => {
    expect(streamAt(behind("17", 5))).toEqual({ epoch: "17", seq: 5 });
    expect(streamAt(new OpError("STALE", "the heal must go past the stream (at epoch 20 seq 9)"))).toEqual({
      epoch: "20",
      seq: 9,
    });
    expect(streamAt(new OpError("STALE", "the change builds on seq 3 but the stream is at seq 4"))).toBeUndefined();
  });

  it("BEHIND and NOT_FOUND need a heal; nothing else does", () => {
    expect(healNeed(behind("17", 5))).toEqual({ why: "behind", epoch: "17", seq: 5 });
    expect(healNeed(new OpError("NOT_FOUND", "no such stream"))).toEqual({ why: "gone" });
    for (const code of ["STALE", "LEADER_REPLACED", "BAD_CODE", "NEED_STATE"] as const)
      expect(healNeed(new OpError(code, "x"))).toBeUndefined();
    expect(healNeed(new NetworkError("down"))).toBeUndefined();
  });

  it("a heal goes past the leader's and the stream's epoch and seq, on the leader's clock when later", () => {
    const at = { epoch: "1700000000000000", seq: 9 };
    // The stream behind at seq 5: seq past the leader's 9; the clock is earlier than the epoch.
    expect(healTarget(at, { why: "behind", epoch: "1700000000000000", seq: 5 }, 0)).toEqual({
      epoch: "1700000000000001",
      seq: 10,
    });
    // The stream ahead (another heal got there): past it.
    expect(healTarget(at, { why: "behind", epoch: "1700000000000500", seq: 12 }, 0)).toEqual({
      epoch: "1700000000000501",
      seq: 13,
    });
    // Gone: the clock in microseconds when it is later.
    expect(healTarget(at, { why: "gone" }, 1_800_000_000_000)).toEqual({ epoch: "1800000000000000", seq: 10 });
    // Never more than the 16 digits Lua takes.
    expect(healTarget({ epoch: "9999999999999999", seq: 1 }, { why: "gone" }, 0).epoch).toBe("9999999999999999");
  });

  it("what a failed heal means", () => {
    expect(healFailure(new OpError("STALE", "x"))).toBe("repropose");
    expect(healFailure(new OpError("NOT_FOUND", "the stream was stopped or expired; it is not re-made"))).toBe("gone");
    expect(healFailure(new OpError("LEADER_REPLACED", "x"))).toBe("replaced");
    expect(healFailure(new NetworkError("down"))).toBe("retry");
    for (const code of ["BAD_CODE", "BAD_PASSWORD", "RATE_LIMITED", "FULL", "NAME_CONFUSABLE"] as const)
      expect(healFailure(new OpError(code, "x"))).toBe("final");
  });
});

describe("the machine's healed row", () => {
  it("live or offline with nothing waiting: live, code healed; with more waiting or ended: nothing", () => {
    expect(transition("offline", { type: "healed", idle: true })).toMatchObject({ to: "live", code: "healed" });
    expect(transition("live", { type: "healed", idle: true })).toMatchObject({ to: "live", code: "healed" });
    expect(transition("offline", { type: "healed", idle: false })).toBeUndefined();
    for (const s of ["stopped", "replaced", "closed"] as const)
      expect(transition(s, { type: "healed", idle: true })).toBeUndefined();
    expect(ROWS.filter((r) => r.on === "healed")).toHaveLength(1);
  });
});

/**
 * A stream as Lua keeps it, with what lua/heal.lua checks: publish answers BEHIND when the
 * leader's epoch or base seq is past the stream's; heal refuses a proposal not past the
 * stream (STALE), answers a known op id as a duplicate, and NOT_FOUND on a tombstone.
 */
function fakeServer(o: { epoch?: string } = {}) {
  const srv = {
    exists: true,
    tombstone: false,
    epoch: o.epoch ?? "1",
    seq: 0,
    term: 1,
    ops: new Map<string, { epoch: string; seq: number }>(),
    applied: [] as { epoch: string; seq: number; json: string; via: "publish" | "heal" }[],
    heals: [] as (SealedHeal & { op: string })[],
    /** Fail the next heal calls with these (after or before applying: `landed`). */
    healFaults: [] as { error: Error; landed: boolean }[],
  };
  const deps: LeaderDeps = {
    heartbeatMs: 0,
    backoff: () => 1,
    async publish(s, op, body) {
      if (!srv.exists) throw new OpError("NOT_FOUND", "no such stream");
      const at = `(the stream is at epoch ${srv.epoch} seq ${srv.seq})`;
      if (s.epoch !== srv.epoch || body.base > srv.seq) throw new OpError("BEHIND", `behind ${at}`);
      if (body.base !== srv.seq)
        throw new OpError("STALE", `the change builds on seq ${body.base} but the stream is at seq ${srv.seq}`);
      srv.seq++;
      srv.ops.set(op, { epoch: srv.epoch, seq: srv.seq });
      srv.applied.push({ epoch: srv.epoch, seq: srv.seq, json: stateJsonOf(s, body), via: "publish" });
      return { seq: srv.seq, changed: true, duplicate: false };
    },
    async heartbeat(s: LeaderSession) {
      if (!srv.exists) throw new OpError("NOT_FOUND", "no such stream");
      if (s.epoch !== srv.epoch || s.seq > srv.seq)
        throw new OpError("BEHIND", `behind (the stream is at epoch ${srv.epoch} seq ${srv.seq})`);
    },
    async heal(_s, op, body) {
      srv.heals.push({ ...body, op });
      const fault = srv.healFaults.shift();
      if (fault && !fault.landed) throw fault.error;
      const reply = () => ({ channel: "c", epoch: srv.epoch, seq: srv.seq, term: srv.term, pass: "-" });
      const seen = srv.ops.get(op);
      if (srv.exists && seen) return { ...reply(), epoch: seen.epoch, seq: seen.seq, duplicate: true };
      if (!srv.exists && srv.tombstone)
        throw new OpError("NOT_FOUND", "the stream was stopped or expired; it is not re-made");
      if (srv.exists && (BigInt(body.epoch) <= BigInt(srv.epoch) || body.seq <= srv.seq))
        throw new OpError("STALE", `the heal must go past the stream (at epoch ${srv.epoch} seq ${srv.seq})`);
      const opened = fakeUnseal(body.content);
      expect(opened.at).toEqual({ name: "s", epoch: body.epoch, seq: body.seq });
      Object.assign(srv, { exists: true, epoch: body.epoch, seq: body.seq });
      srv.ops.set(op, { epoch: body.epoch, seq: body.seq });
      srv.applied.push({ epoch: body.epoch, seq: body.seq, json: opened.text, via: "heal" });
      if (fault) throw fault.error;
      return { ...reply(), duplicate: false };
    },
    async stop() {
      srv.exists = false;
      srv.tombstone = true;
    },
  };
  /** A promoted replica that lagged: the stream back at `seq` (its ops after it forgotten). */
  const lose = (seq: number) => {
    srv.seq = seq;
    srv.applied = srv.applied.filter((a) => a.seq <= seq);
  };
  return { srv, deps, lose };
}

const newLeader = (deps: LeaderDeps, epoch = "1000") => new Leader(session({ epoch }), deps);

describe("the leader heals", () => {
  it("a stream behind its acknowledged seq: the next publish goes whole on a new epoch past both seqs; then edits again", async () => {
    const { srv, deps, lose } = fakeServer({ epoch: "1000" });
    const leader = newLeader(deps);
    const healed: unknown[] = [];
    leader.on("healed", (h) => healed.push(h));
    for (let i = 1; i <= 4; i++) await leader.publish({ i });
    lose(2);
    expect(await leader.publish({ i: 5 })).toEqual({ seq: 5, changed: true });
    expect(srv.heals).toHaveLength(1);
    expect(BigInt(leader.epoch)).toBeGreaterThan(1000n);
    expect(healed).toEqual([{ epoch: leader.epoch, seq: 5, why: "behind", duplicate: false }]);
    expect(srv.applied.at(-1)).toEqual({ epoch: leader.epoch, seq: 5, json: '{"i":5}', via: "heal" });
    await leader.publish({ i: 6 });
    expect(srv.applied.at(-1)).toMatchObject({ epoch: leader.epoch, seq: 6, via: "publish" });
    // Every (epoch, seq) the server ever took is taken once.
    const keys = srv.applied.map((a) => `${a.epoch}:${a.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("a heal whose reply was lost is retried with the same op id and bytes, and the duplicate answer is not applied twice", async () => {
    const { srv, deps, lose } = fakeServer({ epoch: "1000" });
    const leader = newLeader(deps);
    await leader.publish({ i: 1 });
    await leader.publish({ i: 2 });
    lose(1);
    srv.healFaults.push({ error: new NetworkError("reset"), landed: true });
    expect(await leader.publish({ i: 3 })).toEqual({ seq: 3, changed: true });
    expect(srv.heals).toHaveLength(2);
    expect(srv.heals[1]).toEqual(srv.heals[0]);
    expect(srv.applied.filter((a) => a.via === "heal")).toHaveLength(1);
    expect(leader.epoch).toBe(srv.epoch);
  });

  it("a proposal the stream is already past (STALE) is made again past it", async () => {
    const { srv, deps, lose } = fakeServer({ epoch: "1000" });
    const leader = newLeader(deps);
    await leader.publish({ i: 1 });
    lose(0);
    srv.healFaults.push({
      error: new OpError("STALE", "the heal must go past the stream (at epoch 5000 seq 7)"),
      landed: false,
    });
    expect(await leader.publish({ i: 2 })).toEqual({ seq: 8, changed: true });
    // Seq past the stream's 7, epoch past its 5000 (the leader's clock is later still).
    expect(srv.heals.map((h) => h.seq)).toEqual([2, 8]);
    expect(BigInt(srv.heals[1]?.epoch ?? "0")).toBeGreaterThan(5000n);
    expect(leader.epoch).toBe(srv.heals[1]?.epoch);
  });

  it("gone (NOT_FOUND) and not stopped: re-made; stopped (a tombstone): the leader is gone and nothing is re-made", async () => {
    const { srv, deps } = fakeServer({ epoch: "1000" });
    const leader = newLeader(deps);
    await leader.publish({ i: 1 });
    srv.exists = false;
    srv.ops.clear();
    expect(await leader.publish({ i: 2 })).toEqual({ seq: 2, changed: true });
    expect(srv.exists).toBe(true);

    srv.exists = false;
    srv.tombstone = true;
    const statuses: string[] = [];
    leader.on("status", (s) => statuses.push(`${s.status}:${s.code}`));
    await expect(leader.publish({ i: 3 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(leader.status).toBe("stopped");
    expect(statuses).toEqual(["stopped:gone"]);
    expect(srv.exists).toBe(false);
  });

  it("an idle leader's heartbeat that hears BEHIND heals with the acknowledged state", async () => {
    const { srv, deps, lose } = fakeServer({ epoch: "1000" });
    const leader = new Leader(session({ epoch: "1000" }), { ...deps, heartbeatMs: 5 });
    await leader.publish({ i: 1 });
    await leader.publish({ i: 2 });
    lose(1);
    for (let i = 0; i < 200 && srv.heals.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await leader.flushed();
    expect(srv.applied.at(-1)).toMatchObject({ seq: 3, json: '{"i":2}', via: "heal" });
    expect(leader.seq).toBe(3);
    leader.close();
  });

  it("without a heal dep (as before heals), NOT_FOUND ends the leader", async () => {
    const { srv, deps } = fakeServer();
    const { heal: _none, ...noHeal } = deps;
    const leader = new Leader(session(), noHeal);
    await leader.publish({ i: 1 });
    srv.exists = false;
    await expect(leader.publish({ i: 2 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(leader.status).toBe("stopped");
  });

  it("its own stop is final: a NOT_FOUND after it is never healed", async () => {
    const { srv, deps } = fakeServer({ epoch: "1000" });
    const leader = newLeader(deps);
    await leader.publish({ i: 1 });
    await leader.stop();
    expect(leader.status).toBe("stopped");
    await expect(leader.publish({ i: 2 })).rejects.toMatchObject({ code: "CLOSED" });
    expect(srv.heals).toEqual([]);
  });
});
