/**
 * Redis comes back with less than it acknowledged: kill -9 of the primary
 * after its AOF lost the tail (what a power cut or kernel crash does to writes
 * not yet fsynced under `appendfsync everysec`; a plain kill -9 loses nothing,
 * since Redis has already written them to the page cache, so the test cuts the
 * AOF back itself). The stream "went back": the leader's next publish says it
 * stands at a seq the stream no longer has (BEHIND), so it heals the stream
 * with its newest state whole on a new epoch (lua/heal.lua); every follower,
 * on either door, resets onto the leader's newest state, and none shows a
 * state the leader never published.
 */
import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { incrAof, loseAofTail } from "./nemesis.ts";
import { creds, expectConverged, fastBackoff, recordAll, useStack } from "./support.ts";

const fixture = useStack();
const track = fixture.track;

describe("AOF loss: the stream goes back", () => {
  it("after Redis loses acknowledged writes, the leader heals the stream on a new epoch and every follower converges", async () => {
    const { stack } = fixture;
    const name = uniqueName("aofloss");
    const fast = { backoff: fastBackoff, timeoutMs: 2_000 };
    // Heartbeats carry the stream's seq: the witness that it went back for a follower
    // whose subscription (on the replica) outlived the primary's crash.
    const leader = track(await createRelay({ url: stack.webdisUrl, ...fast, heartbeatMs: 250 }).start(name, creds));
    const followers = [
      track(
        await createRelay({
          url: stack.webdisUrl,
          subscribeUrl: stack.subscribeUrl,
          ...fast,
          // A long silence watchdog: only the heartbeat can tell it the stream went back.
          staleAfterMs: 60_000,
        }).connect(name, creds),
      ),
      track(
        await createRelay({ url: stack.webdisUrl, transports: ["http-stream"], ...fast, staleAfterMs: 1_500 }).connect(
          name,
          creds,
        ),
      ),
    ];
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    expect(followers[0]?.transport).toBe("websocket");
    const recs = followers.map(recordAll);

    for (let i = 1; i <= 5; i++) await leader.publish({ i, note: "kept" });
    const aof = incrAof(stack.dataDir);
    const keptBytes = statSync(aof).size; // the AOF as it stood at seq 5
    for (let i = 6; i <= 9; i++) await leader.publish({ i, note: "lost" });
    await Promise.all(followers.map((f) => waitForSeq(f, 9)));
    expect(leader.seq).toBe(9);

    // The crash: the primary dies and its AOF keeps only what it had at seq 5.
    expect(await loseAofTail(stack, aof, keptBytes, name), "the stream went back to seq 5").toBe(5);

    // The leader's publish says it stands at seq 9: the stream at 5 answers BEHIND,
    // and the leader heals it (lua/heal.lua): its state whole, on a new epoch, at a
    // seq past both (10), so seqs 6..9 never get a second meaning.
    const epoch = leader.epoch;
    const r = await leader.publish({ i: 10, note: "after the crash" });
    expect(r.seq).toBe(10);
    expect(leader.seq).toBe(10);
    expect(leader.epoch).not.toBe(epoch);
    await leader.publish({ i: 11, note: "after the crash" });
    await expectConverged(leader, followers, 20_000);
    for (const f of followers) expect(f.state).toEqual({ i: 11, note: "after the crash" });
    for (const rec of recs) {
      // Every state shown is one the leader published (no mix of lost and new).
      for (const u of rec.updates) expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).toContain((u.state as { i: number }).i);
      // The way back is an explicit reset, never a silent step backwards.
      const lastLost = rec.updates.findIndex((u) => (u.state as { i: number }).i === 9);
      const firstAfter = rec.updates.findIndex((u) => (u.state as { i: number }).i >= 10);
      expect(lastLost).toBeGreaterThanOrEqual(0);
      expect(firstAfter).toBeGreaterThan(lastLost);
      expect(rec.statuses.find((s) => s.status === "reset")?.code).toBe("epoch-changed");
    }
  });
});
