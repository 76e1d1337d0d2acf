/**
 * WebSocket -> HTTP stream fallback on the shipped topology: `subscribeUrl` is
 * the subscription door, reached through a proxy that can refuse WebSocket
 * upgrades (403, as Webdis answers with WebSockets off) while it passes plain
 * HTTP. The rule (src/core/follower/transport.ts): a transport that never opened
 * is skipped; after a drop the follower goes back to the most preferred
 * transport that ever opened. So a WebSocket refused from the start is never
 * tried again, and one that worked before is tried again after every drop.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createRelay, type Follower } from "../../src/node.ts";
import { uniqueName, waitForStatus } from "../support/util.ts";
import {
  creds,
  type DoorProxy,
  doorProxy,
  expectClean,
  expectContiguous,
  expectConverged,
  fastBackoff,
  publishSeries,
  recordAll,
  until,
  useStack,
} from "./support.ts";

const fixture = useStack();
const track = fixture.track;

const proxies: DoorProxy[] = [];
afterAll(() => Promise.all(proxies.map((p) => p.close())));

/**
 * A leader and a follower whose live updates go through a proxy of their own
 * (so one test's cuts never reach another's follower), with the default
 * transports: the Node entry adds `ws`, so WebSocket first, then the HTTP stream.
 */
async function pair(prefix: string, refuseWebSockets: boolean) {
  const proxy = await doorProxy(fixture.stack.subscribeUrl);
  proxies.push(proxy);
  proxy.refuseWebSockets = refuseWebSockets;
  const relay = createRelay({
    url: fixture.stack.webdisUrl,
    subscribeUrl: proxy.url,
    backoff: fastBackoff,
    heartbeatMs: 0,
  });
  const name = uniqueName(prefix);
  const leader = track(await relay.start(name, creds));
  const f = track(await relay.connect(name, creds));
  return { proxy, leader, f };
}

/**
 * Cuts the path to the door and waits until the follower is live again on
 * `transport`. Cut only a quiet stream (the follower has everything): Webdis
 * 0.1.9 can write a cut subscription's pending messages onto the next
 * connection that gets its socket, whose HTTP stream then fails to open and
 * the follower moves on to the next transport, which is not what these tests
 * are about.
 */
async function cutAndWait(proxy: DoorProxy, f: Follower, transport: string): Promise<void> {
  expect(f.status).toBe("live");
  const seen: string[] = [];
  const off = f.on("status", (s) => seen.push(`${s.status}: ${s.reason}`));
  try {
    expect(proxy.sever()).toBeGreaterThan(0);
    await until("the follower to notice the cut", () => seen.length > 0);
    await until(`live on ${transport}`, () => f.status === "live" && f.transport === transport);
  } catch (e) {
    throw new Error(`${(e as Error).message} (${f.status} on ${f.transport}; ${seen.join(" | ")})`);
  } finally {
    off();
  }
}

describe("WebSocket to HTTP stream fallback (subscription door behind a proxy)", () => {
  it("a WebSocket refused from the start: one try, then the HTTP stream for good, even across drops", async () => {
    const { proxy, leader, f } = await pair("fallback-refused", true);
    const rec = recordAll(f);
    await waitForStatus(f, "live", 10_000);
    expect(f.transport).toBe("http-stream");
    expect(proxy.upgrades).toBe(1);
    // The refused WebSocket shows as one offline before the HTTP stream went live.
    expect(rec.path()).toEqual(["offline", "connecting", "live"]);
    expect(rec.statuses[0]?.reason).toMatch(/WebSocket/);

    // WebSockets would pass now: the follower still does not try them again.
    proxy.refuseWebSockets = false;
    for (let round = 0; round < 3; round++) {
      await publishSeries(leader, 5);
      await expectConverged(leader, [f]);
      await cutAndWait(proxy, f, "http-stream");
    }
    await publishSeries(leader, 5);
    await expectConverged(leader, [f]);
    expect(proxy.upgrades).toBe(1);
    expectClean(rec);
    // The state at connect was seq 0; every change arrived once, in order.
    expectContiguous(rec, 1, 20);
  });

  it("a WebSocket that worked: refused later, the HTTP stream takes over; passed again, back to WebSocket", async () => {
    const { proxy, leader, f } = await pair("fallback-worked", false);
    const rec = recordAll(f);
    await waitForStatus(f, "live", 10_000);
    expect(f.transport).toBe("websocket");
    await publishSeries(leader, 5);
    await expectConverged(leader, [f]);

    // The link drops and the proxy now refuses WebSockets: one refused try, then HTTP.
    proxy.refuseWebSockets = true;
    await cutAndWait(proxy, f, "http-stream");
    expect(proxy.upgrades).toBe(2);
    await publishSeries(leader, 5);
    await expectConverged(leader, [f]);

    // WebSockets pass again: after the next drop the follower goes back to them.
    proxy.refuseWebSockets = false;
    await cutAndWait(proxy, f, "websocket");
    expect(proxy.upgrades).toBe(3);
    await publishSeries(leader, 5);
    await expectConverged(leader, [f]);
    expect(f.transport).toBe("websocket");
    expectClean(rec);
    expectContiguous(rec, 1, 15);
    const refused = rec.statuses.filter((s) => s.status === "offline" && /WebSocket/.test(s.reason));
    expect(refused.length, JSON.stringify(rec.statuses)).toBeGreaterThanOrEqual(2); // the cut WebSocket, then the refused one
  });
});
