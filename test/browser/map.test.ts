/**
 * The Leaflet map (web/map.ts) in Chromium against a real stack: the offline
 * basemap and graticule with every request off 127.0.0.1 refused, a click
 * placing a waypoint at the clicked lat/lon, the geofence/rally/home layers of
 * a QGroundControl file, the measuring tool, and a configured tile server
 * (a tiny PNG from a 127.0.0.1 server) that the page's CSP lets through.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveWeb } from "../../src/server/web.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import {
  axe,
  buildPage,
  cleanup,
  drawnAtTheirElements,
  launch,
  misdrawn,
  newPage,
  root,
  type StaticServer,
  screenshot,
  serve,
} from "./harness.ts";

const MAP = '[data-testid="map"]';
const password = "fence-line-3";
const code = "lead-8812";
const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();

let stack: Stack;
let dist: string;
let offline: StaticServer;
let tiled: { url: string; server: Server };
let tiles: { url: string; server: Server; hits: string[] };
let browser: Browser;
const pages: Page[] = [];

/** A 256x256 one-colour PNG (what a tile server sends). */
function png(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = (crcTable[(c ^ x) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(256, 0);
  ihdr.writeUInt32BE(256, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(256 * 3, 0x5a)]);
  const raw = Buffer.concat(Array.from({ length: 256 }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  [stack, dist] = await Promise.all([startStack({}), buildPage()]);
  const doors = { url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl };
  offline = await serve(dist, doors);
  const tile = png();
  const hits: string[] = [];
  const tileServer = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "content-type": "image/png", "content-length": tile.length });
    res.end(tile);
  });
  tiles = { url: await listen(tileServer), server: tileServer, hits };
  const web = await serveWeb(dist, { ...doors, map: { tileUrl: `${tiles.url}/tiles/{z}/{x}/{y}.png` } }, 0);
  tiled = { url: `http://127.0.0.1:${(web.address() as AddressInfo).port}/`, server: web };
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await offline?.close();
  for (const s of [tiled?.server, tiles?.server]) {
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
  await stack?.stop();
  if (dist) cleanup(dist);
});

/** A page that may reach 127.0.0.1 only; `external` counts what it tried elsewhere. */
async function open(url: string): Promise<Page & { external: string[] }> {
  const { page } = await newPage(browser);
  const external: string[] = [];
  await page.route(
    (u) => u.hostname !== "127.0.0.1",
    (route) => {
      external.push(route.request().url());
      return route.abort();
    },
  );
  pages.push(page);
  await page.goto(url);
  await page.waitForSelector("html[data-ready]");
  return Object.assign(page, { external });
}

async function startWithPlan(page: Page, stream: string, file?: string) {
  await page.getByRole("tab", { name: "Start" }).click();
  const form = page.locator("#start-form");
  if (file) {
    const [chooser] = await Promise.all([
      page.waitForEvent("filechooser"),
      page.getByRole("button", { name: "Choose plan file…" }).click(),
    ]);
    await chooser.setFiles(file);
    await expect.poll(() => page.locator(".file-name").textContent().then(clean)).toMatch(/waypoints/);
  }
  await form.getByLabel("Stream name").fill(stream);
  await form.getByLabel("Password for followers").fill(password);
  await form.getByLabel("Leader code").fill(code);
  await form.getByRole("button", { name: "Start stream" }).click();
  await page.getByTestId("leader-view").waitFor();
}

/** The lat/lon at a point of the map's box, from its centre and zoom (Web Mercator, 256 px tiles). */
async function latLonAt(page: Page, fx: number, fy: number) {
  const view = (await page.locator(MAP).getAttribute("data-view")) ?? "";
  const [clat, clon, zoom] = view.split(",").map(Number) as [number, number, number];
  const box = await page.locator(MAP).boundingBox();
  if (!box) throw new Error("no map");
  const size = 256 * 2 ** zoom;
  const px = ((clon + 180) / 360) * size + box.width * (fx - 0.5);
  const s = Math.sin((clat * Math.PI) / 180);
  const py = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size + box.height * (fy - 0.5);
  const lon = (px / size) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * py) / size))) * 180) / Math.PI;
  return { lat, lon, degPerPx: 360 / size, x: box.x + box.width * fx, y: box.y + box.height * fy };
}

const unique = (p: string) => `${p} ${Math.random().toString(36).slice(2, 7)}`;

describe("the map", () => {
  let leader: Page & { external: string[] };
  const stream = unique("Map Zurich");

  it("draws the offline basemap, graticule, fence, rally and home with no network", async () => {
    leader = await open(offline.url);
    await startWithPlan(leader, stream, join(root, "test/fixtures/qgc/px4-survey.plan"));
    const map = leader.locator(MAP);
    // Zoomed in to the plan: the 1:50m countries (their own chunk, from the page's origin).
    await expect.poll(() => map.getAttribute("data-basemap")).toBe("50m");
    expect(Number(await map.getAttribute("data-basemap-features"))).toBeGreaterThan(200);
    // Zurich is on land: most of the basemap canvas is painted (the sea is the empty background).
    const painted = () =>
      leader.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>(".leaflet-basemap-pane canvas");
        if (!c) return -1;
        const d = (c.getContext("2d") as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if ((d[i] as number) > 0) n++;
        return n / (c.width * c.height);
      });
    await expect.poll(painted).toBeGreaterThan(0.5);
    // Graticule labels in the step the zoom asks for (e.g. "47.40°N", "8.55°E").
    const labels = await leader.locator(`${MAP} .glabel`).allTextContents();
    expect(labels.length).toBeGreaterThanOrEqual(2);
    for (const l of labels) expect(l).toMatch(/^\d+(\.\d+)?°[NSEW]?$/);
    expect(labels.some((l) => l.endsWith("N"))).toBe(true);
    expect(labels.some((l) => l.endsWith("E"))).toBe(true);
    // The file's fence (a polygon and a circle), its two rally points and home, each on their own layer.
    expect(await leader.locator(`${MAP} .leaflet-fence-pane path.fence`).count()).toBe(2);
    expect(await leader.locator(`${MAP} .rally-point`).count()).toBe(2);
    expect(await leader.locator(`${MAP} .home-point`).count()).toBe(1);
    expect(await leader.locator(`${MAP} .wp`).count()).toBe(4);
    // Leg labels: distance and bearing.
    const legs = await leader.locator(`${MAP} .leg-label`).allTextContents();
    expect(legs.length).toBeGreaterThan(0);
    for (const l of legs) expect(l).toMatch(/^\d+(\.\d+)? k?m · \d{3}°$/);
    expect(await map.getAttribute("data-tiles")).toBe("off");
    expect(leader.external).toEqual([]);
    const v = await axe(leader);
    expect(v.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    await screenshot(leader, "map-offline");
  });

  it("a click adds a waypoint at the clicked lat/lon, drawn where it was clicked", async () => {
    const before = await leader.locator(`${MAP} .wp`).count();
    const want = await latLonAt(leader, 0.15, 0.8);
    await leader.mouse.click(want.x, want.y);
    await expect.poll(() => leader.locator(`${MAP} .wp`).count()).toBe(before + 1);
    const added = leader.locator(`${MAP} .wp[data-n="${before + 5}"]`); // 8 items in the file: 4 kept, 4 nav
    const lat = Number(await added.getAttribute("data-lat"));
    const lon = Number(await added.getAttribute("data-lon"));
    expect(Math.abs(lat - want.lat)).toBeLessThan(1.5 * want.degPerPx);
    expect(Math.abs(lon - want.lon)).toBeLessThan(1.5 * want.degPerPx);
    const box = await added.boundingBox();
    if (!box) throw new Error("no marker");
    expect(Math.abs(box.x + box.width / 2 - want.x)).toBeLessThan(2);
    expect(Math.abs(box.y + box.height / 2 - want.y)).toBeLessThan(2);
  });

  it("each marker is drawn on the markers' canvas where its element is, in its type's colour", async () => {
    const r = await misdrawn(leader);
    expect(r.looked).toBeGreaterThanOrEqual(4);
    expect(r.wrong).toEqual([]);
  });

  it("a waypoint moved in its editor moves its legs with it (their labels say the new distances)", async () => {
    const labels = () => leader.locator(`${MAP} .leg-label`).allTextContents();
    const before = await labels();
    const ns = (await leader.$$eval(`${MAP} .wp`, (els) => els.map((e) => Number((e as HTMLElement).dataset.n)))).sort(
      (a, b) => a - b,
    );
    // A waypoint with a leg on each side (the route's second nav item), moved ~110 m north:
    // it stays in view for the tests after this one.
    await leader.locator(`${MAP} .wp[data-n="${ns[1]}"]`).click();
    const lat = leader.locator("#wp-lat");
    await lat.fill((Number(await lat.inputValue()) + 0.001).toFixed(7));
    await lat.press("Enter");
    // A leg that kept its old ends would keep its old label.
    await expect.poll(labels).not.toEqual(before);
    // And its drawing with it (the canvas redraws on the next frame).
    await expect.poll(async () => (await misdrawn(leader)).wrong).toEqual([]);
    await lat.blur();
  });

  it("the measuring tool shows the geodesic distance and bearing of two clicks, and Escape ends it", async () => {
    const n = await leader.locator(`${MAP} .wp`).count();
    const btn = leader.getByRole("button", { name: "Measure" });
    await btn.click();
    expect(await btn.getAttribute("aria-pressed")).toBe("true");
    const status = leader.locator(`${MAP} .map-status`);
    await expect.poll(() => status.textContent().then(clean)).toMatch(/first point/);
    const a = await latLonAt(leader, 0.3, 0.2);
    const b = await latLonAt(leader, 0.7, 0.2); // due east on screen: a bearing near 090°
    await leader.mouse.click(a.x, a.y);
    await leader.mouse.click(b.x, b.y);
    await expect.poll(() => status.textContent().then(clean)).toMatch(/^Last: \d+(\.\d+)? k?m · (089|090|091)°$/);
    expect(await leader.locator(`${MAP} .wp`).count()).toBe(n); // measuring adds no waypoint
    expect(await leader.locator(`${MAP} path.measure-line`).count()).toBe(1);
    await leader.locator(MAP).focus();
    await leader.keyboard.press("Escape");
    await expect.poll(() => btn.getAttribute("aria-pressed")).toBe("false");
    expect(await leader.locator(`${MAP} path.measure-line`).count()).toBe(0);
    expect(await status.isVisible()).toBe(false);
  });

  it("a follower sees the same plan on its map; both views pass axe and are screenshotted", async () => {
    const follower = await open(offline.url);
    await follower.getByRole("tab", { name: "Join" }).click();
    const form = follower.locator("#join-form");
    await form.getByLabel("Stream name").fill(stream);
    await form.getByLabel("Password").fill(password);
    await form.getByRole("button", { name: "Join" }).click();
    await follower.getByTestId("follower-view").waitFor();
    const spots = (p: Page) =>
      p.$$eval(`${MAP} .wp`, (els) =>
        els
          .map((e) => (e as HTMLElement).dataset)
          .sort((a, b) => Number(a.n) - Number(b.n))
          .map((d) => `${d.n} ${d.lat} ${d.lon}`),
      );
    const want = await spots(leader);
    await expect.poll(() => spots(follower), { timeout: 10_000 }).toEqual(want);
    await expect.poll(() => misdrawn(follower)).toEqual({ looked: want.length, wrong: [] });
    expect(await follower.locator(`${MAP} .rally-point`).count()).toBe(2);
    await expect.poll(() => follower.locator(MAP).getAttribute("data-basemap")).toBe("50m");
    expect(follower.external).toEqual([]);
    // The leader's picture shows a selected waypoint and its editor.
    await leader.locator(`${MAP} .wp[data-n="2"]`).click();
    await leader.evaluate(() => document.querySelector(".sidebar")?.scrollTo(0, 0));
    for (const p of [leader, follower]) {
      const v = await axe(p);
      expect(v.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    }
    const shots = [await screenshot(leader, "leader-view"), await screenshot(follower, "follower-view")];
    // The README's pictures are refreshed on request only: a test run leaves the tree clean.
    if (process.env.RELAY_UPDATE_SCREENSHOT === "1") {
      copyFileSync(shots[0] as string, join(root, "docs", "leader-view.png"));
      copyFileSync(shots[1] as string, join(root, "docs", "follower-view.png"));
    }
  });

  it("a configured tile server is asked for tiles and the CSP lets exactly its origin through", async () => {
    // The page without a tile server (the tests above) never asked it.
    expect(tiles.hits).toEqual([]);
    const page = await open(tiled.url);
    const res = await page.request.get(tiled.url);
    const csp = res.headers()["content-security-policy"] ?? "";
    expect(/img-src ([^;]*)/.exec(csp)?.[1]).toBe(`'self' data: ${tiles.url}`);
    await page.evaluate(() => {
      const w = window as unknown as { violations: string[] };
      w.violations = [];
      document.addEventListener("securitypolicyviolation", (e) => w.violations.push(e.blockedURI));
    });
    await startWithPlan(page, unique("Map tiles"));
    await expect.poll(() => page.locator(MAP).getAttribute("data-tiles")).toBe("on");
    await expect.poll(() => page.locator(`${MAP} img.leaflet-tile-loaded`).count()).toBeGreaterThan(0);
    expect(tiles.hits.length).toBeGreaterThan(0);
    expect(tiles.hits.every((h) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(h))).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    expect(page.external).toEqual([]);
  });

  it("of two overlapping markers, the one drawn on top is the one a click reaches", async () => {
    // Added in one order, stacked in the other: the takeoff (added first) is ~20 m south of
    // the waypoint, so it is lower on screen and its element stacks above the waypoint's
    // (Leaflet: z-index from the rounded y). A canvas drawing in the order added paints the
    // waypoint over it; the landing, 3 km off, zooms the map out until the two overlap.
    const dir = mkdtempSync(join(tmpdir(), "relay-overlap-"));
    const file = join(dir, "overlap.waypoints");
    const row = (i: number, cmd: number, lat: number, lon: number) =>
      [i, i === 0 ? 1 : 0, i === 0 ? 0 : 3, cmd, 0, 0, 0, 0, lat.toFixed(8), lon.toFixed(8), 50, 1].join("\t");
    writeFileSync(
      file,
      [
        "QGC WPL 110",
        row(0, 16, -35.39, 149.13), // home, away from the two
        row(1, 22, -35.36, 149.16),
        row(2, 16, -35.3598, 149.16),
        row(3, 21, -35.34, 149.18),
        "",
      ].join("\r\n"),
    );
    const page = await open(offline.url);
    try {
      await startWithPlan(page, unique("Map overlap"), file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await page.locator(`${MAP} .wp`).count()).toBe(3);
    expect(await page.locator(`${MAP} .wp.selected`).count()).toBe(0);
    const [a, b] = await Promise.all(
      ["1", "2"].map(async (n) => {
        const box = await page.locator(`${MAP} .wp[data-n="${n}"] .hit`).boundingBox();
        if (!box) throw new Error(`no marker ${n}`);
        return { x: box.x + box.width / 2, y: box.y + box.height / 2, r: box.width / 2 };
      }),
    );
    // They overlap, the takeoff lower on screen.
    if (!a || !b) throw new Error("no markers");
    expect(a.y).toBeGreaterThan(b.y + 1);
    expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeLessThan(a.r);
    // The takeoff's element is on top where it was sampled, and its drawing is too.
    await expect
      .poll(async () => (await drawnAtTheirElements(page)).filter((m) => m.n === "1").map((m) => m.off < 12))
      .toEqual([true]);
    // And a click there selects it.
    await page.mouse.click(a.x, a.y);
    await expect.poll(() => page.locator(`${MAP} .wp.selected`).getAttribute("data-n")).toBe("1");
  });

  it("no page threw an uncaught error", () => {
    expect(pages.flatMap((p) => (p as Page & { errors?: string[] }).errors ?? [])).toEqual([]);
  });
});
