/** The client, unchanged, under Deno (the `deno` npm package), on both transports. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../setup/stack.ts";

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
    it(`leads and follows over ${expected} (${transport})`, { timeout: 60_000 }, async () => {
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
    });
  }
});
