/**
 * Webdis 0.1.9 mangles WebSocket frames over 65,535 bytes (the length field),
 * which dropped every WebSocket follower on a large full-state change. Large
 * envelopes therefore go out as a small "fetch" notice, and followers take
 * the change from the history over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { record, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

describe("large changes", () => {
  for (const transport of ["websocket", "http-stream"] as const) {
    it(`a 300 KB full-state change reaches a ${transport} follower intact`, async () => {
      const relay = createRelay({
        url: stack.webdisUrl,
        subscribeUrl: stack.subscribeUrl,
        transports: [transport],
        heartbeatMs: 0,
      });
      const name = uniqueName("large");
      const leader = await relay.start(name, { password: "pw", code: "code" });
      const f = await relay.connect(name, { password: "pw" });
      const seen = record(f);
      const errors: string[] = [];
      f.on("error", (e) => errors.push(e.error.message));
      await waitForStatus(f, "live");
      const big = (tag: string) => ({
        tag,
        blob: Array.from({ length: 3000 }, (_, i) => `${tag}-${i}-${"x".repeat(90)}`),
      });
      await leader.publish(big("a"));
      await leader.publish(big("b")); // every entry changes: a full state, not a patch
      await leader.publish({ ...big("b"), tag: "c" }); // a small patch after the big ones
      await waitForSeq(f, 3, 10_000);
      expect(f.state).toEqual({ ...big("b"), tag: "c" });
      expect(seen.map((u) => u.seq)).toEqual([1, 2, 3]);
      expect(f.transport).toBe(transport);
      expect(errors.filter((m) => !/closed|dropped/.test(m))).toEqual([]);
      f.disconnect();
      await leader.stop();
    });
  }
});
