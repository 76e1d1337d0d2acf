/**
 * Each lua/<op>.lua opens with a header that is its contract (KEYS, ARGV,
 * returns, errors). This test keeps the header, the Lua arity check (a plain
 * check_arity, or open_stream, which takes the same arguments plus how many
 * trailing ARGV are optional), the registration flags and the client's op
 * table (src/core/ops.ts) in agreement.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OPS } from "../../src/core/ops.ts";
import { luaDir } from "../../src/server/lua.ts";

const files = readdirSync(luaDir()).filter((f) => f.endsWith(".lua"));

function parse(file: string) {
  const src = readFileSync(join(luaDir(), file), "utf8");
  const name = /function_name = '([a-z_]+)'/.exec(src)?.[1];
  const header = src.slice(0, src.indexOf("]]"));
  const argv = [...header.matchAll(/ARGV\[(\d+)\]/g)].map((m) => Number(m[1]));
  const keys = [...header.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
  const arity = /(?:check_arity|open_stream)\(argv, (\d+), keys, (\d+)[,)]/.exec(src);
  // open_stream(argv, n, keys, nkeys, optional, ...): the header says "optional" on those ARGV lines.
  const optional = Number(/open_stream\(argv, \d+, keys, \d+, (\d+),/.exec(src)?.[1] ?? 0);
  const optionalInHeader = [...header.matchAll(/^\s*ARGV\[(\d+)\][^\n]*optional/gm)].map((m) => Number(m[1]));
  const readOnly = /flags = \{ 'no-writes' \}/.test(src);
  return { src, name, header, argv, keys, arity, optional, optionalInHeader, readOnly };
}

describe("lua headers", () => {
  it("every op in the client's table has a file, and every file's op is in the table", () => {
    const names = files.map((f) => parse(f).name);
    expect(names.sort()).toEqual(Object.keys(OPS).sort());
  });

  for (const file of files) {
    it(`${file}: header, arity check and client agree`, () => {
      const p = parse(file);
      expect(p.header.startsWith("--[[")).toBe(true);
      expect(p.header).toMatch(/Returns/);
      const op = OPS[p.name as keyof typeof OPS];
      expect(op, `op ${p.name} in src/core/ops.ts`).toBeDefined();
      expect(p.arity, "check_arity call").not.toBeNull();
      expect(Number(p.arity?.[1])).toBe(op.args);
      expect(Number(p.arity?.[2])).toBe(op.keys);
      expect(p.argv.length ? Math.max(...p.argv) : 0).toBe(op.args);
      expect(p.keys.length ? Math.max(...p.keys) : 0).toBe(op.keys);
      expect(p.readOnly).toBe(op.readOnly);
      // The optional ARGV are the last ones, and the header names exactly those.
      const last = Array.from({ length: p.optional }, (_, i) => op.args - p.optional + 1 + i);
      expect(p.optionalInHeader, "ARGV the header calls optional").toEqual(last);
    });
  }
});
