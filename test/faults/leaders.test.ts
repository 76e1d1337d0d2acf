/**
 * Two leaders race to take over one stream (`reconnect` at the same moment)
 * while the first leader is still publishing. Exactly one wins (the highest
 * term); every other leader's publishes and heartbeats fail with
 * LEADER_REPLACED, and it tells its user through `replaced` and `status`.
 * Followers end on the winner's last state.
 */
import { describe, expect, it } from "vitest";
import { createRelay, type Leader, type LeaderStatus, type RelayError } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import { creds, expectClean, expectConverged, fastBackoff, recordAll, until, useStack } from "./support.ts";

const fixture = useStack();
const track = fixture.track;

interface Watched {
  leader: Leader;
  statuses: { status: LeaderStatus; reason: string }[];
  replaced: RelayError[];
  rejected: string[];
  published: number;
}

function watch(leader: Leader): Watched {
  const w: Watched = { leader, statuses: [], replaced: [], rejected: [], published: 0 };
  leader.on("status", (s) => w.statuses.push({ status: s.status, reason: s.reason }));
  leader.on("replaced", (e) => w.replaced.push(e.error));
  return w;
}

/** Publishes {who, i} until told to stop or the leader is out; records outcomes. */
function publishLoop(w: Watched, who: string, stop: () => boolean): Promise<void> {
  return (async () => {
    for (let i = 1; !stop() && w.leader.status !== "replaced"; i++) {
      try {
        await w.leader.publish({ who, i });
        w.published++;
      } catch (e) {
        w.rejected.push((e as RelayError).code);
      }
      await sleep(3);
    }
  })();
}

describe("two leaders race", () => {
  for (const round of [1, 2, 3]) {
    it(`round ${round}: concurrent reconnects while the old leader publishes: exactly one wins`, async () => {
      const name = uniqueName("race");
      const r = () => createRelay({ url: fixture.stack.webdisUrl, backoff: fastBackoff, heartbeatMs: 100 });
      const first = watch(track(await r().start(name, creds)));
      const followers = [
        track(await r().connect(name, creds)),
        track(await createRelay({ url: fixture.stack.webdisUrl, transports: ["http-stream"] }).connect(name, creds)),
      ];
      const recs = followers.map(recordAll);
      await Promise.all(followers.map((f) => waitForStatus(f, "live")));

      let stopFirst = false;
      const firstLoop = publishLoop(first, "first", () => stopFirst);
      await sleep(30);
      const [a, b] = (await Promise.all([r().reconnect(name, creds), r().reconnect(name, creds)])).map((l) =>
        watch(track(l)),
      ) as [Watched, Watched];
      expect(Math.abs(a.leader.term - b.leader.term)).toBe(1);
      const [winner, loser] = a.leader.term > b.leader.term ? [a, b] : [b, a];

      let stop = false;
      const loops = [publishLoop(winner, "winner", () => stop), publishLoop(loser, "loser", () => stop)];
      // The old leader learns within a publish or a heartbeat; the loser at its first publish.
      await until(
        "first and loser replaced",
        () => first.leader.status === "replaced" && loser.leader.status === "replaced",
      );
      stopFirst = true;
      await sleep(100);
      stop = true;
      await Promise.all([firstLoop, ...loops]);

      expect(winner.leader.status).toBe("live");
      expect(winner.rejected).toEqual([]);
      expect(winner.published).toBeGreaterThan(0);
      expect(winner.replaced).toEqual([]);
      for (const out of [first, loser]) {
        // Told once, with the code, through both events; every refused publish says why.
        expect(out.replaced).toHaveLength(1);
        expect(out.replaced[0]?.code).toBe("LEADER_REPLACED");
        expect(out.statuses.at(-1)).toEqual({ status: "replaced", reason: "another leader took over" });
        expect(new Set(out.rejected)).toEqual(new Set(out.rejected.length ? ["LEADER_REPLACED"] : []));
        await expect(out.leader.publish({ late: true })).rejects.toMatchObject({ code: "LEADER_REPLACED" });
      }
      expect(loser.published).toBe(0);

      await expectConverged(winner.leader, followers);
      for (const f of followers) expect((f.state as { who: string }).who).toBe("winner");
      for (const rec of recs) {
        expectClean(rec);
        // The winner's changes come after any of the old leader's, never interleaved back.
        const whos = rec.updates.map((u) => (u.state as { who: string }).who);
        const firstWinner = whos.indexOf("winner");
        expect(firstWinner).toBeGreaterThanOrEqual(0);
        expect(whos.slice(firstWinner).every((w) => w === "winner")).toBe(true);
        expect(whos).not.toContain("loser");
      }
    });
  }

  it("an idle leader (no publishes) learns it was replaced from its heartbeat", async () => {
    const name = uniqueName("hb");
    const old = watch(track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 100 }).start(name, creds)));
    const next = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).reconnect(name, creds));
    await until("replaced via heartbeat", () => old.replaced.length === 1, 3_000);
    expect(old.leader.status).toBe("replaced");
    expect(next.status).toBe("live");
  });
});
