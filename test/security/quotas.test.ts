/**
 * Quotas (issue 12, attacks 8 and 9): a per-stream budget of publish bytes per
 * window (publish_bytes / publish_window in relay:config), a global cap on live
 * streams (max_streams), and what a Redis at maxmemory (noeviction) answers.
 * Every refusal is typed and writes nothing (keyspace snapshot before/after).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type Relay, RelayError } from "../../src/node.ts";
import { redisArgs } from "../../src/server/native.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";
import {
  baseKeyBytes,
  changedKeys,
  closeSnapshots,
  codeOf,
  type RawStream,
  rawFcall,
  rawPublish,
  rawStream,
  sealedOf,
  snapshot,
} from "./support.ts";

let stack: Stack;
let relay: Relay;
const MiB = 1024 * 1024;

beforeAll(async () => {
  stack = await startStack();
  relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
});
afterEach(async () => {
  await stack.redis("DEL", "relay:config");
  await stack.redis("CONFIG", "SET", "maxmemory", "0");
});
afterAll(async () => {
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

type Own = RawStream;
const start = (name: string) =>
  rawFcall(
    stack,
    "relay_start",
    [baseKeyBytes(name)],
    [name, randomHex(32), randomHex(32), randomHex(24), randomHex(24)],
  );
const own = () => rawStream(stack, "quota");
/** A whole state (kind "s") of sealed-looking content on the stream's seq, or on `opts.base`. */
const publish = (s: Own, content: string, opts: { op?: string; base?: number } = {}) =>
  rawPublish(stack, s, content, opts);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

describe("publish budget (attack 8)", () => {
  it("a flood of 1 MiB states hits the default budget; another stream's publishes still succeed", async () => {
    // A long window so a slow, loaded box cannot let the window roll over mid-flood;
    // publish_bytes stays the default (16 MiB), the figure under test.
    await stack.redis("HSET", "relay:config", "publish_window", "120");
    const attacker = await own();
    const victim = await own();
    let floodDone = false;
    let accepted = 0;
    let refusal: string | undefined;
    const flood = (async () => {
      try {
        // Bounded: 16 MiB of 1 MiB states is 16; a budget that never bites ends at 40.
        for (let i = 0; i < 40 && !refusal; i++) {
          const r = await publish(attacker, sealedOf(MiB));
          if (r.ok) accepted++;
          else refusal = r.error;
        }
        // Refused publishes keep coming: the victim is measured under those too.
        for (let i = 0; i < 10; i++) await publish(attacker, sealedOf(MiB));
      } finally {
        floodDone = true;
      }
    })();
    const times: number[] = [];
    const victimErrors: string[] = [];
    for (let i = 0; !floodDone && i < 2_000; i++) {
      const t0 = performance.now();
      const r = await publish(victim, sealedOf(64));
      times.push(performance.now() - t0);
      if (!r.ok) victimErrors.push(String(r.error));
    }
    await flood;
    console.log(
      `[quotas] another stream's publish under a 1 MiB flood: n=${times.length} p50=${pct(times, 50).toFixed(1)} ms ` +
        `p99=${pct(times, 99).toFixed(1)} ms (attacker: ${accepted} accepted, then ${codeOf(refusal)})`,
    );
    expect(codeOf(refusal)).toBe("QUOTA");
    expect(refusal).toMatch(/retry in \d+ s/);
    expect(accepted).toBe(16); // 16 MiB of 1 MiB contents
    expect(victimErrors).toEqual([]);
    expect(times.length).toBeGreaterThan(0);

    // Over budget: nothing is written, however small the state; the victim is untouched.
    const before = await snapshot(stack);
    const r = await publish(attacker, sealedOf(38));
    expect(codeOf(r.error)).toBe("QUOTA");
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
    expect((await publish(victim, sealedOf(64))).ok).toBe(true);
    // 26 requests of 3 MiB (every byte percent-encoded) and the victim's publishes: ~8-12 s
    // alone, past 30 s once on a loaded box (the flood then went on into the next tests).
  }, 90_000);

  it("a duplicate retry is not charged again and still answers duplicate, even over budget", async () => {
    const size = 10_000;
    await stack.redis("HSET", "relay:config", "publish_bytes", String(Math.floor(size * 2.5)), "publish_window", "120");
    const s = await own();
    const op1 = randomHex(16);
    const first = sealedOf(size);
    expect((await publish(s, first, { op: op1 })).ok).toBe(true);
    // A retry is the same request: same op id, same base seq (0), same content.
    for (let i = 0; i < 3; i++) {
      const again = await publish(s, first, { op: op1, base: 0 });
      expect(again.ok, again.error).toBe(true);
      expect(JSON.parse(String(again.value))).toMatchObject({ seq: 1, duplicate: true });
    }
    // 2 states fit in 2.5: had the 3 retries been charged, this one would be refused.
    expect((await publish(s, sealedOf(size))).ok).toBe(true);
    const before = await snapshot(stack);
    const over = await publish(s, sealedOf(size));
    expect(codeOf(over.error)).toBe("QUOTA");
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
    const late = await publish(s, first, { op: op1, base: 0 });
    expect(JSON.parse(String(late.value))).toMatchObject({ seq: 1, duplicate: true });
    // A budget of 0 turns it off.
    await stack.redis("HSET", "relay:config", "publish_bytes", "0");
    expect((await publish(s, sealedOf(size))).ok).toBe(true);
  });

  it("the client: a leader over budget waits for the window and then sends its newest state", async () => {
    const size = 20_000;
    // A budget of 1 byte: each window takes exactly its first publish (which always fits),
    // whatever the sealed (and DEFLATEd) sizes come to.
    await stack.redis("HSET", "relay:config", "publish_bytes", "1", "publish_window", "1");
    const leader = await relay.start(uniqueName("quota"), { password: "p", code: "c" });
    const errors: string[] = [];
    leader.on("error", ({ error }) => errors.push(error.code));
    const pad = "x".repeat(size - 30);
    const a = await leader.publish({ v: "A", pad });
    // B is refused (over budget) and waits; C replaces it; both resolve with C's seq.
    const [b, c] = await Promise.all([leader.publish({ v: "B", pad }), leader.publish({ v: "C", pad })]);
    expect(errors).toContain("QUOTA");
    expect(b).toEqual(c);
    expect(c.seq).toBe(a.seq + 1);
    expect(leader.status).toBe("live");
    const follower = await relay.connect(leader.name, { password: "p" });
    expect(follower.state).toEqual({ v: "C", pad });
    follower.disconnect();
    leader.close();
  });
});

describe("stream cap (attack 9)", () => {
  it("max_streams refuses the next start with FULL and writes nothing; a stop makes room", async () => {
    const live = Number(await stack.redis("ZCARD", "relay:index"));
    await stack.redis("HSET", "relay:config", "max_streams", String(live + 2));
    const a = uniqueName("cap");
    expect((await start(a)).ok).toBe(true);
    const leader = await relay.start(uniqueName("cap"), { password: "p", code: "c" });
    const before = await snapshot(stack);
    const third = await start(uniqueName("cap"));
    expect(codeOf(third.error)).toBe("FULL");
    const err = await relay.start(uniqueName("cap"), { password: "p", code: "c" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe("FULL");
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
    await leader.stop();
    expect((await start(uniqueName("cap"))).ok).toBe(true);
  });

  it("streams past their idle deadline do not count against the cap", async () => {
    await stack.redis("HSET", "relay:config", "idle_ttl", "1");
    const names = [uniqueName("cap"), uniqueName("cap")];
    for (const n of names) expect((await start(n)).ok).toBe(true);
    await stack.redis("HSET", "relay:config", "max_streams", String(Number(await stack.redis("ZCARD", "relay:index"))));
    expect(codeOf((await start(uniqueName("cap"))).error)).toBe("FULL");
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await start(uniqueName("cap"))).ok).toBe(true);
  });
});

describe("Redis at maxmemory (noeviction)", () => {
  it("publish and start fail cleanly with FULL and write nothing; connect and stop still work", async () => {
    const s = await own();
    const leader = await relay.start(uniqueName("oom"), { password: "p", code: "c" });
    await stack.redis("CONFIG", "SET", "maxmemory-policy", "noeviction");
    await stack.redis("CONFIG", "SET", "maxmemory", "1");
    const before = await snapshot(stack);
    const p = await publish(s, sealedOf(64));
    expect(p.error).toMatch(/^OOM/);
    const err = await leader.publish({ a: 1 }).catch((e: unknown) => e);
    expect((err as RelayError).code).toBe("FULL");
    const st = await relay.start(uniqueName("oom"), { password: "p", code: "c" }).catch((e: unknown) => e);
    expect((st as RelayError).code).toBe("FULL");
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
    // What only reads, frees or rewrites fixed-size fields still runs (allow-oom):
    // a follower joins, and the leader can end its stream, which frees memory.
    const follower = await relay.connect(leader.name, { password: "p" });
    expect(follower.state).toEqual({});
    follower.disconnect();
    await leader.stop();
    expect(await stack.redis("EXISTS", `relay:{${leader.name}}:meta`)).toBe(0);
    await stack.redis("CONFIG", "SET", "maxmemory", "0");
  });

  it("up's primary gets maxmemory with noeviction; the replica does not", () => {
    const primary = redisArgs({ port: 1, dir: "/tmp/x", maxmemory: "256mb" });
    expect(primary.join(" ")).toContain("--maxmemory 256mb --maxmemory-policy noeviction");
    const replica = redisArgs({ port: 2, dir: "/tmp/x", replicaOf: 1, maxmemory: "256mb" });
    expect(replica).not.toContain("--maxmemory");
  });
});
