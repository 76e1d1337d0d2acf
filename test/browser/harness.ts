/**
 * Browser-test harness: builds the page into a temp folder, serves it with a
 * tiny static server beside a relay-config.json that points at the test
 * stack, and drives Debian's Chromium with playwright-core.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import {
  type AddressInfo,
  connect,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { serveWeb } from "../../src/server/web.ts";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const artifacts = join(root, "test", "artifacts");

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export async function buildPage(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), "relay-web-"));
  await build({
    configFile: join(root, "vite.config.ts"),
    mode: "production",
    logLevel: "error",
    build: { outDir: out, emptyOutDir: true },
  });
  return out;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the built page on 127.0.0.1 (free port) with the product's own web
 * server (src/server/web.ts, as `mission-relay up` does): relay-config.json
 * names the doors and the security headers (CSP, no framing) apply, so these
 * tests prove the page works under them. Several servers can share one build.
 */
export async function serve(dir: string, urls: { url: string; subscribeUrl?: string }): Promise<StaticServer> {
  const server = await serveWeb(dir, urls, 0);
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
}

export async function newPage(
  browser: Browser,
  viewport = { width: 1440, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  (page as Page & { errors?: string[] }).errors = errors;
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  // Transient toasts would cover the map; they are checked by the tests, not the pictures.
  await page.evaluate(() => {
    const t = document.getElementById("toast");
    if (t) t.hidden = true;
  });
  await page.screenshot({ path });
  return path;
}

const AXE = readFileSync(join(root, "node_modules", "axe-core", "axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe-core (WCAG 2.x A/AA rules) on the page; returns violations. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  const has = await page.evaluate(() => "axe" in window);
  // Evaluated over CDP, not as an inline script tag, which the page's CSP refuses.
  if (!has) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> };
    };
    const r = await w.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

/** A TCP proxy that can go silent: while stalled, nothing passes either way and new connections hang; back on, the connections of the silence are closed. */
export interface StallProxy {
  url: string;
  stall(on: boolean): void;
  close(): Promise<void>;
}

export async function stallProxy(target: string): Promise<StallProxy> {
  const t = new URL(target);
  let stalled = false;
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (stalled) return; // a black hole: accepted, never answered
    const up = connect(Number(t.port), t.hostname);
    sockets.add(up);
    up.on("close", () => {
      sockets.delete(up);
      client.destroy();
    });
    up.on("error", () => client.destroy());
    client.on("close", () => up.destroy());
    client.on("data", (d) => {
      if (!stalled) up.write(d);
    });
    up.on("data", (d) => {
      if (!stalled) client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall(on) {
      // Back on: what was accepted or cut off while silent goes (no upstream, or bytes
      // dropped mid-request), so a browser's pool cannot hand a dead socket to the next request.
      if (stalled && !on) for (const s of sockets) s.destroy();
      stalled = on;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** axe's violations on the page, one line each ("id (impact): help -> targets"); [] when clean. */
export async function axeLines(page: Page): Promise<string[]> {
  return (await axe(page)).map(
    (x) => `${x.id} (${x.impact}): ${x.help} -> ${x.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}

export function cleanup(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Each marker's drawing on the map's markers canvas (web/map/glyphs.ts), sampled at its
 * element's centre (above the number for a full marker, the middle of a dot): how far the
 * pixel is from its type's colour (0-255), and its alpha. Markers outside the map's box or
 * under another marker are left out. The elements take the pointer: the two must agree, or
 * a user clicks beside what they see.
 */
export async function drawnAtTheirElements(page: Page): Promise<{ n: string; off: number; alpha: number }[]> {
  return page.evaluate(() => {
    const map = document.querySelector('[data-testid="map"]') as HTMLElement;
    const canvas = map.querySelector<HTMLCanvasElement>(".leaflet-glyphs-pane canvas");
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx) return [];
    const c = canvas.getBoundingClientRect();
    const box = map.getBoundingClientRect();
    const k = canvas.width / c.width;
    const css = getComputedStyle(document.documentElement);
    const rgb = (hex: string) => [1, 3, 5].map((i) => Number.parseInt(hex.trim().slice(i, i + 2), 16));
    const dense = map.classList.contains("dense");
    const out: { n: string; off: number; alpha: number }[] = [];
    for (const el of map.querySelectorAll<HTMLElement>(".wp")) {
      const r = el.getBoundingClientRect();
      const dot = dense && !el.classList.contains("selected") && !el.matches(":focus-visible");
      // A dot's middle; a full marker's between its number and its top, inside every type's shape.
      const [x, y] = [r.left + r.width / 2, r.top + r.height / 2 - (dot ? 0 : 7.5)];
      if (x < box.left + 10 || x > box.right - 10 || y < box.top + 10 || y > box.bottom - 10) continue;
      if (document.elementFromPoint(x, y)?.closest("[data-wp-id]") !== el) continue;
      const px = [...ctx.getImageData(Math.round((x - c.left) * k), Math.round((y - c.top) * k), 1, 1).data];
      const want = rgb(css.getPropertyValue(`--t-${el.dataset.type}`));
      out.push({
        n: el.dataset.n ?? "",
        off: Math.max(...want.map((v, i) => Math.abs(v - (px[i] ?? 0)))),
        alpha: px[3] ?? 0,
      });
    }
    return out;
  });
}

/** The markers not drawn where their elements are (see drawnAtTheirElements), and how many were looked at. */
export async function misdrawn(page: Page): Promise<{ looked: number; wrong: string[] }> {
  const seen = await drawnAtTheirElements(page);
  return { looked: seen.length, wrong: seen.filter((m) => m.alpha !== 255 || m.off >= 12).map((m) => m.n) };
}
