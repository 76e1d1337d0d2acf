/**
 * The edge's haproxy.cfg renderer (src/server/edge.ts), without starting
 * anything: ports, limits and timeouts land where they should, nothing binds
 * a wildcard address, and the body bound stays under Webdis's own. When
 * haproxy is installed, `haproxy -c` also checks the rendered text.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  COMMAND_BODY_MAX,
  COMMAND_PREFIXES,
  DEFAULT_LIMITS,
  DEFAULT_TIMEOUTS,
  type EdgeConfigOptions,
  edgeConfig,
  HEADER_ROOM,
  SUBSCRIBE_BODY_MAX,
  WEBDIS_COMMAND_MAX_REQUEST,
} from "../../src/server/edge.ts";
import { findBinary, repoRoot } from "../../src/server/native.ts";

const base: EdgeConfigOptions = {
  commandPort: 17101,
  subscribePort: 17102,
  commandBackend: { host: "127.0.0.1", port: 17103 },
  subscribeBackend: { host: "127.0.0.1", port: 17104 },
};
const lines = (cfg: string) => cfg.split("\n").map((l) => l.trim());
/** The lines of one section (`frontend command_door`, `defaults`, ...). */
function section(cfg: string, header: string): string[] {
  const all = cfg.split("\n");
  const start = all.indexOf(header);
  expect(start, `no section ${header}`).toBeGreaterThanOrEqual(0);
  const rest = all.slice(start + 1);
  const end = rest.findIndex((l) => /^\S/.test(l));
  return (end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim());
}

describe("edgeConfig", () => {
  it("binds each door on the given address and port, and sends each to its own Webdis", () => {
    const cfg = edgeConfig(base);
    expect(section(cfg, "frontend command_door")).toContain("bind 127.0.0.1:17101");
    expect(section(cfg, "frontend subscribe_door")).toContain("bind 127.0.0.1:17102");
    expect(section(cfg, "backend command_webdis")).toContain("server webdis 127.0.0.1:17103");
    expect(section(cfg, "backend subscribe_webdis")).toContain("server webdis 127.0.0.1:17104");
    expect(edgeConfig({ ...base, host: "10.1.2.3" })).toContain("bind 10.1.2.3:17101");
  });

  it("never binds a wildcard address, and accept-proxy only when asked", () => {
    for (const cfg of [edgeConfig(base), edgeConfig({ ...base, acceptProxy: true })]) {
      const binds = lines(cfg).filter((l) => l.startsWith("bind "));
      expect(binds).toHaveLength(2);
      for (const b of binds) expect(b).toMatch(/^bind 127\.0\.0\.1:\d+/);
      expect(cfg).not.toMatch(/0\.0\.0\.0|:::|\*:\d/);
    }
    expect(edgeConfig(base)).not.toContain("accept-proxy");
    expect(lines(edgeConfig({ ...base, acceptProxy: true })).filter((l) => l.endsWith(" accept-proxy"))).toHaveLength(
      2,
    );
  });

  it("puts the timeouts in (defaults and overrides), and never abortonclose", () => {
    const d = section(edgeConfig(base), "defaults");
    expect(d).toContain(`timeout http-request ${DEFAULT_TIMEOUTS.httpRequestMs}ms`);
    expect(d).toContain(`timeout client ${DEFAULT_TIMEOUTS.clientMs}ms`);
    expect(d).toContain(`timeout server ${DEFAULT_TIMEOUTS.serverMs}ms`);
    expect(d).toContain(`timeout tunnel ${DEFAULT_TIMEOUTS.tunnelMs}ms`);
    expect(d).toContain("option http-buffer-request");
    expect(d).toContain("http-reuse never");
    const o = section(edgeConfig({ ...base, timeouts: { httpRequestMs: 1234, tunnelMs: 5678 } }), "defaults");
    expect(o).toContain("timeout http-request 1234ms");
    expect(o).toContain("timeout tunnel 5678ms");
    // abortonclose would let a dropped client's Webdis connection go before Webdis answered (attack 1).
    expect(
      edgeConfig(base)
        .split("\n")
        .filter((l) => !l.trim().startsWith("#") && l.includes("abortonclose")),
    ).toEqual([]);
  });

  it("puts each per-client limit in, defaults and overrides", () => {
    const cfg = edgeConfig(base);
    expect(cfg).toContain(`sc_gpc_rate(0,0) ge ${DEFAULT_LIMITS.connect}`);
    expect(cfg).toContain(`sc_gpc_rate(3,0) ge ${DEFAULT_LIMITS.start}`);
    expect(cfg).toContain(`sc_conn_cur(0) gt ${DEFAULT_LIMITS.connectionsPerClient}`);
    // Keyed per IPv4 address and per IPv6 /64, on both doors: a /64 is one subscriber line.
    expect(lines(cfg).filter((l) => l.startsWith("tcp-request connection track-sc0"))).toEqual([
      "tcp-request connection track-sc0 src,ipmask(32,64) table per_client_command",
      "tcp-request connection track-sc0 src,ipmask(32,64) table per_client_subscribe",
    ]);
    const o = edgeConfig({
      ...base,
      limits: { connect: 7, reconnect: 8, stop: 9, start: 11, periodSeconds: 13, connectionsPerClient: 5 },
    });
    for (const [idx, n, fn] of [
      [0, 7, "relay_connect"],
      [1, 8, "relay_reconnect"],
      [2, 9, "relay_stop"],
      [3, 11, "relay_start"],
    ] as const) {
      const rule = lines(o).find((l) => l.includes(`sc_gpc_rate(${idx},0) ge ${n}`));
      expect(rule, fn).toBeDefined();
      expect(rule).toContain("deny status 429");
      expect(o).toContain(`req.body -m beg FCALL/${fn}/`);
    }
    expect(o).toContain("gpc_rate(4,13s)");
    expect(o).toContain("sc_conn_cur(0) gt 5 }");
    expect(o).toContain("sc_conn_cur(0) gt 10 }"); // closed before a request at twice the cap
  });

  it("bounds bodies below Webdis's own limits (webdis.json, webdis.subscribe.json)", () => {
    const webdis = (f: string) =>
      (JSON.parse(readFileSync(join(repoRoot, f), "utf8")) as { http_max_request_size: number }).http_max_request_size;
    expect(WEBDIS_COMMAND_MAX_REQUEST).toBe(webdis("webdis.json"));
    expect(COMMAND_BODY_MAX).toBe(webdis("webdis.json") - HEADER_ROOM);
    expect(SUBSCRIBE_BODY_MAX).toBeLessThan(webdis("webdis.subscribe.json") - 1024);
    const cfg = edgeConfig(base);
    expect(section(cfg, "frontend command_door")).toContainEqual(
      expect.stringContaining(`deny status 413 content-type application/json`),
    );
    expect(cfg).toContain(`req.body_size gt ${COMMAND_BODY_MAX}`);
    expect(cfg).toContain(`req.body_size gt ${SUBSCRIBE_BODY_MAX}`);
  });

  it("serves each rate-limited function one way only (FCALL), so the limit cannot be dodged", () => {
    for (const fn of ["relay_connect", "relay_reconnect", "relay_stop", "relay_start"]) {
      expect(COMMAND_PREFIXES).toContain(`FCALL/${fn}/`);
      expect(COMMAND_PREFIXES.filter((p) => p.includes(fn))).toHaveLength(1);
    }
    expect(COMMAND_PREFIXES).toContain("FCALL_RO/relay_list/");
    expect(COMMAND_PREFIXES).toContain("SUBSCRIBE/");
  });

  it("forces JSON and nosniff on every reply, and every refusal has a JSON body", () => {
    const cfg = edgeConfig(base);
    for (const door of ["frontend command_door", "frontend subscribe_door"]) {
      const s = section(cfg, door);
      expect(s).toContain("http-after-response set-header Content-Type application/json unless { status 101 }");
      expect(s).toContain("http-after-response set-header X-Content-Type-Options nosniff");
    }
    const denies = lines(cfg).filter((l) => l.startsWith("http-request deny"));
    expect(denies.length).toBeGreaterThan(10);
    for (const d of denies) expect(d).toMatch(/content-type application\/json string '\{"error":"[A-Z_]+"/);
  });

  it.skipIf(!findBinary("haproxy"))("is accepted by haproxy -c", () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-edge-cfg-"));
    try {
      for (const opts of [base, { ...base, acceptProxy: true, limits: { connect: 1, periodSeconds: 1 } }]) {
        const file = join(dir, "haproxy.cfg");
        writeFileSync(file, edgeConfig(opts));
        const r = spawnSync(findBinary("haproxy") as string, ["-c", "-f", file], { encoding: "utf8" });
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
