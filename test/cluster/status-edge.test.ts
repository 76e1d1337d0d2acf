/**
 * `status` and /healthz probe the edge's public ports too (src/server/status.ts,
 * kind "edge"): the edge answers a GET itself with its JSON 405, whatever is
 * behind it, so a dead edge is down even when the doors behind it are up.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startEdge } from "../../src/server/edge.ts";
import { freePort } from "../../src/server/native.ts";
import { probeDoor } from "../../src/server/status.ts";

describe("probing the edge", () => {
  it("is up while the edge answers, down once it is gone, and down for something that is not the edge", async () => {
    // Backends nobody listens on: the probe must not need them.
    const edge = await startEdge({
      commandBackend: { host: "127.0.0.1", port: await freePort() },
      subscribeBackend: { host: "127.0.0.1", port: await freePort() },
    });
    const target = (url: string) => ({ id: "s0-edge-command", shard: "s0", kind: "edge" as const, url });
    try {
      expect((await probeDoor(target(edge.commandUrl))).up).toBe(true);
      expect((await probeDoor(target(edge.subscribeUrl))).up).toBe(true);
    } finally {
      await edge.stop();
    }
    const gone = await probeDoor(target(edge.commandUrl), { timeoutMs: 1_000 });
    expect(gone.up).toBe(false);
    // A server that refuses GET, but not as the edge does (HTML): not the edge.
    const other = createServer((_, res) => {
      res.writeHead(405, { "content-type": "text/html" });
      res.end("<p>no</p>");
    });
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const r = await probeDoor(target(url));
      expect([r.up, r.error]).toEqual([false, "HTTP 405, not the edge's own refusal"]);
    } finally {
      other.close();
    }
  });
});
