/**
 * The preamble every function on one stream shares (open_stream in
 * lua/lib/7_stream.lua), pinned per function: the order of its checks decides
 * which error a bad call gets (keys, arity, name, key, the op's own arguments,
 * and only then NOT_FOUND), and trailing optional ARGV left out read as "-".
 * Every call here names a stream that does not exist, so nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPS } from "../../src/core/ops.ts";
import { baseKey } from "../../src/core/wire.ts";
import { type Stack, startStack } from "../setup/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

const h = (c: string, n: number) => c.repeat(n);
// Valid arguments after the name, and how many trailing ones are optional.
// bad: one own argument (index into args) replaced, and the error it must get before NOT_FOUND.
const OWN: Record<string, { args: string[]; optional: number; bad?: [number, string, RegExp][] }> = {
  relay_connect: { args: [h("a", 64), "-", "0", "-"], optional: 1 },
  // token, term, and optional: the leader's epoch and seq
  relay_heartbeat: { args: [h("b", 32), "1", "1", "0"], optional: 2 },
  // token, term, op id, base seq, kind, sealed content (base64url, >= 38 bytes), optional: the leader's epoch
  relay_publish: {
    args: [h("b", 32), "1", h("c", 16), "0", "s", h("A", 38), "1"],
    optional: 1,
    bad: [
      [3, "-", /^INVALID base seq must be a non-negative integer/],
      [4, "x", /^INVALID kind must be "s"/],
      [5, h("A", 37), /^INVALID state must be sealed content/],
      [5, `${h("A", 37)}+`, /^INVALID state must be sealed content/],
    ],
  },
  // code verifier, token, code pass, password verifier
  relay_reconnect: {
    args: [h("a", 64), h("b", 32), "-", h("d", 64)],
    optional: 0,
    bad: [[3, h("d", 63), /^INVALID password verifier must be 64-64 lowercase hex digits/]],
  },
  relay_stop: { args: [h("a", 64), "-"], optional: 1 },
};

const err = (p: Promise<unknown>) =>
  p.then(
    (r) => `no error: ${String(r)}`,
    (e: Error) => e.message,
  );

describe("stream preamble", () => {
  for (const [fn, own] of Object.entries(OWN)) {
    const n = OPS[fn as keyof typeof OPS].args;
    const name = `preamble ${fn} ${Math.random().toString(36).slice(2)}`;
    const fcall = (argv: string[], key = baseKey(argv[0] ?? name), numkeys = 1) =>
      err(stack.redis("FCALL", fn, numkeys, ...(numkeys ? [key] : []), ...argv));
    const full = [name, ...own.args];

    it(`${fn}: a missing stream is NOT_FOUND, also with the optional ARGV left out`, async () => {
      expect(full).toHaveLength(n);
      for (let left = 0; left <= own.optional; left++) {
        expect(await fcall(full.slice(0, n - left)), `${left} left out`).toMatch(/^NOT_FOUND no such stream/);
      }
    });

    it(`${fn}: the argument count is checked, after the key count`, async () => {
      const expected = new RegExp(`^INVALID expected ${n} argument\\(s\\)`);
      expect(await fcall(full.slice(0, n - own.optional - 1))).toMatch(expected);
      expect(await fcall([...full, "-"])).toMatch(expected);
      expect(await fcall(full.slice(0, 1), "", 0)).toMatch(/^INVALID expected 1 key\(s\)/);
    });

    it(`${fn}: name, then key, then the op's own arguments, all before the stream is read`, async () => {
      const badOwn = [name, "zz", ...own.args.slice(1)];
      expect(await fcall(badOwn)).toMatch(/^INVALID .* must be .* lowercase hex digits/);
      expect(await fcall(badOwn, "relay:{other}")).toMatch(/^INVALID key does not match the stream name/);
      expect(await fcall(["a\u0001b", "zz", ...own.args.slice(1)], "relay:{other}")).toMatch(
        /^INVALID name contains a control character/,
      );
      expect(await fcall(["", "zz", ...own.args.slice(1)], "relay:{other}")).toMatch(/^INVALID name is empty/);
      for (const [i, value, expected] of own.bad ?? []) {
        const args = own.args.map((a, j) => (j === i ? value : a));
        expect(await fcall([name, ...args]), `argument ${i + 2} = ${value}`).toMatch(expected);
      }
    });
  }
});
