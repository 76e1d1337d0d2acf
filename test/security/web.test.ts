/**
 * The web UI's server (src/server/web.ts, what `mission-relay up` runs): any
 * path, any garbage, never a crash (issue 12, attack 4: `GET /%` threw a
 * URIError out of the handler and `up` exited, taking Redis down with it), no
 * file outside the page, and the same security headers on every reply
 * (attack 12: only nosniff, no CSP, the page rendered framed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveWeb } from "../../src/server/web.ts";
import { rawRequest } from "../support/util.ts";

const doors = { url: "http://127.0.0.1:7379", subscribeUrl: "http://127.0.0.1:7380" };
let dir: string;
let root: string;
let server: Server;
let base: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "relay-web-sec-"));
  root = join(dir, "dist");
  mkdirSync(join(root, "assets"), { recursive: true });
  writeFileSync(join(root, "index.html"), "<!doctype html><title>page</title>");
  writeFileSync(join(root, "assets", "app.js"), "export {};");
  // A file beside the page's folder that no path may reach.
  writeFileSync(join(dir, "secret.txt"), "not for the web");
  server = await serveWeb(root, doors, 0);
  const addr = server.address();
  port = typeof addr === "object" && addr ? addr.port : 0;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

/** One raw request to this test's server. */
const raw = (request: string) => rawRequest(port, request);

const status = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1]);

function expectHardened(h: Headers, what: string) {
  const csp = h.get("content-security-policy") ?? "";
  expect(csp, what).toMatch(/frame-ancestors 'none'/);
  expect(csp, what).toMatch(/script-src 'self'(;|$)/);
  expect(csp, what).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  // The page may talk to its own origin and the two doors, nowhere else.
  expect(/connect-src ([^;]*)/.exec(csp)?.[1]?.split(" ").sort(), what).toEqual(
    ["'self'", "http://127.0.0.1:7379", "http://127.0.0.1:7380", "ws://127.0.0.1:7380"].sort(),
  );
  expect(h.get("x-frame-options"), what).toBe("DENY");
  expect(h.get("x-content-type-options"), what).toBe("nosniff");
  expect(h.get("referrer-policy"), what).toBe("no-referrer");
}

describe("web UI server", () => {
  it("answers a malformed path with 400 and keeps serving (GET /% used to crash up)", async () => {
    for (const path of ["/%", "/%zz", "/%E0%A4%A", "/a%", "/%00", "/x%00.html"]) {
      const reply = await raw(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(status(reply), path).toBe(400);
      expect(reply, path).toMatch(/content-security-policy: /i);
    }
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<title>page</title>");
  });

  it("never serves a file outside the page's folder", async () => {
    for (const path of [
      "/../secret.txt",
      "/..%2fsecret.txt",
      "/%2e%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/assets/../../secret.txt",
      "//..//secret.txt",
      "/..\\secret.txt",
      "/%c0%ae%c0%ae/secret.txt",
    ]) {
      const reply = await raw(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(reply, path).not.toContain("not for the web");
      expect([200, 400], path).toContain(status(reply)); // 200 is the page itself (client-side route)
    }
  });

  it("survives garbage, huge and slow requests", async () => {
    const replies = await Promise.all([
      raw("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"), // a TLS hello
      raw("NOT A REQUEST\r\n\r\n"),
      raw(`GET /${"a".repeat(100_000)} HTTP/1.1\r\nhost: x\r\n\r\n`),
      raw(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${"b".repeat(100_000)}\r\n\r\n`),
    ]);
    for (const r of replies) expect(r === "" || [400, 431].includes(status(r)), r.slice(0, 40)).toBe(true);
    expect((await fetch(`${base}/`)).status).toBe(200);
  });

  it("a server-level error (EMFILE under a socket flood) is reported, not thrown", async () => {
    const emfile = Object.assign(new Error("accept EMFILE"), { code: "EMFILE" });
    // With no 'error' listener, emit throws: in `up` that is an uncaught exception.
    expect(() => server.emit("error", emfile)).not.toThrow();
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect(server.maxConnections).toBeGreaterThan(0);
  });

  it("HEAD answers with the GET headers and no body", async () => {
    const head = await fetch(`${base}/assets/app.js`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String("export {};".length));
    expect(await head.text()).toBe("");
  });

  it("refuses methods other than GET and HEAD", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const res = await fetch(`${base}/`, { method, body: method === "DELETE" ? null : "x" });
      expect(res.status, method).toBe(405);
      expectHardened(res.headers, method);
    }
  });

  it("sends the security headers on every reply: page, asset, config, fallback, error", async () => {
    for (const path of ["/", "/index.html", "/assets/app.js", "/relay-config.json", "/follow/x", "/%"]) {
      const res = await fetch(`${base}${path}`);
      expectHardened(res.headers, path);
    }
    const cfg = await fetch(`${base}/relay-config.json`);
    expect(cfg.headers.get("content-type")).toBe("application/json");
    expect(await cfg.json()).toEqual(doors);
    expect((await fetch(`${base}/assets/app.js`)).headers.get("content-type")).toMatch(/^text\/javascript/);
  });
});
