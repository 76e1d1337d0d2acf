/**
 * Helpers of lua/lib/ on their own, in a real Redis: an EVAL script made of
 * just the lib files a helper needs plus a small harness, so each check can be
 * fed any bytes without a stream, a leader or a Webdis door in front.
 *
 * - check_sealed (4_json.lua): Lua never opens a plan (protocol v2, sealed in
 *   the client), it only checks the form: base64url [A-Za-z0-9_-], at least 38
 *   bytes (the IV and tag of an empty plaintext), at most max_state. Anything
 *   else is INVALID, anything over max_state TOO_LARGE (before the form).
 * - base_key (3_keys.lua) against the client's baseKey (src/core/wire.ts): the
 *   key the client sends must be the one Lua rebuilds, for every name.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseKey } from "../../src/core/wire.ts";
import { luaDir } from "../../src/server/lua.ts";
import { type Stack, startStack } from "../setup/stack.ts";

const lib = (f: string) => readFileSync(join(luaDir(), "lib", f), "utf8");

// Every input travels as hex and every string reply comes back as hex, so
// invalid UTF-8 and raw control bytes reach Lua byte for byte.
const HARNESS = `
local function unhex(h) return (h:gsub('..', function(x) return string.char(tonumber(x, 16)) end)) end
local function tohex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local fn, arg = ARGV[1], unhex(ARGV[2])
if fn == 'check_sealed' then
  local ok, e = pcall(check_sealed, arg, { max_state = tonumber(ARGV[3]) }, 'state')
  if ok then return 'ok' end
  return type(e) == 'table' and e.err or tostring(e) -- a runtime error names a line: no code matches it
end
if fn == 'base_key' then return tohex(base_key(arg)) end
return 'unknown helper ' .. fn
`;
const SCRIPT = ["1_config.lua", "2_args.lua", "3_keys.lua", "4_json.lua"].map(lib).join("\n") + HARNESS;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

const hex = (s: string | Buffer) => (typeof s === "string" ? Buffer.from(s, "utf8") : s).toString("hex");
const call = (fn: string, arg: string | Buffer, ...more: (string | number)[]) =>
  stack.redis("EVAL", SCRIPT, 0, fn, hex(arg), ...more) as Promise<string>;
const sealed = (s: string | Buffer, max = 1_048_576) => call("check_sealed", s, max);

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INVALID = "INVALID state must be sealed content (base64url)";

describe("check_sealed", () => {
  it("accepts every base64url character, and what the client seals (base64url of iv + ciphertext + tag)", async () => {
    expect(await sealed(B64URL)).toBe("ok");
    expect(await sealed(randomBytes(28).toString("base64url"))).toBe("ok"); // an empty plaintext: 38 bytes
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 28, maxLength: 400 }), async (bytes) => {
        expect(await sealed(Buffer.from(bytes).toString("base64url"))).toBe("ok");
      }),
      { numRuns: 50 },
    );
  });

  it("takes 38 bytes at least: shorter is INVALID (no room for iv and tag)", async () => {
    expect(await sealed("A".repeat(38))).toBe("ok");
    for (const n of [0, 1, 37]) expect(await sealed("A".repeat(n)), `${n} bytes`).toBe(INVALID);
  });

  it("refuses any byte outside [A-Za-z0-9_-] as INVALID: plain base64, padding, JSON, spaces, controls, non-ASCII", async () => {
    const body = "A".repeat(40);
    const bad = ["+", "/", "=", " ", ".", "%", '"', "{", "\n", "\t", "\r", "\u0000", "\u007f", "é", "✈"];
    for (const c of bad) {
      for (const s of [c + body, body + c, body.slice(0, 20) + c + body.slice(20)]) {
        expect(await sealed(s), JSON.stringify(s)).toBe(INVALID);
      }
    }
    // Single bytes >= 0x80 (not UTF-8): a locale that calls 0xE9 a letter must not let it through %w.
    for (const b of [0x80, 0xaa, 0xb5, 0xc0, 0xe9, 0xff]) {
      expect(await sealed(Buffer.concat([Buffer.from(body), Buffer.from([b])])), b.toString(16)).toBe(INVALID);
    }
    expect(await sealed(JSON.stringify({ title: "Recon", waypoints: [] }).padEnd(40))).toBe(INVALID);
  });

  it("refuses a string with one foreign character anywhere, for any foreign character", async () => {
    const foreign = fc.integer({ min: 0, max: 255 }).filter((b) => !B64URL.includes(String.fromCharCode(b)));
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom(...B64URL), minLength: 38, maxLength: 200 }),
        foreign,
        fc.nat(),
        async (s, b, at) => {
          const i = at % (s.length + 1);
          const bytes = Buffer.concat([Buffer.from(s.slice(0, i)), Buffer.from([b]), Buffer.from(s.slice(i))]);
          expect(await sealed(bytes)).toBe(INVALID);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("takes max_state bytes at most: one more is TOO_LARGE", async () => {
    expect(await sealed("A".repeat(100), 100)).toBe("ok");
    expect(await sealed("A".repeat(101), 100)).toBe("TOO_LARGE state is larger than 100 bytes");
    expect(await sealed("A".repeat(1_048_576))).toBe("ok"); // the default max_state, one pattern search
    expect(await sealed("A".repeat(1_048_577))).toBe("TOO_LARGE state is larger than 1048576 bytes");
  });

  it("says TOO_LARGE for anything over max_state, also when its form is wrong too; INVALID only within it", async () => {
    expect(await sealed(`${"A".repeat(100)}+`, 100)).toBe("TOO_LARGE state is larger than 100 bytes");
    expect(await sealed(`${"A".repeat(99)}+`, 100)).toBe(INVALID);
    expect(await sealed("{}".repeat(60), 100)).toMatch(/^TOO_LARGE /);
    // A max_state under the minimum: short content is INVALID, longer TOO_LARGE.
    expect(await sealed("A".repeat(30), 30)).toBe(INVALID);
    expect(await sealed("A".repeat(31), 30)).toMatch(/^TOO_LARGE /);
  });
});

describe("base_key", () => {
  it("is the key the client builds (src/core/wire.ts baseKey), for any name", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 20 }), async (name) => {
        expect(await call("base_key", name)).toBe(hex(baseKey(name)));
      }),
      { numRuns: 100, examples: [["a}b{c%"], ["{"], ["%7B"], ["Café ✈"]] },
    );
  });
});
