/**
 * The leader against the real stack, where its reply handling matters: a
 * garbled reply (outcome unknown: retried with the same op id, a few times),
 * a 503 (Webdis had no Redis: surely not applied, so a newer state may take
 * its place), close() (leaves the stream running) and a heartbeat that finds
 * the stream gone.
 *
 * Faults are made in a fetch wrapper around the real Webdis: it rewrites a
 * reply that really came back, or answers 503 itself without forwarding (what
 * Webdis says when it has no Redis connection: nothing reached Redis).
 */
import { describe, expect, it } from "vitest";
import { openChange } from "../../src/core/content.ts";
import { httpCommander } from "../../src/core/http.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import type { LeaderStatus, RelayError, RelayOptions } from "../../src/node.ts";
import { commandArgs, creds, expectClean, expectConverged, recordAll, until, useStack } from "../faults/support.ts";
import { sleep, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { expectCode, relayOn } from "./support.ts";

const fixture = useStack();
const { track } = fixture;

type Action = "pass" | "garble" | "503";

/** A fetch to the real Webdis whose command replies the test can garble or replace by a 503. */
function replyFaults() {
  const forwarded: string[] = [];
  const t = {
    /** Bodies of commands that reached Webdis, in order. */
    forwarded,
    /** Decides per command (subscriptions always pass). */
    rule: (_body: string): Action => "pass",
    fetch: (async (input, init) => {
      const body = typeof init?.body === "string" ? init.body : "";
      const action = body.startsWith("SUBSCRIBE/") ? "pass" : t.rule(body);
      if (action === "503") return new Response("", { status: 503 });
      if (!body.startsWith("SUBSCRIBE/")) forwarded.push(body);
      const res = await fetch(input, init);
      if (action === "pass") return res;
      // The server answered (the change happened); the client gets half of its reply.
      const reply = JSON.parse(await res.text()) as Record<string, string>;
      const [command, value] = Object.entries(reply)[0] as [string, string];
      return new Response(JSON.stringify({ [command]: value.slice(0, value.length >> 1) }), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    }) as typeof fetch,
  };
  return t;
}

const relayWith = (o: Partial<RelayOptions> = {}) => relayOn(fixture.stack, o);

const isPublish = (body: string) => body.startsWith("FCALL/relay_publish/");
/**
 * [op id, what was sealed] of each relay_publish of `leader` that reached
 * Webdis, opened with the stream's key for the seq after its base (a whole
 * state opens as that state; a patch as its {h, patch}).
 */
async function publishes(bodies: string[], leader: { name: string; epoch: string }) {
  const key = (await derivePasswordKeys(leader.name, creds.password)).content;
  const sent = bodies.filter(isPublish).map(async (b) => {
    const [op, base, k, c] = commandArgs(b).slice(7) as [string, string, "s" | "p", string];
    const env = { v: 2, t: "state", epoch: leader.epoch, seq: Number(base) + 1, ts: 0, k, c } as const;
    const change = await openChange(key, leader.name, env);
    return [op, change.patch ? { h: change.h, patch: change.patch } : change.state] as const;
  });
  return Promise.all(sent);
}

const serverSeq = async (name: string) => Number(await fixture.stack.redis("HGET", `${baseKey(name)}:meta`, "seq"));

function leaderLog(leader: { on: (e: "status", fn: (s: { status: LeaderStatus }) => void) => unknown }) {
  const statuses: LeaderStatus[] = [];
  leader.on("status", (s) => statuses.push(s.status));
  return statuses;
}

describe("leader reply handling", () => {
  it("a garbled reply after the server applied the publish: retried with the same op id, one change", async () => {
    const faults = replyFaults();
    const name = uniqueName("garble");
    const leader = track(await relayWith({ fetch: faults.fetch }).start(name, creds));
    const statuses = leaderLog(leader);
    const errors: RelayError[] = [];
    leader.on("error", (e) => errors.push(e.error));
    const f = track(await relayWith().connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    await leader.publish({ n: 1 });

    let garbled = 0;
    faults.rule = (body) => (isPublish(body) && garbled++ === 0 ? "garble" : "pass");
    expect(await leader.publish({ n: 2 })).toEqual({ seq: 2, changed: true });

    const sent = await publishes(faults.forwarded, leader);
    expect(sent.map(([, s]) => s)).toEqual([{ n: 1 }, { n: 2 }, { n: 2 }]);
    expect(sent[1]?.[0]).toBe(sent[2]?.[0]);
    // Sealing is random: the retry must resend the very bytes of the first attempt, on the same base.
    const [, first, retry] = faults.forwarded.filter(isPublish);
    expect(retry).toBe(first);
    expect(errors.map((e) => e.code)).toEqual(["PROTOCOL"]);
    expect(statuses).toEqual(["offline", "live"]);
    expect(await serverSeq(name)).toBe(2);
    await expectConverged(leader, [f]);
    expect(rec.updates.map((u) => u.seq)).toEqual([1, 2]);
    expectClean(rec);
  });

  it("replies that stay garbled: three retries of the same op id, then PROTOCOL; the leader goes on", async () => {
    const faults = replyFaults();
    const name = uniqueName("garbled");
    const leader = track(await relayWith({ fetch: faults.fetch }).start(name, creds));
    const f = track(await relayWith().connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");
    faults.rule = (body) => (isPublish(body) ? "garble" : "pass");
    await expectCode(leader.publish({ n: 1 }), "PROTOCOL");
    const sent = await publishes(faults.forwarded, leader);
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map(([op]) => op)).size).toBe(1);
    // The first attempt landed; the retries were recognised as such.
    expect(await serverSeq(name)).toBe(1);
    faults.rule = () => "pass";
    expect(await leader.publish({ n: 2 })).toEqual({ seq: 2, changed: true });
    expect(leader.status).toBe("live");
    await expectConverged(leader, [f]);
    expect(rec.updates.map((u) => [u.seq, u.state])).toEqual([
      [1, { n: 1 }],
      [2, { n: 2 }],
    ]);
  });

  it("503 (Webdis had no Redis): the state was surely not applied, so a newer one replaces it", async () => {
    const faults = replyFaults();
    const name = uniqueName("503");
    const leader = track(await relayWith({ fetch: faults.fetch }).start(name, creds));
    const statuses = leaderLog(leader);
    const f = track(await relayWith().connect(name, creds));
    const rec = recordAll(f);
    await waitForStatus(f, "live");

    let refused = 0;
    faults.rule = (body) => (isPublish(body) && refused++ === 0 ? "503" : "pass");
    // A is in flight when B comes; A meets the 503, and B goes out in its place.
    const pa = leader.publish({ v: "A" });
    const pb = leader.publish({ v: "B" });
    expect(await Promise.all([pa, pb])).toEqual([
      { seq: 1, changed: true },
      { seq: 1, changed: true },
    ]);
    expect((await publishes(faults.forwarded, leader)).map(([, s]) => s)).toEqual([{ v: "B" }]);
    expect(statuses).toEqual(["offline", "live"]);

    // Alone, a state that met a 503 is sent again until it lands.
    refused = 0;
    faults.rule = (body) => (isPublish(body) && refused++ < 2 ? "503" : "pass");
    expect(await leader.publish({ v: "C" })).toEqual({ seq: 2, changed: true });
    expect((await publishes(faults.forwarded, leader)).map(([, s]) => s)).toEqual([{ v: "B" }, { v: "C" }]);
    await expectConverged(leader, [f]);
    expect(rec.updates.map((u) => u.state)).toEqual([{ v: "B" }, { v: "C" }]);
    expectClean(rec);
  });
});

describe("leaving and losing the stream", () => {
  it("close() leaves the stream running: followers stay, heartbeats stop, another leader takes over", async () => {
    const faults = replyFaults();
    const name = uniqueName("close");
    const leader = await relayWith({ fetch: faults.fetch, heartbeatMs: 50 }).start(name, creds);
    await leader.publish({ n: 1 });
    const f = track(await relayWith().connect(name, creds));
    const ended: unknown[] = [];
    f.on("ended", (e) => ended.push(e));
    await waitForStatus(f, "live");
    const beats = () => faults.forwarded.filter((b) => b.startsWith("FCALL/relay_heartbeat/")).length;
    await until("a heartbeat", () => beats() > 0);

    const statuses: string[] = [];
    leader.on("status", (s) => statuses.push(`${s.status}:${s.reason}`));
    leader.close();
    expect(leader.status).toBe("closed");
    expect(statuses).toEqual(["closed:closed by the leader"]);
    await expectCode(leader.publish({ n: 2 }), "CLOSED");
    const after = beats();
    await sleep(300);
    expect(beats()).toBe(after);
    expect(faults.forwarded.some((b) => b.startsWith("FCALL/relay_stop/"))).toBe(false);

    const page = await relayWith().list({ cursor: name.slice(0, -1), count: 5 });
    expect(page.streams.map((s) => s.name)).toContain(name);
    const next = track(await relayWith().reconnect(name, creds));
    expect([next.term, next.seq, next.state]).toEqual([2, 1, { n: 1 }]);
    await next.publish({ n: 2 });
    await waitForSeq(f, 2);
    expect(f.state).toEqual({ n: 2 });
    expect(f.status).toBe("live");
    expect(ended).toEqual([]);
  });

  it("a heartbeat that finds the stream gone (NOT_FOUND): the leader is stopped", async () => {
    const name = uniqueName("beatgone");
    const leader = track(await relayWith({ heartbeatMs: 50 }).start(name, creds));
    const statuses: string[] = [];
    leader.on("status", (s) => statuses.push(`${s.status}:${s.reason}`));
    await leader.publish({ n: 1 });
    // Another process (e.g. the CLI) stops the stream behind this leader's back.
    const code = await deriveVerifier("code", name, creds.code);
    await httpCommander({ url: fixture.stack.webdisUrl }).call("FCALL", ["relay_stop", "1", baseKey(name), name, code]);
    await until("the leader to stop", () => leader.status === "stopped", 5_000);
    expect(statuses).toEqual(["stopped:the stream no longer exists"]);
    await expectCode(leader.publish({ n: 2 }), "CLOSED");
  });
});
