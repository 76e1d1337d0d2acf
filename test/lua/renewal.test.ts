/**
 * A publish renews the deadline index entry and the backstop TTLs only when it
 * must (lua/lib/6_expiry.lua renew_due). The invariant: the index never holds a
 * later deadline than meta (else the sweep would not see the stream end), and
 * the TTLs outlast meta's deadline. Checked right after an operator lowers or
 * raises idle_ttl, with publishes closer together than the renewal interval.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseKey } from "../../src/core/wire.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.redis("DEL", "relay:config");
  await stack?.stop();
});

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

async function started(name: string) {
  const token = hex(24);
  await stack.redis("FCALL", "relay_start", "1", baseKey(name), name, hex(32), hex(32), hex(24), token);
  let seq = 0;
  return async () => {
    await stack.redis(
      "FCALL",
      "relay_publish",
      "1",
      baseKey(name),
      name,
      token,
      "1",
      hex(16),
      String(seq),
      "s",
      "A".repeat(64),
    );
    seq++;
  };
}

async function invariant(name: string) {
  const [deadline] = (await stack.redis("HMGET", `${baseKey(name)}:meta`, "deadline")) as string[];
  const indexed = Number(await stack.redis("ZSCORE", "relay:deadline", name));
  const pttl = Number(await stack.redis("PTTL", `${baseKey(name)}:meta`));
  const now = Number(((await stack.redis("TIME")) as string[])[0]) * 1000;
  expect(indexed, "the index may lag meta's deadline, never lead it").toBeLessThanOrEqual(Number(deadline));
  expect(now + pttl, "the backstop TTL outlasts the deadline").toBeGreaterThan(Number(deadline));
}

describe("throttled renewal of the deadline index and TTLs", () => {
  it("idle_ttl lowered: the next publish, however soon, brings the index down with meta", async () => {
    await stack.redis("HSET", "relay:config", "idle_ttl", "30");
    const name = uniqueName("lower");
    const publish = await started(name);
    await publish();
    await stack.redis("HSET", "relay:config", "idle_ttl", "1");
    await publish(); // well within a quarter of either idle_ttl after the start's renewal
    await invariant(name);
  });

  it("idle_ttl raised: the TTLs are renewed before meta's deadline passes them", async () => {
    await stack.redis("HSET", "relay:config", "idle_ttl", "1");
    const name = uniqueName("raise");
    const publish = await started(name);
    await stack.redis("HSET", "relay:config", "idle_ttl", "3600");
    await publish();
    await invariant(name);
  });

  it("idle_ttl unchanged: back-to-back publishes keep the invariant", async () => {
    await stack.redis("HSET", "relay:config", "idle_ttl", "5");
    const name = uniqueName("steady");
    const publish = await started(name);
    for (let i = 0; i < 20; i++) await publish();
    await invariant(name);
  });
});
