/**
 * The npm package carries every file the servers read at run time from the
 * package folder (src/server/native.ts repoRoot): both doors' Webdis configs
 * and the whole Lua library. webdis.subscribe.json was missing, so an
 * installed `mission-relay up` died with ENOENT before starting anything.
 * (dist/ and web/dist/ come from the build and are listed in `files` too.)
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../src/server/native.ts";

describe("npm package", () => {
  it("includes both Webdis configs and every Lua file", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const packed = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path));
    const lua = [
      ...readdirSync(join(repoRoot, "lua"))
        .filter((f) => f.endsWith(".lua"))
        .map((f) => `lua/${f}`),
      ...readdirSync(join(repoRoot, "lua", "lib")).map((f) => `lua/lib/${f}`),
    ];
    // scripts/install-webdis: `up --install` runs it from the installed package.
    for (const f of ["webdis.json", "webdis.subscribe.json", "scripts/install-webdis", "package.json", ...lua]) {
      expect(packed.has(f), `${f} in the package`).toBe(true);
    }
  });
});
