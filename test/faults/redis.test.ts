/**
 * The primary Redis restarts (AOF on, so the streams survive) or freezes
 * (SIGSTOP) while a leader publishes. The command door's Webdis keeps its
 * chunked streams open when its Redis connection dies, and the subscription
 * door's replica hears nothing while it is cut off from the primary, so
 * followers only notice by silence: they must resubscribe and catch up. The
 * leader retries through 503s and timeouts without making a change twice.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createRelay, type Follower, type TransportName } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import {
  contentKey,
  controlledFetch,
  creds,
  expectClean,
  expectConverged,
  expectFaithful,
  fastBackoff,
  publishesIn,
  publishSeries,
  recordAll,
  recordPublished,
  statesOf,
  useStack,
} from "./support.ts";

const fixture = useStack({ aof: true });
const track = fixture.track;

/**
 * A plan big enough that each change goes out as a small patch, and a log
 * long enough for every change of a test: a follower that re-syncs after a
 * restart then gets the changes it lacks, not the stream whole (a reset).
 */
const PAD = 16_000;
beforeAll(async () => {
  await fixture.stack.redis("HSET", "relay:config", "history", 100);
});

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
    const published = recordPublished(leader);
    const followers = await followersOn(name, 700);
    const recs = followers.map(recordAll);
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    await publishSeries(leader, 20, { pad: PAD });
    await fixture.stack.restartRedis();
    await publishSeries(leader, 20, { pad: PAD });
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
      expect(rec.path(), JSON.stringify(rec.statuses)).not.toContain("reset");
      // Each state as the leader published it; a catch-up shows its last change only.
      expectFaithful(rec, published);
      expect(rec.updates.at(-1)?.seq).toBe(40);
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
    const published = recordPublished(leader);
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
    // attempt of an op the very same request (same base, kind and sealed bytes), and the
    // one in flight sent more than once.
    const bodies = wire.bodies.filter((b) => b.startsWith("FCALL/relay_publish/"));
    const attempts = new Map<string, string[]>();
    for (const [k, p] of publishesIn(bodies).entries())
      attempts.set(p.op, [...(attempts.get(p.op) ?? []), bodies[k] as string]);
    expect(attempts.size).toBe(21);
    for (const sent of attempts.values()) expect(new Set(sent).size).toBe(1);
    // Which op was the frozen one: open the first attempt of each.
    const firsts = [...attempts.values()].map((b) => b[0] as string);
    const states = await statesOf(await contentKey(name), name, leader.epoch, publishesIn(firsts));
    const duringAt = states.findIndex((s) => (s as { i: unknown }).i === "during");
    expect(duringAt, "the publish made while Redis was frozen").toBe(10);
    expect(attempts.get(publishesIn(firsts)[duringAt]?.op as string)?.length).toBeGreaterThanOrEqual(2);

    await expectConverged(leader, followers, 15_000);
    for (const rec of recs) {
      expectClean(rec);
      // Applied once each, as published: 21 publishes, 21 changes, the frozen one at seq 11
      // (a catch-up shows only its last change).
      expectFaithful(rec, published);
      expect(published.get(11)).toEqual({ i: "during" });
      expect(rec.updates.at(-1)?.seq).toBe(21);
    }
  });
});
