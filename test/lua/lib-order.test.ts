/**
 * The bundle (src/server/lua.ts) joins lua/lib/*.lua, then lua/*.lua, in name
 * order into one chunk, and a Lua local is seen only by code after it. A
 * helper used before its file is a global lookup instead: nil, and Redis
 * refuses it only when that line runs, which a rarely taken error path may
 * never do in the other tests. This reads every top-level local of the bundle
 * and refuses a use that comes before the declaration.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { luaDir } from "../../src/server/lua.ts";

const inOrder = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".lua"))
    .sort()
    .map((f) => join(dir, f));

/** The code only: comments and string literals removed (their words are not uses). */
function code(src: string): string {
  return src
    .replace(/--\[\[[\s\S]*?\]\]/g, "")
    .replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, "''")
    .replace(/--[^\n]*/g, "");
}

describe("lua bundle order", () => {
  it("uses every top-level local only after the file and line that declare it", () => {
    const files = [...inOrder(join(luaDir(), "lib")), ...inOrder(luaDir())];
    const text = files.map((f) => ({ file: f.slice(luaDir().length + 1), src: code(readFileSync(f, "utf8")) }));
    // Offsets in one joined text, as the bundle has it.
    let at = 0;
    const parts = text.map((t) => {
      const part = { ...t, start: at };
      at += t.src.length + 1;
      return part;
    });
    const all = parts.map((p) => p.src).join("\n");
    const declared = new Map<string, number>();
    for (const m of all.matchAll(/^local (?:function )?([A-Za-z_][\w, ]*)/gm)) {
      for (const name of (m[1] ?? "").split(",").map((s) => s.trim())) {
        if (name && !declared.has(name)) declared.set(name, m.index ?? 0);
      }
    }
    expect(declared.size, "top-level locals found").toBeGreaterThan(30);
    const early: string[] = [];
    for (const [name, decl] of declared) {
      // A use: the word, not a field (`cfg.sweep`, `s:find`) nor a table key (`sweep = 10`).
      for (const m of all.matchAll(new RegExp(`(?<![\\w.:])${name}\\b(?!\\s*=[^=])`, "g"))) {
        const pos = m.index ?? 0;
        if (pos < decl) {
          const part = parts.findLast((p) => p.start <= pos);
          early.push(`${name} used in ${part?.file} before its declaration`);
        }
      }
    }
    expect(early).toEqual([]);
  });
});
