/**
 * Webdis 0.1.9 can crash (a segfault in hiredis, seen when Redis restarted
 * under load). The doors run supervised, as under `mission-relay up`: a crashed
 * door comes back by itself, and a follower rides out the gap.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

function pidOnPort(port: number): number {
  const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`]).toString();
  const m = /pid=(\d+)/.exec(out);
  if (!m) throw new Error(`nothing listens on ${port}`);
  return Number(m[1]);
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/`, { method: "POST", body: "PING", signal: AbortSignal.timeout(500) });
    return r.ok;
  } catch {
    return false;
  }
}

describe("supervised doors", () => {
  it("a door killed behind our back comes back, and its follower catches up", async (ctx) => {
    if (stack.mode !== "native") ctx.skip(); // containers: Docker restarts are the fault tests' business
    const relay = createRelay({
      url: stack.webdisUrl,
      subscribeUrl: stack.subscribeUrl,
      heartbeatMs: 0,
      backoff: () => 100,
    });
    const name = uniqueName("crash");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    const f = await relay.connect(name, { password: "pw" });
    await waitForStatus(f, "live");
    for (const port of [stack.webdisPort, new URL(stack.subscribeUrl).port].map(Number)) {
      const before = pidOnPort(port);
      process.kill(before, "SIGKILL");
      const until = Date.now() + 10_000;
      let back = false;
      while (!back && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        back = (await answers(`http://127.0.0.1:${port}`)) && pidOnPort(port) !== before;
      }
      expect(back, `door on ${port} came back`).toBe(true);
    }
    await leader.publish({ after: "crash" });
    await waitForSeq(f, 1, 10_000);
    expect(f.state).toEqual({ after: "crash" });
    f.disconnect();
    await leader.stop();
  });
});
