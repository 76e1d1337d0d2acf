/**
 * The mission-planner page against a real stack (Redis + Webdis): a leader and
 * two followers in separate browser contexts, a late follower, error messages,
 * and an axe-core check of every view. Screenshots go to test/artifacts/.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inverse } from "../../web/geo.ts";
import { DRAG_PUBLISH_MS } from "../../web/leader-controller.ts";
import { parsePlanJson } from "../../web/plan.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import {
  artifacts,
  axe,
  buildPage,
  cleanup,
  launch,
  newPage,
  root,
  type StaticServer,
  screenshot,
  serve,
} from "./harness.ts";

let stack: Stack;
let dist: string;
let server: StaticServer;
let browser: Browser;
const pages: Page[] = [];

const name = `Op Heron ${Math.random().toString(36).slice(2, 7)}`;
const password = "ridge-line-7";
const code = "lead-4471";

beforeAll(async () => {
  // The page talks to the doors through the edge, as under `mission-relay up`.
  [stack, dist] = await Promise.all([startStack({ edge: true }), buildPage()]);
  const doors = stack.edge ?? { commandUrl: stack.webdisUrl, subscribeUrl: stack.subscribeUrl };
  server = await serve(dist, { url: doors.commandUrl, subscribeUrl: doors.subscribeUrl });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await stack?.stop();
  if (dist) cleanup(dist);
});

async function open(viewport?: { width: number; height: number }): Promise<Page> {
  const { page } = await newPage(browser, viewport);
  pages.push(page);
  await page.goto(server.url);
  await page.waitForSelector("html[data-ready]");
  return page;
}

async function start(page: Page, stream: string) {
  await page.getByRole("tab", { name: "Start" }).click();
  const form = page.locator("#start-form");
  await form.getByLabel("Stream name").fill(stream);
  await form.getByLabel("Password for followers").fill(password);
  await form.getByLabel("Leader code").fill(code);
  await form.getByRole("button", { name: "Start stream" }).click();
}

async function joinStream(page: Page, stream: string, pw = password) {
  await page.getByRole("tab", { name: "Join" }).click();
  const form = page.locator("#join-form");
  await form.getByLabel("Stream name").fill(stream);
  await form.getByLabel("Password").fill(pw);
  await form.getByRole("button", { name: "Join" }).click();
}

/** The map (Leaflet's container: web/map.ts). */
const MAP = '[data-testid="map"]';

const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();

interface Marker {
  name: string;
  type: string;
  lat: number;
  lon: number;
}

/** The waypoints as drawn on a page's map, in route order (a marker's data-n is its number). */
function markers(page: Page): Promise<Marker[]> {
  return page.$$eval(`${MAP} .wp`, (gs) =>
    gs
      .map((g) => (g as HTMLElement).dataset)
      .sort((a, b) => Number(a.n) - Number(b.n))
      .map((d) => ({ name: d.name ?? "", type: d.type ?? "", lat: Number(d.lat), lon: Number(d.lon) })),
  );
}

async function mapBox(page: Page) {
  const box = await page.locator(MAP).boundingBox();
  if (!box) throw new Error("no map");
  return box;
}

async function clickMap(page: Page, fx: number, fy: number) {
  const b = await mapBox(page);
  await page.mouse.click(b.x + b.width * fx, b.y + b.height * fy);
}

async function markerCenter(page: Page, wpName: string) {
  const box = await page.locator(`${MAP} .wp[data-name="${wpName}"]`).boundingBox();
  if (!box) throw new Error(`no marker ${wpName}`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

function sentSeq(page: Page): Promise<number> {
  return page
    .getByTestId("send-state")
    .textContent()
    .then(clean)
    .then((t) => Number(/#(\d+)/.exec(t)?.[1] ?? -1));
}

async function expectInSync(leader: Page, followers: Page[]) {
  await expect
    .poll(() =>
      sentSeq(leader).then(
        async (s) =>
          s >= 0 && (await leader.getByTestId("send-state").textContent().then(clean)).startsWith("All changes sent"),
      ),
    )
    .toBe(true);
  const want = await markers(leader);
  for (const f of followers) await expect.poll(() => markers(f), { timeout: 10_000 }).toEqual(want);
  const total = await leader.getByTestId("route-total").textContent().then(clean);
  for (const f of followers)
    await expect.poll(() => f.getByTestId("route-total").textContent().then(clean)).toBe(total);
  return want;
}

function formatViolations(v: Awaited<ReturnType<typeof axe>>) {
  return v.map((x) => `${x.id} (${x.impact}): ${x.help} -> ${x.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("mission planner in the browser", () => {
  let leader: Page;
  let f1: Page;
  let f2: Page;

  it("home lists streams and passes axe", async () => {
    const page = await open();
    await expect.poll(() => page.locator(".list-status").textContent().then(clean)).toMatch(/No live streams|^$/);
    expect(formatViolations(await axe(page))).toEqual([]);
    await screenshot(page, "home");
  });

  it("a leader starts a stream and two followers join", async () => {
    leader = await open();
    await start(leader, name);
    await leader.getByTestId("leader-view").waitFor();
    await expect.poll(() => leader.getByTestId("leader-status").textContent().then(clean)).toBe("Live");
    await leader.getByLabel("Title").fill("Op Heron: ridge survey");
    await leader.getByLabel("Notes").fill("H-hour 0600Z. Primary freq 243.0. Avoid the quarry north of WP 2.");

    f1 = await open();
    f2 = await open();
    await joinStream(f1, name);
    await joinStream(f2, name);
    for (const f of [f1, f2]) {
      await f.getByTestId("follower-view").waitFor();
      await expect.poll(() => f.getByTestId("follower-status").textContent().then(clean)).toBe("Live");
      await expect.poll(() => f.getByTestId("plan-title").textContent().then(clean)).toBe("Op Heron: ridge survey");
      // relay-config.json names the subscription door, so browsers follow over WebSocket.
      expect(await f.getByTestId("follower-status").getAttribute("data-transport")).toBe("websocket");
    }
  });

  it("waypoints added by clicking appear on both followers' maps", async () => {
    const spots: [number, number][] = [
      [0.22, 0.78],
      [0.38, 0.5],
      [0.55, 0.42],
      [0.72, 0.22],
      [0.82, 0.62],
    ];
    for (const [fx, fy] of spots) await clickMap(leader, fx, fy);
    // Retype and rename through the editor: select the 4th, make it the target.
    await leader.locator("ol.route-list li").nth(3).getByRole("button").click();
    await leader.getByLabel("Type").selectOption("target");
    await leader.getByLabel("Name", { exact: true }).fill("Objective Kestrel");
    await leader.locator("ol.route-list li").nth(4).getByRole("button").click();
    await leader.getByLabel("Type").selectOption("landing");
    const want = await expectInSync(leader, [f1, f2]);
    expect(want.map((m) => m.type)).toEqual(["start", "waypoint", "waypoint", "target", "landing"]);
    // Auto-names carry the marker's number ("WP 2" on marker 2).
    expect(want.map((m) => m.name)).toEqual(["Start 1", "WP 2", "WP 3", "Objective Kestrel", "WP 5"]);
    // Each marker's number (data-n, which map/glyphs.ts draws on the canvas; the pixels are
    // checked by colour in map.test and big-plan.test, not the digits).
    expect(await leader.$$eval(`${MAP} .wp`, (ns) => ns.map((n) => (n as HTMLElement).dataset.n).sort())).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
    ]);
  });

  it("a drag publishes a few times a second and its last position lands", async () => {
    const before = await markers(leader);
    const seq0 = await sentSeq(leader);
    // Mark each route row: which ones survive the drag as the same element?
    await leader.$$eval("ol.route-list li", (lis) => {
      lis.forEach((li, i) => {
        (li as HTMLElement & { mark?: number }).mark = i;
      });
    });
    const from = await markerCenter(leader, "WP 2");
    await leader.mouse.move(from.x, from.y);
    await leader.mouse.down();
    const steps = 30;
    const t0 = Date.now();
    for (let i = 1; i <= steps; i++) {
      await leader.mouse.move(from.x + i * 4, from.y + i * 3);
      await leader.waitForTimeout(33); // ~1 s of dragging
    }
    await leader.mouse.up();
    const seconds = (Date.now() - t0) / 1000;
    // The sidebar follows a drag at most every SIDEBAR_DRAG_MS, and has caught up when it ends.
    const dropped = leader.locator(`${MAP} .wp[data-name="WP 2"]`);
    const editor = {
      lat: await leader.locator("#wp-lat").inputValue(),
      lon: await leader.locator("#wp-lon").inputValue(),
    };
    expect(Number(editor.lat)).toBeCloseTo(Number(await dropped.getAttribute("data-lat")), 6);
    expect(Number(editor.lon)).toBeCloseTo(Number(await dropped.getAttribute("data-lon")), 6);
    const want = await expectInSync(leader, [f1, f2]);
    const moved = want.find((m) => m.name === "WP 2");
    const old = before.find((m) => m.name === "WP 2");
    // Dragged right and down on screen: east and south.
    expect(moved && old && moved.lon > old.lon && moved.lat < old.lat).toBe(true);
    // Only the rows whose legs moved (WP 2's and WP 3's) were rebuilt, and a selection
    // the drag changed; Start 1 and WP 4 are the elements they were.
    const kept = await leader.$$eval("ol.route-list li", (lis) =>
      lis.map((li) => (li as HTMLElement & { mark?: number }).mark ?? null),
    );
    expect(kept[0]).toBe(0);
    expect(kept[3]).toBe(3);
    expect(kept[1]).toBeNull();
    expect(kept[2]).toBeNull();
    const published = (await sentSeq(leader)) - seq0;
    expect(published).toBeGreaterThanOrEqual(1);
    // At most one per DRAG_PUBLISH_MS (80 ms: >= 10 a second for followers), plus the final
    // position on release. (Not "fewer than the pointer moves": on a loaded box one move
    // can take longer than the throttle.)
    expect(published).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / DRAG_PUBLISH_MS) + 2);
    // Followers highlight what changed.
    await expect.poll(() => f1.locator(`${MAP} .wp.changed`).getAttribute("data-name")).toBe("WP 2");
    await expect.poll(() => f1.getByTestId("latest-change").textContent().then(clean)).toContain("Moved WP 2");
  });

  it("delete, undo and redo reach the followers", async () => {
    await leader.locator("ol.route-list li").nth(2).getByRole("button").click();
    await leader.getByRole("button", { name: "Delete waypoint" }).click();
    let want = await expectInSync(leader, [f1, f2]);
    expect(want.map((m) => m.name)).not.toContain("WP 3");
    await leader.getByRole("button", { name: "Undo" }).click();
    want = await expectInSync(leader, [f1, f2]);
    expect(want.map((m) => m.name)).toContain("WP 3");
    await leader.getByRole("button", { name: "Redo" }).click();
    want = await expectInSync(leader, [f1, f2]);
    expect(want).toHaveLength(4);
    // Keyboard: focus a marker, nudge it east with the arrow key.
    await leader.locator(`${MAP} .wp[data-name="WP 2"]`).focus();
    const p0 = (await markers(leader)).find((m) => m.name === "WP 2") as Marker;
    await leader.keyboard.press("Shift+ArrowRight");
    want = await expectInSync(leader, [f1, f2]);
    // 100 m due east (Vincenty), to the centimetre the plan keeps (1e-7°).
    const moved = inverse(p0, want.find((m) => m.name === "WP 2") as Marker);
    expect(moved.distance).toBeCloseTo(100, 1);
    expect(moved.initialBearing).toBeCloseTo(90, 1);
  });

  it("a leader can plan with the keyboard alone", async () => {
    const n0 = (await markers(leader)).length;
    await leader.locator(MAP).focus();
    await leader.keyboard.press("Enter"); // adds a waypoint at the map centre
    await expect.poll(() => markers(leader).then((m) => m.length)).toBe(n0 + 1);
    await expectInSync(leader, [f1, f2]);
    const last = leader.locator("ol.route-list li").last();
    const id = await last.getAttribute("data-wp-id");
    await last.getByRole("button").focus();
    await leader.keyboard.press("Enter"); // select: the list re-renders, focus stays put
    const focused = () =>
      leader.evaluate(() => document.activeElement?.closest("[data-wp-id]")?.getAttribute("data-wp-id"));
    expect(await focused()).toBe(id);
    await expect.poll(() => leader.getByLabel("Name", { exact: true }).inputValue()).toMatch(/^WP /);
    await leader.locator(`${MAP} .wp[data-wp-id="${id}"]`).focus();
    await leader.keyboard.press("Delete");
    await expect.poll(() => markers(leader).then((m) => m.length)).toBe(n0);
    await expectInSync(leader, [f1, f2]);
  });

  it("a background image can be loaded under the grid, faded and removed", async () => {
    const file = join(artifacts, "terrain.svg");
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(file, terrainSvg());
    const [chooser] = await Promise.all([
      leader.waitForEvent("filechooser"),
      leader.getByRole("button", { name: "Background image…" }).click(),
    ]);
    await chooser.setFiles(file);
    const img = leader.locator(`${MAP} img.bg-image`);
    await expect.poll(() => img.count()).toBe(1);
    await leader.getByLabel("Opacity").fill("0.5");
    await expect.poll(() => img.evaluate((el) => (el as HTMLElement).style.opacity)).toBe("0.5");
    await leader.getByRole("button", { name: "Remove background image" }).click();
    await expect.poll(() => img.count()).toBe(0);
    // Load it again for the screenshots: it stays on this screen only.
    const [again] = await Promise.all([
      leader.waitForEvent("filechooser"),
      leader.getByRole("button", { name: "Background image…" }).click(),
    ]);
    await again.setFiles(file);
    await expect.poll(() => img.count()).toBe(1);
    expect(await f1.locator(`${MAP} img.bg-image`).count()).toBe(0);
  });

  it("leader and follower views pass axe and are screenshotted", async () => {
    await leader.locator("ol.route-list li").nth(2).getByRole("button").click();
    // The click scrolled the sidebar to the list item; the picture shows it from the top, editor first.
    await leader.evaluate(() => document.querySelector(".sidebar")?.scrollTo(0, 0));
    expect(formatViolations(await axe(leader))).toEqual([]);
    expect(formatViolations(await axe(f1))).toEqual([]);
    // docs/leader-view.png and follower-view.png come from map.test.ts (a real place: a QGC file at Zurich).
    await screenshot(leader, "leader-grid-view");
    await screenshot(f1, "follower-grid-view");
  });

  it("the selected waypoint's editor is in view at 1280x800, and below the map at phone width", async () => {
    try {
      await leader.setViewportSize({ width: 1280, height: 800 });
      await leader.locator(`${MAP} .wp[data-name="WP 2"]`).focus();
      await leader.keyboard.press("Enter"); // selects it: the editor shows it
      const editor = leader.locator(".editor");
      await expect.poll(() => editor.getByLabel("Name", { exact: true }).inputValue()).toBe("WP 2");
      // Without scrolling: neither the page nor the sidebar.
      await leader.evaluate(() => {
        window.scrollTo(0, 0);
        document.querySelector(".sidebar")?.scrollTo(0, 0);
      });
      const box = await editor.boundingBox();
      if (!box) throw new Error("no editor");
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(800);
      // A phone: the editor follows the map, within the first screen (issue 16: it was 1,379 px down).
      await leader.setViewportSize({ width: 390, height: 844 });
      const top = await editor.evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
      expect(top).toBeLessThan(844);
    } finally {
      await leader.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it("a follower opened late shows the current plan", async () => {
    const late = await open();
    await joinStream(late, name);
    await late.getByTestId("follower-view").waitFor();
    expect(await markers(late)).toEqual(await markers(leader));
    await expect.poll(() => late.getByTestId("plan-title").textContent().then(clean)).toBe("Op Heron: ridge survey");
    await expect.poll(() => late.getByTestId("plan-notes").textContent().then(clean)).toContain("H-hour 0600Z");
  });

  it("works at phone width", async () => {
    const phone = await open({ width: 390, height: 844 });
    await phone.locator(`tr[data-stream="${name}"]`).waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    expect(formatViolations(await axe(phone))).toEqual([]);
    await screenshot(phone, "home-phone");
    await joinStream(phone, name);
    await phone.getByTestId("follower-view").waitFor();
    await expect.poll(() => markers(phone)).toEqual(await markers(leader));
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(formatViolations(await axe(phone))).toEqual([]);
    await screenshot(phone, "follower-phone");
  });

  it("a wrong password and a taken name are explained in plain words", async () => {
    const page = await open();
    await joinStream(page, name, "not-the-password");
    await expect
      .poll(() => page.locator("#join-form [role=alert]").textContent().then(clean))
      .toMatch(/^Wrong password for/);
    await start(page, name);
    await expect
      .poll(() => page.locator("#start-form [role=alert]").textContent().then(clean))
      .toMatch(/already exists/);
    await joinStream(page, `${name} nope`);
    await expect
      .poll(() => page.locator("#join-form [role=alert]").textContent().then(clean))
      .toMatch(/no live stream called/);
    expect(formatViolations(await axe(page))).toEqual([]);
    await screenshot(page, "home-errors");
  });

  it("a stream name too long in bytes is refused in the field, and Start sends nothing", async () => {
    const page = await open();
    await page.getByRole("tab", { name: "Start" }).click();
    const form = page.locator("#start-form");
    const nameIn = form.getByLabel("Stream name");
    await nameIn.fill("é".repeat(198)); // 198 characters but 396 bytes: the relay takes 200
    await expect.poll(() => nameIn.getAttribute("aria-invalid")).toBe("true");
    expect(await form.locator(".field-error").textContent().then(clean)).toMatch(/396 bytes.*at most 200/);
    await form.getByLabel("Password for followers").fill(password);
    await form.getByLabel("Leader code").fill(code);
    await form.getByRole("button", { name: "Start stream" }).click();
    await expect.poll(() => form.locator("[role=alert]").textContent().then(clean)).toMatch(/396 bytes/);
    expect(await page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("name");
    expect(await page.getByTestId("leader-view").count()).toBe(0);
  });

  it("an unreachable relay server is explained in plain words", async () => {
    const dead = await serve(dist, { url: "http://127.0.0.1:9" }); // port 9 (discard): nothing listens
    try {
      const { page } = await newPage(browser);
      pages.push(page);
      await page.goto(dead.url);
      await expect
        .poll(() => page.locator(".list-status").textContent().then(clean), { timeout: 20_000 })
        .toMatch(/Cannot reach the relay server/);
      await joinStream(page, name);
      await expect
        .poll(() => page.locator("#join-form [role=alert]").textContent().then(clean), { timeout: 20_000 })
        .toMatch(/Cannot reach the relay server/);
      expect(await page.locator("body").textContent()).not.toMatch(/at \w+ \(|TypeError|stack/i);
      await screenshot(page, "home-unreachable");
    } finally {
      await dead.close();
    }
  }, 60_000);

  it("the stream list shows the stream with its last-update age, and search filters it", async () => {
    const page = await open();
    const row = page.locator(`tr[data-stream="${name}"]`);
    await row.waitFor();
    expect(await row.locator("td.age").first().textContent().then(clean)).toMatch(/ago|just now/);
    await page.getByLabel("Search streams").fill("no-such-stream-xyz");
    await expect.poll(() => row.count()).toBe(0);
    await page.getByLabel("Search streams").fill(name.slice(3, 10).toUpperCase());
    await expect.poll(() => row.count()).toBe(1);
  });

  it("a shared follower link asks for the password", async () => {
    const page = await open();
    await page.goto(`${server.url}#/follow/${encodeURIComponent(name)}`);
    await page.getByLabel("Password").waitFor();
    expect(formatViolations(await axe(page))).toEqual([]);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Join" }).click();
    await page.getByTestId("follower-view").waitFor();
    await expect.poll(() => markers(page)).toEqual(await markers(leader));
  });

  it("a ?relay= phishing link cannot send the verifiers elsewhere, and the page cannot be framed", async () => {
    // The attacker's relay: counts what reaches it, and would answer anyone (CORS *).
    let reached = 0;
    const attacker = createServer((req, res) => {
      reached++;
      res.writeHead(200, { "access-control-allow-origin": "*", "content-type": "text/html" });
      res.end(req.url === "/frame" ? `<iframe id="victim" src="${server.url}"></iframe>` : "{}");
    });
    await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", r));
    const at = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    try {
      const page = await open();
      const relayed = `?relay=${encodeURIComponent(at)}&subscribe=${encodeURIComponent(at)}`;
      await page.goto(`${server.url}${relayed}#/follow/${encodeURIComponent(name)}`);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Join" }).click();
      await page.getByTestId("follower-view").waitFor();
      await expect.poll(() => markers(page)).toEqual(await markers(leader));
      expect(reached, "requests that reached the attacker's relay").toBe(0);
      // The CSP's connect-src is the second wall: a script on the page cannot reach it either.
      const blocked = await page.evaluate(
        (u) =>
          fetch(u).then(
            () => "sent",
            () => "blocked",
          ),
        at,
      );
      expect(blocked).toBe("blocked");
      expect(reached).toBe(0);
      // frame-ancestors 'none': another origin's page cannot frame ours.
      const framer = (await newPage(browser)).page;
      pages.push(framer);
      await framer.goto(`${at}/frame`);
      await framer.waitForLoadState("load");
      const child = framer.frames().find((f) => f !== framer.mainFrame());
      expect(child).toBeDefined();
      expect(await child?.evaluate(() => document.querySelector("html[data-ready]") !== null).catch(() => false)).toBe(
        false,
      );
    } finally {
      attacker.closeAllConnections();
      await new Promise<void>((r) => attacker.close(() => r()));
    }
  });

  it("the leader can leave and resume with the password and leader code; a wrong one is explained", async () => {
    const want = await markers(leader);
    await leader.getByRole("button", { name: "Leave" }).click();
    await leader.getByTestId("streams").waitFor();
    await leader.getByRole("tab", { name: "Resume" }).click();
    const form = leader.locator("#resume-form");
    const alert = () => form.locator("[role=alert]").textContent().then(clean);
    await form.getByLabel("Stream name").fill(name);
    await form.getByLabel("Password").fill(password);
    await form.getByLabel("Leader code").fill("not-the-code");
    await form.getByRole("button", { name: "Resume" }).click();
    await expect.poll(alert).toMatch(/^Wrong leader code for/);
    // The right code with a wrong password: the plan is sealed with the password, so it is refused too.
    await form.getByLabel("Password").fill("not-the-password");
    await form.getByLabel("Leader code").fill(code);
    await form.getByRole("button", { name: "Resume" }).click();
    await expect.poll(alert).toMatch(/^Wrong password for/);
    await form.getByLabel("Password").fill(password);
    await form.getByRole("button", { name: "Resume" }).click();
    await leader.getByTestId("leader-view").waitFor();
    expect(await markers(leader)).toEqual(want);
    await expect.poll(() => leader.getByLabel("Title").inputValue()).toBe("Op Heron: ridge survey");
    await clickMap(leader, 0.12, 0.3);
    const now = await expectInSync(leader, [f1, f2]);
    expect(now).toHaveLength(5);
  });

  it("exports the plan to JSON, and a new stream can start from that file", async () => {
    const [download] = await Promise.all([
      leader.waitForEvent("download"),
      leader.getByRole("button", { name: "Export JSON" }).click(),
    ]);
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, "exported.plan.json");
    await download.saveAs(file);
    const parsed = parsePlanJson(readFileSync(file, "utf8"));
    expect(parsed.ok && parsed.plan.version).toBe(2);
    expect(parsed.ok && parsed.plan.waypoints).toHaveLength(5);

    const page = await open();
    await page.getByRole("tab", { name: "Start" }).click();
    const [chooser] = await Promise.all([
      page.waitForEvent("filechooser"),
      page.getByRole("button", { name: "Choose plan file…" }).click(),
    ]);
    await chooser.setFiles(file);
    await expect.poll(() => page.locator(".file-name").textContent().then(clean)).toMatch(/5 waypoints/);
    await start(page, `${name} copy`);
    await page.getByTestId("leader-view").waitFor();
    expect(await markers(page)).toEqual(await markers(leader));
    await expect.poll(() => page.getByLabel("Title").inputValue()).toBe("Op Heron: ridge survey");
    await page.getByRole("button", { name: "Leave" }).click();
  });

  it("a refused plan file starts nothing; a QGroundControl .plan and a WPL file show their waypoints", async () => {
    const page = await open();
    mkdirSync(artifacts, { recursive: true });
    const broken = join(artifacts, "broken.plan");
    writeFileSync(
      broken,
      '{"fileType": "Plan", "version": 1, "mission": {"version": 2, "items": [{"type": "SimpleItem"}]}}',
    );
    const choose = async (file: string) => {
      const [chooser] = await Promise.all([
        page.waitForEvent("filechooser"),
        page.getByRole("button", { name: "Choose plan file…" }).click(),
      ]);
      await chooser.setFiles(file);
    };
    await page.getByRole("tab", { name: "Start" }).click();
    await choose(broken);
    await expect
      .poll(() => page.locator(".file-name").textContent().then(clean))
      .toMatch(/Mission item 1 has no "command"/);
    const stream = `${name} qgc`;
    await start(page, stream);
    await expect
      .poll(() => page.locator("#start-form [role=alert]").textContent().then(clean))
      .toMatch(/nothing was started/);
    expect(await page.getByTestId("leader-view").count()).toBe(0);
    // The name is still free (no empty stream was started), and a real .plan starts it with its items.
    await choose(join(root, "test/fixtures/qgc/px4-survey.plan"));
    await expect.poll(() => page.locator(".file-name").textContent().then(clean)).toMatch(/8 waypoints/);
    await start(page, stream);
    await page.getByTestId("leader-view").waitFor();
    await expect
      .poll(async () => (await markers(page)).map((m) => m.type))
      .toEqual(["start", "waypoint", "waypoint", "waypoint"]);
    await expect.poll(() => page.locator("ol.route-list li").count()).toBe(8);
    await expect.poll(() => page.locator("ol.route-list li.kept").count()).toBe(4); // 3 commands + the survey
    await expect.poll(() => page.getByTestId("route-total").textContent().then(clean)).toMatch(/4 waypoints · 3 legs/);
    // The leader's import takes WPL 110 too and replaces the plan as one undo step.
    const [chooser] = await Promise.all([
      page.waitForEvent("filechooser"),
      page.getByRole("button", { name: "Import file…" }).click(),
    ]);
    await chooser.setFiles(join(root, "test/fixtures/qgc/mission.waypoints"));
    await expect.poll(() => page.locator("ol.route-list li").count()).toBe(7);
    expect((await markers(page)).map((m) => m.type)).toEqual(["start", "waypoint", "waypoint", "waypoint"]);
    await screenshot(page, "leader-qgc-import");
    await page.getByRole("button", { name: "Leave" }).click();
  });

  it("when another window takes over as leader, the old one says so and stops sending", async () => {
    // Through a leader link (the gate; the resume form is the test above): it asks for both secrets.
    const other = await open();
    await other.goto(`${server.url}#/lead/${encodeURIComponent(name)}`);
    const gate = other.locator("form.gate");
    await gate.getByLabel("Leader code").fill(code);
    await gate.getByRole("button", { name: "Resume as leader" }).click();
    await expect.poll(() => gate.locator("[role=alert]").textContent().then(clean)).toBe("Password is required.");
    expect(formatViolations(await axe(other))).toEqual([]);
    await gate.getByLabel("Password").fill(password);
    await gate.getByRole("button", { name: "Resume as leader" }).click();
    await other.getByTestId("leader-view").waitFor();
    expect(await markers(other)).toEqual(await markers(leader));
    const old = leader;
    leader = other;
    // The old leader finds out on its next publish (or heartbeat).
    await old.getByLabel("Title").fill("Op Heron: stale edit");
    await expect.poll(() => old.getByTestId("leader-status").textContent().then(clean)).toBe("Taken over");
    await expect
      .poll(() => old.locator(".notice-slot").textContent().then(clean))
      .toMatch(/Another leader has taken over/);
    expect(await f1.getByTestId("plan-title").textContent().then(clean)).toBe("Op Heron: ridge survey");
    expect(formatViolations(await axe(old))).toEqual([]);
    await screenshot(old, "leader-replaced");
  }, 60_000);

  it("followers say when they are reconnecting, and catch up when the relay is back", async () => {
    const status = (p: Page) => p.getByTestId("follower-status").textContent().then(clean);
    await stack.killWebdis();
    await expect.poll(() => status(f1), { timeout: 30_000 }).toMatch(/Reconnecting|Connecting/);
    await expect
      .poll(() => f1.locator(".status-line").textContent().then(clean))
      .toMatch(/Lost the connection|Connecting/);
    await screenshot(f1, "follower-reconnecting");
    await leader.getByLabel("Notes").fill("H-hour 0600Z. Changed while the relay was down.");
    await expect
      .poll(() => leader.getByTestId("leader-status").textContent().then(clean), { timeout: 30_000 })
      .toBe("Offline, retrying");
    await stack.startWebdis();
    await expect
      .poll(() => leader.getByTestId("leader-status").textContent().then(clean), { timeout: 30_000 })
      .toBe("Live");
    for (const f of [f1, f2]) {
      await expect.poll(() => status(f), { timeout: 30_000 }).toBe("Live");
      await expect.poll(() => f.getByTestId("plan-notes").textContent().then(clean)).toMatch(/relay was down/);
    }
  }, 120_000);

  it("stop asks for confirmation, then followers see that the stream ended", async () => {
    await leader.getByRole("button", { name: "Stop stream" }).click();
    const dialog = leader.getByRole("dialog");
    await dialog.waitFor();
    expect(formatViolations(await axe(leader))).toEqual([]);
    await screenshot(leader, "leader-stop-confirm");
    await dialog.getByRole("button", { name: "Keep streaming" }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await leader.getByRole("button", { name: "Stop stream" }).click();
    await dialog.getByRole("button", { name: "Stop stream" }).click();
    await leader.getByTestId("streams").waitFor();
    for (const f of [f1, f2]) {
      await expect
        .poll(() => f.getByTestId("ended-slot").textContent().then(clean), { timeout: 15_000 })
        .toMatch(/Stream ended/);
      await expect.poll(() => f.getByTestId("follower-status").textContent().then(clean)).toBe("Ended");
      expect(await markers(f)).toHaveLength(5); // the last plan stays on screen
    }
    expect(formatViolations(await axe(f1))).toEqual([]);
    await screenshot(f1, "follower-ended");
    const page = await open();
    await joinStream(page, name);
    await expect
      .poll(() => page.locator("#join-form [role=alert]").textContent().then(clean))
      .toMatch(/no live stream called/);
  });

  it("no page threw an uncaught error", () => {
    const errs = pages.flatMap((p) => (p as Page & { errors?: string[] }).errors ?? []);
    expect(errs).toEqual([]);
  });
});

/** A made-up terrain sheet (contours, a river, a road) standing in for a scanned map. */
function terrainSvg(): string {
  const rings = (cx: number, cy: number, n: number, r: number) =>
    Array.from(
      { length: n },
      (_, i) =>
        `<ellipse cx="${cx}" cy="${cy}" rx="${r * (i + 1)}" ry="${r * 0.7 * (i + 1)}" transform="rotate(${i * 4} ${cx} ${cy})"/>`,
    ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1000" viewBox="0 0 1600 1000">
  <rect width="1600" height="1000" fill="#27351f"/>
  <g fill="none" stroke="#8a7a4a" stroke-width="2" opacity="0.8">${rings(1100, 300, 9, 38)}${rings(380, 700, 7, 34)}</g>
  <path d="M0 520 C300 470 500 600 760 560 S1200 420 1600 480" fill="none" stroke="#3f7fb0" stroke-width="14"/>
  <path d="M120 1000 L520 420 L900 380 L1600 120" fill="none" stroke="#c9b27a" stroke-width="6" stroke-dasharray="18 8"/>
  <g fill="#34462a">${Array.from({ length: 40 }, (_, i) => `<circle cx="${(i * 373) % 1600}" cy="${(i * 619) % 1000}" r="${18 + (i % 5) * 6}"/>`).join("")}</g>
</svg>`;
}
