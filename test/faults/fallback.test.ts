/**
 * The shipped webdis.json turns WebSockets off. A follower with the default
 * transport list (WebSocket first) falls back to the HTTP stream, and after a
 * drop goes straight back to the HTTP stream instead of trying the refused
 * WebSocket again each time.
 */
import { describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { uniqueName, waitForStatus } from "../support/util.ts";
import {
  controlledFetch,
  creds,
  expectClean,
  expectConverged,
  fastBackoff,
  publishSeries,
  recordAll,
  useStack,
} from "./support.ts";

const fixture = useStack();
const track = fixture.track;

describe("transport fallback with WebSockets off", () => {
  it("falls back to the HTTP stream once, and stays there across drops", async () => {
    const ctl = controlledFetch();
    const relay = createRelay({ url: fixture.stack.webdisUrl, fetch: ctl.fetch, backoff: fastBackoff, heartbeatMs: 0 });
    const name = uniqueName("fallback");
    const leader = track(await relay.start(name, creds));
    const f = track(await relay.connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live", 10_000);
    expect(f.transport).toBe("http-stream");
    const fellBack = rec.statuses.filter((s) => s.status === "offline").length;
    expect(fellBack).toBeLessThanOrEqual(1); // the refused WebSocket, at most once
    for (let round = 0; round < 3; round++) {
      await publishSeries(leader, 5);
      ctl.severStreams();
      await waitForStatus(f, "offline");
      await waitForStatus(f, "live");
      expect(f.transport).toBe("http-stream");
    }
    await publishSeries(leader, 5);
    await expectConverged(leader, [f]);
    expectClean(rec);
    // One offline per cut: no failed WebSocket attempt in between.
    expect(rec.statuses.filter((s) => s.status === "offline")).toHaveLength(fellBack + 3);
    expect(rec.updates.map((u) => u.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
