/**
 * BEHIND tells a leader where its stream stands so it can heal it (lua/heal.lua),
 * and only a leader: a publish that claims a later term is refused with BEHIND
 * before its token can be checked (the stream holds an older leader's token), so
 * that answer must not say the stream's epoch or seq. Knowing the epoch (its
 * origin until the first heal) would help someone without the code re-make a
 * stream lost in a failover under the same origin.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomHex } from "../../src/core/secrets.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { baseKeyBytes, rawFcall, rawStream, sealedOf } from "./support.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("BEHIND gives nothing away", () => {
  it("a later term with a wrong token hears BEHIND without the stream's epoch or seq", async () => {
    const s = await rawStream(stack, "behind");
    const epoch = String(await stack.redis("HGET", `relay:{${s.name}}:meta`, "epoch"));
    expect(epoch).toMatch(/^\d+$/);
    const args = [s.name, randomHex(24), "7", randomHex(16), "0", "s", sealedOf(64), epoch];
    const r = await rawFcall(stack, "relay_publish", [baseKeyBytes(s.name)], args);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^BEHIND/);
    expect(r.error, "the stream's epoch in the answer").not.toContain(epoch);
    expect(r.error).not.toMatch(/seq \d/);
  });
});
