/**
 * The primary Redis restarts (AOF on, so the streams survive) or freezes
 * (SIGSTOP) while a leader publishes. The command door's Webdis keeps its
 * chunked streams open when its Redis connection dies, and the subscription
 * door's replica hears nothing while it is cut off from the primary, so
 * followers only notice by silence: they must resubscribe and catch up. The
 * leader retries through 503s and timeouts without making a change twice.
 */
import { describe, expect, it } from "vitest";
import { createRelay, type Follower, type TransportName } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import {
  commandArgs,
  controlledFetch,
  creds,
  expectClean,
  expectConverged,
  fastBackoff,
  publishSeries,
  recordAll,
  useStack,
} from "./support.ts";

const fixture = useStack({ aof: true });
const track = fixture.track;

/**
 * One follower per transport, as shipped: the WebSocket one on the subscription
 * door (its replica follows the restarted or frozen primary), the HTTP-stream
 * one on the command door (a deployment without a subscription door).
 */
async function followersOn(name: string, staleAfterMs: number, timeoutMs?: number): Promise<Follower[]> {
  const kinds: TransportName[] = ["websocket", "http-stream"];
  const followers = await Promise.all(
    kinds.map(async (t) =>
      track(
        await createRelay({
          url: fixture.stack.webdisUrl,
          ...(t === "websocket" ? { subscribeUrl: fixture.stack.subscribeUrl } : {}),
          transports: [t],
          backoff: fastBackoff,
          staleAfterMs,
          ...(timeoutMs ? { timeoutMs } : {}),
        }).connect(name, creds),
      ),
    ),
  );
  await Promise.all(followers.map((f) => waitForStatus(f, "live")));
  for (const [i, f] of followers.entries()) expect(f.transport).toBe(kinds[i]);
  return followers;
}

describe("Redis faults", () => {
  it("restart with AOF: the stream survives, deaf subscriptions are replaced, nothing lost or doubled", async () => {
    const name = uniqueName("aof");
    const leader = track(
      await createRelay({ url: fixture.stack.webdisUrl, backoff: fastBackoff, heartbeatMs: 150 }).start(name, creds),
    );
    const epoch = leader.epoch;
    const followers = await followersOn(name, 700);
    const recs = followers.map(recordAll);
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    await publishSeries(leader, 20);
    await fixture.stack.restartRedis();
    await publishSeries(leader, 20);
    expect(leader.seq).toBe(40);
    expect(leader.epoch).toBe(epoch);
    await expectConverged(leader, followers, 15_000);
    for (const rec of recs) {
      expectClean(rec);
      // After the restart each follower resubscribed and caught up: either silence told it
      // (the command door kept the subscription open but deaf; the replica behind the
      // subscription door heard nothing until it re-synced with the primary) or the
      // subscription dropped (Webdis 0.1.9 sometimes segfaults when Redis restarts; its
      // supervisor brings it back).
      const stale = rec.statuses.find(
        (s) => (s.status === "catching-up" && /no message/.test(s.reason)) || s.status === "offline",
      );
      expect(stale, JSON.stringify(rec.statuses)).toBeDefined();
      expect(rec.path()).not.toContain("reset");
      expect(rec.updates.map((u) => u.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    // The stream is still usable after the restart: a newcomer gets the state.
    const late = track(await createRelay({ url: fixture.stack.webdisUrl }).connect(name, creds));
    expect(late.state).toEqual(leader.state);
  });

  it("Redis frozen for 1.5 s: the publish in flight times out and is retried with its op id, applied once; followers catch up", async () => {
    const name = uniqueName("pause");
    const wire = controlledFetch();
    const leader = track(
      await createRelay({
        url: fixture.stack.webdisUrl,
        fetch: wire.fetch,
        backoff: fastBackoff,
        heartbeatMs: 150,
        timeoutMs: 400,
      }).start(name, creds),
    );
    const followers = await followersOn(name, 700, 400);
    const recs = followers.map(recordAll);
    await publishSeries(leader, 10);
    await fixture.stack.pauseRedis();
    const during = leader.publish({ i: "during" });
    await sleep(1_500);
    expect(leader.status).toBe("offline");
    await fixture.stack.resumeRedis();
    await during;
    expect(leader.seq).toBe(11);
    await publishSeries(leader, 10);
    expect(leader.seq).toBe(21);

    // On the wire: one op id per publish() (each awaited, so none was coalesced), every
    // attempt of an op the very same request, and the one in flight sent more than once.
    const attempts = new Map<string, string[]>();
    for (const body of wire.bodies) {
      const args = commandArgs(body);
      if (args[1] !== "relay_publish") continue;
      const op = args[7] as string;
      attempts.set(op, [...(attempts.get(op) ?? []), body]);
    }
    expect(attempts.size).toBe(21);
    for (const bodies of attempts.values()) expect(new Set(bodies).size).toBe(1);
    const duringOp = [...attempts].find(([, b]) => commandArgs(b[0] as string)[8] === '{"i":"during"}');
    expect(duringOp, "the publish made while Redis was frozen").toBeDefined();
    expect(duringOp?.[1].length).toBeGreaterThanOrEqual(2);

    await expectConverged(leader, followers, 15_000);
    for (const rec of recs) {
      expectClean(rec);
      // Applied once each: 21 publishes, 21 changes, the frozen one at seq 11.
      expect(rec.updates.map((u) => u.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
      expect(rec.updates[10]?.state).toEqual({ i: "during" });
    }
  });
});
