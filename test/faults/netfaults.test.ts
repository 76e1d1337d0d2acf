/**
 * One kernel network fault per test, on the native stack inside network
 * namespaces (test/faults/net.ts): clients <-> doors and doors <-> Redis.
 * Each fault is shown to bite (iptables / tc counters), then lifted; every
 * follower must end on the leader's state with nothing lost, doubled or out
 * of order. Needs root and iproute2 + iptables: skipped, with the reason
 * printed, where namespaces cannot be made.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRelay, type Follower, type Leader } from "../../src/node.ts";
import type { Stack } from "../setup/types.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import { check, counterOf, type FollowerHistory, type LeaderHistory, recordHistory } from "./checker.ts";
import { makeNetLab, type NetLab, netUnavailable } from "./net.ts";
import { creds, expectConverged, fastBackoff, noise, until } from "./support.ts";

const why = process.env.RELAY_TEST_STACK === "containers" ? "containers mode has no namespaces" : netUnavailable();
if (why) console.warn(`[netfaults] skipped: ${why}`);

let lab: NetLab;
let stack: Stack;
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  if (why) return;
  lab = await makeNetLab();
  const { startNativeStack } = await import("../setup/native.ts");
  stack = await startNativeStack({ placement: lab.placement });
});
// Webdis 0.1.9 writes the late reply of a request its client gave up on (a
// publish timed out behind a partition) to whichever client holds that fd
// next (issue 12, attack 1): the next test's relay.start got another call's
// reply (PROTOCOL). Each test therefore starts on fresh doors; the leader's
// retry of a garbled reply covers the same hazard within a test.
afterEach(async () => {
  if (why) return;
  // A test that failed between block() and its heal must not leave the fault on.
  await lab.healAll();
  for (const o of open.splice(0).reverse()) await o.close();
  for (const door of ["command-door", "subscribe-door"] as const) {
    await stack.signal(door, "SIGKILL");
    await stack.start(door);
  }
});
afterAll(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  await stack?.stop();
  await lab?.destroy();
});

const subscribePort = () => Number(new URL(stack.subscribeUrl).port);

interface Run {
  leader: Leader;
  followers: Follower[];
  histories: FollowerHistory[];
  published: LeaderHistory["published"];
}

/** A leader and two followers: WebSocket via the subscription door, HTTP stream via the command door. */
async function streamWithFollowers(): Promise<Run> {
  const fast = { backoff: fastBackoff, timeoutMs: 1_500 };
  const name = uniqueName("net");
  const leader = await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 250 }).start(name, creds);
  open.push(leader);
  const published: LeaderHistory["published"] = [];
  leader.on("published", (p) => published.push({ at: Date.now(), seq: p.seq, i: counterOf(p.state) }));
  const follow = { ...fast, staleAfterMs: 1_000 };
  const followers = [
    await createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, ...follow }).connect(name, creds),
    await createRelay({ url: stack.webdisUrl, transports: ["http-stream"], ...follow }).connect(name, creds),
  ];
  for (const f of followers) open.push({ close: () => f.disconnect() });
  const histories = followers.map((f, k) => recordHistory(k ? "http/command-door" : "ws/subscribe-door", f));
  await Promise.all(followers.map((f) => waitForStatus(f, "live")));
  return { leader, followers, histories, published };
}

/** Publishes {i: from..to} without waiting for each (newest wins while the line is down), `gapMs` apart. */
async function edit(leader: Leader, from: number, to: number, gapMs = 40): Promise<void> {
  for (let i = from; i <= to; i++) {
    leader.publish({ i, pad: "p".repeat(200) }).catch(() => {});
    await sleep(gapMs);
  }
}

/** After the fault: the leader settles, everyone converges, and the checker finds nothing. */
async function expectHealed(r: Run, healedAt: number): Promise<void> {
  await r.leader.flushed();
  expect(r.leader.status).toBe("live");
  await expectConverged(r.leader, r.followers, 20_000);
  const final = { epoch: r.leader.epoch, seq: r.leader.seq, i: counterOf(r.leader.state) };
  const { violations, figures } = check({ published: r.published, final }, r.histories, healedAt, 20_000);
  expect(violations).toEqual([]);
  expect(figures.lost).toBe(0);
}

describe.skipIf(why)("kernel network faults", () => {
  it("30% packet loss between clients and doors: TCP retransmits, nothing lost or doubled", async () => {
    const r = await streamWithFollowers();
    await edit(r.leader, 1, 10);
    const heal = await lab.block("client-door", [stack.webdisPort, subscribePort()], {
      kind: "loss",
      probability: 0.3,
    });
    await edit(r.leader, 11, 50);
    expect((await lab.counters()).dropped, "the loss rule dropped packets").toBeGreaterThan(0);
    await heal();
    await edit(r.leader, 51, 55);
    await expectHealed(r, Date.now());
  });

  it("half-open: the subscription door dies behind a black hole; followers notice the silence and catch up", async () => {
    const r = await streamWithFollowers();
    await edit(r.leader, 1, 10);
    const heal = await lab.block("client-door", [subscribePort()], { kind: "drop" });
    // Its resets and FINs are lost: the WebSocket stays open on our side only.
    await stack.signal("subscribe-door", "SIGKILL");
    await edit(r.leader, 11, 40);
    expect((await lab.counters()).dropped, "the black hole dropped packets").toBeGreaterThan(0);
    await heal();
    await stack.start("subscribe-door");
    await edit(r.leader, 41, 45);
    await expectHealed(r, Date.now());
    const ws = r.histories[0]?.events ?? [];
    expect(
      ws.some((e) => e.t === "status" && (/no message/.test(e.reason) || e.status === "offline")),
      "the WebSocket follower noticed its dead connection",
    ).toBe(true);
  });

  it("partition between the command door and the primary: publishes time out, are retried once healed", async () => {
    const r = await streamWithFollowers();
    await edit(r.leader, 1, 10);
    await r.leader.flushed();
    const statuses: string[] = [];
    r.leader.on("status", (s) => statuses.push(s.status));
    const heal = await lab.block("door-redis", [stack.redisPort], { kind: "drop" });
    await edit(r.leader, 11, 30, 100);
    // Past the leader's 1.5 s timeout it goes offline: wait for that, however slow the box.
    await until("the leader saw the partition", () => statuses.includes("offline"), 15_000);
    expect((await lab.counters()).dropped).toBeGreaterThan(0);
    await heal();
    await expectHealed(r, Date.now());
    expect(counterOf(r.leader.state)).toBe(30);
  });

  it("connection resets between the doors and Redis: the doors reconnect, followers resubscribe", async () => {
    const r = await streamWithFollowers();
    await edit(r.leader, 1, 10);
    const heal = await lab.block("door-redis", [stack.redisPort, stack.replicaPort], { kind: "reset" });
    await edit(r.leader, 11, 30);
    let resets = 0;
    for (const end = Date.now() + 10_000; resets === 0 && Date.now() < end; await sleep(100)) {
      resets = (await lab.counters()).dropped;
    }
    expect(resets, "resets were sent").toBeGreaterThan(0);
    await heal();
    await edit(r.leader, 31, 35);
    await expectHealed(r, Date.now());
  });

  it("a 256 kbit/s link between clients and doors: states queue up but arrive whole and in order", async () => {
    const r = await streamWithFollowers();
    const heal = await lab.throttle("client-door", "256kbit");
    // Noise: a repeated letter deflates to a few bytes when sealed and would never fill the bucket.
    for (let i = 1; i <= 25; i++) r.leader.publish({ i, pad: noise(2_000 + i, i) }).catch(() => {});
    await r.leader.flushed();
    await expectConverged(r.leader, r.followers, 20_000);
    expect((await lab.counters()).overlimits, "the token bucket held packets back").toBeGreaterThan(0);
    await heal();
    await expectHealed(r, Date.now());
  });
});
