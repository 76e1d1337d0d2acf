/**
 * The leader shell on the real seal (AES-GCM, real timers, backoff 0): what it
 * sends opens with the stream's key at the place it will take (name, epoch,
 * base + 1, kind) and stands for the state published; a retry resends the very
 * bytes (a real seal is random, so equal bytes mean the same sealed change);
 * NEED_STATE and STALE seal it again, whole; the snapshot hint makes the next
 * publish whole; an unchanged state sends nothing. The deps open each publish
 * as a follower would.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { openChange } from "../../src/core/content.ts";
import { OpError, RelayError, TimeoutError } from "../../src/core/errors.ts";
import type { Change } from "../../src/core/follower/delta.ts";
import {
  changeText,
  Leader,
  type LeaderDeps,
  type LeaderSession,
  type MakeChange,
  type PublishReply,
} from "../../src/core/leader.ts";
import { apply, type PatchOp } from "../../src/core/patch.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { sha1hex } from "../../src/core/sha1.ts";

let key: CryptoKey;
beforeAll(async () => {
  key = (await derivePasswordKeys("s", "pw", 1_000)).content;
});

const notes = "n".repeat(300); // big enough that a small edit goes as a patch
const plan = (v: number) => ({ v, notes });

interface Sent {
  op: string;
  base: number;
  kind: "s" | "p";
  content: string;
  /** Opened with the key at (name, epoch, base + 1, kind), as followers will; or why not. */
  opened: Change | RelayError;
  /** The state it stands for, on the base the session held. */
  json: string | undefined;
}

/**
 * Deps for a stream at `seq` holding `state`. `fail(n)` may give an error for the
 * n-th call (1-based), thrown after the call is recorded; `landed(n)`: the n-th call is
 * applied but its reply is lost (a timeout); `hint` is the reply's snapshot.
 */
function rig(
  o: {
    seq?: number;
    state?: unknown;
    snapshot?: boolean;
    fail?: (n: number) => Error | undefined;
    landed?: (n: number) => boolean;
    key?: CryptoKey;
    makeChange?: MakeChange;
  } = {},
) {
  const sent: Sent[] = [];
  let hint = false;
  const srv = { seq: o.seq ?? 0, ops: new Map<string, number>() };
  const deps: LeaderDeps = {
    heartbeatMs: 0,
    backoff: () => 0,
    async publish(s, op, body): Promise<PublishReply> {
      const env = {
        v: 2,
        t: "state",
        epoch: s.epoch,
        seq: body.base + 1,
        ts: 1,
        k: body.kind,
        c: body.content,
      } as const;
      const opened = await openChange(key, s.name, env).catch((e: RelayError) => e);
      let json: string | undefined;
      if (!(opened instanceof RelayError)) {
        json = opened.patch
          ? JSON.stringify(apply(JSON.parse(s.json), opened.patch as PatchOp[]))
          : JSON.stringify(opened.state);
        if (opened.patch) expect(opened.h).toBe(sha1hex(json));
      }
      sent.push({ op, base: body.base, kind: body.kind, content: body.content, opened, json });
      const err = o.fail?.(sent.length);
      if (err) throw err;
      const seen = srv.ops.get(op);
      if (seen !== undefined) return { seq: seen, changed: false, duplicate: true, snapshot: false };
      if (body.base !== srv.seq)
        throw new OpError("STALE", `the change builds on seq ${body.base} but the stream is at seq ${srv.seq}`);
      srv.seq++;
      srv.ops.set(op, srv.seq);
      if (o.landed?.(sent.length)) throw new TimeoutError("no reply (it landed)");
      return { seq: srv.seq, changed: true, duplicate: false, snapshot: hint };
    },
    async heartbeat() {},
    async stop() {},
    ...(o.makeChange ? { makeChange: o.makeChange } : {}),
  };
  const state = o.state ?? {};
  const session: LeaderSession = {
    name: "s",
    channel: "c",
    epoch: "4",
    term: 1,
    seq: o.seq ?? 0,
    state,
    json: JSON.stringify(state),
    key: o.key ?? key,
    snapshot: o.snapshot ?? false,
    token: "t",
    pass: "-",
  };
  return {
    sent,
    srv,
    leader: new Leader(session, deps),
    hint: (h: boolean) => {
      hint = h;
    },
  };
}

describe("leader on the real seal", () => {
  it("each publish opens with the key at (name, epoch, base + 1, kind): whole at first, then a patch", async () => {
    const { sent, leader } = rig();
    await leader.publish(plan(1));
    await leader.publish(plan(2));
    expect(sent.map((s) => [s.base, s.kind, s.json])).toEqual([
      [0, "s", JSON.stringify(plan(1))],
      [1, "p", JSON.stringify(plan(2))],
    ]);
    expect(sent.every((s) => !(s.opened instanceof RelayError))).toBe(true);
    expect(sent[1]?.content.length).toBeLessThan(JSON.stringify(plan(2)).length);
  });

  it("a retry of an in-doubt job sends byte-identical sealed content, with its op id", async () => {
    const { sent, leader } = rig({ state: plan(0), fail: (n) => (n <= 2 ? new TimeoutError("no reply") : undefined) });
    expect(await leader.publish(plan(1))).toEqual({ seq: 1, changed: true });
    expect(sent).toHaveLength(3);
    const [first, ...retries] = sent;
    for (const r of retries) expect([r.op, r.base, r.kind, r.content]).toEqual([first?.op, 0, "p", first?.content]);
  });

  it("NEED_STATE: the job goes again whole, with the same op id, sealed anew; the next edit is a patch again", async () => {
    const { sent, leader } = rig({
      seq: 5,
      state: plan(0),
      fail: (n) => (n === 1 ? new OpError("NEED_STATE", "the log is full; send a whole state") : undefined),
    });
    expect(await leader.publish(plan(1))).toEqual({ seq: 6, changed: true });
    const [refused, again] = sent;
    expect([refused?.kind, again?.kind, again?.base, again?.op]).toEqual(["p", "s", 5, refused?.op]);
    expect(again?.content).not.toBe(refused?.content);
    expect(again?.json).toBe(JSON.stringify(plan(1)));
    await leader.publish(plan(2));
    expect(sent.at(-1)?.kind).toBe("p");
  });

  it("STALE: sent again whole, sealed for the stream's seq (it opens there)", async () => {
    const { sent, srv, leader } = rig({ seq: 3, state: plan(0) });
    srv.seq = 9; // the stream moved behind the leader's back
    expect(await leader.publish(plan(1))).toEqual({ seq: 10, changed: true });
    expect(sent.map((s) => [s.base, s.kind, s.json])).toEqual([
      [3, "p", JSON.stringify(plan(1))],
      [9, "s", JSON.stringify(plan(1))],
    ]);
    expect(sent[1]?.opened).not.toBeInstanceOf(RelayError);
  });

  it("an unchanged state sends nothing and resolves changed: false", async () => {
    const { sent, leader } = rig({ seq: 2, state: plan(0) });
    expect(await leader.publish(plan(0))).toEqual({ seq: 2, changed: false });
    expect(sent).toHaveLength(0);
    await leader.publish(plan(1));
    expect(await leader.publish(structuredClone(plan(1)))).toEqual({ seq: 3, changed: false });
    expect(sent).toHaveLength(1);
  });

  it("the reply's snapshot: true makes the next publish whole; once it went, patches again", async () => {
    const { sent, leader, hint } = rig({ state: plan(0) });
    hint(true);
    await leader.publish(plan(1));
    hint(false);
    await leader.publish(plan(2));
    await leader.publish(plan(3));
    expect(sent.map((s) => s.kind)).toEqual(["p", "s", "p"]);
  });

  it("a whole state clears the hint even when its reply is a duplicate (which carries no hint)", async () => {
    const { sent, leader } = rig({ seq: 7, state: plan(0), snapshot: true, landed: (n) => n === 1 });
    expect(await leader.publish(plan(1))).toEqual({ seq: 8, changed: true });
    await leader.publish(plan(2));
    expect(sent.map((s) => [s.base, s.kind])).toEqual([
      [7, "s"],
      [7, "s"], // the retry, answered duplicate
      [8, "p"],
    ]);
  });

  it("after STALE for good, a state equal to the last acknowledged one still goes, whole", async () => {
    const stale = new OpError("STALE", "the change builds on seq 3 but the stream is at seq 3");
    const { sent, srv, leader } = rig({ seq: 3, state: plan(0), fail: (n) => (n <= 3 ? stale : undefined) });
    await expect(leader.publish(plan(1))).rejects.toMatchObject({ code: "STALE" });
    // The stream's state is not known to be ours any more: plan(0) may not be what it holds.
    srv.seq = 3;
    expect(await leader.publish(plan(0))).toEqual({ seq: 4, changed: true });
    expect(sent.at(-1)).toMatchObject({ base: 3, kind: "s", json: JSON.stringify(plan(0)) });
  });

  it("a session that starts with the snapshot hint (reconnect) sends a whole state first", async () => {
    const { sent, leader } = rig({ seq: 7, state: plan(0), snapshot: true });
    await leader.publish(plan(1));
    await leader.publish(plan(2));
    expect(sent.map((s) => [s.base, s.kind])).toEqual([
      [7, "s"],
      [8, "p"],
    ]);
  });

  it("a state that cannot be sealed here is a final SEALED error for its caller, never sent, the leader still live", async () => {
    // A key that cannot encrypt stands for a runtime without the crypto the seal needs.
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const { sent, leader } = rig({ key: hmac });
    const errors: string[] = [];
    leader.on("error", ({ error }) => errors.push(error.code));
    const err = await leader.publish(plan(1)).then(
      () => undefined,
      (e: RelayError) => e,
    );
    expect(err?.code).toBe("SEALED");
    expect(sent).toHaveLength(0);
    expect(errors).toEqual(["SEALED"]);
    expect(leader.status).toBe("live");
  });

  it("makeChange (a page's Worker): each change is made there from the acknowledged JSON and the next, and sent as made", async () => {
    const asked: [string, string][] = [];
    const { sent, leader } = rig({
      makeChange: (base, json) => {
        asked.push([base, json]);
        return changeText(base, json);
      },
    });
    for (const v of [1, 2, 3]) await leader.publish(plan(v));
    const json = (v: number) => JSON.stringify(plan(v));
    expect(asked).toEqual([
      ["{}", json(1)],
      [json(1), json(2)],
      [json(2), json(3)],
    ]);
    expect(sent.map((s) => [s.kind, s.json])).toEqual([
      ["s", json(1)],
      ["p", json(2)],
      ["p", json(3)],
    ]);
    // The acknowledged state was never parsed in the shell; read, it is the last one published.
    expect(leader.state).toEqual(plan(3));
  });

  it("a makeChange that fails or answers in another shape: the change is made here instead, the same", async () => {
    for (const make of [
      () => Promise.reject(new Error("worker gone")),
      () => Promise.resolve({ kind: "x", text: 1 } as never),
    ] as MakeChange[]) {
      const { sent, leader } = rig({ state: plan(0), makeChange: make });
      await leader.publish(plan(1));
      await leader.publish(plan(2));
      expect(sent.map((s) => [s.kind, s.json])).toEqual([
        ["p", JSON.stringify(plan(1))],
        ["p", JSON.stringify(plan(2))],
      ]);
    }
  });
});
