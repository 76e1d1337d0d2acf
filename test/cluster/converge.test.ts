/**
 * Followers through a failover, on the replicated topology (primary + 2
 * replicas + 3 sentinels, the command door on the route to the primary, a
 * subscription door on each replica). The leader edits all along:
 *
 * - kill -9 of the primary: the leader's publishes resume through the same
 *   URL (heal: src/core/leader/heal.ts), and every follower, on either
 *   replica's door, ends on the leader's last state, its seq strictly rising
 *   between resets, no state applied twice (test/faults/checker.ts);
 * - kill -9 of a replica: its followers move to the other door and converge.
 *   They hear nothing (Webdis keeps a dead replica's WebSockets open, deaf):
 *   after the leader's heartbeat and a half of silence each asks its door
 *   (a PING through it: src/core/follower/shell.ts #probeDoor), which does not
 *   answer, and moves on; the silence watchdog (staleAfterMs, 2 s here) backs
 *   that up for a door that answers PING but delivers nothing.
 *
 * Timings are printed; the bounds asserted are twice the goals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRelay, type Follower, type Leader, type Relay } from "../../src/node.ts";
import { check, counterOf, type FollowerHistory, recordHistory } from "../faults/checker.ts";
import { uniqueName } from "../support/util.ts";
import { type Cluster, canRun, poll, skipReason, sleep, startCluster } from "./support.ts";

const creds = { password: "converge-pw", code: "converge-code" };
const backoff = (n: number) => Math.min(400, 25 * 2 ** n);

let cluster: Cluster;
let leader: Leader;
let relay: Relay;
let name: string;
const followers: Follower[] = [];
const histories: FollowerHistory[] = [];
const published: { at: number; seq: number; i: number }[] = [];
let i = 0;

/** Publishes the next state and waits until the server took it (retrying through a failover). */
async function step(): Promise<void> {
  i++;
  await leader.publish({ i, note: `edit ${i}` });
}

/** Every follower shows the leader's newest state. */
const converged = () => followers.every((f) => counterOf(f.state) === i && f.seq === leader.seq);

const d = canRun ? describe.sequential : describe.skip;
if (!canRun) console.warn(`[cluster] skipped: ${skipReason}`);

d("followers through a failover", () => {
  beforeAll(async () => {
    cluster = await startCluster();
    name = uniqueName("converge");
    // Heartbeats every 300 ms: how an idle leader finds its stream behind, and what
    // keeps followers from asking their door while all is well.
    leader = await createRelay({ url: cluster.commandUrl, heartbeatMs: 300, timeoutMs: 2_000, backoff }).start(
      name,
      creds,
    );
    leader.on("published", (p) => published.push({ at: Date.now(), seq: p.seq, i: counterOf(p.state) }));
    await step();
    // Followers pick their door by a hash of a random id: connect until both doors have some.
    relay = createRelay({
      url: cluster.commandUrl,
      subscribeUrls: cluster.doorUrls,
      // The leader's interval: silence past 1 s (at least) makes a follower ask its door.
      // The watchdog stays at 2 s: a door can be deaf with its Redis answering PING (CI run 70:
      // after a primary's kill -9, followers waited out a 30 s watchdog on such a door).
      heartbeatMs: 300,
      staleAfterMs: 2_000,
      timeoutMs: 2_000,
      backoff,
    });
    for (let n = 0; n < 12; n++) {
      const f = await relay.connect(name, { password: creds.password });
      followers.push(f);
      histories.push(recordHistory(`follower ${n}`, f));
      const doors = new Set(followers.map((x) => x.door));
      if (followers.length >= 4 && doors.size === cluster.doorUrls.length) break;
    }
    expect(new Set(followers.map((f) => f.door)).size, "followers on both doors").toBe(2);
    for (let n = 0; n < 5; n++) await step();
    await poll("followers at the leader's state", async () => converged(), 10_000);
  }, 120_000);

  afterAll(async () => {
    for (const f of followers) f.disconnect();
    await leader?.stop().catch(() => {});
    await cluster?.stop();
  });

  it("kill -9 of the primary mid-stream: the leader resumes, every follower converges, no duplicate, no step back", async () => {
    const killedAt = Date.now();
    const editing = (async () => {
      await cluster.nodes[0]?.proc?.stop("SIGKILL");
    })();
    // The leader keeps editing; each publish waits through the failover.
    let resumedMs: number | undefined;
    for (let n = 0; n < 6; n++) {
      await step();
      resumedMs ??= Date.now() - killedAt;
      await sleep(100);
    }
    await editing;
    const lastHeal = Date.now();
    await poll("followers at the leader's last state", async () => converged(), 20_000);
    const convergedMs = Date.now() - killedAt;
    console.log(
      `[cluster] kill -9 primary: leader's first publish accepted after ${resumedMs} ms, ` +
        `${followers.length} followers converged ${convergedMs} ms after the kill`,
    );
    expect(resumedMs, "publishing resumed (goal 10 s)").toBeLessThan(20_000);
    const final = { epoch: leader.epoch ?? "", seq: leader.seq, i };
    const { violations, figures } = check({ published, final }, histories, lastHeal, 20_000);
    console.log(`[cluster] after the failover: resets ${JSON.stringify(figures.resets)}`);
    expect(violations, JSON.stringify(violations.slice(0, 5))).toEqual([]);
  }, 90_000);

  it("kill -9 of a replica: its followers move to the other door and converge", async () => {
    // The killed primary first comes back (as a replica): with one replica left the
    // primary would refuse writes (min-replicas-to-write 1: NOREPLICAS).
    await cluster.restart(0);
    await poll(
      "the old primary back as a replica, in sync",
      async () => /master_link_status:up/.test(String(await cluster.admin(0, "INFO", "replication"))),
      30_000,
    );
    const primary = await cluster.primaryIndex();
    const victim = primary === 1 ? 2 : 1;
    const deadDoor = cluster.doorUrls[victim - 1];
    // Followers may have moved doors in the failover: make sure two are on the victim's.
    for (let n = 0; n < 16 && followers.filter((f) => f.door === deadDoor).length < 2; n++) {
      const f = await relay.connect(name, { password: creds.password });
      followers.push(f);
      histories.push(recordHistory(`late follower ${n}`, f));
    }
    await poll("followers at the leader's state", async () => converged(), 10_000);
    const onIt = followers.filter((f) => f.door === deadDoor);
    expect(onIt.length, "followers on the victim's door").toBeGreaterThan(0);
    const killedAt = Date.now();
    await cluster.nodes[victim]?.proc?.stop("SIGKILL");
    // Edits go on; the moved followers must see them.
    const movedBy = killedAt + 20_000;
    while (Date.now() < movedBy && !(onIt.every((f) => f.door !== deadDoor) && converged())) {
      await step();
      await sleep(200);
    }
    const movedMs = Date.now() - killedAt;
    console.log(`[cluster] kill -9 replica: ${onIt.length} followers moved door and converged after ${movedMs} ms`);
    expect(
      onIt.map((f) => f.door),
      "moved off the dead door",
    ).not.toContain(deadDoor);
    expect(converged(), "at the leader's state").toBe(true);
    const final = { epoch: leader.epoch ?? "", seq: leader.seq, i };
    const { violations } = check({ published, final }, histories, Date.now(), 20_000);
    expect(violations, JSON.stringify(violations.slice(0, 5))).toEqual([]);
    // Back for the next suite's sake: the replica restarts and rejoins.
    await cluster.restart(victim);
  }, 90_000);
});
