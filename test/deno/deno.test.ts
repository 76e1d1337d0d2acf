/** The client, unchanged, under Deno (the `deno` npm package), on both transports. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const deno = join(root, "node_modules", ".bin", "deno");

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("Deno", () => {
  // "default": no transports option; Deno prefers the HTTP stream (src/index.ts).
  for (const [transport, expected] of [
    ["websocket", "websocket"],
    ["http-stream", "http-stream"],
    ["default", "http-stream"],
  ] as const) {
    it(`leads and follows over ${expected} (${transport}); opens what Node sealed and back`, {
      timeout: 60_000,
    }, async () => {
      // A whole state, then an edit small enough to go as a patch: both sealed by Node.
      const node = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
      const nodeStream = uniqueName("node ✈");
      const plan = { title: "Node plan", notes: "n".repeat(400), waypoints: [{ x: 1, y: 2 }] };
      const leader = await node.start(nodeStream, { password: "deno-pw", code: "deno-code" });
      await leader.publish(plan);
      await leader.publish({ ...plan, title: "Node plan, édité" });
      leader.close();
      const { stdout } = await run(
        deno,
        [
          "run",
          "--allow-net=127.0.0.1",
          "--allow-read",
          "--config",
          join(root, "deno.json"),
          join(import.meta.dirname, "client.deno.ts"),
          stack.webdisUrl,
          stack.subscribeUrl,
          transport,
          nodeStream,
        ],
        { cwd: root, timeout: 50_000, env: { ...process.env, NO_COLOR: "1" } },
      );
      const out = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
      expect(out.runtime).toMatch(/^deno 2\./);
      expect(out.first).toEqual({ step: 0 });
      expect(out.last).toEqual({ step: 5 });
      expect(out.seqs).toEqual([2, 3, 4, 5, 6]);
      // What the follower reports it used, not what was asked for.
      expect(out.transport).toBe(expected);
      expect(out.badPassword).toBe("BAD_PASSWORD");
      expect(out.ended).toBe("stopped");
      expect(out.fromNode).toEqual({ ...plan, title: "Node plan, édité" });
      // Deno's edit, sealed with Deno's crypto, opens in Node.
      const f = await node.connect(nodeStream, { password: "deno-pw" });
      f.disconnect();
      expect([f.seq, f.state]).toEqual([3, { ...plan, title: "Node plan, édité", by: "deno" }]);
      // Both edits travelled as patches (the SHA-1 inside each seal checked across runtimes).
      const log = (await stack.redis("LRANGE", `${baseKey(nodeStream)}:log`, 0, -1)) as string[];
      expect(log.map((e) => JSON.parse(e).k)).toEqual(["p", "p"]);
    });
  }
});
