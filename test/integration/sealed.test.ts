/**
 * Sealed plans end to end (issue 14), on the real stack: what a follower
 * refuses (a wrong content key, a change moved to another seq or stream, a
 * change that opens but is no plan), what a refused publish leaves behind
 * (nothing), and that a joiner after 1,000 small edits of a 200 KB plan ends
 * on the very state of a follower that watched them all, for a few hundred
 * KB of download.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openChange, openReply, sealChange } from "../../src/core/content.ts";
import { Follower } from "../../src/core/follower.ts";
import { httpCommander } from "../../src/core/http.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { sha1hex } from "../../src/core/sha1.ts";
import { baseKey, connectReply } from "../../src/core/wire.ts";
import type { Relay } from "../../src/node.ts";
import { fastBackoff } from "../faults/support.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitFor, waitForSeq, waitForStatus } from "../support/util.ts";
import { expectCode, relayOn } from "./support.ts";

let stack: Stack;
let relay: Relay;
const open: { disconnect(): void }[] = [];
// Low but equal on both sides: the keys, not their cost, are under test here.
const ITER = 100_000;

beforeAll(async () => {
  stack = await startStack({ aof: false });
  relay = relayOn(stack, { iterations: ITER });
});
afterAll(async () => {
  for (const f of open) f.disconnect();
  await stack?.stop();
});

/** The stream's keys as Redis holds them: a refused call must leave them byte for byte. */
async function dump(name: string) {
  const b = baseKey(name);
  return {
    meta: await stack.redis("HGETALL", `${b}:meta`),
    snap: await stack.redis("GET", `${b}:snap`),
    log: await stack.redis("LRANGE", `${b}:log`, 0, -1),
  };
}

function rawConnect(name: string, verifier: string) {
  const http = httpCommander({ url: stack.webdisUrl, backoff: fastBackoff });
  return async (epoch: string | undefined, last: number) => {
    const raw = await http.call("FCALL", [
      "relay_connect",
      "1",
      baseKey(name),
      name,
      verifier,
      epoch ?? "-",
      String(last),
      "-",
    ]);
    return connectReply.parse(JSON.parse(String(raw)));
  };
}

const plan = (n: number, title = "Sealed") => ({
  title,
  waypoints: Array.from({ length: n }, (_, i) => ({ id: `wp-${i}`, name: `Waypoint ${i}`, x: i * 1.5, y: i % 37 })),
});

describe("sealed plans", () => {
  it("a follower with the right verifier but another content key gets SEALED and no state", async () => {
    const name = uniqueName("wrongkey");
    const leader = await relay.start(name, { password: "right-pw", code: "code" });
    await leader.publish({ ...plan(5), secret: "canary-wrongkey" });
    const right = await derivePasswordKeys(name, "right-pw", ITER);
    const other = await derivePasswordKeys(name, "other-pw", ITER);
    const connect = rawConnect(name, right.verifier);
    // The server lets the verifier in...
    expect((await connect(undefined, 0)).mode).toBe("full");
    // ...but with a key the password did not make, the plan does not open: a typed error, no state.
    const states: unknown[] = [];
    const f = new Follower({
      name,
      subscribers: [],
      staleAfterMs: 45_000,
      backoff: fastBackoff,
      sync: async (e, s) => openReply(other.content, name, await connect(e, s)),
      open: (env) => openChange(other.content, name, env),
    });
    f.on("state", (u) => states.push(u.state));
    const err = await expectCode(f.open(), "SEALED");
    expect(err.message).not.toContain("canary");
    expect(f.state).toBeUndefined();
    expect(states).toEqual([]);
    // The right key opens the same reply.
    const opened = await openReply(right.content, name, await connect(undefined, 0));
    expect(opened.mode === "full" && (opened.state as { secret: string }).secret).toBe("canary-wrongkey");
    leader.close();
  });

  it("a change moved to another seq, replayed from another stream, or opening to no plan is refused and never applied", async () => {
    const name = uniqueName("replay");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    // A second stream with the same password: its changes must not open here either.
    const otherName = uniqueName("replay-other");
    const otherLeader = await relay.start(otherName, { password: "pw", code: "code" });
    await otherLeader.publish(plan(3, "other"));
    await otherLeader.publish({ ...plan(3, "other"), moved: true });

    await leader.publish(plan(4, "A"));
    await leader.publish({ ...plan(4, "A"), step: 2 });
    const f = await relay.connect(name, { password: "pw" });
    open.push(f);
    await waitForStatus(f, "live");
    expect(f.seq).toBe(2);
    const errors: string[] = [];
    const codes: string[] = [];
    const applied: number[] = [];
    f.on("error", ({ error }) => errors.push(error.code));
    f.on("status", (s) => codes.push(s.code));
    f.on("state", (u) => applied.push(u.seq));

    const b = baseKey(name);
    const channel = String(await stack.redis("HGET", `${b}:meta`, "channel"));
    const log = (await stack.redis("LRANGE", `${b}:log`, 0, -1)) as string[];
    const otherLog = (await stack.redis("LRANGE", `${baseKey(otherName)}:log`, 0, -1)) as string[];
    const last = JSON.parse(log[log.length - 1] as string);
    // 1. The newest real change, relabelled as the next seq (a replay at another place).
    const moved = JSON.stringify({ ...last, seq: 3 });
    // 2. Another stream's change, labelled as ours (same password, other name).
    const foreign = JSON.stringify({
      ...JSON.parse(otherLog[otherLog.length - 1] as string),
      epoch: last.epoch,
      seq: 3,
    });
    // 3. Sealed right, for the right place, but not a patch: refused after opening.
    const keys = await derivePasswordKeys(name, "pw", ITER);
    const bogus = await sealChange(
      keys.content,
      { name, epoch: last.epoch, seq: 3 },
      { kind: "p", text: '{"h":"x","patch":[{"op":"move"}]}' },
    );
    const notPlan = JSON.stringify({ ...last, seq: 3, k: "p", c: bogus });
    for (const payload of [moved, foreign, notPlan]) {
      const before = errors.length;
      // Straight into the channel, as a door or Redis under an attacker's control could.
      await stack.redis("PUBLISH", channel, payload);
      await waitFor(f, () => undefined, 50).catch(() => {});
      for (let i = 0; i < 100 && errors.length === before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(errors.length, "each forged change is reported").toBe(before + 1);
    }
    expect(errors).toEqual(["SEALED", "SEALED", "SEALED"]);
    expect(codes).toContain("sealed-refused");
    expect(applied).toEqual([]);
    expect(f.seq).toBe(2);
    expect((f.state as { step: number }).step).toBe(2);
    // The stream goes on: the real seq 3 is applied.
    await leader.publish({ ...plan(4, "A"), step: 3 });
    await waitForSeq(f, 3, 10_000);
    expect((f.state as { step: number }).step).toBe(3);
    leader.close();
    otherLeader.close();
  });

  it("a refused publish (wrong base seq, bad seq, bad kind, unsealed, short or oversized content) is a typed error and changes nothing", async () => {
    const name = uniqueName("refused");
    const http = httpCommander({ url: stack.webdisUrl, backoff: fastBackoff });
    const fcall = (fn: string, args: string[]) => http.call("FCALL", [fn, "1", baseKey(name), name, ...args]);
    // Started by hand, so the test holds the leader's token.
    const pw = await derivePasswordKeys(name, "pw", ITER);
    const code = await deriveVerifier("code", name, "code", ITER);
    const token = randomHex(24);
    await fcall("relay_start", [pw.verifier, code, randomHex(24), token]);
    const sealed = (n: number) => "A".repeat(n);
    const publish = (base: string, kind: string, content: string, term = "1") =>
      fcall("relay_publish", [token, term, randomHex(16), base, kind, content]);
    await publish("0", "s", sealed(400));
    await publish("1", "p", sealed(60));
    const before = await dump(name);
    expect(before.log).toHaveLength(1);
    const refusals: [() => Promise<unknown>, string][] = [
      [() => publish("1", "p", sealed(60)), "STALE"], // builds on seq 1, the stream is at 2
      [() => publish("3", "p", sealed(60)), "STALE"],
      [() => publish("-", "p", sealed(60)), "INVALID"], // a publish must name its base
      [() => publish("x", "p", sealed(60)), "INVALID"],
      [() => publish("2", "q", sealed(60)), "INVALID"],
      [() => publish("2", "p", `${sealed(60)}+/=`), "INVALID"], // not base64url
      [() => publish("2", "p", '{"waypoints":[]}'), "INVALID"], // plain JSON is not sealed content
      [() => publish("2", "p", sealed(37)), "INVALID"], // shorter than an IV and a tag
      [() => publish("2", "s", sealed(1_048_577)), "TOO_LARGE"],
      [() => publish("2", "p", sealed(60), "2"), "LEADER_REPLACED"],
    ];
    for (const [call, code] of refusals) await expectCode(call(), code);
    expect(await dump(name)).toEqual(before);
    // The same call with the right base goes through.
    await publish("2", "p", sealed(60));
    expect(((await dump(name)).log as string[]).length).toBe(2);
  });

  it("a follower joining after 1,000 small edits of a 200 KB plan gets the state of one that watched them all", async () => {
    const name = uniqueName("joiner");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    const big = {
      title: "Survey",
      waypoints: Array.from({ length: 1000 }, (_, i) => ({
        id: `wp-${i}`,
        name: `Waypoint ${i} ${".".repeat(120)}`,
        lat: 47.3 + i / 1e4 + 1e-15 * i,
        lon: 8.5 + i / 3e4,
      })),
    };
    let state = big;
    await leader.publish(state);
    const watcher = await relay.connect(name, { password: "pw" });
    open.push(watcher);
    await waitForStatus(watcher, "live");
    for (let i = 0; i < 1000; i++) {
      const waypoints = state.waypoints.slice();
      const j = (i * 37) % waypoints.length;
      const wp = waypoints[j] as (typeof waypoints)[number];
      waypoints[j] = { ...wp, lat: wp.lat + 1e-6 };
      state = { ...state, waypoints };
      await leader.publish(state);
    }
    const want = sha1hex(JSON.stringify(state));
    expect(JSON.stringify(state).length).toBeGreaterThan(190_000);
    await waitForSeq(watcher, leader.seq, 60_000);
    let bytes = 0;
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = await res.arrayBuffer();
      bytes += body.byteLength;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const joiner = await relayOn(stack, { iterations: ITER, fetch: counting, transports: ["websocket"] }).connect(
      name,
      {
        password: "pw",
      },
    );
    open.push(joiner);
    console.log(
      `[sealed] joiner after 1,000 edits of a ${JSON.stringify(state).length}-byte plan downloaded ${bytes} bytes ` +
        `(seq ${joiner.seq}, snapshot at ${await stack.redis("HGET", `${baseKey(name)}:meta`, "snap_seq")})`,
    );
    expect(joiner.seq).toBe(leader.seq);
    expect(sha1hex(JSON.stringify(joiner.state))).toBe(want);
    expect(sha1hex(JSON.stringify(watcher.state))).toBe(want);
    // Numbers reach followers unchanged, to the last digit.
    expect((joiner.state as typeof big).waypoints[999]?.lat).toBe(state.waypoints[999]?.lat);
    // The stream whole: a snapshot (base64: 4/3 of the plan) and a log no heavier than it,
    // with each change's envelope; the 1,000 states themselves would be 1,000 times the plan.
    expect(bytes).toBeLessThan(4 * JSON.stringify(state).length);
    leader.close();
  }, 180_000);

  it("an older instance's snapshot, put back into a new instance of the same name and password, is refused", async () => {
    const name = uniqueName("epoch");
    const first = await relay.start(name, { password: "pw", code: "code" });
    await first.publish({ ...plan(3, "old plan") });
    const b = baseKey(name);
    const oldSnap = String(await stack.redis("GET", `${b}:snap`));
    await first.stop();
    const second = await relay.start(name, { password: "pw", code: "code" });
    await second.publish({ ...plan(3, "new plan") });
    // What an operator (or a door rewriting replies) could do: the same seq, another epoch.
    expect(JSON.parse(oldSnap).seq).toBe(1);
    await stack.redis("SET", `${b}:snap`, oldSnap);
    await expectCode(relay.connect(name, { password: "pw" }), "SEALED");
    second.close();
  });

  it("a take-over works when the history does not open, and its first publish heals the stream", async () => {
    const name = uniqueName("heal");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    await leader.publish(plan(4, "before"));
    const b = baseKey(name);
    // A change of the right form that nobody can open (a token holder's forgery) at seq 2.
    const meta = (await stack.redis("HGETALL", `${b}:meta`)) as string[];
    const epoch = meta[meta.indexOf("epoch") + 1] as string;
    await stack.redis(
      "RPUSH",
      `${b}:log`,
      JSON.stringify({ v: 2, t: "state", epoch, seq: 2, ts: 1, k: "p", c: "A".repeat(60) }),
    );
    await stack.redis("HSET", `${b}:meta`, "seq", "2", "chain_n", "1", "chain_b", "60");
    await expectCode(relay.connect(name, { password: "pw" }), "SEALED");
    const again = await relay.reconnect(name, { password: "pw", code: "code" });
    expect(again.state).toBeUndefined();
    await again.publish(plan(4, "after"));
    const f = await relay.connect(name, { password: "pw" });
    open.push(f);
    expect((f.state as { title: string }).title).toBe("after");
    leader.close();
    again.close();
  });

  it("a new stream never inherits a snapshot or log its name's earlier instance left behind", async () => {
    const name = uniqueName("inherit");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    await leader.publish(plan(3, "first instance"));
    await leader.publish({ ...plan(3, "first instance"), edit: 1 });
    leader.close();
    const b = baseKey(name);
    // Meta gone by its TTL before any sweep, the snapshot and log still there.
    await stack.redis("DEL", `${b}:meta`);
    await stack.redis("ZREM", "relay:index", name);
    await stack.redis("ZREM", "relay:deadline", name);
    expect(await stack.redis("EXISTS", `${b}:snap`, `${b}:log`)).toBe(2);
    const next = await relay.start(name, { password: "pw", code: "code" });
    expect(await stack.redis("EXISTS", `${b}:snap`, `${b}:log`)).toBe(0);
    const f = await relay.connect(name, { password: "pw" });
    open.push(f);
    expect(f.state).toEqual({});
    next.close();
  });
});
