/**
 * Edges of the stream functions through the real stack that the happy paths
 * do not reach: expiry that nobody swept yet, the error codes of stop,
 * publish and their refused calls changing nothing, the op id window and the
 * base seq, sealed content's form, changes followers cannot open or apply,
 * history 0, the connect modes a re-syncing follower meets (current, went
 * back, restarted), disconnect, and a restart under the same name.
 *
 * Some tests drive the functions directly (as a buggy leader or another
 * process would) with the client's own HTTP commander, so errors arrive typed;
 * what they publish is sealed with the password's real key (support.ts
 * sealedStream), so followers open it. Redis holds only sealed text: what a
 * stream's plan is, a follower tells.
 */
import { describe, expect, it } from "vitest";
import { patchChange, sealChange, wholeState } from "../../src/core/content.ts";
import type { OpName } from "../../src/core/ops.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import type { Follower, RelayOptions } from "../../src/node.ts";
import { controlledFetch, creds, expectClean, recordAll, until, useStack } from "../faults/support.ts";
import { record, sleep, uniqueName, waitForSeq, waitForStatus, within } from "../support/util.ts";
import { expectCode, fcallOn, relayOn, sealedStream, storedChanges } from "./support.ts";

const fixture = useStack();
const { track } = fixture;
const redis = (...args: (string | number)[]) => fixture.stack.redis(...args);

const relayWith = (o: Partial<RelayOptions> = {}) => relayOn(fixture.stack, o);

const fcall = (fn: OpName, name: string, args: string[]) => fcallOn(fixture.stack, fn, name, args);

async function meta(name: string): Promise<Record<string, string>> {
  const flat = (await redis("HGETALL", `${baseKey(name)}:meta`)) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

const stored = (name: string) => storedChanges(fixture.stack, name);
const logLength = async (name: string) => Number(await redis("LLEN", `${baseKey(name)}:log`));

/** The stream's plan and seq as a follower joining now sees them. */
async function plan(name: string): Promise<[number, unknown]> {
  const f = await relayWith().connect(name, creds);
  f.disconnect();
  return [f.seq, f.state];
}

/** Operator overrides in relay:config for the length of `fn` (tests in a file run one at a time). */
async function withConfig<T>(fields: Record<string, number>, fn: () => Promise<T>): Promise<T> {
  await redis("HSET", "relay:config", ...Object.entries(fields).flat());
  try {
    return await fn();
  } finally {
    await redis("HDEL", "relay:config", ...Object.keys(fields));
  }
}

/** Waits (bounded) until the stream's idle deadline is behind the server's clock. */
async function untilExpired(name: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const [s, us] = (await redis("TIME")) as [string, string];
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const deadline = (await meta(name)).deadline;
    if (deadline === undefined) throw new Error(`stream ${name} is gone (swept) before the test could see it expired`);
    if (Number(deadline) < now) return;
    if (Date.now() > end) throw new Error(`stream ${name} did not expire`);
    await sleep(50);
  }
}

/** A stream started with a token the test knows, so it can publish as the leader (or as a buggy one). */
const rawStream = (prefix: string) => sealedStream(fixture.stack, prefix, creds);

/**
 * A relay whose followers' subscriptions (HTTP stream) the test can cut and
 * hold back, as if the link went down for a while; commands pass untouched.
 */
function severable() {
  const ctl = controlledFetch();
  let gate: Promise<void> | undefined;
  let release = () => {};
  const gated: typeof fetch = async (input, init) => {
    if (typeof init?.body === "string" && init.body.startsWith("SUBSCRIBE/")) await gate;
    return ctl.fetch(input, init);
  };
  return {
    relay: relayWith({ fetch: gated, transports: ["http-stream"] }),
    /** Cuts the subscriptions and holds new ones back until reopen(). */
    async cut(f: Follower) {
      gate = new Promise((r) => (release = r));
      ctl.severStreams();
      await waitForStatus(f, "offline");
    },
    reopen() {
      release();
      gate = undefined;
    },
  };
}

const reasons = (rec: ReturnType<typeof recordAll>, status: string) =>
  rec.statuses.filter((s) => s.status === status).map((s) => s.reason);

describe("expiry", () => {
  it("start over an expired name nobody swept yet: old followers get ended (expired), the new stream starts clean", async () => {
    const relay = relayWith();
    const name = uniqueName("expired");
    // Every write moves the deadline by idle_ttl, so the publishes run under it too.
    const old = await withConfig({ idle_ttl: 1 }, async () => {
      const l = await relay.start(name, creds);
      await l.publish({ v: "old", n: 1 });
      await l.publish({ v: "old", n: 2 });
      return l;
    });
    const f = track(await relay.connect(name, creds));
    await waitForStatus(f, "live");
    const ended = new Promise((r) => f.on("ended", r));
    await untilExpired(name);
    // Expired is absent at once, but no write has swept it: its keys are still there.
    expect(await redis("EXISTS", `${baseKey(name)}:meta`)).toBe(1);
    expect(await redis("ZSCORE", "relay:index", name)).not.toBeNull();
    await expectCode(relay.connect(name, creds), "NOT_FOUND");

    const fresh = track(await relay.start(name, { password: "new-pw", code: "new-code" }));
    expect(fresh.seq).toBe(0);
    expect(fresh.epoch).not.toBe(old.epoch);
    expect(await within(ended, 5_000, "ended")).toEqual({ reason: "expired" });
    expect(await stored(name)).toEqual({ snap: null, log: [] });
    await expectCode(relay.connect(name, creds), "BAD_PASSWORD");
    const g = track(await relay.connect(name, { password: "new-pw" }));
    expect(g.state).toEqual({});
    expect(g.epoch).toBe(fresh.epoch);
    // The old leader's token belongs to the old instance: refused, nothing changes.
    await expectCode(old.publish({ v: "stale" }), "BAD_CODE");
    expect(await stored(name)).toEqual({ snap: null, log: [] });
    expect((await meta(name)).seq).toBe("0");
  });

  it("list hides an expired stream that is not swept yet", async () => {
    const relay = relayWith();
    const prefix = uniqueName("listexp");
    // -b first: a start sweeps expired streams, and on a loaded box starting -b
    // after -a could come later than -a's 1 s and sweep it (CI run 24).
    track(await relay.start(`${prefix}-b`, creds));
    const gone = await withConfig({ idle_ttl: 1 }, () => relay.start(`${prefix}-a`, creds));
    track(gone);
    await untilExpired(`${prefix}-a`);
    const page = await relay.list({ cursor: prefix, count: 10 });
    expect(page.streams.map((s) => s.name).filter((n) => n.startsWith(prefix))).toEqual([`${prefix}-b`]);
    // Still in the index (nothing swept it): list itself filters it out.
    expect(await redis("ZSCORE", "relay:index", `${prefix}-a`)).not.toBeNull();
  });
});

describe("error codes that change nothing", () => {
  it("stop: NOT_FOUND for an unknown name and for a stream another leader already stopped", async () => {
    const relay = relayWith();
    const missing = uniqueName("nostop");
    await expectCode(fcall("relay_stop", missing, [await deriveVerifier("code", missing, "x")]), "NOT_FOUND");
    const name = uniqueName("stopped");
    const first = track(await relay.start(name, creds));
    const second = await relay.reconnect(name, creds);
    await second.stop();
    const statuses: string[] = [];
    first.on("status", (e) => statuses.push(`${e.status}:${e.reason}`));
    await expectCode(first.stop(), "NOT_FOUND");
    expect(await redis("EXISTS", `${baseKey(name)}:meta`)).toBe(0);
    // The stream is gone either way: this leader is stopped too, as after a publish that meets NOT_FOUND.
    expect(statuses).toEqual(["stopped:the stream no longer exists"]);
    await expectCode(first.publish({ n: 1 }), "CLOSED");
  });

  it("publish with a wrong leader token: BAD_CODE, nothing stored or sent", async () => {
    const s = await rawStream("token");
    await s.publish({ v: 1 });
    const before = await stored(s.name);
    expect(before.snap).not.toBeNull();
    const f = track(await relayWith().connect(s.name, creds));
    const seen = record(f);
    await waitForStatus(f, "live");
    await expectCode(s.publish({ v: "forged" }, { token: randomHex(24) }), "BAD_CODE");
    expect((await meta(s.name)).seq).toBe("1");
    expect(await stored(s.name)).toEqual(before);
    // The next real change is seq 2: nothing was published in between.
    await s.publish({ v: 2 });
    await waitForSeq(f, 2);
    expect(seen.map((u) => [u.seq, u.state])).toEqual([[2, { v: 2 }]]);
  });

  it("op ids: the last 16 are recognised as retries; an older one counts as new, but never lands on an old base", async () => {
    const s = await rawStream("ops");
    const ops = Array.from({ length: 17 }, () => randomHex(16));
    const applied = { changed: true, duplicate: false, snapshot: false };
    for (const [i, op] of ops.entries()) {
      expect(await s.publish({ n: i + 1 }, { op })).toEqual({ seq: i + 1, ...applied });
    }
    // ops[1..16] are the 16 remembered: a retry of each (on its own base) returns its first seq and changes nothing.
    const dup = { changed: false, duplicate: true, snapshot: false };
    expect(await s.publish({ n: 2 }, { op: ops[1], base: 1 })).toEqual({ seq: 2, ...dup });
    expect(await s.publish({ n: 17 }, { op: ops[16], base: 16 })).toEqual({ seq: 17, ...dup });
    expect(await plan(s.name)).toEqual([17, { n: 17 }]);
    // ops[0] left the window, but a copy arriving this late builds on seq 0: STALE, nothing changes.
    const err = await expectCode(s.publish({ n: 1 }, { op: ops[0], base: 0 }), "STALE");
    expect(err.message).toMatch(/seq 17\b/);
    expect(await plan(s.name)).toEqual([17, { n: 17 }]);
    // On the stream's seq it is a new publish.
    expect(await s.publish({ n: 1 }, { op: ops[0] })).toEqual({ seq: 18, ...applied });
    expect(await plan(s.name)).toEqual([18, { n: 1 }]);
  });

  it("a change or a state sealed over max_state is TOO_LARGE and changes nothing", async () => {
    const s = await rawStream("bigpatch");
    // Random text: sealing deflates texts of 1 KiB or more, and this must stay large.
    const state = { text: randomHex(400) }; // about 1,100 sealed bytes
    await withConfig({ max_state: 2000 }, async () => {
      await s.publish(state);
      const before = await stored(s.name);
      const big = { text: randomHex(2000) };
      const patch = [{ op: "replace", path: "/text", value: big.text }];
      await expectCode(s.publish(big, { patch }), "TOO_LARGE");
      await expectCode(s.publish(big), "TOO_LARGE");
      expect((await meta(s.name)).seq).toBe("1");
      expect(await stored(s.name)).toEqual(before);
    });
    expect(await plan(s.name)).toEqual([1, state]);
  });

  it("content that is not sealed (not base64url, too short), an unknown kind or a base that is no integer: INVALID, nothing changes", async () => {
    const s = await rawStream("form");
    await s.publish({ a: 1 });
    const before = await stored(s.name);
    const sealed = await s.seal(wholeState('{"a":2}'));
    const bad: Parameters<typeof s.publish>[1][] = [
      { content: `${sealed.slice(0, 40)}+/${sealed.slice(42)}` }, // standard base64, not base64url
      { content: `${sealed.slice(0, 40)}=` },
      { content: '{"a":2}' }, // a plaintext plan
      { content: "A".repeat(37) }, // shorter than an empty plaintext's seal
      { content: sealed, kind: "x" },
      { content: sealed, kind: "" },
      { base: "1.5" },
      { base: "one" },
    ];
    for (const o of bad) await expectCode(s.publish({ a: 2 }, o), "INVALID");
    expect((await meta(s.name)).seq).toBe("1");
    expect(await stored(s.name)).toEqual(before);
    // Well-formed, it is taken (Lua checks the form only; a follower opens it).
    expect(await s.publish({ a: 2 }, { content: sealed })).toMatchObject({ seq: 2, changed: true });
    expect(await plan(s.name)).toEqual([2, { a: 2 }]);
  });

  it("a change followers cannot open or read (forged, another key or seq, not a patch or a state) is never applied", async () => {
    const s = await rawStream("unread");
    await s.publish({ a: 1, text: "x".repeat(500) });
    const f = track(await relayWith().connect(s.name, creds));
    const rec = recordAll(f);
    const errors: string[] = [];
    f.on("error", (e) => errors.push(e.error.code));
    await waitForStatus(f, "live");
    const other = await derivePasswordKeys(s.name, "another password");
    const patch = (p: unknown) => patchChange('{"a":2}', JSON.stringify(p));
    // Each one is sealed content Lua must take as it is; none may reach the plan.
    const unreadable: (() => Promise<{ kind: string; content: string }>)[] = [
      async () => ({ kind: "s", content: "A".repeat(60) }),
      async () => ({
        kind: "s",
        content: await sealChange(
          other.content,
          { name: s.name, epoch: s.epoch, seq: s.seq + 1 },
          wholeState('{"a":2}'),
        ),
      }),
      async () => ({ kind: "s", content: await s.seal(wholeState('{"a":2}'), s.seq + 1) }), // sealed for the seq after
      async () => ({ kind: "p", content: await s.seal(wholeState('{"a":2}')) }), // a state, sent as a patch
      async () => ({ kind: "s", content: await s.seal(wholeState("[1,2]")) }), // not an object
      async () => ({ kind: "p", content: await s.seal(patch([{ op: "move", from: "/a", path: "/b" }])) }),
      async () => ({ kind: "p", content: await s.seal(patch([{ op: "replace", value: 2 }])) }),
      async () => ({ kind: "p", content: await s.seal(patch([1])) }),
      async () => ({ kind: "p", content: await s.seal({ kind: "p", text: '{"patch":[]}' }) }), // no result hash
    ];
    for (const [i, make] of unreadable.entries()) {
      const seq = s.seq;
      const state = f.state;
      const bad = await make();
      expect(await s.publish({}, bad), `case ${i}`).toMatchObject({ seq: seq + 1, changed: true });
      await until(`case ${i} refused`, () => errors.includes("SEALED"));
      expect([f.seq, f.state], `case ${i}`).toEqual([seq, state]);
      // The next whole state brings the follower on.
      errors.length = 0;
      await s.publish({ a: 1, after: i });
      await waitForSeq(f, seq + 2, 10_000);
      expect(f.state).toEqual({ a: 1, after: i });
    }
    expect(rec.updates.map((u) => u.seq)).toEqual(unreadable.map((_, i) => 3 + 2 * i));
    await waitForStatus(f, "live");
    expectClean(rec);
  });

  it("a well-formed patch that does not apply to the follower's state: never shown, the next whole state resets it", async () => {
    const s = await rawStream("noapply");
    const state = { a: 1, text: "x".repeat(500) };
    await s.publish(state);
    const f = track(await relayWith().connect(s.name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    // The server cannot check that a patch applies (it cannot even read it); the follower refuses it.
    const patch = [{ op: "replace", path: "/missing/x", value: 2 }];
    expect(await s.publish({ ...state, a: 2 }, { patch })).toMatchObject({ seq: 2, changed: true });
    await until("the follower to refuse the patch", () =>
      rec.statuses.some((e) => e.reason === "delta does not apply"),
    );
    expect([f.seq, f.state]).toEqual([1, state]);
    // Nobody can fold the stream past that patch: the follower waits for a whole state.
    await s.publish({ ...state, a: 3 });
    await waitForSeq(f, 3, 10_000);
    expect(f.state).toEqual({ ...state, a: 3 });
    expect(reasons(rec, "reset")).toEqual(["delta does not apply"]);
    expect(rec.updates.map((u) => u.seq)).toEqual([3]);
    await waitForStatus(f, "live");
    expectClean(rec);
  });

  it("heartbeat: NOT_FOUND for a stream that does not exist", async () => {
    const name = uniqueName("nobeat");
    await expectCode(fcall("relay_heartbeat", name, [randomHex(24), "1"]), "NOT_FOUND");
  });
});

describe("history 0", () => {
  it("nothing is kept: a late follower gets the state at once, a follower that missed changes resets", async () => {
    const sev = severable();
    const name = uniqueName("nohist");
    await withConfig({ history: 0 }, async () => {
      const leader = track(await sev.relay.start(name, creds));
      await leader.publish({ n: 1 });
      const f = track(await sev.relay.connect(name, creds));
      const rec = recordAll(f);
      await waitForStatus(f, "live");
      await leader.publish({ n: 2 });
      await waitForSeq(f, 2); // live updates still flow
      await sev.cut(f);
      await leader.publish({ n: 3 });
      await leader.publish({ n: 4 });
      expect(await logLength(name)).toBe(0);
      const late = track(await relayWith().connect(name, creds));
      expect([late.seq, late.state]).toEqual([4, { n: 4 }]);
      sev.reopen();
      await waitForSeq(f, 4);
      expect(f.state).toEqual({ n: 4 });
      expect(reasons(rec, "reset")).toEqual(["history too short"]);
      expect(rec.updates.map((u) => u.seq)).toEqual([2, 4]);
      await waitForStatus(f, "live");
      expectClean(rec);
    });
  });
});

describe("what a re-syncing follower meets", () => {
  it("connect mode current: a follower already up to date gets no state, only live", async () => {
    const replies: string[] = [];
    const tap: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(init?.body).startsWith("FCALL/relay_connect/")) replies.push(await res.clone().text());
      return res;
    };
    const relay = relayWith({ fetch: tap, transports: ["http-stream"] });
    const name = uniqueName("current");
    const leader = track(await relay.start(name, creds));
    await leader.publish({ n: 1 });
    const f = track(await relay.connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    const modes = replies.map((r) => JSON.parse(JSON.parse(r).FCALL).mode);
    // First contact is full; the sync after subscribing finds the follower current.
    expect(modes).toEqual(["full", "current"]);
    expect(rec.updates).toEqual([]);
    expect(rec.path()).toEqual(["live"]);
    // And straight through the function, with the follower's epoch and seq.
    const pw = (await derivePasswordKeys(name, creds.password)).verifier;
    const r = await fcall("relay_connect", name, [pw, String(f.epoch), "1"]);
    expect(r).toMatchObject({ mode: "current", seq: 1, epoch: f.epoch });
    expect(r).not.toHaveProperty("state");
    expect(r).not.toHaveProperty("changes");
  });

  it("the stream went back (restored from an older copy): the re-syncing follower resets to it", async () => {
    const sev = severable();
    const name = uniqueName("wentback");
    const leader = track(await sev.relay.start(name, creds));
    await leader.publish({ n: 1 });
    await leader.publish({ n: 2 });
    // A copy of the stream at seq 2, as a lagging replica or a backup holds it.
    const parts = ["meta", "snap", "log"];
    for (const p of parts) await redis("COPY", `${baseKey(name)}:${p}`, `${baseKey(name)}:${p}:bak`, "REPLACE");
    await leader.publish({ n: 3 });
    await leader.publish({ n: 4 });
    const f = track(await sev.relay.connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    expect(f.seq).toBe(4);
    await sev.cut(f);
    for (const p of parts) {
      await redis("COPY", `${baseKey(name)}:${p}:bak`, `${baseKey(name)}:${p}`, "REPLACE");
      await redis("DEL", `${baseKey(name)}:${p}:bak`);
    }
    sev.reopen();
    await waitForStatus(f, "reset");
    expect(reasons(rec, "reset")).toEqual(["stream went back"]);
    await waitForStatus(f, "live");
    expect([f.seq, f.state]).toEqual([2, { n: 2 }]);
    // The stream goes on from there, and the follower with it.
    await leader.publish({ n: 5 });
    await waitForSeq(f, 3);
    expect(f.state).toEqual({ n: 5 });
  });

  it("the stream was restarted while the follower was away (it missed ended): reset onto the new one", async () => {
    const sev = severable();
    const name = uniqueName("restarted");
    const leader = await sev.relay.start(name, creds);
    await leader.publish({ gen: 1 });
    const f = track(await sev.relay.connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    const oldEpoch = f.epoch;
    await sev.cut(f);
    await leader.stop();
    // Same name, same password: the follower's verifier still fits the new instance.
    const next = track(await sev.relay.start(name, { password: creds.password, code: "other-code" }));
    await next.publish({ gen: 2 });
    sev.reopen();
    await waitForStatus(f, "reset");
    expect(reasons(rec, "reset")).toEqual(["stream restarted"]);
    await waitForStatus(f, "live");
    expect(f.epoch).toBe(next.epoch);
    expect(f.epoch).not.toBe(oldEpoch);
    expect(f.state).toEqual({ gen: 2 });
    // It listens on the new instance's channel now.
    await next.publish({ gen: 2, more: true });
    await waitForSeq(f, 2);
    expect(f.state).toEqual({ gen: 2, more: true });
    expect(f.status).toBe("live");
  });
});

describe("followers leaving and streams coming back", () => {
  it("disconnect: ended with reason disconnected, the subscription is closed, later changes are not applied", async () => {
    const relay = relayWith();
    const name = uniqueName("bye");
    const leader = track(await relay.start(name, creds));
    await leader.publish({ n: 1 });
    const f = await relay.connect(name, creds);
    const witness = track(await relay.connect(name, creds));
    await Promise.all([waitForStatus(f, "live"), waitForStatus(witness, "live")]);
    const rec = recordAll(f);
    const ended: unknown[] = [];
    f.on("ended", (e) => ended.push(e));
    const it = f[Symbol.asyncIterator]();
    await it.next(); // the current state
    f.disconnect();
    expect(f.status).toBe("ended");
    expect(rec.statuses).toMatchObject([{ status: "ended", previous: "live", reason: "disconnected" }]);
    expect(ended).toEqual([{ reason: "disconnected" }]);
    expect(f.transport).toBeUndefined();
    expect((await it.next()).done).toBe(true);
    await leader.publish({ n: 2 });
    await waitForSeq(witness, 2);
    await sleep(100);
    expect([f.seq, f.state]).toEqual([1, { n: 1 }]);
    expect(rec.updates).toEqual([]);
    f.disconnect(); // twice is harmless
    expect(ended).toHaveLength(1);
  });

  it("restart under the same name: followers of the old stream end, new followers see the new one", async () => {
    const relay = relayWith();
    const name = uniqueName("again");
    const first = await relay.start(name, creds);
    await first.publish({ gen: 1 });
    const oldFollower = track(await relay.connect(name, creds));
    await waitForStatus(oldFollower, "live");
    const seen = record(oldFollower);
    const ended = new Promise((r) => oldFollower.on("ended", r));
    await first.stop();
    expect(await within(ended, 5_000, "ended")).toEqual({ reason: "stopped" });
    // Even with the very same password, the old follower stays ended.
    const second = track(await relay.start(name, creds));
    expect(second.epoch).not.toBe(first.epoch);
    await second.publish({ gen: 2 });
    const newFollower = track(await relay.connect(name, creds));
    expect([newFollower.seq, newFollower.state, newFollower.epoch]).toEqual([1, { gen: 2 }, second.epoch]);
    await waitForStatus(newFollower, "live");
    await second.publish({ gen: 2, n: 2 });
    await waitForSeq(newFollower, 2);
    expect(oldFollower.status).toBe("ended");
    expect([oldFollower.seq, oldFollower.state, oldFollower.epoch]).toEqual([1, { gen: 1 }, first.epoch]);
    expect(seen).toEqual([]);
    await expectCode(first.publish({ gen: "stale" }), "CLOSED");
  });
});
