/**
 * One helper for both kinds of test stack. RELAY_TEST_STACK=native|containers
 * forces one; by default containers are used when a Docker engine and our
 * images are there, native processes otherwise. Tests never know which.
 */
import { startNativeStack } from "./native.ts";
import type { Stack, StackOptions } from "./types.ts";

export type { Stack, StackOptions } from "./types.ts";

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const wanted = process.env.RELAY_TEST_STACK;
  if (wanted === "native") return startNativeStack(opts);
  if (wanted === "containers" || wanted === undefined) {
    try {
      const mod = await import("./containers.ts");
      const usable = await mod.containersAvailable();
      if (usable) return await mod.startContainerStack(opts);
      if (wanted === "containers") throw new Error("RELAY_TEST_STACK=containers but no Docker engine or images");
    } catch (e) {
      if (wanted === "containers") throw e;
    }
    return startNativeStack(opts);
  }
  throw new Error(`RELAY_TEST_STACK must be native or containers, not ${wanted}`);
}
