/**
 * Webdis 0.1.9 mangles WebSocket frames over 65,535 bytes (the length field),
 * which dropped every WebSocket follower on a large full-state change. Large
 * envelopes therefore go out as a small "fetch" notice, and followers take
 * the change from the history over HTTP.
 *
 * A follower recovers from a broken frame on its own (it reconnects and
 * catches up), so the follower's final state cannot tell whether the notice
 * was sent. Next to the follower, a raw WebSocket subscriber on the
 * subscription door records every frame as it comes off the wire.
 */

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createRelay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { record, sleep, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

/** The largest frame Webdis 0.1.9 sends intact (a 16-bit length). */
const FRAME_LIMIT = 65_535;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

/** v2 envelopes: `k` "s" (a whole state) or "p" (a patch), `c` the sealed change; or `fetch` instead of both. */
type Envelope = { t?: string; seq?: number; fetch?: boolean; k?: string; c?: string };

/** Every frame a plain WebSocket subscriber on `channel` gets, and anything that went wrong. */
interface Wire {
  frames: { bytes: number; envelope?: Envelope }[];
  problems: string[];
  close(): void;
}

async function tapChannel(subscribeUrl: string, channel: string): Promise<Wire> {
  const url = `${subscribeUrl.replace(/^http/, "ws")}/.json`;
  const ws = new WebSocket(url, { origin: new URL(subscribeUrl).origin });
  let closing = false;
  const wire: Wire = {
    frames: [],
    problems: [],
    close: () => {
      closing = true;
      ws.terminate();
    },
  };
  const confirmed = new Promise<void>((resolve, reject) => {
    ws.on("open", () => ws.send(JSON.stringify(["SUBSCRIBE", channel])));
    ws.on("message", (data: Buffer) => {
      const bytes = data.length;
      const frame = JSON.parse(data.toString("utf8")) as { SUBSCRIBE?: unknown[] };
      const body = frame.SUBSCRIBE ?? [];
      if (body[0] === "subscribe") return resolve();
      const envelope = body[0] === "message" ? (JSON.parse(String(body[2])) as Envelope) : undefined;
      wire.frames.push({ bytes, envelope });
    });
    ws.on("error", (e) => {
      wire.problems.push(`error: ${e.message}`);
      reject(e);
    });
    ws.on("close", (code) => {
      if (!closing) wire.problems.push(`closed: ${code}`);
    });
  });
  await confirmed;
  return wire;
}

/** Polls until `done()` holds, at most `ms` (generous: the box is busy). */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(25);
}

// Incompressible (hash hex: sealing deflates texts of 1 KiB or more) and the same for the same tag.
const big = (tag: string) => ({
  tag,
  blob: Array.from({ length: 3000 }, (_, i) => createHash("sha512").update(`${tag}-${i}`).digest("hex").slice(0, 90)),
});

describe("large changes", () => {
  for (const transport of ["websocket", "http-stream"] as const) {
    it(`a 300 KB full-state change goes out as a fetch notice and reaches a ${transport} follower intact`, async () => {
      const relay = createRelay({
        url: stack.webdisUrl,
        subscribeUrl: stack.subscribeUrl,
        transports: [transport],
        heartbeatMs: 0,
      });
      const name = uniqueName("large");
      const leader = await relay.start(name, { password: "pw", code: "code" });
      const channel = String(await stack.redis("HGET", `relay:{${name}}:meta`, "channel"));
      const wire = await tapChannel(stack.subscribeUrl, channel);
      const f = await relay.connect(name, { password: "pw" });
      const seen = record(f);
      const errors: string[] = [];
      f.on("error", (e) => errors.push(e.error.message));
      const statuses: string[] = [];
      f.on("status", (e) => statuses.push(`${e.status}: ${e.reason}`));
      await waitForStatus(f, "live");
      statuses.length = 0;

      // Each one awaited by the follower: a catch-up that finds several changes shows only the
      // last, and each large change must be seen taken from the history on its own.
      await leader.publish(big("a"));
      await waitForSeq(f, 1, 15_000);
      await leader.publish(big("b")); // every entry changes: a full state, not a patch
      await waitForSeq(f, 2, 15_000);
      await leader.publish({ ...big("b"), tag: "c" }); // a small patch after the big ones
      await waitForSeq(f, 3, 15_000);
      await until(() => wire.frames.length >= 3 || wire.problems.length > 0, 15_000);
      wire.close();

      // On the wire: two small fetch notices, then the patch itself; no frame
      // over the limit and the plain subscriber never dropped.
      expect(wire.problems).toEqual([]);
      expect(wire.frames.map((w) => [w.envelope?.seq, w.envelope?.fetch === true])).toEqual([
        [1, true],
        [2, true],
        [3, false],
      ]);
      expect(wire.frames[0]?.envelope?.c).toBeUndefined();
      expect(wire.frames[2]?.envelope?.k).toBe("p");
      expect(wire.frames[2]?.envelope?.c).toMatch(/^[\w-]{38,}$/);
      expect(Math.max(...wire.frames.map((w) => w.bytes))).toBeLessThanOrEqual(FRAME_LIMIT);

      // The follower took the large changes from the history, in order, and never dropped.
      expect(f.state).toEqual({ ...big("b"), tag: "c" });
      expect(seen.map((u) => u.seq)).toEqual([1, 2, 3]);
      expect(f.transport).toBe(transport);
      expect(errors).toEqual([]);
      // Only the notice's catch-up: never offline or reconnecting.
      expect(statuses.filter((s) => !/^(catching-up|live): large change$/.test(s))).toEqual([]);
      f.disconnect();
      await leader.stop();
    });
  }
});
