/**
 * Issue 12, attack 7: 12 wrong passwords and 12 wrong leader codes in 71 ms
 * locked the real followers and the leader out for 60 s, again every minute.
 * Now a right check hands out a pass (lua/lib/5_secrets.lua make_pass) and a
 * check that brings one is exempt from the per-stream failed-check limit, so
 * an outsider's flood only limits newcomers: whoever already proved the secret
 * stays in. The secret is still checked; a pass alone opens nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type Follower, RelayError } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitFor, waitForStatus } from "../support/util.ts";
import { baseKeyBytes, closeSnapshots, codeOf, rawFcall } from "./support.ts";

let stack: Stack;
const open: { disconnect(): void }[] = [];
beforeAll(async () => {
  stack = await startStack();
});
afterEach(async () => {
  for (const f of open.splice(0)) f.disconnect();
  await stack.redis("DEL", "relay:config");
});
afterAll(async () => {
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

const relay = () => createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, heartbeatMs: 0 });

/** The attack: more wrong passwords and wrong codes than the window holds, at once. */
async function flood(name: string) {
  const key = [baseKeyBytes(name)];
  const calls = [];
  for (let i = 0; i < 12; i++) {
    calls.push(rawFcall(stack, "relay_connect", key, [name, randomHex(32), "-", "0"]));
    calls.push(rawFcall(stack, "relay_reconnect", key, [name, randomHex(32), randomHex(24), "-", randomHex(32)]));
  }
  const codes = (await Promise.all(calls)).map((r) => codeOf(r.error));
  expect(codes.filter((c) => c === "RATE_LIMITED").length, "the flood filled both windows").toBeGreaterThan(0);
}

const codeOfError = async (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof RelayError ? e.code : String(e)),
  );

describe("a flood of wrong secrets does not lock out who is already in", () => {
  it("a connected follower re-syncs after a drop; a newcomer is limited", async () => {
    const name = uniqueName("lock");
    const leader = await relay().start(name, { password: "pw", code: "code" });
    await leader.publish({ v: 1 });
    const f: Follower = await relay().connect(name, { password: "pw" });
    open.push(f);
    await waitForStatus(f, "live");
    await flood(name);
    // A newcomer with the right password waits out the window, as before.
    expect(await codeOfError(relay().connect(name, { password: "pw" }))).toBe("RATE_LIMITED");
    // The follower loses its subscription (the door restarts) and re-syncs
    // with relay_connect: with its pass it is let through at once.
    await stack.signal("subscribe-door", "SIGKILL");
    await stack.start("subscribe-door");
    await leader.publish({ v: 2 });
    await waitFor(f, (u) => ((u.state as { v: number }).v === 2 ? true : undefined), 20_000);
    expect(f.status).toBe("live");
    await leader.stop();
  });

  it("the leader reconnects and stops with its pass while the code window is full", async () => {
    const name = uniqueName("lock");
    const first = await relay().start(name, { password: "pw", code: "code" });
    await flood(name);
    // Without the pass the real code waits out the window...
    expect(await codeOfError(relay().reconnect(name, { password: "pw", code: "code" }))).toBe("RATE_LIMITED");
    // ...with it, the leader takes over at once, and its own stop goes through.
    const again = await relay().reconnect(name, { password: "pw", code: "code", pass: first.pass });
    expect(again.term).toBe(2);
    await flood(name);
    await again.stop();
    expect(await codeOfError(relay().connect(name, { password: "pw" }))).toBe("NOT_FOUND");
  });

  it("a pass opens nothing by itself: a wrong secret with it is refused and counted; a forged or expired one is no pass", async () => {
    const name = uniqueName("lock");
    const leader = await relay().start(name, { password: "pw", code: "code" });
    const pw = (await derivePasswordKeys(name, "pw")).verifier;
    const key = [baseKeyBytes(name)];
    const ok = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", "-"]);
    expect(ok.ok, ok.error).toBe(true);
    const pass = JSON.parse(String(ok.value)).pass as string;
    expect(pass).toMatch(/^\d+\.[0-9a-f]{40}$/);
    await flood(name);
    const before = await stack.redis("GET", `${baseKey(name)}:fails`);
    // The pass with a wrong password: BAD_PASSWORD, and it counts.
    const wrong = await rawFcall(stack, "relay_connect", key, [name, randomHex(32), "-", "0", pass]);
    expect(codeOf(wrong.error)).toBe("BAD_PASSWORD");
    expect(Number(await stack.redis("GET", `${baseKey(name)}:fails`))).toBe(Number(before) + 1);
    // A forged pass (right shape, wrong mac; or a code pass used for the password) is no pass.
    const [exp] = pass.split(".");
    for (const forged of [`${exp}.${randomHex(20)}`, leader.pass]) {
      const r = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", forged]);
      expect(codeOf(r.error), forged === leader.pass ? "code pass" : "forged").toBe("RATE_LIMITED");
    }
    // A malformed one is INVALID and changes nothing.
    const bad = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", "x.y"]);
    expect(codeOf(bad.error)).toBe("INVALID");
    // Expired: pass_ttl 1 s, then the pass handed out is stale 2 s later.
    await stack.redis("HSET", "relay:config", "pass_ttl", "1");
    await stack.redis("DEL", `${baseKey(name)}:fails`);
    const short = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", "-"]);
    const shortPass = JSON.parse(String(short.value)).pass as string;
    await flood(name);
    await new Promise((r) => setTimeout(r, 2_100));
    const late = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", shortPass]);
    expect(codeOf(late.error), "expired pass").toBe("RATE_LIMITED");
    // A pass that outlives what pass_ttl now allows is no pass either (lowering it shortens every pass)...
    const capped = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", pass]);
    expect(codeOf(capped.error), "pass beyond the current pass_ttl").toBe("RATE_LIMITED");
    // ...and with the default back, the day-long one works again.
    await stack.redis("HDEL", "relay:config", "pass_ttl");
    const fine = await rawFcall(stack, "relay_connect", key, [name, pw, "-", "0", pass]);
    expect(fine.ok, fine.error).toBe(true);
    await leader.stop();
  });
});

const baseKey = (name: string) => Buffer.from(baseKeyBytes(name)).toString("latin1");
