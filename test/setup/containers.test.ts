/**
 * The containers path end to end: real Redis and Webdis containers through
 * testcontainers, our function library loaded, fault controls, clean removal.
 *
 * Skipped (with the reason) when no Docker engine or images are there, unless
 * RELAY_TEST_STACK=containers, where that is a failure: CI must not skip.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getContainerRuntimeClient } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleLua, LIBRARY_NAME } from "../../src/server/lua.ts";
import { repoRoot } from "../../src/server/native.ts";
import { containerIdsOf, redisImage, startContainerStack, webdisImage, whyUnavailable } from "./containers.ts";
import type { Stack } from "./types.ts";

const reason = await whyUnavailable();
const required = process.env.RELAY_TEST_STACK === "containers";
if (reason && !required) console.warn(`[containers.test] skipped: ${reason}`);

const ping = async (url: string, ms = 2_000) => {
  const r = await fetch(`${url}/`, { method: "POST", body: "PING", signal: AbortSignal.timeout(ms) });
  return { status: r.status, body: (await r.json()) as unknown };
};

/** Resolves to the HTTP status when the container is gone, via the Docker API. */
async function inspectStatus(id: string): Promise<number> {
  const client = await getContainerRuntimeClient();
  try {
    await client.container.getById(id).inspect();
    return 200;
  } catch (e) {
    return (e as { statusCode?: number }).statusCode ?? -1;
  }
}

async function ourContainerIds(): Promise<string[]> {
  const client = await getContainerRuntimeClient();
  const all = await client.container.list();
  return all.filter((c) => c.Labels?.["mission-relay.pid"] === String(process.pid)).map((c) => c.Id);
}

describe.skipIf(reason !== undefined && !required)("containers test stack", () => {
  let stack: Stack;
  let ids: string[] = [];
  const webdisConfig = JSON.parse(readFileSync(join(repoRoot, "webdis.json"), "utf8")) as Record<string, unknown>;

  beforeAll(async () => {
    if (reason) throw new Error(`RELAY_TEST_STACK=containers but ${reason}`);
    const t0 = Date.now();
    stack = await startContainerStack({ functions: bundleLua(), webdisConfig });
    console.log(`[containers.test] stack up in ${Date.now() - t0} ms`);
    const c = containerIdsOf(stack);
    ids = c ? [c.redis, c.webdis] : [];
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("runs both containers from our images on 127.0.0.1 ports", async () => {
    expect(stack.mode).toBe("containers");
    expect(stack.webdisUrl).toBe(`http://127.0.0.1:${stack.webdisPort}`);
    expect(ids).toHaveLength(2);
    expect(await ourContainerIds()).toEqual(expect.arrayContaining(ids));
    const client = await getContainerRuntimeClient();
    const images = await Promise.all(
      ids.map(async (id) => (await client.container.getById(id).inspect()).Config.Image),
    );
    expect(images.sort()).toEqual([redisImage(), webdisImage()].sort());
    for (const id of ids) {
      const info = await client.container.getById(id).inspect();
      expect(info.HostConfig.NetworkMode).toBe("host");
    }
    expect(await stack.redis("CONFIG", "GET", "bind")).toEqual(["bind", "127.0.0.1"]);
  });

  it("answers PING through Webdis", async () => {
    expect(await ping(stack.webdisUrl)).toEqual({ status: 200, body: { PING: [true, "PONG"] } });
  });

  it("has our function library loaded", async () => {
    const list = (await stack.redis("FUNCTION", "LIST")) as unknown[][];
    const names = list.map((lib) => lib[lib.indexOf("library_name") + 1]);
    expect(names).toContain(LIBRARY_NAME);
  });

  it("keeps Redis's files in a host folder the tests can read", async () => {
    await stack.redis("SET", "containers-test:k", "v1");
    expect(existsSync(stack.dataDir)).toBe(true);
    const files = readdirSync(join(stack.dataDir, "appendonlydir"));
    const incr = files.find((f) => f.endsWith(".incr.aof"));
    expect(incr).toBeDefined();
    expect(readFileSync(join(stack.dataDir, "appendonlydir", incr as string), "utf8")).toContain("containers-test:k");
  });

  it("kills and starts Webdis on the same port", async () => {
    await stack.killWebdis();
    await expect(ping(stack.webdisUrl, 500)).rejects.toThrow();
    await stack.startWebdis();
    expect((await ping(stack.webdisUrl)).body).toEqual({ PING: [true, "PONG"] });
    await stack.restartWebdis();
    expect((await ping(stack.webdisUrl)).body).toEqual({ PING: [true, "PONG"] });
  });

  it("freezing a door that is down is a no-op its heal survives (a door can die on its own)", {
    timeout: 90_000,
  }, async () => {
    // The campaign's seed 281666635 froze the subscription door while it was down
    // (Webdis 0.1.9 had died with the replica): the freeze was taken as done, and
    // its heal's unpause got Docker's 500 "is not paused".
    await stack.signal("subscribe-door", "SIGKILL");
    await stack.signal("subscribe-door", "SIGSTOP");
    await stack.start("subscribe-door");
    expect((await ping(stack.subscribeUrl, 5_000)).body).toEqual({ PING: [true, "PONG"] });
    // And a real freeze still freezes and thaws.
    await stack.signal("subscribe-door", "SIGSTOP");
    await expect(ping(stack.subscribeUrl, 500)).rejects.toThrow();
    await stack.signal("subscribe-door", "SIGCONT");
    expect((await ping(stack.subscribeUrl, 5_000)).body).toEqual({ PING: [true, "PONG"] });
  });

  it("pauses and resumes Redis", async () => {
    await stack.pauseRedis();
    try {
      await expect(ping(stack.webdisUrl, 500)).rejects.toThrow();
    } finally {
      await stack.resumeRedis();
    }
    expect((await ping(stack.webdisUrl, 5_000)).body).toEqual({ PING: [true, "PONG"] });
  });

  it("restarts Redis on the same port, keeping data and functions (AOF)", async () => {
    await stack.redis("SET", "containers-test:k", "v2");
    await stack.restartRedis();
    expect(await stack.redis("GET", "containers-test:k")).toBe("v2");
    const list = (await stack.redis("FUNCTION", "LIST")) as unknown[][];
    expect(list.map((lib) => lib[lib.indexOf("library_name") + 1])).toContain(LIBRARY_NAME);
    // Webdis reconnects on its own; a request that meets a pooled connection
    // to the old Redis can fail once, so allow a few tries.
    const misses: string[] = [];
    const t0 = Date.now();
    const until = t0 + 5_000;
    for (;;) {
      const r = await fetch(`${stack.webdisUrl}/`, {
        method: "POST",
        body: "PING",
        signal: AbortSignal.timeout(1_000),
      }).then(
        async (res) => `${res.status} ${await res.text()}`,
        (e: Error) => `error ${e.message}`,
      );
      if (r === '200 {"PING":[true,"PONG"]}') break;
      misses.push(r);
      if (Date.now() > until) throw new Error(`webdis never answered PING after restartRedis: ${misses.join(" | ")}`);
    }
    if (misses.length) {
      const kinds = [...new Set(misses.map((m) => m.trim() || "(empty)"))].join(", ");
      console.log(
        `[containers.test] after restartRedis webdis failed ${misses.length} PINGs over ${Date.now() - t0} ms (${kinds}) before answering`,
      );
    }
  });

  it("stop() removes both containers and the data folder", async () => {
    const dataDir = stack.dataDir;
    await stack.stop();
    for (const id of ids) expect(await inspectStatus(id)).toBe(404);
    const left = await ourContainerIds();
    for (const id of ids) expect(left).not.toContain(id);
    expect(existsSync(dataDir)).toBe(false);
    await stack.stop(); // twice is harmless (afterAll calls it again)
  });

  it("removes what it started when start-up fails half way", async () => {
    const before = await ourContainerIds();
    await expect(
      startContainerStack({ functions: "#!lua name=broken\nthis is not lua", webdisConfig }),
    ).rejects.toThrow();
    expect(await ourContainerIds()).toEqual(before);
  });
});
