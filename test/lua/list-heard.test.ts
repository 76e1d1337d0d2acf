/**
 * relay_list says when the leader was last heard (`heard`), not only when the plan
 * last changed (`updated`): a heartbeat moves `heard` and leaves `updated`, so the
 * page's stream list can tell a quiet stream from one whose leader is away.
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
  await stack?.stop();
});

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

interface Row {
  name: string;
  updated: number;
  heard?: number;
}

async function row(name: string): Promise<Row | undefined> {
  const raw = (await stack.redis("FCALL_RO", "relay_list", "0", "-", "100")) as string;
  return (JSON.parse(raw) as { streams: Row[] }).streams.find((s) => s.name === name);
}

describe("relay_list: the leader's last word", () => {
  it("a heartbeat moves heard, not updated", async () => {
    const name = uniqueName("heard");
    const token = hex(24);
    await stack.redis("FCALL", "relay_start", "1", baseKey(name), name, hex(32), hex(32), hex(24), token);
    const first = await row(name);
    expect(first?.heard).toBe(first?.updated);
    // A beat some ms later (the server clock has moved on by then).
    let after: Row | undefined;
    for (let i = 0; i < 50 && !(after?.heard !== undefined && after.heard > (first?.heard ?? Infinity)); i++) {
      await new Promise((r) => setTimeout(r, 20));
      await stack.redis("FCALL", "relay_heartbeat", "1", baseKey(name), name, token, "1", "-", "-");
      after = await row(name);
    }
    expect(after?.heard).toBeGreaterThan(first?.heard ?? Infinity);
    expect(after?.updated).toBe(first?.updated);
  });

  it("relay_connect says it too, with the server's clock: a follower compares the silences", async () => {
    const name = uniqueName("heard-connect");
    const [pw, token] = [hex(32), hex(24)];
    await stack.redis("FCALL", "relay_start", "1", baseKey(name), name, pw, hex(32), hex(24), token);
    await new Promise((r) => setTimeout(r, 30));
    await stack.redis("FCALL", "relay_heartbeat", "1", baseKey(name), name, token, "1", "-", "-");
    const listed = await row(name);
    const reply = JSON.parse(
      (await stack.redis("FCALL", "relay_connect", "1", baseKey(name), name, pw, "-", "0", "-")) as string,
    ) as { heard?: number; now?: number; updated: number };
    expect(reply.heard).toBe(listed?.heard);
    expect(reply.heard).toBeGreaterThan(reply.updated); // the beat, not the start
    expect(reply.now).toBeGreaterThanOrEqual(reply.heard ?? Infinity);
  });
});
