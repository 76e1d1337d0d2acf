/**
 * The relay user's ACL covers what the functions run: Redis 7 checks every
 * redis.call of a function against the caller's ACL, so a command the Lua starts
 * using without it being in FUNCTION_COMMANDS would fail only on replicated
 * topologies (NOPERM inside the function). Pure: reads lua/.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CLUSTER_USERS,
  clusterUsers,
  FUNCTION_COMMANDS,
  newClusterSecrets,
  RELAY_KEYS,
  sha256Hex,
} from "../../src/server/acl.ts";
import { luaDir } from "../../src/server/lua.ts";
import { SUBSCRIBE_ONLY_USER } from "../../src/server/native.ts";

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? luaFiles(join(dir, e.name)) : e.name.endsWith(".lua") ? [join(dir, e.name)] : [],
  );
}

describe("cluster ACL", () => {
  it("the relay user may run every command the functions call", () => {
    const used = new Set<string>();
    for (const f of luaFiles(luaDir())) {
      for (const m of readFileSync(f, "utf8").matchAll(/redis\.p?call\(\s*['"]([A-Za-z_]+)['"]/g)) {
        used.add((m[1] as string).toLowerCase());
      }
    }
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((c) => !FUNCTION_COMMANDS.includes(c));
    expect(missing).toEqual([]);
    // No command is called other than by a literal name (else this test would not see it).
    for (const f of luaFiles(luaDir())) expect(readFileSync(f, "utf8")).not.toMatch(/redis\.p?call\(\s*[^'"\s]/);
  });

  it("the relay user may touch every key the functions name, and relay:config only to read", () => {
    const named = new Set<string>();
    for (const f of luaFiles(luaDir())) {
      for (const m of readFileSync(f, "utf8").matchAll(/'(relay:[^'{]*)'/g)) named.add(m[1] as string);
    }
    expect(named.size).toBeGreaterThanOrEqual(4);
    const globals = RELAY_KEYS.map((k) => k.replace(/^%R~|^~/, ""));
    // Each global key the Lua names is granted; stream keys all start with relay:{ .
    for (const k of named) {
      if (k === "relay:") continue; // the stream keys' prefix, built as relay:{<name>}
      expect(globals, k).toContain(k);
    }
    expect(RELAY_KEYS).toContain("~relay:{*");
    expect(RELAY_KEYS).toContain("%R~relay:config");
  });

  it("every node gets the subscribe-only default user and only password hashes", () => {
    const s = newClusterSecrets();
    const users = clusterUsers(s);
    expect(users[0]).toEqual(SUBSCRIBE_ONLY_USER);
    const text = JSON.stringify(users);
    for (const pw of Object.values(s)) expect(text.includes(pw)).toBe(false);
    expect(text).toContain(`#${sha256Hex(s.relay)}`);
    const relay = users.find((u) => u[0] === CLUSTER_USERS.relay) ?? [];
    for (const k of RELAY_KEYS) expect(relay).toContain(k);
    expect(relay).not.toContain("~relay:*");
    for (const c of ["+@all", "+function", "+config", "+flushall", "+eval"]) expect(relay).not.toContain(c);
  });
});
