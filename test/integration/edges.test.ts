/**
 * Edges of the stream functions through the real stack that the happy paths
 * do not reach: expiry that nobody swept yet, the error codes of stop,
 * publish and their refused calls changing nothing, the op id window, patch
 * checks, history 0, the connect modes a re-syncing follower meets (current,
 * went back, restarted), disconnect, and a restart under the same name.
 *
 * Some tests drive the functions directly (as a buggy leader or another
 * process would) with the client's own HTTP commander, so errors arrive typed.
 */
import { describe, expect, it } from "vitest";
import { httpCommander } from "../../src/core/http.ts";
import type { OpName } from "../../src/core/ops.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import type { Follower, RelayOptions } from "../../src/node.ts";
import { controlledFetch, creds, expectClean, recordAll, useStack } from "../faults/support.ts";
import { record, sleep, uniqueName, waitForSeq, waitForStatus, within } from "../support/util.ts";
import { expectCode, relayOn } from "./support.ts";

const fixture = useStack();
const { track } = fixture;
const redis = (...args: (string | number)[]) => fixture.stack.redis(...args);

const relayWith = (o: Partial<RelayOptions> = {}) => relayOn(fixture.stack, o);

/** One stream function called straight through the command door; resolves with the parsed reply. */
async function fcall(fn: OpName, name: string, args: string[]): Promise<Record<string, unknown>> {
  const raw = await httpCommander({ url: fixture.stack.webdisUrl }).call("FCALL", [
    fn,
    "1",
    baseKey(name),
    name,
    ...args,
  ]);
  return JSON.parse(String(raw)) as Record<string, unknown>;
}

async function meta(name: string): Promise<Record<string, string>> {
  const flat = (await redis("HGETALL", `${baseKey(name)}:meta`)) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

const storedState = async (name: string) => JSON.parse(String(await redis("GET", `${baseKey(name)}:state`)));
const logLength = async (name: string) => Number(await redis("LLEN", `${baseKey(name)}:log`));

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
async function rawStream(prefix: string) {
  const name = uniqueName(prefix);
  const token = randomHex(24);
  const [pw, code] = await Promise.all([
    deriveVerifier("password", name, creds.password),
    deriveVerifier("code", name, creds.code),
  ]);
  await fcall("relay_start", name, [pw, code, randomHex(24), token]);
  return {
    name,
    publish: (state: unknown, o: { op?: string; patch?: string; token?: string } = {}) =>
      fcall("relay_publish", name, [
        o.token ?? token,
        "1",
        o.op ?? randomHex(16),
        typeof state === "string" ? state : JSON.stringify(state),
        o.patch ?? "-",
      ]),
  };
}

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
    expect(await logLength(name)).toBe(0);
    expect(await storedState(name)).toEqual({});
    await expectCode(relay.connect(name, creds), "BAD_PASSWORD");
    const g = track(await relay.connect(name, { password: "new-pw" }));
    expect(g.state).toEqual({});
    expect(g.epoch).toBe(fresh.epoch);
    // The old leader's token belongs to the old instance: refused, nothing changes.
    await expectCode(old.publish({ v: "stale" }), "BAD_CODE");
    expect(await storedState(name)).toEqual({});
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
    const f = track(await relayWith().connect(s.name, creds));
    const seen = record(f);
    await waitForStatus(f, "live");
    await expectCode(s.publish({ v: "forged" }, { token: randomHex(24) }), "BAD_CODE");
    expect((await meta(s.name)).seq).toBe("1");
    expect(await storedState(s.name)).toEqual({ v: 1 });
    expect(await logLength(s.name)).toBe(1);
    // The next real change is seq 2: nothing was published in between.
    await s.publish({ v: 2 });
    await waitForSeq(f, 2);
    expect(seen.map((u) => [u.seq, u.state])).toEqual([[2, { v: 2 }]]);
  });

  it("op ids: the last 16 are recognised as retries; an older one counts as new", async () => {
    const s = await rawStream("ops");
    const ops = Array.from({ length: 17 }, () => randomHex(16));
    for (const [i, op] of ops.entries()) {
      expect(await s.publish({ n: i + 1 }, { op })).toEqual({ seq: i + 1, changed: true, duplicate: false });
    }
    // ops[1..16] are the 16 remembered: a retry of each returns its first seq and changes nothing.
    expect(await s.publish({ n: 2 }, { op: ops[1] })).toEqual({ seq: 2, changed: false, duplicate: true });
    expect(await s.publish({ n: 17 }, { op: ops[16] })).toEqual({ seq: 17, changed: false, duplicate: true });
    expect(await storedState(s.name)).toEqual({ n: 17 });
    // ops[0] left the window: a copy arriving this late is a new publish.
    expect(await s.publish({ n: 1 }, { op: ops[0] })).toEqual({ seq: 18, changed: true, duplicate: false });
    expect(await storedState(s.name)).toEqual({ n: 1 });
  });

  it("a patch over max_state is TOO_LARGE and changes nothing", async () => {
    const s = await rawStream("bigpatch");
    await withConfig({ max_state: 2000 }, async () => {
      const state = { text: "x".repeat(1500) };
      await s.publish(state);
      const patch = JSON.stringify([{ op: "replace", path: "/text", value: "y".repeat(2000) }]);
      await expectCode(s.publish({ text: "z" }, { patch }), "TOO_LARGE");
      expect((await meta(s.name)).seq).toBe("1");
      expect(await storedState(s.name)).toEqual(state);
      expect(await logLength(s.name)).toBe(1);
    });
  });

  it("a patch followers cannot read (unknown op, no path, no value, not an object) is INVALID and changes nothing", async () => {
    const s = await rawStream("shape");
    const state = { a: 1, text: "x".repeat(500) };
    await s.publish(state);
    const bad = [
      [{ op: "move", from: "/a", path: "/b" }],
      [{ op: "replace", value: 2 }],
      [{ op: "replace", path: "a", value: 2 }],
      [{ op: "add", path: "/b" }],
      [1],
      [{ op: "replace", path: "/a", value: 2 }, null],
    ];
    for (const patch of bad) {
      await expectCode(s.publish({ ...state, a: 2 }, { patch: JSON.stringify(patch) }), "INVALID");
    }
    expect((await meta(s.name)).seq).toBe("1");
    expect(await storedState(s.name)).toEqual(state);
    expect(await logLength(s.name)).toBe(1);
    // A well-formed patch is still taken.
    const good = JSON.stringify([{ op: "replace", path: "/a", value: 2 }]);
    expect(await s.publish({ ...state, a: 2 }, { patch: good })).toMatchObject({ seq: 2, changed: true });
  });

  it("a well-formed patch that does not apply to the follower's state: reset to the full state", async () => {
    const s = await rawStream("noapply");
    const state = { a: 1, text: "x".repeat(500) };
    await s.publish(state);
    const f = track(await relayWith().connect(s.name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    // The server cannot check that a patch applies; the follower refuses it and fetches the state.
    const patch = JSON.stringify([{ op: "replace", path: "/missing/x", value: 2 }]);
    expect(await s.publish({ ...state, a: 2 }, { patch })).toMatchObject({ seq: 2, changed: true });
    await waitForSeq(f, 2);
    expect(f.state).toEqual({ ...state, a: 2 });
    expect(reasons(rec, "reset")).toEqual(["delta does not apply"]);
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
    const pw = await deriveVerifier("password", name, creds.password);
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
    const parts = ["meta", "state", "log"];
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
    expect(rec.statuses).toEqual([{ status: "ended", previous: "live", reason: "disconnected" }]);
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
