/**
 * A 2,000-waypoint plan in the page (issue 16, "Big plans stay fast"), against
 * a real stack: the route list virtualises (only a window of rows in the DOM,
 * with aria-setsize/aria-posinset), scrolling to its end shows the last
 * waypoint, selecting a waypoint far down scrolls its row into view, the
 * keyboard walks the whole list, and a follower watching sees a dragged and an
 * edited waypoint's new position; crowded markers are dots, each clickable,
 * until the map is zoomed in. No timings here: bench scenario 12 measures.
 *
 * Markers are found by waypoint id inside the map element (`data-wp-id`), so
 * the test holds for the SVG map and a Leaflet one alike.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../setup/stack.ts";
import { axeLines, buildPage, cleanup, launch, misdrawn, newPage, type StaticServer, serve } from "./harness.ts";

const N = 2000;
let stack: Stack;
let dist: string;
let server: StaticServer;
let browser: Browser;
let leader: Page;
let follower: Page;

const name = `Big ${Math.random().toString(36).slice(2, 7)}`;
const password = "grid-walk-22";
const code = "lead-9921";
const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();

/** QGC WPL 110: home, then N waypoints in a lawnmower pattern ~30 m apart near Zurich. */
function wpl(n: number): string {
  const cols = Math.ceil(Math.sqrt(n * 1.25));
  const dLat = 30 / 111_200;
  const dLon = 30 / (111_320 * Math.cos((47.3977 * Math.PI) / 180));
  const row = (i: number, lat: number, lon: number, frame: number) =>
    [i, 0, frame, 16, 0, 0, 0, 0, lat.toFixed(8), lon.toFixed(8), "50.000000", 1].join("\t");
  const lines = ["QGC WPL 110", row(0, 47.3977, 8.5456, 0)];
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / cols);
    const c = r % 2 === 0 ? i % cols : cols - 1 - (i % cols);
    lines.push(row(i + 1, 47.3977 + r * dLat, 8.5456 + c * dLon, 3));
  }
  return `${lines.join("\r\n")}\r\n`;
}

beforeAll(async () => {
  [stack, dist] = await Promise.all([startStack({ edge: true }), buildPage()]);
  const doors = stack.edge ?? { commandUrl: stack.webdisUrl, subscribeUrl: stack.subscribeUrl };
  server = await serve(dist, { url: doors.commandUrl, subscribeUrl: doors.subscribeUrl });
  browser = await launch();
  leader = (await newPage(browser, { width: 1280, height: 800 })).page;
  follower = (await newPage(browser, { width: 1280, height: 800 })).page;
  for (const p of [leader, follower]) {
    await p.goto(server.url);
    await p.waitForSelector("html[data-ready]");
  }
  await leader.getByRole("tab", { name: "Start" }).click();
  const form = leader.locator("#start-form");
  await form.getByLabel("Stream name").fill(name);
  await form.getByLabel("Password for followers").fill(password);
  await form.getByLabel("Leader code").fill(code);
  await form.getByRole("button", { name: "Start stream" }).click();
  await leader.getByTestId("leader-view").waitFor();
  await follower.getByRole("tab", { name: "Join" }).click();
  const jf = follower.locator("#join-form");
  await jf.getByLabel("Stream name").fill(name);
  await jf.getByLabel("Password").fill(password);
  await jf.getByRole("button", { name: "Join" }).click();
  await follower.getByTestId("follower-view").waitFor();
  await leader
    .locator("aside.sidebar input[type=file]")
    .setInputFiles({ name: "big.waypoints", mimeType: "text/plain", buffer: Buffer.from(wpl(N)) });
  // expect.poll is for tests only: here the page itself waits for the summary.
  for (const p of [leader, follower])
    await p.waitForFunction(
      (n) => document.querySelector('[data-testid="route-total"]')?.textContent?.includes(`${n} waypoints`),
      N,
      { timeout: 60_000 },
    );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await stack?.stop();
  if (dist) cleanup(dist);
});

const rows = (p: Page) => p.locator('[data-testid="route-list"] li');

/** Is `id`'s row in the DOM and inside its scroller's visible box? */
function rowInView(p: Page, id: string): Promise<boolean> {
  return p.evaluate((id) => {
    const li = document.querySelector<HTMLElement>(`[data-testid="route-list"] li[data-wp-id="${CSS.escape(id)}"]`);
    const sc = li?.closest<HTMLElement>(".route-scroll");
    if (!li || !sc) return false;
    const a = li.getBoundingClientRect();
    const b = sc.getBoundingClientRect();
    return a.height > 0 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  }, id);
}

/**
 * The centre of a marker of the map (by waypoint id) that is not covered, whose row is not
 * rendered. At the fitted zoom 2,000 markers ~13 px apart are drawn as dots (map.css
 * `.dense`): with 30 px markers no marker but the topmost could be clicked.
 */
function farMarker(p: Page): Promise<{ id: string; x: number; y: number } | null> {
  return p.evaluate(() => {
    const map = document.querySelector('[data-testid="map"]');
    if (!map) return null;
    const box = map.getBoundingClientRect();
    const shown = new Set(
      [...document.querySelectorAll<HTMLElement>('[data-testid="route-list"] li')].map((l) => l.dataset.wpId),
    );
    // From the end of the route: a row far from the list's first screenful.
    for (const el of [...map.querySelectorAll<HTMLElement | SVGElement>("[data-wp-id]")].reverse()) {
      const id = (el as HTMLElement).dataset.wpId;
      if (!id || shown.has(id)) continue;
      const r = (el.querySelector(".hit") ?? el).getBoundingClientRect();
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      if (r.width === 0 || x < box.left + 60 || x > box.right - 260 || y < box.top + 60 || y > box.bottom - 60)
        continue;
      if (document.elementFromPoint(x, y)?.closest("[data-wp-id]") !== el) continue;
      return { id, x, y };
    }
    return null;
  });
}

function markerCentre(p: Page, id: string): Promise<{ x: number; y: number } | null> {
  return p.evaluate((id) => {
    const el = document.querySelector(`[data-testid="map"] [data-wp-id="${CSS.escape(id)}"]`);
    if (!el) return null;
    const r = (el.querySelector(".hit") ?? el).getBoundingClientRect();
    return { x: Math.round(r.left + r.width / 2), y: Math.round(r.top + r.height / 2) };
  }, id);
}

/** The follower's running marker pulses (map.css wp-pulse): where each runs and what it animates. */
function pulses(p: Page): Promise<{ pseudo: string | null; props: string[] }[]> {
  return p.evaluate(() =>
    document
      .getAnimations()
      .filter((a) => (a as CSSAnimation).animationName === "wp-pulse" && a.playState === "running")
      .map((a) => {
        const fx = a.effect as KeyframeEffect;
        const props = new Set(
          fx
            .getKeyframes()
            .flatMap((k) =>
              Object.keys(k).filter((x) => !["offset", "computedOffset", "easing", "composite"].includes(x)),
            ),
        );
        return { pseudo: fx.pseudoElement, props: [...props].sort() };
      }),
  );
}

describe("a 2,000-waypoint plan", () => {
  it("a change of 2,000 markers rings them on the follower without a pulse each", async () => {
    // The import has just arrived: 2,000 changed markers, and no 2,000 animations (each a
    // compositing layer of its own for 3.6 s).
    expect(await follower.locator('[data-testid="map"] .wp.changed').count()).toBe(N);
    expect(await pulses(follower)).toEqual([]);
  });

  it("both views pass axe with 2,000 waypoints", async () => {
    for (const p of [leader, follower]) expect(await axeLines(p)).toEqual([]);
  });

  it("the route list holds only a window of rows, each saying its place in the whole", async () => {
    for (const p of [leader, follower]) {
      const n = await rows(p).count();
      expect(n).toBeGreaterThan(3);
      expect(n).toBeLessThan(100);
      const first = rows(p).first();
      expect(await first.getAttribute("aria-setsize")).toBe(String(N));
      expect(await first.getAttribute("aria-posinset")).toBe("1");
    }
  });

  it("scrolling the list to its end shows the last waypoint", async () => {
    await leader.locator(".route-scroll").evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    const last = leader.locator(`[data-testid="route-list"] li[aria-posinset="${N}"]`);
    await expect.poll(() => last.count()).toBe(1);
    expect(clean(await last.textContent())).toContain(`WP ${N}`);
    expect(await rowInView(leader, (await last.getAttribute("data-wp-id")) as string)).toBe(true);
    expect(await rows(leader).count()).toBeLessThan(100);
  });

  it("the keyboard walks the whole list: Home, End, arrows, with one row in the tab order", async () => {
    const first = leader.locator('[data-testid="route-list"] li[aria-posinset="1"] button');
    await leader.locator(".route-scroll").evaluate((el) => {
      el.scrollTop = 0;
    });
    await expect.poll(() => first.count()).toBe(1);
    await first.focus();
    await leader.keyboard.press("End");
    const focusedPos = () =>
      leader.evaluate(() => document.activeElement?.closest("li")?.getAttribute("aria-posinset") ?? null);
    await expect.poll(focusedPos).toBe(String(N));
    await leader.keyboard.press("ArrowUp");
    await expect.poll(focusedPos).toBe(String(N - 1));
    expect(await leader.locator('[data-testid="route-list"] button[tabindex="0"]').count()).toBe(1);
    await leader.keyboard.press("Home");
    await expect.poll(focusedPos).toBe("1");
  });

  it("selecting a waypoint far down (its marker) scrolls its row into view, selected", async () => {
    await leader.locator(".route-scroll").evaluate((el) => {
      el.scrollTop = 0;
    });
    const m = await farMarker(leader);
    expect(m).not.toBeNull();
    if (!m) return;
    expect(await rowInView(leader, m.id)).toBe(false);
    await leader.mouse.click(m.x, m.y);
    await expect.poll(() => rowInView(leader, m.id)).toBe(true);
    const row = leader.locator(`[data-testid="route-list"] li[data-wp-id="${m.id}"]`);
    expect(await row.locator("button").getAttribute("aria-pressed")).toBe("true");
    expect(Number(await row.getAttribute("aria-posinset"))).toBeGreaterThan(100);
  });

  it("a follower watching sees a dragged waypoint and an edited one at their new places", async () => {
    const m = await farMarker(leader);
    expect(m).not.toBeNull();
    if (!m) return;
    await expect.poll(() => markerCentre(follower, m.id).then(Boolean)).toBe(true);
    const before = await markerCentre(follower, m.id);
    // The leader's patches are made in its Worker (web/patch-maker.ts), not in the page: count
    // what the Worker is asked during the drag. The follower page never starts one.
    const pw = leader.workers().find((w) => w.url().includes("patch-worker"));
    expect(pw, "the leader page's patch worker").toBeDefined();
    expect(follower.workers().filter((w) => w.url().includes("patch-worker"))).toEqual([]);
    await pw?.evaluate(() => {
      const s = self as unknown as { onmessage: (e: MessageEvent) => void; asked: number };
      const answer = s.onmessage;
      s.asked = 0;
      s.onmessage = (e) => {
        s.asked++;
        answer(e);
      };
    });
    await leader.mouse.move(m.x, m.y);
    await leader.mouse.down();
    for (let i = 1; i <= 20; i++) await leader.mouse.move(m.x + 4 * i, m.y + 2 * i);
    await leader.mouse.up();
    const wpName = clean(
      await leader.locator(`[data-testid="route-list"] li[data-wp-id="${m.id}"] .wname`).textContent(),
    );
    await expect
      .poll(() => follower.getByTestId("latest-change").textContent().then(clean), { timeout: 15_000 })
      .toContain(`Moved ${wpName}`);
    await expect.poll(() => markerCentre(follower, m.id), { timeout: 15_000 }).not.toEqual(before);
    // One marker changed: its ring pulses, in transform and opacity on its ::before, which the
    // compositor runs (in box-shadow, the map's layer of 2,000 markers was repainted every frame).
    await expect.poll(() => pulses(follower)).toEqual([{ pseudo: "::before", props: ["opacity", "transform"] }]);
    expect(await pw?.evaluate(() => (self as unknown as { asked: number }).asked)).toBeGreaterThan(0);

    // A second drag redraws the dragged marker only on the follower, not all 2,000 (each
    // change is parsed into a new plan there: seen failing without keepUnchanged, with
    // every marker rewritten at every update).
    await follower.evaluate(() => {
      const touched = new Set<Element>();
      const w = window as unknown as { __touched: Set<Element>; __mo: MutationObserver };
      w.__touched = touched;
      w.__mo = new MutationObserver((rs) => {
        for (const r of rs) {
          const wp = (r.target as Element).closest?.(".wp") ?? r.target.parentElement?.closest(".wp");
          if (wp) touched.add(wp);
        }
      });
      const map = document.querySelector('[data-testid="map"]') as Element;
      w.__mo.observe(map, { attributes: true, characterData: true, childList: true, subtree: true });
    });
    const mid = await markerCentre(leader, m.id);
    const atFollower = await markerCentre(follower, m.id);
    expect(mid).not.toBeNull();
    if (!mid) return;
    await leader.mouse.move(mid.x, mid.y);
    await leader.mouse.down();
    for (let i = 1; i <= 10; i++) await leader.mouse.move(mid.x - 3 * i, mid.y + 3 * i);
    await leader.mouse.up();
    await expect.poll(() => markerCentre(follower, m.id), { timeout: 15_000 }).not.toEqual(atFollower);
    const touched = await follower.evaluate(() => {
      const w = window as unknown as { __touched: Set<Element>; __mo: MutationObserver };
      w.__mo.disconnect();
      return [...w.__touched].map((e) => (e as HTMLElement).dataset.wpId);
    });
    expect(touched).toEqual([m.id]);
    // Markers are placed in 2D: a translate3d() each made 2,000 compositing layers (map.ts).
    const transform = await leader.evaluate(
      (id) => (document.querySelector(`[data-wp-id="${CSS.escape(id)}"]`) as HTMLElement).style.transform,
      m.id,
    );
    expect(transform).toMatch(/^translate\(/);

    // Typed into the editor: the follower's row for it (selected there) shows the new latitude.
    const lat = leader.locator("#wp-lat");
    await lat.fill("47.41");
    await lat.press("Enter");
    await lat.blur();
    await follower.mouse.click(...(await centreOf(follower, m.id)));
    const frow = follower.locator(`[data-testid="route-list"] li[data-wp-id="${m.id}"]`);
    await expect.poll(() => frow.textContent().then(clean), { timeout: 15_000 }).toContain("47.4100000° N");
    expect(await rowInView(follower, m.id)).toBe(true);
  });

  it("crowded markers are dots that can each be clicked; zoomed in, they are full markers again", async () => {
    const map = leader.getByTestId("map");
    await leader.getByRole("button", { name: "Fit" }).click();
    await expect.poll(() => map.getAttribute("class")).toMatch(/\bdense\b/);
    const m = await farMarker(leader);
    expect(m).not.toBeNull();
    if (!m) return;
    // The dot under the pointer is that marker's, not a neighbour's 30 px icon.
    const size = await leader.evaluate(
      ([x, y]) => {
        const el = document.elementFromPoint(x as number, y as number)?.closest("[data-wp-id]");
        return el?.querySelector(".hit")?.getBoundingClientRect().width ?? 0;
      },
      [m.x, m.y],
    );
    expect(size).toBeLessThan(15);
    // And the canvas draws each dot where its hit area is, in its type's colour.
    const dots = await misdrawn(leader);
    expect(dots.looked).toBeGreaterThan(100);
    expect(dots.wrong).toEqual([]);
    for (let i = 0; i < 4; i++) await leader.getByRole("button", { name: "Zoom in" }).click();
    await expect.poll(() => map.getAttribute("class")).not.toMatch(/\bdense\b/);
    await expect.poll(async () => (await misdrawn(leader)).wrong).toEqual([]);
  });
});

async function centreOf(p: Page, id: string): Promise<[number, number]> {
  await expect.poll(() => markerCentre(p, id).then(Boolean)).toBe(true);
  const c = await markerCentre(p, id);
  return [c?.x ?? 0, c?.y ?? 0];
}
