/**
 * Honest status and sessions in the browser (Chromium + a real Redis/Webdis
 * stack behind the edge): a follower whose connection stalls says so, a closed
 * leader tab reads as "leader away", plan changes reach a live region, and a
 * leader's session survives reloads and tabs. The pages are served with a
 * relay-config.json that asks for a 1 s heartbeat and a 3 s watchdog, so the
 * waits are seconds; every wait is a bounded poll, nothing is timed (two fixed waits, in
 * the leader-away test, let heartbeats arrive and then watch that "stalled" never shows).
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../setup/stack.ts";
import {
  axeLines,
  buildPage,
  cleanup,
  launch,
  newPage,
  type StallProxy,
  type StaticServer,
  serve,
  stallProxy,
} from "./harness.ts";

const TIMING = { heartbeatMs: 1000, staleAfterMs: 3000 };
const password = "ridge-line-7";
const code = "lead-4471";
const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();
const unique = (what: string) => `${what} ${Math.random().toString(36).slice(2, 7)}`;

/**
 * The product's web server (harness `serve`: its CSP names these doors) behind a front
 * that answers relay-config.json with the doors and TIMING, and passes the rest through.
 */
async function serveTimed(dir: string, doors: { url: string; subscribeUrl: string }): Promise<StaticServer> {
  const back = await serve(dir, doors);
  const config = JSON.stringify({ ...doors, ...TIMING });
  const front: Server = createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] === "/relay-config.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(config);
      return;
    }
    const fwd = request(new URL(req.url ?? "/", back.url), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    fwd.on("error", () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}/`,
    close: async () => {
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
      await back.close();
    },
  };
}

let stack: Stack;
let dist: string;
let direct: StaticServer;
let proxied: StaticServer;
let cmdProxy: StallProxy;
let subProxy: StallProxy;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, dist] = await Promise.all([startStack({ edge: true }), buildPage()]);
  const doors = stack.edge ?? { commandUrl: stack.webdisUrl, subscribeUrl: stack.subscribeUrl };
  [cmdProxy, subProxy] = await Promise.all([stallProxy(doors.commandUrl), stallProxy(doors.subscribeUrl)]);
  [direct, proxied, browser] = await Promise.all([
    serveTimed(dist, { url: doors.commandUrl, subscribeUrl: doors.subscribeUrl }),
    serveTimed(dist, { url: cmdProxy.url, subscribeUrl: subProxy.url }),
    launch(),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([direct?.close(), proxied?.close(), cmdProxy?.close(), subProxy?.close()]);
  await stack?.stop();
  if (dist) cleanup(dist);
});

async function open(server: StaticServer, context?: BrowserContext): Promise<Page> {
  let page: Page;
  if (context) page = await context.newPage();
  else {
    const p = await newPage(browser);
    contexts.push(p.context);
    page = p.page;
  }
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
  await page.getByTestId("leader-view").waitFor();
  await expect.poll(() => page.getByTestId("leader-status").textContent().then(clean)).toBe("Live");
}

async function join(page: Page, stream: string) {
  await page.getByRole("tab", { name: "Join" }).click();
  const form = page.locator("#join-form");
  await form.getByLabel("Stream name").fill(stream);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Join" }).click();
  await page.getByTestId("follower-view").waitFor();
  await expect.poll(() => followerPill(page)).toBe("Live");
}

const followerPill = (page: Page) => page.getByTestId("follower-status").textContent().then(clean);

async function addWaypoint(page: Page, fx: number, fy: number) {
  const b = await page.locator('[data-testid="map"]').boundingBox();
  if (!b) throw new Error("no map");
  await page.mouse.click(b.x + b.width * fx, b.y + b.height * fy);
}

describe("honest follower status", () => {
  it("a stalled follower connection reads as stalled within the heartbeat interval, not as live", async () => {
    const stream = unique("Stall");
    const leader = await open(direct);
    await start(leader, stream);
    const follower = await open(proxied);
    await join(follower, stream);
    // Heartbeats keep it live.
    await expect.poll(() => follower.evaluate(() => document.activeElement?.className)).toContain("plan-title");
    cmdProxy.stall(true);
    subProxy.stall(true);
    // 1 s beat + 1 s margin, polled with room to spare for a loaded box.
    await expect.poll(() => followerPill(follower), { timeout: 10_000 }).toBe("Connection stalled");
    expect(clean(await follower.locator(".status-line").textContent())).toMatch(/^Nothing has arrived since \d\d:\d\d/);
    expect(await axeLines(follower)).toEqual([]);
    cmdProxy.stall(false);
    subProxy.stall(false);
    await follower.close();
    await leader.close();
  });

  it("a closed leader tab reads as 'leader away since HH:MM' while the connection is fine", async () => {
    const stream = unique("Away");
    const leader = await open(direct);
    await start(leader, stream);
    const follower = await open(direct);
    await join(follower, stream);
    // Two heartbeats heard first: the silence then counts from the last one, not from the join.
    await follower.waitForTimeout(2_500);
    // Every word the pill says from here: with the connection fine it never says "stalled"
    // (the follower asks the relay when the leader last spoke before the page would; seen
    // failing before that: "Connection stalled" between the heartbeat and a half and the
    // watchdog's resubscribe at 3 s).
    await follower.evaluate(() => {
      const pill = document.querySelector('[data-testid="follower-status"]') as HTMLElement;
      const said: string[] = [];
      (window as unknown as { said: string[] }).said = said;
      new MutationObserver(() => said.push(pill.textContent ?? "")).observe(pill, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await leader.close(); // no stop, no goodbye: its heartbeats just end
    await expect.poll(() => followerPill(follower), { timeout: 15_000 }).toMatch(/^Leader away since \d\d:\d\d$/);
    // And it stays so past the watchdog's resubscribe (3 s) and the relay's next answers.
    await follower.waitForTimeout(4_000);
    expect(await followerPill(follower)).toMatch(/^Leader away since \d\d:\d\d$/);
    const said = await follower.evaluate(() => (window as unknown as { said: string[] }).said);
    expect(said.filter((w) => !/^(Live|Leader away since \d\d:\d\d)$/.test(w))).toEqual([]);
    expect(clean(await follower.locator(".status-line").textContent())).toMatch(/^The relay answers, but the leader/);
    expect(await axeLines(follower)).toEqual([]);
    await follower.close();
    // The stream list marks it too (relay_list's `heard`: heartbeats move it, not `updated`).
    const home = await open(direct);
    const badge = home.locator(`tr[data-stream="${stream}"] [data-testid=leader-away]`);
    await expect
      .poll(
        async () => {
          await home.getByRole("button", { name: "Refresh" }).click();
          return (await badge.count()) ? clean(await badge.textContent()) : "";
        },
        { timeout: 10_000 },
      )
      .toMatch(/^Leader away since \d\d:\d\d$/);
    expect(await axeLines(home)).toEqual([]);
    await home.close();
  });

  it("a plan change is announced in a polite live region", async () => {
    const stream = unique("Announce");
    const leader = await open(direct);
    await start(leader, stream);
    const follower = await open(direct);
    await join(follower, stream);
    const region = follower.getByTestId("plan-announcer");
    expect(await region.getAttribute("aria-live")).toBe("polite");
    await addWaypoint(leader, 0.3, 0.4);
    await expect.poll(() => region.textContent().then(clean), { timeout: 10_000 }).toMatch(/^Plan changed: Added /);
    // The same waypoint moved twice: the same words, yet the region's text must change each
    // time, or a screen reader hears the second move as nothing (seen failing before).
    const said: string[] = [];
    await follower.exposeFunction("announced", (t: string) => said.push(t));
    await follower.evaluate(() => {
      const el = document.querySelector('[data-testid="plan-announcer"]') as HTMLElement;
      const w = window as unknown as { announced(t: string): void };
      new MutationObserver(() => w.announced(el.textContent ?? "")).observe(el, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    const marker = leader.locator('[data-testid="map"] .wp.selected');
    for (let i = 0; i < 2; i++) {
      await marker.focus();
      await leader.keyboard.press("ArrowRight");
      await expect.poll(() => said.length, { timeout: 10_000 }).toBe(i + 1);
    }
    expect(said.map(clean)).toEqual([expect.stringMatching(/^Plan changed: Moved /), expect.anything()]);
    expect(clean(said[1] ?? "")).toBe(clean(said[0] ?? ""));
    expect(said[1]).not.toBe(said[0]);
    await follower.close();
    await leader.close();
  });
});

describe("sessions and tabs", () => {
  it("a follower's password remembered for the tab rejoins after a reload without asking", async () => {
    const stream = unique("Remember");
    const leader = await open(direct);
    await start(leader, stream);
    const follower = await open(direct);
    await follower.getByRole("tab", { name: "Join" }).click();
    const form = follower.locator("#join-form");
    await form.getByLabel("Stream name").fill(stream);
    await form.getByLabel("Password").fill(password);
    await form.getByLabel(/Rejoin without asking after a reload/).check();
    await form.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => followerPill(follower)).toBe("Live");
    // Neither the password nor anything else lands in the URL.
    expect(follower.url()).not.toContain(password);
    await follower.reload();
    await follower.getByTestId("follower-view").waitFor({ timeout: 20_000 });
    await expect.poll(() => followerPill(follower)).toBe("Live");
    await follower.close();
    await leader.close();
  });

  it("two leader tabs: the one that resumed writes, the other says 'editing in another tab' and can take over", async () => {
    const stream = unique("Tabs");
    const { context, page: a } = await newPage(browser);
    contexts.push(context);
    await a.goto(direct.url);
    await a.waitForSelector("html[data-ready]");
    await start(a, stream);
    // A second tab of the same browser opens the leader link.
    const b = await context.newPage();
    await b.goto(`${direct.url}#/lead/${encodeURIComponent(stream)}`);
    await b.waitForSelector("html[data-ready]");
    await expect.poll(() => b.locator(".form-msg").textContent().then(clean)).toMatch(/^Editing in another tab/);
    const resume = async (p: Page) => {
      await p.getByLabel("Password").fill(password);
      await p.getByLabel("Leader code").fill(code);
      await p.getByRole("button", { name: "Resume as leader" }).click();
      await p.getByTestId("leader-view").waitFor();
    };
    await resume(b);
    // The first tab steps down at once, read-only, instead of "All changes sent".
    await expect.poll(() => a.getByTestId("send-state").textContent().then(clean)).toBe("Editing in another tab");
    expect(await a.locator(".sidebar").evaluate((el) => (el as HTMLElement).inert)).toBe(true);
    expect(await axeLines(a)).toEqual([]);
    await expect.poll(() => b.getByTestId("leader-status").textContent().then(clean)).toBe("Live");
    // Taking it back: the first tab resumes, the second steps down.
    await a.getByRole("button", { name: "Take over here" }).click();
    await resume(a);
    await expect.poll(() => b.getByTestId("send-state").textContent().then(clean)).toBe("Editing in another tab");
    await expect.poll(() => a.getByTestId("leader-status").textContent().then(clean)).toBe("Live");
    await context.close();
  });

  it("refuses a leader code equal to the password at start, in plain words", async () => {
    const page = await open(direct);
    await page.getByRole("tab", { name: "Start" }).click();
    const form = page.locator("#start-form");
    await form.getByLabel("Stream name").fill(unique("Same"));
    await form.getByLabel("Password for followers").fill(password);
    await form.getByLabel("Leader code").fill(password);
    await form.getByRole("button", { name: "Start stream" }).click();
    await expect
      .poll(() => form.locator(".form-msg").textContent().then(clean))
      .toMatch(/^The leader code must differ from the password/);
    expect(await page.locator("[data-testid=leader-view]").count()).toBe(0);
    await page.close();
  });
});
