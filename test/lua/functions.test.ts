/**
 * The library as Redis sees it (cases after redis tests/unit/functions.tcl):
 * load and replace, a failed replace keeps the old library, FCALL_RO refuses
 * writers, numkeys is checked, FLUSHALL keeps functions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleLua } from "../../src/server/lua.ts";
import { type Stack, startStack } from "../setup/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

const err = (p: Promise<unknown>) =>
  p.then(
    () => "no error",
    (e: Error) => e.message,
  );
const hex = (c: string, n = 64) => c.repeat(n);

describe("function library", () => {
  it("bundles reproducibly into one library named relay", () => {
    const a = bundleLua();
    expect(a).toBe(bundleLua());
    expect(a.startsWith("#!lua name=relay\n")).toBe(true);
  });

  it("is loaded with every function, read-only ones flagged no-writes", async () => {
    const list = (await stack.redis("FUNCTION", "LIST", "LIBRARYNAME", "relay")) as unknown[][];
    expect(list).toHaveLength(1);
    const lib = list[0] as unknown[];
    const fns = lib[lib.indexOf("functions") + 1] as unknown[][];
    const byName = Object.fromEntries(fns.map((f) => [f[f.indexOf("name") + 1], f[f.indexOf("flags") + 1]]));
    expect(Object.keys(byName).sort()).toEqual([
      "relay_connect",
      "relay_heal",
      "relay_heartbeat",
      "relay_list",
      "relay_publish",
      "relay_reconnect",
      "relay_start",
      "relay_stop",
      "relay_version",
    ]);
    expect(byName.relay_list).toEqual(["no-writes"]);
    expect(byName.relay_version).toEqual(["no-writes"]);
    expect(byName.relay_publish).toEqual([]);
  });

  it("a failed REPLACE keeps the old library", async () => {
    const broken = `${bundleLua()}\nthis is not lua`;
    expect(await err(stack.redis("FUNCTION", "LOAD", "REPLACE", broken))).toMatch(/Error compiling|syntax/i);
    expect(await stack.redis("FCALL_RO", "relay_version", "0")).toBe("2");
  });

  it("LOAD without REPLACE refuses to overwrite", async () => {
    expect(await err(stack.redis("FUNCTION", "LOAD", bundleLua()))).toMatch(/already exists/);
  });

  it("FCALL_RO refuses a function that writes", async () => {
    const msg = await err(
      stack.redis("FCALL_RO", "relay_start", "1", "relay:{ro}", "ro", hex("a"), hex("b"), hex("c", 32), hex("d", 32)),
    );
    expect(msg).toMatch(/write flag|no-writes/i);
    expect(await stack.redis("EXISTS", "relay:{ro}:meta")).toBe(0);
  });

  it("checks numkeys and the key itself", async () => {
    expect(
      await err(stack.redis("FCALL", "relay_start", "0", "x", hex("a"), hex("b"), hex("c", 32), hex("d", 32))),
    ).toMatch(/^INVALID expected 1 key/);
    expect(
      await err(
        stack.redis("FCALL", "relay_start", "1", "relay:{other}", "x", hex("a"), hex("b"), hex("c", 32), hex("d", 32)),
      ),
    ).toMatch(/^INVALID key does not match/);
    expect(await stack.redis("EXISTS", "relay:{x}:meta", "relay:{other}:meta")).toBe(0);
  });

  it("FLUSHALL keeps the functions", async () => {
    await stack.redis("FLUSHALL");
    expect(await stack.redis("FCALL_RO", "relay_version", "0")).toBe("2");
  });

  it("escapes braces and percent in the hash tag", async () => {
    const name = "a}b{c%";
    const key = "relay:{a%7Db%7Bc%25}";
    expect(
      await stack.redis("FCALL", "relay_start", "1", key, name, hex("a"), hex("b"), hex("c", 32), hex("d", 32)),
    ).toContain('"seq":0');
    expect(await stack.redis("EXISTS", `${key}:meta`)).toBe(1);
    // A new stream is {} at seq 0: no snapshot and no log yet (protocol v2).
    expect(await stack.redis("EXISTS", `${key}:snap`, `${key}:log`)).toBe(0);
  });
});
