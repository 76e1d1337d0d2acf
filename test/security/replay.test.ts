/**
 * Issue 12, attack 11: a captured publish replayed after more than 16 newer
 * publishes (past the op-id window) was applied again, and followers rolled
 * back to the old plan. Every publish now names the seq it builds on
 * (relay_publish ARGV[5]); a copy whose base is not the stream's seq is STALE
 * and changes nothing. The same guard keeps a late copy of a timed-out
 * publish (stuck behind a partition) from landing after newer ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRelay, type FollowerUpdate } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

describe("replayed publish", () => {
  it("a captured publish replayed after 20 newer ones is STALE, and no follower rolls back", async () => {
    const bodies: string[] = [];
    // The attacker's capture: every request body the leader sends, verbatim.
    const capturing: typeof fetch = (input, init) => {
      if (typeof init?.body === "string") bodies.push(init.body);
      return fetch(input, init);
    };
    const name = uniqueName("replay");
    const relay = createRelay({ url: stack.webdisUrl, fetch: capturing, heartbeatMs: 0 });
    const leader = await relay.start(name, { password: "pw", code: "code" });
    const watcher = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const f = await watcher.connect(name, { password: "pw" });
    await waitForStatus(f, "live");
    const seen: FollowerUpdate[] = [];
    f.on("state", (u) => seen.push(u));

    await leader.publish({ plan: "old", n: 1 });
    const captured = bodies.filter((b) => b.includes("relay_publish")).at(-1);
    expect(captured).toBeDefined();
    for (let n = 2; n <= 21; n++) await leader.publish({ plan: "new", n });
    await waitForSeq(f, 21);

    // The replay, straight to the door, as anyone on the path could send it.
    const res = await fetch(`${stack.webdisUrl}/`, { method: "POST", body: captured as string });
    const reply = JSON.stringify(await res.json());
    expect(reply).toMatch(/STALE/);
    expect(reply).not.toMatch(/"seq"/);

    // Nothing changed on the server (the next publish is seq 22, on the leader's
    // own base), and the follower never saw the old plan again.
    expect(await leader.publish({ plan: "new", n: 22 })).toEqual({ seq: 22, changed: true });
    await waitForSeq(f, 22);
    expect(f.state).toEqual({ plan: "new", n: 22 });
    const afterOld = seen.filter((u) => u.seq > 1);
    expect(afterOld.map((u) => (u.state as { n: number }).n)).toEqual(Array.from({ length: 21 }, (_, i) => i + 2));
    expect(afterOld.map((u) => u.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 2));

    // The leader itself goes on normally, with patches (delta updates) on the right base.
    expect(leader.status).toBe("live");
    f.disconnect();
    await leader.stop();
  });
});
