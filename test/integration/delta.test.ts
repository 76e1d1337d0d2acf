/**
 * Delta updates: a small edit of a large plan reaches followers as a JSON Patch
 * plus the SHA-1 of the full state; a patch that does not fit makes the
 * follower fetch the whole state instead of showing a wrong plan.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { baseKey, commandBody } from "../../src/core/wire.ts";
import { createRelay, type Follower, type Relay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { record, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

let stack: Stack;
let relay: Relay;
const open: { disconnect(): void }[] = [];
beforeAll(async () => {
  stack = await startStack({ aof: false });
  relay = createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, heartbeatMs: 0 });
});
afterAll(async () => {
  for (const f of open) f.disconnect();
  await stack?.stop();
});

const bigPlan = () => ({
  version: 1,
  title: "Large mission",
  waypoints: Array.from({ length: 2000 }, (_, i) => ({
    id: `wp-${i}`,
    name: `Waypoint ${i}`,
    type: "waypoint",
    x: i * 1.25,
    y: (i % 97) * 3.5,
  })),
  notes: "n".repeat(20_000),
});

/** Every raw message on a channel, through the subscription door's HTTP stream. */
async function tap(channel: string) {
  const abort = new AbortController();
  const res = await fetch(`${stack.subscribeUrl}/`, {
    method: "POST",
    body: `SUBSCRIBE/${channel}`,
    signal: abort.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = "";
  const opened = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += dec.decode(value, { stream: true });
    }
  })();
  while (!text.includes('"subscribe"')) await new Promise((r) => setTimeout(r, 10));
  return {
    messages: () =>
      [...text.matchAll(/\{"SUBSCRIBE":\["message","[0-9a-f]+",("(?:[^"\\]|\\.)*")\]\}/g)].map(
        (m) => JSON.parse(m[1] as string) as string,
      ),
    close: () => {
      abort.abort();
      return opened;
    },
  };
}

describe("delta updates", () => {
  it("a moved waypoint in a 200 KB plan travels as a few hundred bytes", async () => {
    const name = uniqueName("delta");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    const plan = bigPlan();
    await leader.publish(plan);
    const f: Follower = await relay.connect(name, { password: "pw" });
    open.push(f);
    await waitForStatus(f, "live");
    const channel = String(await stack.redis("HGET", `${baseKey(name)}:meta`, "channel"));
    const wire = await tap(channel);
    const seen = record(f);

    const moved = { ...plan, waypoints: plan.waypoints.map((w, i) => (i === 1234 ? { ...w, x: 1, y: 2 } : w)) };
    await leader.publish(moved);
    const renamed = { ...moved, title: "Large mission, revised" };
    await leader.publish(renamed);
    await waitForSeq(f, 3);
    expect(f.state).toEqual(renamed);
    expect(seen.map((u) => u.seq)).toEqual([2, 3]);
    expect(f.status).toBe("live");

    await new Promise((r) => setTimeout(r, 100));
    const msgs = wire.messages();
    await wire.close();
    expect(msgs).toHaveLength(2);
    const full = JSON.stringify(moved).length;
    for (const m of msgs) {
      const env = JSON.parse(m);
      expect(env.patch).toBeDefined();
      expect(env.state).toBeUndefined();
      expect(m.length).toBeLessThan(full * 0.05);
    }
    // A follower joining now gets the whole state at once, not patches.
    const late = await relay.connect(name, { password: "pw" });
    open.push(late);
    expect(late.state).toEqual(renamed);
    await leader.stop();
  });

  it("a patch that does not fit is caught by the hash: the follower resets to the full state", async () => {
    // Drive the functions directly, as a buggy leader would.
    const name = uniqueName("badpatch");
    const token = randomHex(24);
    const pw = await deriveVerifier("password", name, "pw");
    const code = await deriveVerifier("code", name, "code");
    const call = async (fn: string, args: string[]) => {
      const res = await fetch(`${stack.webdisUrl}/`, {
        method: "POST",
        body: commandBody("FCALL", [fn, "1", baseKey(name), name, ...args]),
      });
      return (await res.json()) as { FCALL: unknown };
    };
    await call("relay_start", [pw, code, randomHex(24), token]);
    const s1 = { a: 1, list: Array.from({ length: 50 }, (_, i) => i), text: "x".repeat(500) };
    await call("relay_publish", [token, "1", randomHex(16), JSON.stringify(s1), "-"]);
    const f = await relay.connect(name, { password: "pw" });
    open.push(f);
    await waitForStatus(f, "live");
    const statuses: string[] = [];
    f.on("status", (e) => statuses.push(`${e.status}:${e.reason}`));
    const s2 = { ...s1, a: 2 };
    const wrong = JSON.stringify([{ op: "replace", path: "/a", value: 999 }]);
    const r = await call("relay_publish", [token, "1", randomHex(16), JSON.stringify(s2), wrong]);
    expect(JSON.stringify(r)).toContain('\\"changed\\":true');
    await waitForSeq(f, 2);
    expect(f.state).toEqual(s2);
    expect(statuses).toContain("reset:delta result differs");
    // A patch that is not a JSON array is refused and changes nothing.
    const bad = await call("relay_publish", [token, "1", randomHex(16), JSON.stringify({ a: 3 }), "{nope"]);
    expect(JSON.stringify(bad)).toContain("INVALID");
    expect(await stack.redis("GET", `${baseKey(name)}:state`)).toBe(JSON.stringify(s2));
  });
});
