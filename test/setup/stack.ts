/**
 * One helper for both kinds of test stack. RELAY_TEST_STACK=native|containers
 * forces one; by default containers are used when a Docker engine and our
 * images are there, native processes otherwise. Tests never know which.
 */
import { startEdge } from "../../src/server/edge.ts";
import { startNativeStack } from "./native.ts";
import type { Stack, StackOptions } from "./types.ts";

export type { Stack, StackOptions } from "./types.ts";

/**
 * Free ports are picked, then bound by the servers a moment later; on a busy
 * box another test's server can take one in between, and a Webdis that cannot
 * bind exits at start-up (seen in CI: "Log stream ended and message 'Webdis
 * ... up and running' was not received"). Each attempt cleans up after itself
 * and picks new ports, so a start-up failure is tried again, twice at most.
 */
async function withRetries(start: () => Promise<Stack>, mode: string): Promise<Stack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3) throw e;
      console.warn(`[stack:${mode}] start-up failed (attempt ${attempt} of 3), retrying: ${(e as Error).message}`);
    }
  }
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const stack = await startBare(opts);
  if (!opts.edge) return stack;
  try {
    const port = (url: string) => Number(new URL(url).port);
    const edge = await startEdge({
      commandBackend: { host: "127.0.0.1", port: port(stack.webdisUrl) },
      subscribeBackend: { host: "127.0.0.1", port: port(stack.subscribeUrl) },
      // One address runs whole suites: the per-client limits would trip them.
      limits: { connect: 100_000, reconnect: 100_000, stop: 100_000, start: 100_000, connectionsPerClient: 2_000 },
      log: (l) => console.warn(`[stack:edge] ${l}`),
    });
    const stop = stack.stop.bind(stack);
    return Object.assign(stack, {
      edge: { commandUrl: edge.commandUrl, subscribeUrl: edge.subscribeUrl },
      async stop() {
        await edge.stop();
        await stop();
      },
    });
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

async function startBare(opts: StackOptions): Promise<Stack> {
  const wanted = process.env.RELAY_TEST_STACK;
  if (wanted === "native") return withRetries(() => startNativeStack(opts), "native");
  if (wanted === "containers" || wanted === undefined) {
    try {
      const mod = await import("./containers.ts");
      const usable = await mod.containersAvailable();
      if (usable) return await withRetries(() => mod.startContainerStack(opts), "containers");
      if (wanted === "containers") throw new Error("RELAY_TEST_STACK=containers but no Docker engine or images");
    } catch (e) {
      if (wanted === "containers") throw e;
    }
    return withRetries(() => startNativeStack(opts), "native");
  }
  throw new Error(`RELAY_TEST_STACK must be native or containers, not ${wanted}`);
}
