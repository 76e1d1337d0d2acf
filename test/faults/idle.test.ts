/**
 * Idle expiry with idle_ttl = 1 s (relay:config, this file's own stack): a
 * stream whose leader neither publishes nor heartbeats ends, and its followers
 * are told (`ended` "expired" when another write sweeps it, "gone" when their
 * own re-sync finds it missing); a heartbeating stream never expires.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createRelay, type Follower, type TransportName } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import { creds, expectClean, expectConverged, fastBackoff, recordAll, until, useStack } from "./support.ts";

const fixture = useStack();
const track = fixture.track;
// Each test sets up with a roomy TTL (key derivation is slow on a loaded box), then
// turns idle_ttl down to 1 s; the next publish or heartbeat sets a 1 s deadline.
beforeEach(async () => {
  await fixture.stack.redis("HSET", "relay:config", "idle_ttl", "30");
});
const shortTtl = () => fixture.stack.redis("HSET", "relay:config", "idle_ttl", "1");

const transports: TransportName[] = ["websocket", "http-stream"];

/**
 * One follower per transport, as shipped: the WebSocket one on the subscription
 * door, the HTTP-stream one on the command door (a deployment without a
 * subscription door).
 */
async function followBoth(name: string, staleAfterMs: number): Promise<Follower[]> {
  const followers = await Promise.all(
    transports.map(async (t) =>
      track(
        await createRelay({
          url: fixture.stack.webdisUrl,
          ...(t === "websocket" ? { subscribeUrl: fixture.stack.subscribeUrl } : {}),
          transports: [t],
          staleAfterMs,
          backoff: fastBackoff,
        }).connect(name, creds),
      ),
    ),
  );
  await Promise.all(followers.map((f) => waitForStatus(f, "live")));
  for (const [i, f] of followers.entries()) expect(f.transport).toBe(transports[i]);
  return followers;
}

function endedReasons(f: Follower): Promise<string> {
  return new Promise((resolve) => f.on("ended", (e) => resolve(e.reason)));
}

describe("idle expiry (idle_ttl 1 s)", () => {
  it("with no write at all in this Redis, followers find out by their own re-sync (ended: gone)", async () => {
    const name = uniqueName("alone");
    const leader = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).start(name, creds));
    await leader.publish({ v: 1 });
    const followers = await followBoth(name, 500);
    const recs = followers.map(recordAll);
    const reasons = followers.map(endedReasons);
    await shortTtl();
    await leader.publish({ v: 2 }); // deadline now + 1 s; then nothing writes
    expect(await Promise.all(reasons)).toEqual(["gone", "gone"]);
    for (const rec of recs) {
      expectClean(rec);
      const path = rec.path();
      expect(path.at(-1)).toBe("ended");
      // Silence -> resubscribe and re-sync -> NOT_FOUND -> ended.
      expect(rec.statuses.some((s) => s.status === "catching-up" && /no message/.test(s.reason))).toBe(true);
    }
    await until("both ended", () => followers.every((f) => f.status === "ended"));
  });

  it("an idle stream ends with reason expired when another stream's write sweeps it; an active one lives on", async () => {
    const idleName = uniqueName("idle");
    const activeName = uniqueName("active");
    const idleLeader = track(
      await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).start(idleName, creds),
    );
    await idleLeader.publish({ v: "idle" });
    const active = track(
      await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 250 }).start(activeName, creds),
    );
    await active.publish({ v: 1 });
    // Long staleAfterMs: only the sweep (by the active leader's heartbeats) can end them.
    const idleFollowers = await followBoth(idleName, 30_000);
    const activeFollowers = await followBoth(activeName, 30_000);
    const idleRecs = idleFollowers.map(recordAll);
    const activeRecs = activeFollowers.map(recordAll);
    const reasons = idleFollowers.map(endedReasons);
    await shortTtl();
    await idleLeader.publish({ v: "idle, 1 s left" });
    // (The idle followers may already be ended by now on a slow box: that is the point.)
    await Promise.all(activeFollowers.map((f) => waitForStatus(f, "live")));

    expect(await Promise.all(reasons)).toEqual(["expired", "expired"]);
    for (const f of idleFollowers) expect(f.status).toBe("ended");
    for (const rec of idleRecs) {
      expect(rec.statuses.at(-1)).toMatchObject({ status: "ended", reason: "expired" });
      expectClean(rec);
    }
    await expect(createRelay({ url: fixture.stack.webdisUrl }).connect(idleName, creds)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(idleLeader.publish({ v: "too late" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(idleLeader.status).toBe("stopped");

    // Three idle_ttl periods later the heartbeating stream is still there and still works.
    await sleep(3_000);
    for (const f of activeFollowers) expect(f.status).toBe("live");
    await active.publish({ v: 2 });
    await expectConverged(active, activeFollowers);
    for (const rec of activeRecs) {
      expectClean(rec);
      expect(rec.path()).not.toContain("ended");
    }
    const late = track(await createRelay({ url: fixture.stack.webdisUrl }).connect(activeName, creds));
    expect(late.state).toEqual({ v: 2 });
    active.close();
  });

  it("publishes alone (no heartbeat) also keep a stream alive", async () => {
    const name = uniqueName("busy");
    const leader = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).start(name, creds));
    const followers = await followBoth(name, 30_000);
    const recs = followers.map(recordAll);
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    // 2 s, not 1 s: a publish on a loaded box can take several hundred ms, and the
    // point is only that 3.6 s of publishes (past the TTL) keep it alive.
    await fixture.stack.redis("HSET", "relay:config", "idle_ttl", "2");
    for (let i = 1; i <= 12; i++) {
      await leader.publish({ i });
      await sleep(300);
    }
    await expectConverged(leader, followers);
    for (const rec of recs) {
      expectClean(rec);
      expect(rec.path()).not.toContain("ended");
    }
  });
});
