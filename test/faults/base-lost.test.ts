/**
 * The leader's base is lost. The leader sends edits: each change is a patch
 * from the last state Redis acknowledged (its base seq). When Redis comes back
 * from a crash without its last writes (the AOF's tail cut off, as in
 * aof-loss.test.ts), that base is gone: Lua refuses the next patch (BEHIND: the
 * stream is behind the seq the leader saw acknowledged), and the leader heals
 * the stream (lua/heal.lua): its state whole, on a new epoch, past both seqs.
 * A patch re-sealed onto the older seq would be accepted by Lua (it cannot open
 * it) and leave a log whose changes do not add up, so no follower could ever
 * fold the stream again; a state sent whole on the older seq of the same epoch
 * would give seqs 6..9 a second meaning. The follower ends on the leader's
 * state, having seen at most one reset. */
import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { incrAof, loseAofTail } from "./nemesis.ts";
import {
  commandArgs,
  contentKey,
  controlledFetch,
  creds,
  expectConverged,
  fastBackoff,
  noise,
  publishesIn,
  recordAll,
  serverState,
  statesOf,
  useStack,
} from "./support.ts";

const fixture = useStack();
const track = fixture.track;

/**
 * Plan i: edit i moves waypoint i - 1 (small patches against a 4 KB plan). The
 * edits add up, so a patch only fits the state it was made from: the lost
 * edits 6..9 are not in the patch from 9 to 10.
 */
const route = noise(4_000);
const planFor = (i: number) => ({
  i,
  route,
  waypoints: Array.from({ length: 12 }, (_, k) => ({ k, x: k < i ? 100 + k : k })),
});

describe("the leader's base is lost", () => {
  it("Redis comes back without the last writes: the leader's patch is BEHIND, it heals the stream whole on a new epoch, the follower converges with one reset at most", async () => {
    const { stack } = fixture;
    const name = uniqueName("baselost");
    const wire = controlledFetch();
    const fast = { backoff: fastBackoff, timeoutMs: 2_000 };
    // Heartbeats carry the stream's seq: how the follower learns the stream went back.
    const leader = track(
      await createRelay({ url: stack.webdisUrl, fetch: wire.fetch, ...fast, heartbeatMs: 250 }).start(name, creds),
    );
    const acked: { seq: number; state: unknown }[] = [];
    leader.on("published", (p) => acked.push({ seq: p.seq, state: JSON.parse(JSON.stringify(p.state)) }));
    const f = track(
      await createRelay({
        url: stack.webdisUrl,
        subscribeUrl: stack.subscribeUrl,
        ...fast,
        staleAfterMs: 1_500,
      }).connect(name, creds),
    );
    await waitForStatus(f, "live");
    const rec = recordAll(f);

    for (let i = 1; i <= 5; i++) await leader.publish(planFor(i));
    const aof = incrAof(stack.dataDir);
    const keptBytes = statSync(aof).size; // the AOF as it stood at seq 5
    for (let i = 6; i <= 9; i++) await leader.publish(planFor(i));
    await waitForSeq(f, 9);
    // The leader was sending edits: what it builds on next is its acknowledged seq 9.
    expect(publishesIn(wire.bodies).map((p) => p.kind)).toEqual(["s", "p", "p", "p", "p", "p", "p", "p", "p"]);

    // The crash: the primary dies and its AOF keeps only what it had at seq 5.
    expect(await loseAofTail(stack, aof, keptBytes, name), "the stream went back to seq 5").toBe(5);
    const epoch = leader.epoch;

    const before = publishesIn(wire.bodies).length;
    const r = await leader.publish(planFor(10));
    // The stream lost seqs 6..9 the leader had acknowledged: the patch on seq 9 is refused
    // (BEHIND; sent again as is if Webdis was still reconnecting to Redis), then the leader
    // heals it (lua/heal.lua): its state whole, on a new epoch, at seq 10, past both seqs.
    expect(r.seq).toBe(10);
    expect(leader.epoch).not.toBe(epoch);
    const patches = publishesIn(wire.bodies).slice(before);
    expect(patches.length).toBeGreaterThanOrEqual(1);
    for (const p of patches) expect(p).toEqual({ ...patches[0], base: 9, kind: "p" });
    const heals = wire.bodies.filter((b) => b.startsWith("FCALL/relay_heal/")).map(commandArgs);
    expect(heals.length).toBeGreaterThanOrEqual(1);
    for (const h of heals) expect(h).toEqual(heals[0]);
    const heal = heals[0] as string[];
    expect([heal[11], heal[12]]).toEqual([leader.epoch, "10"]);
    const key = await contentKey(name);
    const whole = { op: heal[13] as string, base: 9, kind: "s" as const, content: heal[14] as string };
    expect(await statesOf(key, name, leader.epoch, [whole])).toEqual([planFor(10)]);
    // Back to edits on the new base.
    await leader.publish(planFor(11));
    expect(publishesIn(wire.bodies).at(-1)).toMatchObject({ base: 10, kind: "p" });

    // Redis's snapshot and log add up to the leader's state, and the follower ends there.
    expect(await serverState(stack, name, key)).toEqual({ seq: 11, state: planFor(11) });
    await expectConverged(leader, [f], 20_000);
    expect(f.state).toEqual(leader.state);
    expect(f.state).toEqual(planFor(11));
    // Every state shown is one the leader had acknowledged at that seq (no seq holds two
    // states: the heal went past the lost ones), and the way back was one explicit reset at most.
    for (const u of rec.updates) expect(acked).toContainEqual({ seq: u.seq, state: u.state });
    const resets = rec.updates.filter((u) => u.reset !== undefined);
    expect(resets.length, JSON.stringify(rec.statuses)).toBeLessThanOrEqual(1);
    expect(rec.statuses.filter((s) => s.status === "reset").length).toBeLessThanOrEqual(1);
  });
});
