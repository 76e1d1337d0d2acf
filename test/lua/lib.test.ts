/**
 * Helpers of lua/lib/ on their own, in a real Redis: an EVAL script made of
 * just the lib files a helper needs plus a small harness, so each check can be
 * fed any bytes without a stream, a leader or a Webdis door in front.
 *
 * - The strict JSON checks (4_json.lua): Redis's cjson takes NaN, Infinity,
 *   hex, `+1`, leading zeros and raw control characters; browsers' JSON.parse
 *   does not, so one such state would break every follower's connect.
 * - base_key (3_keys.lua) against the client's baseKey (src/core/wire.ts): the
 *   key the client sends must be the one Lua rebuilds, for every name.
 */
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
if fn == 'strict_json' then return strict_json(arg) and 'ok' or 'refused' end
if fn == 'check_state' then
  local ok, e = pcall(check_state, arg, { max_state = tonumber(ARGV[3]) })
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
const strict = (s: string) => call("strict_json", s);
const state = (s: string | Buffer, max = 1_048_576) => call("check_state", s, max);

describe("strict_json", () => {
  const accepted = [
    '{"a":1}',
    '{"a":0,"b":-0,"c":10,"d":-12.5,"e":1e3,"f":1E+3,"g":2.5e-7,"h":-0.0}',
    '{"a":[true,false,null],"b":{},"c":[]}',
    '{"a":"NaN","b":"Infinity","c":"0x10","d":"+1","e":"01"}', // the same words inside strings
    '{"a":"\\"NaN\\" \\\\ \\t\\n\\u0001"}', // escapes, escaped quotes and backslashes
    '{\n\t"a" :\r\n 1 }', // tab, newline and CR between tokens
    '{"é":"✈ 東京"}',
  ];
  for (const s of accepted) it(`accepts ${JSON.stringify(s)}`, async () => expect(await strict(s)).toBe("ok"));

  const refused = [
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":-Infinity}',
    '{"a":0x10}',
    '{"a":+1}',
    '{"a":01}',
    '{"a":-01}',
    '{"a":00.5}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":1e}',
    '{"a":1e+}',
    '{"a":True}',
    '{"a":nil}',
    '{"a":"x\ty"}', // raw tab inside a string
    '{"a":"x\ny"}', // raw newline inside a string
    '{"a":"x\ry"}', // raw CR inside a string
    '{"a":"x\u0001y"}', // raw control byte inside a string
    '{"a":1}\u0000', // NUL anywhere
    '{"a":\u001f1}', // raw control byte between tokens
    '{"a":"\\\\"NaN}', // an escaped backslash does not hide what follows the string
  ];
  for (const s of refused) it(`refuses ${JSON.stringify(s)}`, async () => expect(await strict(s)).toBe("refused"));

  it("agrees with JSON.parse on what JSON.stringify makes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), async (v) => {
        expect(await strict(JSON.stringify(v))).toBe("ok");
      }),
      { numRuns: 50 },
    );
  });
});

describe("check_state", () => {
  it("accepts one JSON object within max_state", async () => {
    expect(await state("{}")).toBe("ok");
    expect(await state('{"title":"Recon","waypoints":[{"x":10,"y":20}]}')).toBe("ok");
    expect(await state('{"a":1}', 7)).toBe("ok");
  });

  it("refuses a state over max_state as TOO_LARGE, before parsing it", async () => {
    expect(await state('{"a":1}', 6)).toBe("TOO_LARGE state is larger than 6 bytes");
    expect(await state("not json at all", 6)).toMatch(/^TOO_LARGE /);
  });

  it("refuses what is not one JSON object", async () => {
    for (const s of ["[]", "[1]", '"s"', "1", "null", "", " {}", '{"a":1} x', '{"a":1', "{'a':1}"]) {
      expect(await state(s), s).toBe("INVALID state must be a JSON object");
    }
  });

  it("refuses what cjson lets by but JSON.parse does not", async () => {
    for (const s of ['{"a":NaN}', '{"a":Infinity}', '{"a":0x1F}', '{"a":+1}', '{"a":007}', '{"a":"x\ny"}']) {
      expect(() => JSON.parse(s), s).toThrow();
      expect(await state(s), s).toBe("INVALID state must be a JSON object");
    }
  });

  it("refuses invalid UTF-8 (bytes, overlongs, surrogates)", async () => {
    const wrap = (...bytes: number[]) => Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]);
    for (const b of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      expect(await state(wrap(...b)), hex(Buffer.from(b))).toBe("INVALID state is not UTF-8");
    }
    expect(await state(wrap(0xe2, 0x9c, 0x88))).toBe("ok"); // ✈
  });

  it("takes deep nesting up to cjson's limit and refuses beyond it, as INVALID (never a Lua error)", async () => {
    const nest = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    expect(await state(nest(100))).toBe("ok");
    expect(await state(nest(5000))).toBe("INVALID state must be a JSON object");
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
