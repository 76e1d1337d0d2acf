/**
 * Joins lua/lib/*.lua and lua/*.lua into the one `relay` function library that
 * Redis loads with FUNCTION LOAD REPLACE. Shared helpers come first, so every
 * operation file can use them; files are taken in name order so the bundle is
 * byte-for-byte reproducible.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const LIBRARY_NAME = "relay";

export function luaDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "lua");
}

export function bundleLua(dir: string = luaDir()): string {
  const read = (folder: string) =>
    readdirSync(folder)
      .filter((f) => f.endsWith(".lua"))
      .sort()
      .map((f) => `-- ${f}\n${readFileSync(join(folder, f), "utf8").trimEnd()}\n`);
  return [`#!lua name=${LIBRARY_NAME}\n`, ...read(join(dir, "lib")), ...read(dir)].join("\n");
}
