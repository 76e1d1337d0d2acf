/**
 * The leader's geofence & rally editor against a real stack (Redis + Webdis
 * behind the edge): a leader adds an exclusion circle and a polygon, edits a
 * vertex and adds a rally point, and a follower's plan has each of them (read
 * from the follower's layers summary, not from map pixels); a bad radius is
 * refused in its field and publishes nothing; each edit is one undo step; the
 * leader view passes axe with the editor open; the legs table and the cruise
 * speed field.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../setup/stack.ts";
import { axe, buildPage, cleanup, launch, newPage, type StaticServer, screenshot, serve } from "./harness.ts";

let stack: Stack;
let dist: string;
let server: StaticServer;
let browser: Browser;

const name = `Fence ${Math.random().toString(36).slice(2, 7)}`;
const password = "fence-line-3";
const code = "lead-9120";

beforeAll(async () => {
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

const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();

async function open(): Promise<Page> {
  const { page } = await newPage(browser);
  await page.goto(server.url);
  await page.waitForSelector("html[data-ready]");
  return page;
}

/** The leader's newest confirmed seq, once nothing is on its way. */
async function settledSeq(page: Page): Promise<number> {
  let text = "";
  await expect
    .poll(async () => {
      text = clean(await page.getByTestId("send-state").textContent());
      return text.startsWith("All changes sent");
    })
    .toBe(true);
  return Number(/#(\d+)/.exec(text)?.[1] ?? -1);
}

const summary = (page: Page, testid: string) => page.getByTestId(testid).textContent().then(clean);

/** Types into a field and leaves it (the change event commits it). */
async function enter(page: Page, selector: string, value: string) {
  const input = page.locator(selector);
  await input.fill(value);
  await input.press("Tab");
}

function formatViolations(v: Awaited<ReturnType<typeof axe>>) {
  return v.map((x) => `${x.id} (${x.impact}): ${x.help} -> ${x.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("geofence and rally points", () => {
  let leader: Page;
  let follower: Page;

  it("a leader starts a stream, a follower joins, the editor opens from the keyboard", async () => {
    leader = await open();
    await leader.getByRole("tab", { name: "Start" }).click();
    const form = leader.locator("#start-form");
    await form.getByLabel("Stream name").fill(name);
    await form.getByLabel("Password for followers").fill(password);
    await form.getByLabel("Leader code").fill(code);
    await form.getByRole("button", { name: "Start stream" }).click();
    await leader.getByTestId("leader-view").waitFor();

    follower = await open();
    await follower.getByRole("tab", { name: "Join" }).click();
    const join = follower.locator("#join-form");
    await join.getByLabel("Stream name").fill(name);
    await join.getByLabel("Password").fill(password);
    await join.getByRole("button", { name: "Join" }).click();
    await follower.getByTestId("follower-view").waitFor();
    await expect.poll(() => summary(follower, "layers-summary")).toBe("No geofence or rally points.");

    // A <details>: its summary takes focus and Enter opens it.
    const editor = leader.getByTestId("layers-editor");
    await editor.locator("summary").focus();
    await leader.keyboard.press("Enter");
    await expect.poll(() => editor.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
  });

  it("an exclusion circle reaches the follower; a radius of 0 is refused in the field and publishes nothing", async () => {
    await leader.getByRole("button", { name: "Add circle" }).click();
    await expect.poll(() => follower.getByTestId("layer-circle-0").getAttribute("data-kind")).toBe("exclusion");
    expect(await summary(follower, "layer-circle-0")).toMatch(/^Exclusion circle 1: 150 m radius around /);
    // Focus went to the new circle's first control.
    expect(await leader.evaluate(() => document.activeElement?.id)).toBe("fence-circle-0-kind");

    const seq = await settledSeq(leader);
    await enter(leader, "#fence-circle-0-radius", "0");
    const radius = leader.locator("#fence-circle-0-radius");
    await expect.poll(() => radius.getAttribute("aria-invalid")).toBe("true");
    const errorId = await radius.getAttribute("aria-describedby");
    expect(errorId).toBe("fence-circle-0-radius-error");
    expect(clean(await leader.locator(`#${errorId}`).textContent())).toMatch(/more than 0/);
    await leader.waitForTimeout(800);
    expect(await settledSeq(leader)).toBe(seq);
    expect(await summary(follower, "layer-circle-0")).toMatch(/150 m radius/);

    await enter(leader, "#fence-circle-0-radius", "320");
    await expect.poll(() => radius.getAttribute("aria-invalid")).toBe(null);
    await expect.poll(() => summary(follower, "layer-circle-0")).toMatch(/320 m radius/);
    expect(await settledSeq(leader)).toBe(seq + 1);
  });

  it("a polygon: added as a square, a vertex edited and one inserted, made an exclusion", async () => {
    await leader.getByRole("button", { name: "Add polygon" }).click();
    const pg = follower.getByTestId("layer-polygon-0");
    await expect.poll(() => summary(follower, "layer-polygon-0")).toMatch(/^Inclusion polygon 1: 4 vertices/);

    await enter(leader, "#fence-pg-0-v-1-lat", "0.0125");
    await expect
      .poll(async () => (await pg.getAttribute("data-vertices"))?.split(" ")[1]?.split(",")[0])
      .toBe("0.0125");
    // A latitude out of range is refused the same way, and the follower keeps 0.0125.
    await enter(leader, "#fence-pg-0-v-1-lat", "95");
    await expect.poll(() => leader.locator("#fence-pg-0-v-1-lat").getAttribute("aria-invalid")).toBe("true");
    expect(clean(await leader.locator("#fence-pg-0-v-1-lat-error").textContent())).toMatch(/-90 to 90/);

    await leader.getByRole("button", { name: "Add a vertex after vertex 1 of polygon 1" }).click();
    await expect.poll(() => summary(follower, "layer-polygon-0")).toMatch(/5 vertices/);
    await leader.locator("#fence-pg-0-kind").selectOption("exclusion");
    await expect.poll(() => pg.getAttribute("data-kind")).toBe("exclusion");
    expect((await pg.getAttribute("data-vertices"))?.split(" ")[2]?.split(",")[0]).toBe("0.0125");
  });

  it("a rally point is added and edited; each edit is one undo step", async () => {
    await leader.getByRole("button", { name: "Add rally point" }).click();
    await expect.poll(() => summary(follower, "layer-rally-0")).toMatch(/^Rally point 1: .*, 50 m$/);
    await enter(leader, "#rally-0-alt", "75");
    await expect.poll(() => summary(follower, "layer-rally-0")).toMatch(/, 75 m$/);

    await leader.getByRole("button", { name: "Undo" }).click();
    await expect.poll(() => summary(follower, "layer-rally-0")).toMatch(/, 50 m$/);
    await expect.poll(() => leader.locator("#rally-0-alt").inputValue()).toBe("50");
    await leader.getByRole("button", { name: "Undo" }).click();
    await expect.poll(() => follower.getByTestId("layer-rally-0").count()).toBe(0);
    await leader.getByRole("button", { name: "Redo" }).click();
    await leader.getByRole("button", { name: "Redo" }).click();
    await expect.poll(() => summary(follower, "layer-rally-0")).toMatch(/, 75 m$/);
    // The circle and the polygon are still there.
    expect(await follower.getByTestId("layer-circle-0").count()).toBe(1);
    expect(await follower.getByTestId("layer-polygon-0").count()).toBe(1);
  });

  it("the breach-return point is set and cleared", async () => {
    await leader.getByRole("button", { name: "Set breach-return point" }).click();
    await expect.poll(() => follower.getByTestId("layer-breach").count()).toBe(1);
    await leader.getByRole("button", { name: "Clear breach return" }).click();
    await expect.poll(() => follower.getByTestId("layer-breach").count()).toBe(0);
  });

  it("the legs table and the cruise speed: per-leg numbers and totals on both sides", async () => {
    // Two waypoints from the keyboard: Enter on the focused map adds one at its centre.
    const map = leader.getByTestId("map");
    await map.focus();
    await leader.keyboard.press("Enter");
    // Focus may have gone to the new marker (where arrows nudge it): back to the map to pan.
    await map.focus();
    await leader.keyboard.press("ArrowRight");
    await leader.waitForTimeout(400);
    await leader.keyboard.press("Enter");
    await settledSeq(leader);
    await enter(leader, "#plan-cruise", "-1");
    await expect.poll(() => leader.locator("#plan-cruise").getAttribute("aria-invalid")).toBe("true");
    await enter(leader, "#plan-cruise", "12");
    await expect.poll(() => leader.locator("#plan-cruise").getAttribute("aria-invalid")).toBe(null);
    await leader.getByTestId("legs").locator("summary").click();
    await expect.poll(() => leader.getByTestId("legs-table").locator("tbody tr").count()).toBeGreaterThanOrEqual(1);
    const row = clean(await leader.getByTestId("legs-table").locator("tbody tr").first().textContent());
    expect(row).toMatch(/12 m\/s cruise/);
    const total = clean(await leader.getByTestId("legs-total-distance").textContent());
    await follower.getByTestId("legs").locator("summary").click();
    await expect.poll(() => follower.getByTestId("legs-total-distance").textContent().then(clean)).toBe(total);
    await expect.poll(() => summary(follower, "route-total")).toMatch(/at 12 m\/s cruise/);
  });

  it("a waypoint's latitude, longitude and altitude out of range are refused in their fields and publish nothing", async () => {
    await leader.locator('[data-testid="route-list"] .route-item').first().click();
    const lat = leader.locator("#wp-lat");
    await lat.waitFor();
    const seq = await settledSeq(leader);
    for (const [id, value, says] of [
      ["#wp-lat", "95", /latitude from -90 to 90/],
      ["#wp-lon", "-181", /longitude from -180 to 180/],
      ["#wp-alt", "2000000", /altitude in metres from -20,000 to 1,000,000/],
    ] as const) {
      await enter(leader, id, value);
      const field = leader.locator(id);
      await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
      const errorId = await field.getAttribute("aria-describedby");
      expect(clean(await leader.locator(`#${errorId}`).textContent())).toMatch(says);
    }
    await leader.waitForTimeout(800);
    expect(await settledSeq(leader)).toBe(seq);

    await enter(leader, "#wp-lat", "47.25");
    await expect.poll(() => lat.getAttribute("aria-invalid")).toBe(null);
    expect(await settledSeq(leader)).toBe(seq + 1);
    const first = follower.locator('[data-testid="route-list"] li').first();
    await expect.poll(() => first.textContent().then(clean)).toContain("47.2500000° N");
  });

  it("a rally point picked on the map lands where it was clicked; Escape cancels a pick", async () => {
    const map = leader.getByTestId("map");
    const pick = leader.getByRole("button", { name: "Pick rally point on map" });
    await pick.click();
    await expect.poll(() => map.getAttribute("class")).toMatch(/\bpicking\b/);
    // Right after the button, as a keyboard user would: the pick is cancelled, nothing added.
    await leader.keyboard.press("Escape");
    await expect.poll(() => map.getAttribute("class")).not.toMatch(/\bpicking\b/);
    expect(await leader.locator("#rally-1-lat").count()).toBe(0);
    // Focus went to the map for the pick (Enter there picks its centre) and is back on the button.
    await expect.poll(() => pick.evaluate((el) => el === document.activeElement)).toBe(true);

    await pick.click();
    const box = (await map.boundingBox()) as { x: number; y: number; width: number; height: number };
    // A quarter of the way in, off the centre where markers and the legs are.
    await leader.mouse.click(box.x + box.width / 4, box.y + box.height / 4);
    await expect.poll(() => summary(follower, "layer-rally-1")).toMatch(/^Rally point 2: /);
    const centre = (await map.getAttribute("data-view"))?.split(",").map(Number) as number[];
    const [clat, clon] = centre as [number, number];
    const rlat = Number(await leader.locator("#rally-1-lat").inputValue());
    const rlon = Number(await leader.locator("#rally-1-lon").inputValue());
    // North-west of the view's centre, not at it.
    expect(rlat).toBeGreaterThan(clat);
    expect(rlon).toBeLessThan(clon);
  });

  it("the leader view passes axe with the editor open; screenshots", async () => {
    expect(formatViolations(await axe(leader))).toEqual([]);
    expect(formatViolations(await axe(follower))).toEqual([]);
    await leader.getByTestId("layers-editor").scrollIntoViewIfNeeded();
    await screenshot(leader, "leader-layers-editor");
    await screenshot(follower, "follower-layers");
    for (const p of [leader, follower]) expect((p as Page & { errors?: string[] }).errors ?? []).toEqual([]);
  });
});
