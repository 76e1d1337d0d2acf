/**
 * A follower stops reading (its socket is not read: TCP back-pressure reaches
 * Webdis) while the leader publishes 1,000 changes. Either it reads the backlog
 * in order once it resumes, or its watchdog gives up on the silent
 * subscription first and resets to the current state; both without a
 * duplicate or an out-of-order apply.
 */
import { describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import {
  controlledFetch,
  controlledWebSockets,
  creds,
  expectClean,
  expectConverged,
  fastBackoff,
  publishSeries,
  recordAll,
  useStack,
  WS_ON,
} from "./support.ts";

const N = 1_000;
const PAD = 2_000; // ~2 MB in all: more than the socket buffers hold, so Webdis must queue

const fixture = useStack(WS_ON);
const track = fixture.track;

async function stalledPair(name: string, staleAfterMs: number) {
  const sockets = controlledWebSockets();
  const ctl = controlledFetch();
  const ws = track(
    await createRelay({
      url: fixture.stack.webdisUrl,
      transports: ["websocket"],
      webSocket: sockets.factory,
      staleAfterMs,
      backoff: fastBackoff,
    }).connect(name, creds),
  );
  const http = track(
    await createRelay({
      url: fixture.stack.webdisUrl,
      transports: ["http-stream"],
      fetch: ctl.fetch,
      staleAfterMs,
      backoff: fastBackoff,
    }).connect(name, creds),
  );
  await Promise.all([waitForStatus(ws, "live"), waitForStatus(http, "live")]);
  return {
    followers: [ws, http],
    pause() {
      sockets.pause();
      ctl.pauseStreams();
    },
    resume() {
      sockets.resume();
      ctl.resumeStreams();
    },
  };
}

describe("a follower that stops reading while 1,000 changes are published", () => {
  it("short stall: the backlog arrives in order and every change is applied once", async () => {
    const name = uniqueName("stall");
    const leader = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).start(name, creds));
    const pair = await stalledPair(name, 60_000);
    const recs = pair.followers.map(recordAll);
    pair.pause();
    await publishSeries(leader, N, { pad: PAD });
    await sleep(100);
    // Nothing got through while nobody read (at most what was already in flight).
    for (const f of pair.followers) expect(f.seq).toBeLessThan(N);
    pair.resume();
    await expectConverged(leader, pair.followers, 20_000);
    for (const rec of recs) {
      expectClean(rec);
      expect(rec.updates.map((u) => u.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(rec.path()).toEqual([]); // stayed live throughout
    }
  });

  it("long stall: the silent subscription is replaced, the follower resets to the current state, the late backlog is dropped", async () => {
    const name = uniqueName("stall-long");
    const leader = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 150 }).start(name, creds));
    const pair = await stalledPair(name, 600);
    const recs = pair.followers.map(recordAll);
    pair.pause();
    await publishSeries(leader, N, { pad: PAD });
    // The watchdog notices the silence, resubscribes (new connections are read) and resets.
    await expectConverged(leader, pair.followers, 20_000);
    pair.resume();
    await sleep(300);
    for (const [i, rec] of recs.entries()) {
      expectClean(rec);
      expect(pair.followers[i]?.seq).toBe(N);
      const path = rec.path();
      expect(path, JSON.stringify(rec.statuses)).toContain("reset");
      // The silence was noticed (a reordered burst may also have caused a gap catch-up first).
      expect(rec.statuses.some((s) => s.status === "catching-up" && /no message/.test(s.reason))).toBe(true);
      expect(rec.statuses.find((s) => s.status === "reset")?.reason).toBe("history too short");
      expect(path.at(-1)).toBe("live");
      expect(rec.updates.at(-1)?.seq).toBe(N);
    }
  });
});
