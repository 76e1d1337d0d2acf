/**
 * Healing writes a failover lost (lua/heal.lua, src/core/leader/heal.ts). Redis
 * replicates asynchronously, so a promoted replica may lack the last writes the
 * leader saw acknowledged. No Sentinel here: the loss is made by hand on the one
 * primary of the test stack, as a promotion would leave it:
 * - a lagging replica: the stream's keys (meta, snapshot, log and its index
 *   entries) put back as they were some seqs ago, after followers saw more;
 * - a replica that never got relay_start: the stream's keys deleted.
 * The leader is the source of truth: it re-makes the stream from its state on a
 * new epoch, and every follower ends on the leader's last state, having seen a
 * reset at most, never an older state shown as newer, never a seq applied twice.
 * A stream stopped with the code stays stopped (its tombstone).
 */
import { describe, expect, it } from "vitest";
import { deriveVerifier } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay, type Follower, type Leader } from "../../src/node.ts";
import type { Stack } from "../setup/stack.ts";
import { uniqueName, waitForStatus } from "../support/util.ts";
import { check, counterOf, type LeaderHistory, recordHistory } from "./checker.ts";
import { creds, expectConverged, fastBackoff, noise, recordAll, until, useStack } from "./support.ts";

const fixture = useStack();
const track = fixture.track;
const fast = { backoff: fastBackoff, timeoutMs: 3_000 };

/** Plan i: a 2 KB route and a counter, so edits go as small patches and the log has entries. */
const route = noise(2_000);
const planFor = (i: number) => ({ i, route, at: i * 10 });

/** What the primary holds of a stream: its keys and its deadline entry. */
interface Held {
  meta: string[];
  snap: string | null;
  log: string[];
  deadline: string | null;
}

async function hold(stack: Stack, name: string): Promise<Held> {
  const b = baseKey(name);
  return {
    meta: (await stack.redis("HGETALL", `${b}:meta`)) as string[],
    snap: (await stack.redis("GET", `${b}:snap`)) as string | null,
    log: (await stack.redis("LRANGE", `${b}:log`, 0, -1)) as string[],
    deadline: (await stack.redis("ZSCORE", "relay:deadline", name)) as string | null,
  };
}

/** A replica that lagged at `held` is promoted: the stream's keys are what they were then (replaced). */
async function promoteLagging(stack: Stack, name: string, held: Held): Promise<void> {
  const b = baseKey(name);
  await stack.redis("DEL", `${b}:meta`, `${b}:snap`, `${b}:log`);
  await stack.redis("HSET", `${b}:meta`, ...held.meta);
  if (held.snap) await stack.redis("SET", `${b}:snap`, held.snap);
  if (held.log.length) await stack.redis("RPUSH", `${b}:log`, ...held.log);
  for (const k of ["meta", "snap", "log"]) await stack.redis("PEXPIRE", `${b}:${k}`, 3_660_000);
  await stack.redis("ZADD", "relay:index", 0, name);
  await stack.redis("ZADD", "relay:deadline", held.deadline ?? String(Date.now() + 3_600_000), name);
}

/** A replica that never got the stream's relay_start is promoted: none of its keys or entries. */
async function loseStream(stack: Stack, name: string): Promise<void> {
  const b = baseKey(name);
  await stack.redis("DEL", `${b}:meta`, `${b}:snap`, `${b}:log`);
  await stack.redis("ZREM", "relay:index", name);
  await stack.redis("ZREM", "relay:deadline", name);
  const skeletons = (await stack.redis("HGETALL", "relay:skeleton")) as string[];
  for (let i = 0; i < skeletons.length; i += 2)
    if (skeletons[i + 1] === name) await stack.redis("HDEL", "relay:skeleton", skeletons[i] as string);
}

function leaderHistory(leader: Leader) {
  const published: LeaderHistory["published"] = [];
  leader.on("published", (p) => published.push({ at: Date.now(), seq: p.seq, i: counterOf(p.state) }));
  return () => ({ published, final: { epoch: leader.epoch, seq: leader.seq, i: counterOf(leader.state) } });
}

async function follow(stack: Stack, name: string): Promise<Follower> {
  const relay = createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, ...fast, staleAfterMs: 1_500 });
  const f = track(await relay.connect(name, creds));
  await waitForStatus(f, "live");
  return f;
}

/** Every follower on the leader's last state; no duplicate, no regression, no older state shown as newer. */
async function expectHealed(
  leader: Leader,
  followers: Follower[],
  histories: ReturnType<typeof recordHistory>[],
  led: () => LeaderHistory,
) {
  await expectConverged(leader, followers, 20_000);
  const r = check(led(), histories, Date.now(), 60_000);
  expect(r.violations).toEqual([]);
  return r.figures;
}

describe("healing writes lost in a failover", () => {
  it("a lagging replica is promoted: the leader's next publish heals the stream on a new epoch; followers that saw the lost seqs reset onto the leader's state, never back", async () => {
    const { stack } = fixture;
    const name = uniqueName("heal-lag");
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 0 }).start(name, creds));
    const led = leaderHistory(leader);
    const healed: unknown[] = [];
    leader.on("healed", (h) => healed.push(h));
    const f1 = await follow(stack, name);
    const h1 = recordHistory("f1", f1);
    const rec1 = recordAll(f1);

    for (let i = 1; i <= 5; i++) await leader.publish(planFor(i));
    const lagging = await hold(stack, name); // what the replica has at seq 5
    for (let i = 6; i <= 9; i++) await leader.publish(planFor(i));
    await until("f1 at seq 9", () => f1.seq === 9);
    const epoch = leader.epoch;

    await promoteLagging(stack, name, lagging);
    // A follower that joins through the promoted node sees the stream it has: seq 5.
    const f2 = await follow(stack, name);
    expect(f2.seq).toBe(5);
    const h2 = recordHistory("f2", f2);

    const r = await leader.publish(planFor(10));
    // Past the leader's seq 9 and the stream's 5, on a new epoch: nobody takes it as seq 6..9 of the old one.
    expect(r.seq).toBe(10);
    expect(leader.epoch).not.toBe(epoch);
    expect(healed).toMatchObject([{ why: "behind", seq: 10, epoch: leader.epoch, duplicate: false }]);
    await leader.publish(planFor(11));
    expect(leader.seq).toBe(11);

    const figures = await expectHealed(leader, [f1, f2], [h1, h2], led);
    expect(f1.state).toEqual(planFor(11));
    // f1 had seen seq 9: it went straight to the healed state, never back to the lagging seq 5.
    expect(figures.wentBack).toBe(0);
    // Then one reset onto the healed epoch: at 10, or straight at 11 when the leader's
    // next publish landed before the follower's re-sync (CI run 62: [..., 9, 11]).
    const seen = rec1.updates.map((u) => counterOf(u.state));
    expect(seen.slice(0, 9)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([[10, 11], [11]]).toContainEqual(seen.slice(9));
    const resets = rec1.updates.filter((u) => u.reset);
    expect(resets.map((u) => u.reset)).toEqual(["epoch-changed"]);
    expect(resets[0]).toBe(rec1.updates[9]);
  });

  it("a lagging replica is promoted while the leader is idle: its heartbeat finds the stream behind and heals it with the acknowledged state; followers never hear the older seq", async () => {
    const { stack } = fixture;
    const name = uniqueName("heal-beat");
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 150 }).start(name, creds));
    const led = leaderHistory(leader);
    const f1 = await follow(stack, name);
    const h1 = recordHistory("f1", f1);
    const rec1 = recordAll(f1);
    for (let i = 1; i <= 3; i++) await leader.publish(planFor(i));
    const lagging = await hold(stack, name);
    for (let i = 4; i <= 6; i++) await leader.publish(planFor(i));
    await until("f1 at seq 6", () => f1.seq === 6);
    const epoch = leader.epoch;

    await promoteLagging(stack, name, lagging);
    await until("the leader healed", () => leader.epoch !== epoch, 10_000);
    expect(leader.seq).toBe(7);
    expect(leader.state).toEqual(planFor(6));
    await expectHealed(leader, [f1], [h1], led);
    expect(rec1.statuses.filter((s) => s.code === "heartbeat-behind" || s.code === "went-back")).toEqual([]);
  });

  it("a replica that never got relay_start is promoted: the stream is NOT_FOUND, the leader re-makes it on the same channel, followers follow", async () => {
    const { stack } = fixture;
    const name = uniqueName("heal-gone");
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 0 }).start(name, creds));
    const led = leaderHistory(leader);
    const healed: unknown[] = [];
    leader.on("healed", (h) => healed.push(h));
    const f1 = await follow(stack, name);
    const h1 = recordHistory("f1", f1);
    for (let i = 1; i <= 4; i++) await leader.publish(planFor(i));
    await until("f1 at seq 4", () => f1.seq === 4);

    await loseStream(stack, name);
    const r = await leader.publish(planFor(5));
    expect(r.seq).toBe(5);
    expect(healed).toMatchObject([{ why: "gone", seq: 5 }]);
    expect(leader.status).toBe("live");
    await leader.publish(planFor(6));
    await expectHealed(leader, [f1], [h1], led);
    // Listed again, and a new follower gets the leader's state.
    const page = await createRelay({ url: stack.webdisUrl }).list({ count: 100 });
    expect(page.streams.map((s) => s.name)).toContain(name);
    const f3 = await follow(stack, name);
    expect(f3.state).toEqual(planFor(6));
  });

  it("a leader that took over (so never had the channel seed) re-makes a lost stream on a new channel; followers find it with their next sync", async () => {
    const { stack } = fixture;
    const name = uniqueName("heal-newchan");
    track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 0 }).start(name, creds)).close();
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 0 }).reconnect(name, creds));
    const led = leaderHistory(leader);
    await leader.publish(planFor(1));
    const f1 = await follow(stack, name);
    const h1 = recordHistory("f1", f1);
    await leader.publish(planFor(2));
    await until("f1 at seq 2", () => f1.seq === 2);

    await loseStream(stack, name);
    expect((await leader.publish(planFor(3))).seq).toBe(3);
    // f1's channel is silent now: its watchdog (staleAfterMs) re-syncs and moves it to the new one.
    await expectHealed(leader, [f1], [h1], led);
    await leader.publish(planFor(4));
    await expectConverged(leader, [f1], 10_000);
  });

  it("a stream stopped with the code stays stopped: its leader hears NOT_FOUND and ends, nothing is re-made", async () => {
    const { stack } = fixture;
    const name = uniqueName("heal-stopped");
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 0 }).start(name, creds));
    const healed: unknown[] = [];
    leader.on("healed", (h) => healed.push(h));
    const f1 = await follow(stack, name);
    await leader.publish(planFor(1));
    await until("f1 at seq 1", () => f1.seq === 1);
    const ended = new Promise((r) => f1.on("ended", (e) => r(e.reason)));

    // Someone with the code stops it (relay_stop, as `mission-relay stop` ends in), not this leader.
    const code = await deriveVerifier("code", name, creds.code);
    await stack.redis("FCALL", "relay_stop", 1, baseKey(name), name, code, "-");
    expect(await ended).toBe("stopped");

    await expect(leader.publish(planFor(2))).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(leader.status).toBe("stopped");
    expect(healed).toEqual([]);
    expect(await stack.redis("EXISTS", `${baseKey(name)}:meta`)).toBe(0);
  });

  it("the leader's own stop ends the stream for good: a heartbeat after it does not re-make it", async () => {
    const { stack } = fixture;
    const name = uniqueName("heal-ownstop");
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 100 }).start(name, creds));
    await leader.publish(planFor(1));
    await leader.stop();
    await new Promise((r) => setTimeout(r, 500));
    expect(await stack.redis("EXISTS", `${baseKey(name)}:meta`)).toBe(0);
    expect(leader.status).toBe("stopped");
  });
});
