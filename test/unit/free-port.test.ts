/**
 * freePort (src/server/native.ts): ports for servers the tests start. Two test
 * workers once got the same one; now each port is claimed in a shared folder,
 * taken below the kernel's ephemeral range, and never handed out twice.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../src/server/native.ts";

const low = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
})();

describe("freePort", () => {
  const before = process.env.MISSION_RELAY_PORT_CLAIMS;
  let dir: string | undefined;
  afterEach(() => {
    process.env.MISSION_RELAY_PORT_CLAIMS = before;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("hands out distinct ports below the ephemeral range, each claimed in the shared folder", async () => {
    dir = mkdtempSync(join(tmpdir(), "mr-ports-"));
    process.env.MISSION_RELAY_PORT_CLAIMS = dir;
    const ports: number[] = [];
    for (let i = 0; i < 40; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(40);
    for (const p of ports) {
      expect(existsSync(join(dir, String(p)))).toBe(true);
      if (low && low > 11_025) expect(p).toBeLessThan(low);
    }
  });
});
