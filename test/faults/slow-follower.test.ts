/**
 * A follower stops reading (its socket is not read: TCP back-pressure reaches
 * Webdis) while the leader publishes 1,000 changes. Either it reads the backlog
 * in order once it resumes, or its watchdog gives up on the silent
 * subscription first and resets to the current state; both without a
 * duplicate or an out-of-order apply. The WebSocket follower is on the
 * subscription door, the HTTP-stream one on the command door (no subscription
 * door), as shipped.
 */
import { describe, expect, it } from "vitest";
import { createRelay, type Leader } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import {
  controlledFetch,
  controlledWebSockets,
  creds,
  expectClean,
  expectConverged,
  fastBackoff,
  noise,
  recordAll,
  useStack,
} from "./support.ts";

const N = 1_000;
const PAD = 2_000;

/**
 * Change i. The pad differs each time, so a delta would be as big as the state
 * and every envelope carries the whole 2 KB state, which does not deflate much
 * (noise): ~2 MB in all, far more than a socket's receive buffer holds while
 * nobody reads it.
 */
const change = (i: number) => ({ i, pad: noise(PAD, i) });

async function publishChanges(leader: Leader, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await leader.publish(change(i));
}

/**
 * What a stalled follower may still apply after it stopped reading: what was
 * already on its way up (the HTTP stream has one read outstanding, which takes
 * the next chunk: a few dozen 2 KB messages at most).
 */
const IN_FLIGHT = 50;

const fixture = useStack();
const track = fixture.track;

/**
 * Holds the followers' re-syncs (relay_connect) while closed. The long stall
 * needs the stream to be past the history when the follower re-syncs; on a
 * loaded box the watchdog could fire and the re-sync land before enough
 * changes were published, and the follower then rightly caught up instead of
 * resetting (seen in CI: catching-up -> live, no reset).
 */
function syncGate() {
  let gate: Promise<void> | undefined;
  let open = () => {};
  return {
    wrap:
      (inner: typeof fetch): typeof fetch =>
      async (input, init) => {
        if (gate && String(init?.body ?? "").startsWith("FCALL/relay_connect/")) await gate;
        return inner(input, init);
      },
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
    release() {
      open();
      gate = undefined;
    },
  };
}

async function stalledPair(name: string, staleAfterMs: number) {
  const sockets = controlledWebSockets();
  const ctl = controlledFetch();
  const syncs = syncGate();
  const ws = track(
    await createRelay({
      url: fixture.stack.webdisUrl,
      subscribeUrl: fixture.stack.subscribeUrl,
      transports: ["websocket"],
      webSocket: sockets.factory,
      fetch: syncs.wrap((...a) => fetch(...a)),
      staleAfterMs,
      backoff: fastBackoff,
    }).connect(name, creds),
  );
  const http = track(
    await createRelay({
      url: fixture.stack.webdisUrl,
      transports: ["http-stream"],
      fetch: syncs.wrap(ctl.fetch),
      staleAfterMs,
      backoff: fastBackoff,
    }).connect(name, creds),
  );
  await Promise.all([waitForStatus(ws, "live"), waitForStatus(http, "live")]);
  expect(ws.transport).toBe("websocket");
  expect(http.transport).toBe("http-stream");
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
    holdSyncs: syncs.hold,
    releaseSyncs: syncs.release,
  };
}

describe("a follower that stops reading while 1,000 changes are published", () => {
  // 1,000 sealed 2 KB states to three followers: room on a loaded box (15 s seen at load 11).
  it("short stall: nothing applied while stalled, then the backlog in order, every change once; a slow iterator gets the newest", {
    timeout: 60_000,
  }, async () => {
    const name = uniqueName("stall");
    const leader = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).start(name, creds));
    const pair = await stalledPair(name, 60_000);
    // A follower that keeps reading: proof the changes were delivered meanwhile.
    const reader = track(
      await createRelay({
        url: fixture.stack.webdisUrl,
        subscribeUrl: fixture.stack.subscribeUrl,
        transports: ["websocket"],
      }).connect(name, creds),
    );
    await waitForStatus(reader, "live");
    const recs = pair.followers.map(recordAll);
    // The application reading the stalled followers is slow too: it asks for nothing until the end.
    const slowApps = pair.followers.map((f) => f[Symbol.asyncIterator]());
    pair.pause();
    await publishChanges(leader, 1, N);
    await expectConverged(leader, [reader], 20_000);
    for (const f of pair.followers) {
      expect(f.seq, `${f.transport} follower applied while it was not reading`).toBeLessThanOrEqual(IN_FLIGHT);
      expect(f.status).toBe("live");
    }
    pair.resume();
    await expectConverged(leader, pair.followers, 20_000);
    for (const rec of recs) {
      expectClean(rec);
      expect(rec.updates.map((u) => u.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(rec.path()).toEqual([]); // stayed live throughout
    }
    // A plan is a state, not a log (README: "a slow reader gets the newest"): the
    // iterator skips the backlog and yields the newest state, then the next change.
    for (const app of slowApps) expect((await app.next()).value).toEqual(change(N));
    await publishChanges(leader, N + 1, N + 1);
    for (const app of slowApps) expect((await app.next()).value).toEqual(change(N + 1));
  });

  it("long stall: the silent subscription is replaced, the follower resets to the current state, the late backlog is dropped", {
    timeout: 60_000,
  }, async () => {
    const name = uniqueName("stall-long");
    const leader = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 150 }).start(name, creds));
    const pair = await stalledPair(name, 600);
    const recs = pair.followers.map(recordAll);
    pair.pause();
    pair.holdSyncs();
    await publishChanges(leader, 1, N);
    // The watchdog notices the silence, resubscribes (new connections are read)
    // and re-syncs, now past the history: a reset.
    pair.releaseSyncs();
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
