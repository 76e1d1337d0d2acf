/**
 * The live connection drops mid-stream (a cut WebSocket, a chunked HTTP stream
 * that errors) while the leader keeps publishing. Followers go offline,
 * reconnect, catch up from the history, and end on the leader's last state
 * without a duplicate or an out-of-order apply.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { uniqueName, waitForStatus } from "../support/util.ts";
import {
  controlledFetch,
  controlledWebSockets,
  creds,
  expectClean,
  expectConverged,
  expectFaithful,
  fastBackoff,
  publishSeries,
  type Recorder,
  recordAll,
  recordPublished,
  until,
  useStack,
} from "./support.ts";

// The shipped topology: WebSockets go to the subscription door (stack.subscribeUrl),
// commands and the HTTP stream without a subscription door to the command door.
const fixture = useStack();
const track = fixture.track;

const HISTORY = 200;
/**
 * The cut tests' plan: big enough that each change goes out as a small patch
 * and the log holds all 150 (it is flushed into a snapshot once it weighs as
 * much as the plan), so every catch-up after a cut is served from the log.
 */
const PAD = 40_000;

beforeAll(async () => {
  // Room for a slow reconnect under a loaded CI box; the reset test overruns it on purpose.
  await fixture.stack.redis("HSET", "relay:config", "history", HISTORY);
});
/** How many times a live follower went offline. */
function dropsOfLive(rec: Recorder): number {
  return rec.statuses.filter((s) => s.status === "offline" && s.previous === "live").length;
}

describe("the live connection drops mid-stream", () => {
  it("WebSocket cut three times during 150 changes: offline, catching-up, live; nothing lost, nothing twice", async () => {
    const sockets = controlledWebSockets();
    const relay = createRelay({
      url: fixture.stack.webdisUrl,
      subscribeUrl: fixture.stack.subscribeUrl,
      transports: ["websocket"],
      webSocket: sockets.factory,
      backoff: fastBackoff,
      heartbeatMs: 0,
    });
    const name = uniqueName("ws-drop");
    const leader = track(await relay.start(name, creds));
    const published = recordPublished(leader);
    const followers = [track(await relay.connect(name, creds)), track(await relay.connect(name, creds))];
    const recs = followers.map(recordAll);
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    for (const f of followers) expect(f.transport).toBe("websocket");
    let cuts = 0;
    await publishSeries(leader, 150, {
      pauseMs: 2,
      pad: PAD,
      during: async (i) => {
        if (i % 40 === 0) {
          // Each cut hits a live connection (not one still reconnecting from the last cut).
          await until("followers live", () => followers.every((f) => f.status === "live"));
          cuts += sockets.sever();
        }
      },
    });
    expect(cuts).toBe(6);
    await expectConverged(leader, followers);
    for (const f of followers) expect(f.transport).toBe("websocket");
    expect(leader.seq).toBe(150);
    for (const rec of recs) {
      expectClean(rec);
      const path = rec.path();
      // Three live connections dropped (a reconnect attempt may fail too on a loaded box).
      expect(dropsOfLive(rec), JSON.stringify(rec.statuses)).toBe(3);
      // Each reconnection re-syncs from the last seq before going live again.
      expect(path).toContain("catching-up");
      expect(path.at(-1)).toBe("live");
      // 3 drops within the log: each catch-up gets exactly the missing changes (no reset)
      // and shows the last of them; every state shown is the one published at its seq.
      expect(path, JSON.stringify(rec.statuses)).not.toContain("reset");
      expectFaithful(rec, published);
      expect(rec.updates.at(-1)?.seq).toBe(150);
    }
    expect(sockets.opened).toBe(2 + 6);
  });

  it("HTTP stream cut three times during 150 changes: same guarantees", async () => {
    const ctl = controlledFetch();
    const relay = createRelay({
      url: fixture.stack.webdisUrl,
      transports: ["http-stream"],
      fetch: ctl.fetch,
      backoff: fastBackoff,
      heartbeatMs: 0,
    });
    const name = uniqueName("http-drop");
    const leader = track(await relay.start(name, creds));
    const published = recordPublished(leader);
    const followers = [track(await relay.connect(name, creds)), track(await relay.connect(name, creds))];
    const recs = followers.map(recordAll);
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    let cuts = 0;
    await publishSeries(leader, 150, {
      pauseMs: 2,
      pad: PAD,
      during: async (i) => {
        if (i % 40 === 0) {
          await until("followers live", () => followers.every((f) => f.status === "live"));
          cuts += ctl.severStreams();
        }
      },
    });
    expect(cuts).toBe(6);
    await expectConverged(leader, followers);
    for (const rec of recs) {
      expectClean(rec);
      expect(dropsOfLive(rec), JSON.stringify(rec.statuses)).toBe(3);
      expect(rec.path()).toContain("catching-up");
      expect(rec.path(), JSON.stringify(rec.statuses)).not.toContain("reset");
      expectFaithful(rec, published);
      expect(rec.updates.at(-1)?.seq).toBe(150);
    }
  });

  it("a long outage (more changes than the history holds) ends in a reset, then live", async () => {
    const sockets = controlledWebSockets();
    const relay = createRelay({
      url: fixture.stack.webdisUrl,
      subscribeUrl: fixture.stack.subscribeUrl,
      transports: ["websocket"],
      webSocket: sockets.factory,
      backoff: () => 100,
      heartbeatMs: 0,
    });
    const name = uniqueName("ws-reset");
    const leader = track(await relay.start(name, creds));
    const f = track(await relay.connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    expect(f.transport).toBe("websocket");
    await publishSeries(leader, 5);
    await until("seq 5", () => f.seq === 5);
    sockets.blocked = true;
    sockets.sever();
    await until("offline", () => f.status === "offline");
    // More changes than the history keeps: the follower cannot catch up change by change.
    await publishSeries(leader, HISTORY + 20);
    sockets.blocked = false;
    await expectConverged(leader, [f]);
    expect(f.transport).toBe("websocket");
    expectClean(rec);
    const path = rec.path();
    // Reconnect attempts while the link is down, then one catch-up that is a reset.
    const after = path.slice(path.indexOf("offline"));
    expect(after.slice(-4)).toEqual(["connecting", "catching-up", "reset", "live"]);
    expect(new Set(after.slice(0, -3))).toEqual(new Set(["offline", "connecting"]));
    expect(rec.statuses.find((s) => s.status === "reset")?.reason).toMatch(/history/);
    expect(rec.updates.map((u) => u.seq)).toEqual([1, 2, 3, 4, 5, 5 + HISTORY + 20]);
  });
});
