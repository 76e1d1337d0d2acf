/**
 * The follower's honest status: the pure rule on hand-made observations, then
 * on what a real Follower (on the unit fakes, vitest's fake timers) reports
 * when its leader goes quiet and when its connection stalls.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { current, type Rig, rig } from "../test/unit/follower-fakes.ts";
import { clock, honestSentence, honestStatus, honestWords, type Observed } from "./status.ts";

const t = { heartbeatMs: 1_000, staleAfterMs: 3_000 };
const at = (o: Partial<Observed>): Observed => ({
  status: "live",
  heardAt: 0,
  answeredAt: 0,
  joinedAt: 0,
  ...o,
});

describe("honestStatus", () => {
  it("is live only while the leader was heard within the interval and its margin", () => {
    expect(honestStatus(at({ heardAt: 10_000 }), t, 11_900)).toEqual({ kind: "live" });
    // 1 s beat + 1 s margin: 2.1 s without a word is no longer live.
    expect(honestStatus(at({ heardAt: 10_000, answeredAt: 1_000 }), t, 12_100).kind).toBe("stalled");
  });

  it("says the leader is away when the door answered after the last word", () => {
    const s = honestStatus(at({ heardAt: 10_000, answeredAt: 13_000 }), t, 14_000);
    expect(s).toEqual({ kind: "leader-away", since: 10_000 });
    // The door's last answer is as old as a watchdog round and its margin: still away, no flicker.
    expect(honestStatus(at({ heardAt: 10_000, answeredAt: 13_000 }), t, 17_400).kind).toBe("leader-away");
    // Longer than that with no answer either: nothing arrives at all.
    expect(honestStatus(at({ heardAt: 10_000, answeredAt: 13_000 }), t, 18_100).kind).toBe("stalled");
  });

  it("counts the silence from the join before anything was heard", () => {
    expect(honestStatus(at({ heardAt: undefined, joinedAt: 5_000, answeredAt: 5_000 }), t, 6_000).kind).toBe("live");
    expect(honestStatus(at({ heardAt: undefined, joinedAt: 5_000, answeredAt: 5_000 }), t, 7_500)).toEqual({
      kind: "leader-away",
      since: 5_000,
    });
  });

  it("passes the client's own non-live states through, and offline or ended whatever was heard", () => {
    expect(honestStatus(at({ status: "catching-up", heardAt: 10_000 }), t, 10_500).kind).toBe("catching-up");
    expect(honestStatus(at({ status: "offline", heardAt: 10_000 }), t, 10_500).kind).toBe("offline");
    expect(honestStatus(at({ status: "ended", heardAt: 0 }), t, 99_000).kind).toBe("ended");
    // Silent while catching up after a silence, door not answering: stalled, not "catching up".
    expect(honestStatus(at({ status: "catching-up", heardAt: 10_000, answeredAt: 1 }), t, 14_000).kind).toBe("stalled");
  });

  it("with heartbeats off, silence proves nothing", () => {
    expect(honestStatus(at({ heardAt: 0 }), { heartbeatMs: 0, staleAfterMs: 3_000 }, 99_000).kind).toBe("live");
  });

  it("words the pill and the sentence with the time", () => {
    const since = new Date(2026, 11, 1, 9, 5).getTime();
    expect(clock(since)).toBe("09:05");
    expect(honestWords({ kind: "leader-away", since })).toBe("Leader away since 09:05");
    expect(honestWords({ kind: "stalled", since })).toBe("Connection stalled");
    expect(honestSentence({ kind: "stalled", since })).toMatch(/^Nothing has arrived since 09:05/);
    expect(honestSentence({ kind: "live" })).toBeUndefined();
  });
});

describe("honestStatus over a Follower's read-only facts (heardAt, answeredAt)", () => {
  let r: Rig | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    r?.f.disconnect();
    vi.useRealTimers();
  });
  const observe = (x: Rig, joinedAt: number): Observed => ({
    status: x.f.status,
    code: x.f.reasonCode,
    heardAt: x.f.heardAt,
    answeredAt: x.f.answeredAt,
    joinedAt,
  });

  async function liveRig(): Promise<[Rig, number]> {
    const joined = Date.now();
    const x = await rig();
    current(x)?.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(x.f.status).toBe("live");
    return [x, joined];
  }

  it("heartbeats keep it live; a stalled connection is stalled within the interval, though the client still says live", async () => {
    const [x, joined] = await liveRig();
    r = x;
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      current(x)?.send(x.stream.hb());
      expect(honestStatus(observe(x, joined), t, Date.now()).kind).toBe("live");
    }
    // The link stalls: nothing more arrives, nothing answers.
    await vi.advanceTimersByTimeAsync(2_100);
    expect(x.f.status).toBe("live");
    expect(honestStatus(observe(x, joined), t, Date.now()).kind).toBe("stalled");
    // The watchdog resubscribes; the new subscription never opens: still stalled.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(honestStatus(observe(x, joined), t, Date.now()).kind).toBe("stalled");
  });

  it("a leader gone quiet on a connection that answers is away since its last word", async () => {
    const [x, joined] = await liveRig();
    r = x;
    await vi.advanceTimersByTimeAsync(1_000);
    current(x)?.send(x.stream.hb());
    const last = Date.now();
    // No more heartbeats; the watchdog's resubscription opens and its re-sync answers.
    const before = current(x);
    await vi.advanceTimersByTimeAsync(4_500);
    expect(current(x)).not.toBe(before);
    current(x)?.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(x.f.status).toBe("live");
    expect(honestStatus(observe(x, joined), t, Date.now())).toEqual({ kind: "leader-away", since: last });
    // The leader comes back: one heartbeat and it is live again.
    current(x)?.send(x.stream.hb());
    expect(honestStatus(observe(x, joined), t, Date.now()).kind).toBe("live");
  });
});
