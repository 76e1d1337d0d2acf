/**
 * A publish whose reply is lost after the server applied it: the leader
 * retries with the same op id and the stream changes exactly once. A publish
 * that is still on its way when the leader times out never lands after a
 * newer state.
 */
import { describe, expect, it } from "vitest";
import { createRelay, type LeaderStatus } from "../../src/node.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import {
  contentKey,
  controlledFetch,
  creds,
  expectClean,
  expectConverged,
  fastBackoff,
  publishesIn,
  recordAll,
  type SentPublish,
  serverState,
  statesOf,
  useStack,
} from "./support.ts";

const fixture = useStack();
const track = fixture.track;

async function serverMeta(name: string): Promise<Record<string, string>> {
  const key = `relay:{${name}}:meta`;
  const flat = (await fixture.stack.redis("HGETALL", key)) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

describe("publish exactly once", () => {
  it("the reply is cut after the server applied it: the retry (same op id) changes nothing", async () => {
    const ctl = controlledFetch();
    const relay = createRelay({ url: fixture.stack.webdisUrl, fetch: ctl.fetch, backoff: fastBackoff, heartbeatMs: 0 });
    const watcher = createRelay({ url: fixture.stack.webdisUrl, backoff: fastBackoff, heartbeatMs: 0 });
    const name = uniqueName("cut");
    const leader = track(await relay.start(name, creds));
    const statuses: LeaderStatus[] = [];
    leader.on("status", (s) => statuses.push(s.status));
    const followers = [
      track(await watcher.connect(name, creds)),
      track(
        await createRelay({ url: fixture.stack.webdisUrl, transports: ["http-stream"], heartbeatMs: 0 }).connect(
          name,
          creds,
        ),
      ),
    ];
    const recs = followers.map(recordAll);
    await Promise.all(followers.map((f) => waitForStatus(f, "live")));
    await leader.publish({ n: 1 });

    let cut = 0;
    ctl.onCommand = (body) =>
      body.startsWith("FCALL/relay_publish/") && cut++ === 0 ? { kind: "drop-reply" } : { kind: "pass" };
    const result = await leader.publish({ n: 2 });
    expect(result).toEqual({ seq: 2, changed: true });
    await leader.publish({ n: 3 });

    const sent = publishesIn(ctl.bodies);
    // n:2 went out twice with one op id and the very same sealed bytes on the same base
    // (sealing is random: a re-seal would be another request); the server made one change of it.
    const states = await statesOf(await contentKey(name), name, leader.epoch, sent);
    expect(states.map((s) => (s as { n: number }).n)).toEqual([1, 2, 2, 3]);
    expect(sent[2]).toEqual(sent[1]);
    expect(new Set(sent.map((p) => p.op)).size).toBe(3);
    expect(new Set(sent.map((p) => p.content)).size).toBe(3);
    expect((await serverMeta(name)).seq).toBe("3");
    expect(statuses).toEqual(["offline", "live"]);

    await expectConverged(leader, followers);
    for (const rec of recs) {
      expectClean(rec);
      expect(rec.updates.map((u) => [u.seq, (u.state as { n: number }).n])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
    }
  });

  it("a timed-out publish that reaches the server late never lands after the newer state", async () => {
    const ctl = controlledFetch();
    const relay = createRelay({
      url: fixture.stack.webdisUrl,
      fetch: ctl.fetch,
      timeoutMs: 250,
      backoff: fastBackoff,
      heartbeatMs: 0,
    });
    const name = uniqueName("late");
    const leader = track(await relay.start(name, creds));
    const f = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    await leader.publish({ v: "a0" });

    // The first attempt of {v:"a"} (the next publish: its content is sealed, so it is told
    // by its place) is held for 900 ms: the client gives up after 250 ms, the user edits
    // again ({v:"b"}), and only then does the held request reach Webdis.
    const before = publishesIn(ctl.bodies).length;
    let holds = 0;
    ctl.onCommand = (body) =>
      body.startsWith("FCALL/relay_publish/") && holds++ === 0 ? { kind: "delay-send", ms: 900 } : { kind: "pass" };
    const pa = leader.publish({ v: "a" });
    await sleep(300);
    const pb = leader.publish({ v: "b" });
    await Promise.all([pa, pb]);
    expect(ctl.late).toHaveLength(1);
    // The held copy of "a" reaches the server after "b": a duplicate, not a change.
    const [lateReply] = await Promise.all(ctl.late);
    expect(JSON.parse(JSON.parse(lateReply as string).FCALL)).toMatchObject({ duplicate: true, seq: 2 });
    expect(leader.state).toEqual({ v: "b" });
    // The held request was {v:"a"}'s first attempt, resent as is by the retry.
    const key = await contentKey(name);
    const all = publishesIn(ctl.bodies);
    const states = await statesOf(key, name, leader.epoch, all);
    const first = all[before] as SentPublish;
    const ofA = all.slice(before).filter((p) => p.op === first.op);
    expect(ofA.length, "the held request and its retry").toBeGreaterThanOrEqual(2);
    for (const p of ofA) expect(p, "a retry of the held request").toEqual(first);
    expect(states.slice(before)).toEqual(all.slice(before).map((p) => (p.op === first.op ? { v: "a" } : { v: "b" })));
    // What Redis holds (snapshot + log, opened) is "b", at the leader's seq.
    expect(await serverState(fixture.stack, name, key)).toEqual({ seq: leader.seq, state: { v: "b" } });
    expect((await serverMeta(name)).seq).toBe(String(leader.seq));
    await expectConverged(leader, [f]);
    expectClean(rec);
    // "a" applied once (by the retry), then "b"; the late copy changed nothing.
    expect(rec.updates.map((u) => (u.state as { v: string }).v)).toEqual(["a0", "a", "b"]);
  });

  it("offline for a while: only the newest pending state is sent when back, in one change", async () => {
    const ctl = controlledFetch();
    const relay = createRelay({ url: fixture.stack.webdisUrl, fetch: ctl.fetch, backoff: () => 100, heartbeatMs: 0 });
    const name = uniqueName("offline");
    const leader = track(await relay.start(name, creds));
    const f = track(await createRelay({ url: fixture.stack.webdisUrl, heartbeatMs: 0 }).connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    await leader.publish({ v: 0 });
    await fixture.stack.killWebdis();
    const all = [];
    for (let v = 1; v <= 20; v++) {
      all.push(leader.publish({ v }));
      await sleep(15);
    }
    expect(leader.status).toBe("offline");
    expect(leader.pending).toBeLessThanOrEqual(1);
    await fixture.stack.startWebdis();
    const results = await Promise.all(all);
    // Every caller learns the seq of the state that replaced theirs.
    expect(new Set(results.map((r) => r.seq))).toEqual(new Set([2]));
    expect(leader.status).toBe("live");
    await expectConverged(leader, [f]);
    expectClean(rec);
    expect(rec.updates.map((u) => (u.state as { v: number }).v)).toEqual([0, 20]);
  });
});
