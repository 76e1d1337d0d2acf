/**
 * Delta updates: a small edit of a large plan reaches followers as a sealed
 * JSON Patch (with the SHA-1 of the full state inside the seal); a patch that
 * does not fit is never shown: the follower waits for a whole state instead of
 * showing a wrong plan. Redis and the wire hold only sealed text, so sizes are
 * what the test can see there; what the plan is, followers tell.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay, type Follower, type Relay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { record, sleep, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { sealedStream, storedChanges } from "./support.ts";

let stack: Stack;
let relay: Relay;
const open: { disconnect(): void }[] = [];
beforeAll(async () => {
  stack = await startStack({ aof: false });
  relay = createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, heartbeatMs: 0 });
});
afterAll(async () => {
  for (const f of open) f.disconnect();
  await stack?.stop();
});

const bigPlan = () => ({
  version: 1,
  title: "Large mission",
  waypoints: Array.from({ length: 2000 }, (_, i) => ({
    id: `wp-${i}`,
    name: `Waypoint ${i}`,
    type: "waypoint",
    x: i * 1.25,
    y: (i % 97) * 3.5,
  })),
  notes: "n".repeat(20_000),
});

/** Every raw message on a channel, through the subscription door's HTTP stream. */
async function tap(channel: string) {
  const abort = new AbortController();
  const res = await fetch(`${stack.subscribeUrl}/`, {
    method: "POST",
    body: `SUBSCRIBE/${channel}`,
    signal: abort.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = "";
  const opened = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += dec.decode(value, { stream: true });
    }
  })();
  while (!text.includes('"subscribe"')) await new Promise((r) => setTimeout(r, 10));
  return {
    messages: () =>
      [...text.matchAll(/\{"SUBSCRIBE":\["message","[0-9a-f]+",("(?:[^"\\]|\\.)*")\]\}/g)].map(
        (m) => JSON.parse(m[1] as string) as string,
      ),
    close: () => {
      abort.abort();
      return opened;
    },
  };
}

describe("delta updates", () => {
  it("a moved waypoint in a 200 KB plan travels as a few hundred sealed bytes", async () => {
    const name = uniqueName("delta");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    const plan = bigPlan();
    await leader.publish(plan);
    const f: Follower = await relay.connect(name, { password: "pw" });
    open.push(f);
    await waitForStatus(f, "live");
    const channel = String(await stack.redis("HGET", `${baseKey(name)}:meta`, "channel"));
    const wire = await tap(channel);
    const seen = record(f);

    const moved = { ...plan, waypoints: plan.waypoints.map((w, i) => (i === 1234 ? { ...w, x: 1, y: 2 } : w)) };
    await leader.publish(moved);
    const renamed = { ...moved, title: "Large mission, revised" };
    await leader.publish(renamed);
    await waitForSeq(f, 3);
    expect(f.state).toEqual(renamed);
    expect(seen.map((u) => u.seq)).toEqual([2, 3]);
    expect(f.status).toBe("live");

    await sleep(100);
    const msgs = wire.messages();
    await wire.close();
    expect(msgs).toHaveLength(2);
    const full = JSON.stringify(moved).length;
    for (const m of msgs) {
      const env = JSON.parse(m);
      expect(env).toMatchObject({ v: 2, t: "state", k: "p" });
      expect(Object.keys(env).sort()).toEqual(["c", "epoch", "k", "seq", "t", "ts", "v"]);
      expect(m.length).toBeLessThan(full * 0.05);
      expect(m).not.toContain("Waypoint");
    }
    // Redis keeps the first state whole (the snapshot, sealed deflated) and the two small changes since.
    const kept = await storedChanges(stack, name);
    expect(kept.log.map((e) => JSON.parse(e).seq)).toEqual([2, 3]);
    for (const e of kept.log) expect(e.length).toBeLessThan(full * 0.05);
    expect(JSON.parse(String(kept.snap))).toMatchObject({ seq: 1, k: "s" });
    expect(String(kept.snap).length).toBeGreaterThan(10 * Math.max(...kept.log.map((e) => e.length)));
    // A follower joining now folds the snapshot and the changes into the same state.
    const late = await relay.connect(name, { password: "pw" });
    open.push(late);
    expect([late.seq, late.state]).toEqual([3, renamed]);
    await leader.stop();
  });

  it("a patch that does not fit is caught by the hash: never shown, the next whole state resets the follower", async () => {
    // Drive the functions directly, as a buggy leader would.
    const s = await sealedStream(stack, "badpatch", { password: "pw", code: "code" });
    const s1 = { a: 1, list: Array.from({ length: 50 }, (_, i) => i), text: "x".repeat(500) };
    await s.publish(s1);
    const f = await relay.connect(s.name, { password: "pw" });
    open.push(f);
    await waitForStatus(f, "live");
    const statuses: string[] = [];
    f.on("status", (e) => statuses.push(`${e.status}:${e.reason}`));
    // The hash inside the seal is the one of s2, but the patch makes a: 999.
    const wrong = [{ op: "replace", path: "/a", value: 999 }];
    expect(await s.publish({ ...s1, a: 2 }, { patch: wrong })).toMatchObject({ seq: 2, changed: true });
    const end = Date.now() + 10_000;
    while (!statuses.includes("catching-up:delta result differs") && Date.now() < end) await sleep(20);
    expect(statuses).toContain("catching-up:delta result differs");
    expect([f.seq, f.state]).toEqual([1, s1]);
    // The server cannot tell (it cannot read the patch): the stream waits for a whole state.
    const s3 = { ...s1, a: 3 };
    await s.publish(s3);
    await waitForSeq(f, 3, 10_000);
    expect(f.state).toEqual(s3);
    expect(statuses).toContain("reset:delta result differs");
    await waitForStatus(f, "live");
  });
});
