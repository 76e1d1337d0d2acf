/**
 * A leader's session kept in the browser (issue 16), in Chromium against a
 * real Redis/Webdis stack behind the edge: a reload resumes without the code
 * and undo still takes back the edit made before it; edits made offline are
 * kept in IndexedDB when the tab is closed and reach followers once a new tab
 * resumes with the code; a saved session another leader took over meanwhile
 * falls back to the gate, saying why. Edits go through the sidebar's fields
 * (not map clicks: the map is being replaced). Every wait is a bounded poll.
 */
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

const password = "ridge-line-7";
const code = "lead-4471";
const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();
const unique = (what: string) => `${what} ${Math.random().toString(36).slice(2, 7)}`;

let stack: Stack;
let dist: string;
let server: StaticServer;
/**
 * The same page with its command door behind a proxy that can go silent: "offline" is the
 * browser's (`setOffline`) and the network's. The browser's alone let a request out as the
 * tab closed (CI, 2026-12-04: the follower got the "unsent" edit), its emulation ending
 * with the page; through a silent proxy nothing arrives.
 */
let cut: StallProxy;
let cutServer: StaticServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, dist] = await Promise.all([startStack({ edge: true }), buildPage()]);
  const doors = stack.edge ?? { commandUrl: stack.webdisUrl, subscribeUrl: stack.subscribeUrl };
  cut = await stallProxy(doors.commandUrl);
  [server, cutServer, browser] = await Promise.all([
    serve(dist, { url: doors.commandUrl, subscribeUrl: doors.subscribeUrl }),
    serve(dist, { url: cut.url, subscribeUrl: doors.subscribeUrl }),
    launch(),
  ]);
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await Promise.all([server?.close(), cutServer?.close(), cut?.close()]);
  await stack?.stop();
  if (dist) cleanup(dist);
});

async function context(): Promise<{ context: BrowserContext; page: Page }> {
  const p = await newPage(browser);
  contexts.push(p.context);
  return p;
}

async function ready(page: Page, hash = "", base = server) {
  await page.goto(`${base.url}${hash}`);
  await page.waitForSelector("html[data-ready]");
}

async function start(page: Page, stream: string, base = server) {
  await ready(page, "", base);
  await page.getByRole("tab", { name: "Start" }).click();
  const form = page.locator("#start-form");
  await form.getByLabel("Stream name").fill(stream);
  await form.getByLabel("Password for followers").fill(password);
  await form.getByLabel("Leader code").fill(code);
  await form.getByRole("button", { name: "Start stream" }).click();
  await page.getByTestId("leader-view").waitFor();
  await expect.poll(() => leaderPill(page)).toBe("Live");
}

async function follow(page: Page, stream: string) {
  await ready(page, `#/follow/${encodeURIComponent(stream)}`);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Join" }).click();
  await page.getByTestId("follower-view").waitFor();
}

/** The gate's Resume with password and code. */
async function resumeWithCode(page: Page) {
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("Leader code").fill(code);
  await page.getByRole("button", { name: "Resume as leader" }).click();
  await page.getByTestId("leader-view").waitFor();
}

/** The `pending` record IndexedDB holds for the stream on this page's origin, as stored. */
function pendingOnDisk(page: Page, stream: string) {
  return page.evaluate(
    (n) =>
      new Promise<Record<string, unknown> | undefined>((resolve) => {
        const open = indexedDB.open("mission-relay");
        open.onsuccess = () => {
          const db = open.result;
          const get = db.transaction("pending").objectStore("pending").get(n);
          get.onsuccess = () => {
            db.close();
            resolve(get.result as Record<string, unknown> | undefined);
          };
          get.onerror = () => resolve(undefined);
        };
        open.onerror = () => resolve(undefined);
      }),
    stream,
  );
}

const leaderPill = (page: Page) => page.getByTestId("leader-status").textContent().then(clean);
const sendState = (page: Page) => page.getByTestId("send-state").textContent().then(clean);
const titleField = (page: Page) => page.locator(".sidebar").getByLabel("Title", { exact: true });
const followerTitle = (page: Page) => page.getByTestId("plan-title").textContent().then(clean);
const allSent = async (page: Page) =>
  expect.poll(() => sendState(page), { timeout: 10_000 }).toMatch(/^All changes sent/);

/** Waits until the page has written its session (debounced 300 ms) with the given title in it. */
async function kept(page: Page, title: string) {
  await expect
    .poll(
      () =>
        page.evaluate(
          (t) =>
            new Promise<boolean>((resolve) => {
              const open = indexedDB.open("mission-relay");
              open.onsuccess = () => {
                const db = open.result;
                const all = [...db.objectStoreNames].map(
                  (s) =>
                    new Promise<unknown[]>((r) => {
                      const q = db.transaction(s).objectStore(s).getAll();
                      q.onsuccess = () => r(q.result);
                      q.onerror = () => r([]);
                    }),
                );
                void Promise.all(all).then((v) => {
                  db.close();
                  resolve(JSON.stringify(v.flat(), (k, x) => (k === "key" ? undefined : x)).includes(t));
                });
              };
              open.onerror = () => resolve(false);
            }),
          title,
        ),
      { timeout: 5_000 },
    )
    .toBe(true);
}

describe("a leader's session kept in this browser", () => {
  it("a reload of the leader tab resumes without the code, and undo takes back the edit made before it", async () => {
    const stream = unique("Reload");
    const { page: leader } = await context();
    await start(leader, stream);
    const { page: follower } = await context();
    await follow(follower, stream);
    await titleField(leader).fill("Before reload");
    await allSent(leader);
    await expect.poll(() => followerTitle(follower), { timeout: 10_000 }).toBe("Before reload");
    await kept(leader, "Before reload");

    await leader.reload();
    await leader.waitForSelector("html[data-ready]");
    // No gate: the leader view comes back with the plan, saying so.
    await leader.getByTestId("leader-view").waitFor({ timeout: 10_000 });
    expect(await leader.getByRole("button", { name: "Resume as leader" }).count()).toBe(0);
    await expect.poll(() => leader.locator(".notice-slot").textContent().then(clean)).toContain("Resumed your session");
    expect(await titleField(leader).inputValue()).toBe("Before reload");
    await expect.poll(() => leaderPill(leader)).toBe("Live");
    expect(await axeLines(leader)).toEqual([]);

    // Undo still has the step from before the reload: the title goes back, and followers see it.
    const undo = leader.getByRole("button", { name: "Undo" });
    expect(await undo.isDisabled()).toBe(false);
    await undo.click();
    expect(await titleField(leader).inputValue()).toBe(stream);
    await expect.poll(() => followerTitle(follower), { timeout: 10_000 }).toBe(stream);
    // And the session still writes: a new edit after the reload reaches the follower.
    await titleField(leader).fill("After reload");
    await expect.poll(() => followerTitle(follower), { timeout: 10_000 }).toBe("After reload");
  });

  it("edits made offline survive closing the tab and reach followers after resuming with the code", async () => {
    const stream = unique("Offline");
    const { context: browserProfile, page: leader } = await context();
    await start(leader, stream, cutServer);
    const { page: follower } = await context();
    await follow(follower, stream);
    await allSent(leader);
    const sentBefore = await sendState(leader);

    await browserProfile.setOffline(true);
    cut.stall(true);
    await titleField(leader).fill("Planned offline");
    await leader.locator(".sidebar").getByLabel("Notes").fill("Written with no network");
    await expect.poll(() => sendState(leader), { timeout: 10_000 }).not.toMatch(/^All changes sent/);
    await kept(leader, "Written with no network");
    // The unsent plan waits on disk sealed with the stream's key: no plan text in the record.
    await expect.poll(() => pendingOnDisk(leader, stream)).toBeDefined();
    const rec = await pendingOnDisk(leader, stream);
    expect(typeof rec?.sealed).toBe("string");
    expect(JSON.stringify(rec)).not.toMatch(/Written with no network|Planned offline/);
    await leader.close(); // gone with its edits unsent (no beforeunload prompt in a closed page)
    expect(await followerTitle(follower)).toBe(stream);

    cut.stall(false);
    await browserProfile.setOffline(false);
    const again = await browserProfile.newPage();
    await ready(again, `#/lead/${encodeURIComponent(stream)}`, cutServer);
    // A new tab has no saved session: the gate asks for the code.
    await resumeWithCode(again);
    try {
      await expect
        .poll(() => again.locator(".notice-slot").textContent().then(clean), { timeout: 10_000 })
        .toMatch(/^Sent the edits you made at \d\d:\d\d/);
    } catch (e) {
      // Seen in CI on 2026-12-03 (before the proxy: a request that left as the tab closed had
      // sent the edits already): the pending record's base and the stream's seq say whether
      // the stream really moved on.
      const rec = await pendingOnDisk(again, stream);
      const pending = rec && { epoch: rec.epoch, seq: rec.seq, at: rec.at };
      const detail = { sentBefore, pending, now: await sendState(again), follower: await followerTitle(follower) };
      throw new Error(`${(e as Error).message}\n${JSON.stringify(detail)}`);
    }
    await expect.poll(() => followerTitle(follower), { timeout: 10_000 }).toBe("Planned offline");
    await expect
      .poll(() => follower.getByTestId("plan-notes").textContent().then(clean))
      .toBe("Written with no network");
    expect(await titleField(again).inputValue()).toBe("Planned offline");
    expect(await axeLines(again)).toEqual([]);
    await allSent(again);
  });

  it("a saved session another leader took over meanwhile falls back to the gate, saying why", async () => {
    const stream = unique("Fenced");
    const { page: a } = await context();
    await start(a, stream);
    await titleField(a).fill("From tab A");
    await allSent(a);
    await kept(a, "From tab A");
    // Another browser takes the stream over (a newer term) before tab A hears of it.
    const { page: b } = await context();
    await ready(b, `#/lead/${encodeURIComponent(stream)}`);
    await resumeWithCode(b);
    await expect.poll(() => leaderPill(b)).toBe("Live");

    await a.reload();
    await a.waitForSelector("html[data-ready]");
    await a.getByRole("button", { name: "Resume as leader" }).waitFor({ timeout: 10_000 });
    await expect
      .poll(() => a.locator(".form-msg").textContent().then(clean))
      .toMatch(/^Another leader took over .* since this tab last led it/);
    expect(await axeLines(a)).toEqual([]);
    // The stale record is gone: another reload shows the plain gate.
    await a.reload();
    await a.waitForSelector("html[data-ready]");
    await a.getByRole("button", { name: "Resume as leader" }).waitFor({ timeout: 10_000 });
    expect(clean(await a.locator(".form-msg").textContent())).toBe("");
    // Tab B was never disturbed.
    expect(await leaderPill(b)).toBe("Live");
  });
});
