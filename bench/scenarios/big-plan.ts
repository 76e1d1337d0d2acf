/**
 * Scenario 12: big plans in the browser (issue 16, "Big plans stay fast").
 *
 * The real page in Chromium (playwright-core, /usr/bin/chromium, the browser
 * tests' launch args) against the bench's own stack (the command door and the
 * subscription door, served by src/server/web.ts as `up` does): a leader page
 * imports a generated QGC WPL 110 file of N waypoints through its own
 * "Import file…", one follower page joins, then
 *   - drag: one marker dragged over 100 pointer moves (page.mouse, ~60 Hz):
 *     the leader's animation-frame intervals (p50/p95/max) and long tasks
 *     (PerformanceObserver "longtask"), the follower's distinct positions of
 *     that marker per second during the drag (sampled every frame on its
 *     screen), and the leader's publishes and request bytes in that time;
 *   - typing: 31 characters typed into Notes (page.keyboard.type): input event
 *     to the next frame per keystroke, p50/p95, and the whole burst's time;
 *   - the list: DOM nodes in the sidebar, route rows in the DOM, and scrolling
 *     the route to its end (frame intervals, time until the last row shows).
 * Each at 400 and 2,000 waypoints, for the page as it is in the tree
 * ("current") and for a baseline build of another commit in the same run
 * (BENCH_BASELINE, default the commit before issue 16's speed work), exported
 * with `git archive`, its waypoint cap lifted to 2,000 so it can load the plan.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { launch, newPage, type StaticServer, serve } from "../../test/browser/harness.ts";
import type { Ctx } from "../lib/ctx.ts";
import { PROBE } from "../lib/page-probe.ts";
import { Scenario } from "../lib/report.ts";
import { percentile, sleep } from "../lib/stats.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The tree before issue 16's "big plans" work (ff750e7: the deps commit). */
export const DEFAULT_BASELINE = "ff750e7";
const MOVES = 100;
/** A page that takes a second per move would make one run last hours: each part stops after this. */
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 20_000);
const REST_MS = 3_000;
/**
 * BENCH_FOLLOWER=off: the follower page leaves (about:blank) once it has the plan, so the
 * leader's frames are measured without a second renderer on this machine's cores, as when
 * followers are on their own machines; the follower figures are then n/a.
 */
const FOLLOWER = process.env.BENCH_FOLLOWER !== "off";
/** The share of frames that took longer than 20 ms (missed a 60 Hz vsync), in %. */
const over20 = (frames: number[]) =>
  frames.length ? (100 * frames.filter((f) => f > 20).length) / frames.length : null;
const TYPED = "Wind 12 kt from 270, gusts 18.."; // 31 characters
const PASSWORD = "bench-follow-pw";
const CODE = "bench-lead-code";

/** A QGC WPL 110 file: home, then `n` NAV_WAYPOINTs in a lawnmower pattern (~30 m apart) near Zurich. */
export function wplFile(n: number): string {
  const lat0 = 47.3977;
  const lon0 = 8.5456;
  const cols = Math.ceil(Math.sqrt(n * 1.25));
  const dLat = 30 / 111_200;
  const dLon = 30 / (111_320 * Math.cos((lat0 * Math.PI) / 180));
  const row = (i: number, lat: number, lon: number, frame: number) =>
    [i, 0, frame, 16, 0, 0, 0, 0, lat.toFixed(8), lon.toFixed(8), (50).toFixed(6), 1].join("\t");
  const lines = ["QGC WPL 110", row(0, lat0, lon0, 0)];
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / cols);
    const c = r % 2 === 0 ? i % cols : cols - 1 - (i % cols);
    lines.push(row(i + 1, lat0 + r * dLat, lon0 + c * dLon, 3));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Builds the page of `srcRoot` (a checkout) into a temp folder. */
async function buildPageAt(srcRoot: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), "relay-bench-web-"));
  await build({
    configFile: join(srcRoot, "vite.config.ts"),
    root: join(srcRoot, "web"),
    mode: "production",
    logLevel: "error",
    // BENCH_PROFILE keeps names readable in the CPU profiles (below).
    build: { outDir: out, emptyOutDir: true, minify: PROFILE_DIR ? false : undefined },
  });
  return out;
}

/** `git archive` of `commit` into a temp folder, node_modules linked, the waypoint cap lifted to `cap`. */
function exportCommit(commit: string, cap: number): { dir: string; capNote: string } {
  const dir = mkdtempSync(join(tmpdir(), "relay-bench-base-"));
  execFileSync("sh", ["-c", `git -C "${root}" archive "${commit}" | tar -x -C "${dir}"`]);
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  const planTs = join(dir, "web", "plan.ts");
  const src = readFileSync(planTs, "utf8");
  const m = /(LIMITS\s*=\s*\{\s*waypoints:\s*)(\d[\d_]*)/.exec(src);
  let capNote = "waypoint cap not found";
  if (m) {
    const was = Number((m[2] as string).replace(/_/g, ""));
    if (was < cap) {
      writeFileSync(planTs, src.replace(m[0], `${m[1]}${cap}`));
      capNote = `its LIMITS.waypoints ${was} lifted to ${cap} to load the plan`;
    } else capNote = `its LIMITS.waypoints is ${was}`;
  }
  return { dir, capNote };
}

interface RunResult {
  importMs: number;
  /** rAF intervals over REST_MS with no input (before the drag). */
  restFrames: number[];
  drag: {
    ms: number;
    moves: number;
    frames: number[];
    longtasks: number[];
    followerMoves: number;
    followerPerSec: number;
    /** Main-thread busy share during the drag (TaskDuration s per s), each page. */
    leaderBusy: number;
    followerBusy: number;
    publishes: number;
    publishBytes: number;
    followerBytes: number;
    followerFrames: number;
  };
  typing: { ms: number; typed: number; perKey: number[]; longtasks: number[] };
  list: { sidebarNodes: number; rows: number; scrollFrames: number[]; lastRowMs: number | null };
}

const clean = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();

async function openPage(browser: Browser, url: string): Promise<Page> {
  const { page } = await newPage(browser, { width: 1440, height: 900 });
  await page.addInitScript(PROBE);
  await page.goto(url);
  await page.waitForSelector("html[data-ready]");
  return page;
}

async function allSent(page: Page, timeout = 120_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const t = clean(await page.getByTestId("send-state").textContent());
    if (t.startsWith("All changes sent")) return;
    if (Date.now() - t0 > timeout) throw new Error(`leader never settled: ${t}`);
    await sleep(100);
  }
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeout = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** One build, one plan size: a fresh leader and follower, import, drag, type, scroll. */
/**
 * BENCH_PROFILE=<dir>: a Chromium CPU profile of each page during the drag is written there
 * (`<build>-<n>-leader.cpuprofile`, `-follower`; open in DevTools' Performance panel), with
 * the heaviest functions by self time printed. Timings of such a run are not comparable.
 */
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** BENCH_ROUNDS=<n>: each build and size run n times, alternating, and pooled (`pooled`). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1) || 1);

/** A page's main-thread busy time (CDP Performance TaskDuration, s) since this was called. */
async function busyClock(page: Page): Promise<() => Promise<number>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const read = async () =>
    (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration")?.value ?? 0;
  const t0 = await read();
  return async () => (await read()) - t0;
}

async function startProfile(page: Page): Promise<(file: string) => Promise<string>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  await cdp.send("Performance.enable");
  const metrics = async () =>
    new Map((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value] as [string, number]));
  const before = await metrics();
  return async (file) => {
    const { profile } = await cdp.send("Profiler.stop");
    const after = await metrics();
    // Where the main thread went (s): script, style, layout; the rest of a task is paint and compositing.
    const d = (k: string) => ((after.get(k) ?? 0) - (before.get(k) ?? 0)).toFixed(2);
    const split = ["TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration"]
      .map((k) => `${k.replace("Duration", "")} ${d(k)} s`)
      .join(", ");
    mkdirSync(PROFILE_DIR as string, { recursive: true });
    writeFileSync(join(PROFILE_DIR as string, file), JSON.stringify(profile));
    return `${split}; ${topSelf(profile as unknown as CpuProfile)}`;
  };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The eight functions with the most self time, "name (file:line) ms". */
function topSelf(p: CpuProfile): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    if (!f || f.functionName === "(idle)" || f.functionName === "(program)") return;
    const key = `${f.functionName || "(anonymous)"} (${f.url.split("/").pop()}:${f.lineNumber + 1})`;
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`)
    .join("; ");
}

async function runOnce(
  browser: Browser,
  url: string,
  n: number,
  log: (s: string) => void,
  tag = "run",
): Promise<RunResult> {
  const name = `big-${n}-${Math.random().toString(36).slice(2, 8)}`;
  const leader = await openPage(browser, url);
  const follower = await openPage(browser, url);
  try {
    await leader.getByRole("tab", { name: "Start" }).click();
    const form = leader.locator("#start-form");
    await form.getByLabel("Stream name").fill(name);
    await form.getByLabel("Password for followers").fill(PASSWORD);
    await form.getByLabel("Leader code").fill(CODE);
    await form.getByRole("button", { name: "Start stream" }).click();
    await leader.getByTestId("leader-view").waitFor();

    await follower.getByRole("tab", { name: "Join" }).click();
    const jf = follower.locator("#join-form");
    await jf.getByLabel("Stream name").fill(name);
    await jf.getByLabel("Password").fill(PASSWORD);
    await jf.getByRole("button", { name: "Join" }).click();
    await follower.getByTestId("follower-view").waitFor();

    // ---- import --------------------------------------------------------------------
    const t0 = Date.now();
    await leader
      .locator("aside.sidebar input[type=file]")
      .setInputFiles({ name: `bench-${n}.waypoints`, mimeType: "text/plain", buffer: Buffer.from(wplFile(n)) });
    const want = `${n} waypoints`;
    await waitFor("the leader's route total", async () =>
      clean(await leader.getByTestId("route-total").textContent()).includes(want),
    );
    const importMs = Date.now() - t0;
    await allSent(leader);
    await waitFor("the follower's route total", async () =>
      clean(await follower.getByTestId("route-total").textContent()).includes(want),
    );
    await sleep(500);

    if (!FOLLOWER) await follower.goto("about:blank");

    // ---- at rest -------------------------------------------------------------------
    // The same page's frames with nothing to do: what this machine gives (two browsers, the
    // stack and this driver on its cores), next to which the drag's frames are read.
    await leader.evaluate("window.__bench.start()");
    await sleep(REST_MS);
    const rest = (await leader.evaluate("window.__bench.stop()")) as { frames: number[] };

    // ---- drag ----------------------------------------------------------------------
    const pick = (await leader.evaluate("window.__bench.pickMarker(0.5, 0.5)")) as {
      id: string;
      x: number;
      y: number;
    } | null;
    if (!pick) throw new Error("no marker to drag on the leader's map");
    if (FOLLOWER) {
      await waitFor("the marker on the follower's map", async () =>
        Boolean(await follower.evaluate(`!!window.__bench.marker(${JSON.stringify(pick.id)})`)),
      );
      await follower.evaluate(`window.__bench.watch(${JSON.stringify(pick.id)})`);
    }
    let publishes = 0;
    let publishBytes = 0;
    let counting = false;
    leader.on("request", (r) => {
      if (!counting || r.method() !== "POST") return;
      const body = r.postDataBuffer();
      if (!body?.includes("relay_publish")) return;
      publishes++;
      publishBytes += body.length;
    });
    let followerBytes = 0;
    let followerFrames = 0;
    follower.on("websocket", (ws) =>
      ws.on("framereceived", (f) => {
        if (!counting) return;
        followerFrames++;
        followerBytes += typeof f.payload === "string" ? Buffer.byteLength(f.payload) : f.payload.length;
      }),
    );
    const profiles = PROFILE_DIR ? await Promise.all([startProfile(leader), startProfile(follower)]) : undefined;
    if (FOLLOWER) await follower.evaluate("window.__bench.start()");
    const busy = await Promise.all([busyClock(leader), FOLLOWER ? busyClock(follower) : undefined]);
    await leader.evaluate("window.__bench.start()");
    const TRACE = process.env.BENCH_TRACE;
    if (TRACE)
      await browser.startTracing(TRACE.endsWith("f") ? follower : leader, {
        path: TRACE,
        categories: ["devtools.timeline", "disabled-by-default-devtools.timeline"],
      });
    const dragStart = Date.now();
    counting = true;
    await leader.mouse.move(pick.x, pick.y);
    await leader.mouse.down();
    let moves = 0;
    for (let i = 1; i <= MOVES && Date.now() - dragStart < BUDGET_MS; i++) {
      const a = (i / MOVES) * Math.PI;
      // ~200 px to the right and back up and down a little: every move changes the position.
      await leader.mouse.move(pick.x + (200 * i) / MOVES, pick.y + 60 * Math.sin(a));
      moves = i;
      await sleep(16);
    }
    await leader.mouse.up();
    const dragMs = Date.now() - dragStart;
    const [leaderBusy, followerBusy] = await Promise.all(busy.map((read) => (read ? read() : Number.NaN)));
    if (TRACE) await browser.stopTracing();
    const ld = (await leader.evaluate("window.__bench.stop()")) as { frames: number[]; longtasks: number[] };
    await allSent(leader);
    await sleep(300);
    counting = false;
    const fd = (FOLLOWER ? await follower.evaluate("window.__bench.stop()") : { moves: [] }) as { moves: number[] };
    if (profiles) {
      const [lp, fp] = profiles as [(f: string) => Promise<string>, (f: string) => Promise<string>];
      log(`    profile, leader: ${await lp(`${tag}-${n}-leader.cpuprofile`)}`);
      log(`    profile, follower: ${await fp(`${tag}-${n}-follower.cpuprofile`)}`);
    }
    // Positions shown while the leader was dragging (the last one may land just after the release).
    const during = fd.moves.filter((t) => t >= dragStart && t <= dragStart + dragMs);
    log(`    ${n} wp: drag ${dragMs} ms, follower saw ${fd.moves.length} positions (${during.length} during)`);

    // ---- typing --------------------------------------------------------------------
    await leader.evaluate(`window.__bench.timeKeys("#plan-notes")`);
    await leader.locator("#plan-notes").click();
    await leader.evaluate("window.__bench.start()");
    const k0 = Date.now();
    let typed = 0;
    for (const ch of TYPED) {
      if (Date.now() - k0 > BUDGET_MS) break;
      await leader.keyboard.type(ch);
      typed++;
    }
    // Wait for the frames of the last keystrokes.
    await leader.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    const typingMs = Date.now() - k0;
    const kd = (await leader.evaluate("window.__bench.stop()")) as { keys: number[]; longtasks: number[] };
    await allSent(leader);
    log(`    ${n} wp: typing ${typingMs} ms for ${typed} characters`);

    // ---- the list ------------------------------------------------------------------
    const counts = (await leader.evaluate(`(() => ({
      nodes: document.querySelector("aside.sidebar").getElementsByTagName("*").length,
      rows: document.querySelectorAll('[data-testid="route-list"] li, [data-testid="route-list"] [role="option"]').length,
    }))()`)) as { nodes: number; rows: number };
    await leader.evaluate("window.__bench.start()");
    const s0 = Date.now();
    const lastName = `WP ${n}`;
    await leader.evaluate(`(async () => {
      const el = window.__bench.scroller();
      const steps = 30;
      const end = el.scrollHeight - el.clientHeight;
      for (let i = 1; i <= steps; i++) {
        el.scrollTop = (end * i) / steps;
        await new Promise((r) => requestAnimationFrame(r));
      }
    })()`);
    let lastRowMs: number | null = null;
    try {
      await waitFor(
        "the last row",
        async () =>
          Boolean(
            await leader.evaluate(
              `(() => { const l = document.querySelector('[data-testid="route-list"]'); return !!l && l.textContent.includes(${JSON.stringify(lastName)}); })()`,
            ),
          ),
        10_000,
      );
      lastRowMs = Date.now() - s0;
    } catch {
      lastRowMs = null;
    }
    const sd = (await leader.evaluate("window.__bench.stop()")) as { frames: number[] };

    const seconds = dragMs / 1000;
    return {
      importMs,
      restFrames: rest.frames,
      drag: {
        ms: dragMs,
        moves,
        frames: ld.frames,
        longtasks: ld.longtasks,
        followerMoves: during.length,
        followerPerSec: FOLLOWER ? during.length / seconds : Number.NaN,
        leaderBusy: (leaderBusy as number) / seconds,
        followerBusy: (followerBusy as number) / seconds,
        publishes,
        publishBytes,
        followerBytes,
        followerFrames,
      },
      typing: { ms: typingMs, typed, perKey: kd.keys, longtasks: kd.longtasks },
      list: { sidebarNodes: counts.nodes, rows: counts.rows, scrollFrames: sd.frames, lastRowMs },
    };
  } finally {
    await leader.context().close();
    await follower.context().close();
  }
}

/**
 * Several rounds as one: samples (frames, long tasks, keys) put together, counts and
 * times added, rates weighted by the drag's time, one-off times by their median. On two
 * cores one 2,000-waypoint round varies by ±10 fps from the next; pooled rounds less so.
 */
function pooled(rs: RunResult[]): RunResult {
  if (rs.length === 1) return rs[0] as RunResult;
  const sum = (f: (r: RunResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const all = <T>(f: (r: RunResult) => T[]) => rs.flatMap(f);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const dragMs = sum((r) => r.drag.ms);
  const last = rs[rs.length - 1] as RunResult;
  const rows = rs.map((r) => r.list.lastRowMs).filter((x): x is number => x !== null);
  return {
    importMs: median(rs.map((r) => r.importMs)),
    restFrames: all((r) => r.restFrames),
    drag: {
      ms: dragMs,
      moves: sum((r) => r.drag.moves),
      frames: all((r) => r.drag.frames),
      longtasks: all((r) => r.drag.longtasks),
      followerMoves: sum((r) => r.drag.followerMoves),
      followerPerSec: sum((r) => r.drag.followerPerSec * r.drag.ms) / dragMs,
      leaderBusy: sum((r) => r.drag.leaderBusy * r.drag.ms) / dragMs,
      followerBusy: sum((r) => r.drag.followerBusy * r.drag.ms) / dragMs,
      publishes: sum((r) => r.drag.publishes),
      publishBytes: sum((r) => r.drag.publishBytes),
      followerBytes: sum((r) => r.drag.followerBytes),
      followerFrames: sum((r) => r.drag.followerFrames),
    },
    typing: {
      ms: sum((r) => r.typing.ms),
      typed: sum((r) => r.typing.typed),
      perKey: all((r) => r.typing.perKey),
      longtasks: all((r) => r.typing.longtasks),
    },
    list: { ...last.list, scrollFrames: all((r) => r.list.scrollFrames), lastRowMs: rows.length ? median(rows) : null },
  };
}

function record(sc: Scenario, tag: string, label: string, n: number, r: RunResult) {
  const k = `${tag}_${n}`;
  const L = `${label}, ${n} wp`;
  const d = r.drag;
  sc.fig(`${k}_import_ms`, `${L}: import to list shown`, r.importMs, "ms");
  sc.fig(
    `${k}_drag_moves`,
    `${L}: drag, pointer moves made`,
    d.moves,
    "moves",
    d.moves < MOVES ? `stopped after ${BUDGET_MS / 1000} s` : undefined,
  );
  sc.fig(`${k}_drag_frame_p50`, `${L}: drag, leader frame p50`, percentile(d.frames, 50), "ms");
  sc.fig(`${k}_drag_frame_p95`, `${L}: drag, leader frame p95`, percentile(d.frames, 95), "ms");
  sc.fig(`${k}_drag_frames_over`, `${L}: drag, leader frames over 20 ms`, over20(d.frames), "%");
  sc.fig(`${k}_rest_frame_p95`, `${L}: at rest, leader frame p95`, percentile(r.restFrames, 95), "ms");
  sc.fig(`${k}_rest_frames_over`, `${L}: at rest, leader frames over 20 ms`, over20(r.restFrames), "%");
  sc.fig(`${k}_drag_frame_max`, `${L}: drag, leader frame max`, d.frames.length ? Math.max(...d.frames) : null, "ms");
  sc.fig(`${k}_drag_fps`, `${L}: drag, leader frames/s`, d.frames.length / (d.ms / 1000), "fps");
  sc.fig(`${k}_drag_longtasks`, `${L}: drag, long tasks`, d.longtasks.length, "tasks");
  sc.fig(
    `${k}_drag_longtask_ms`,
    `${L}: drag, long task time`,
    d.longtasks.reduce((a, b) => a + b, 0),
    "ms",
    `over a ${d.ms} ms drag of ${d.moves} moves`,
  );
  sc.fig(`${k}_drag_follower_ups`, `${L}: drag, follower updates/s`, d.followerPerSec, "/s");
  sc.fig(`${k}_drag_leader_busy`, `${L}: drag, leader main thread busy`, 100 * d.leaderBusy, "%");
  sc.fig(`${k}_drag_follower_busy`, `${L}: drag, follower main thread busy`, 100 * d.followerBusy, "%");
  sc.fig(`${k}_drag_publishes`, `${L}: drag, leader publishes`, d.publishes, "");
  sc.fig(
    `${k}_drag_publish_bytes`,
    `${L}: drag, bytes per publish (request)`,
    d.publishes ? d.publishBytes / d.publishes : null,
    "B",
  );
  sc.fig(
    `${k}_drag_follower_bytes`,
    `${L}: drag, follower bytes per message`,
    d.followerFrames ? d.followerBytes / d.followerFrames : null,
    "B",
  );
  sc.fig(`${k}_type_key_p50`, `${L}: typing, input to frame p50`, percentile(r.typing.perKey, 50), "ms");
  sc.fig(`${k}_type_key_p95`, `${L}: typing, input to frame p95`, percentile(r.typing.perKey, 95), "ms");
  sc.fig(
    `${k}_type_total`,
    `${L}: typing ${TYPED.length} characters, whole burst`,
    r.typing.typed === TYPED.length ? r.typing.ms : null,
    "ms",
    r.typing.typed < TYPED.length ? `stopped after ${r.typing.typed} characters in ${r.typing.ms} ms` : undefined,
  );
  sc.fig(`${k}_sidebar_nodes`, `${L}: sidebar DOM nodes`, r.list.sidebarNodes, "nodes");
  sc.fig(`${k}_list_rows`, `${L}: route rows in the DOM`, r.list.rows, "rows");
  sc.fig(`${k}_scroll_frame_p95`, `${L}: scroll the list, frame p95`, percentile(r.list.scrollFrames, 95), "ms");
  sc.fig(`${k}_scroll_last_row`, `${L}: scroll to the last row shown`, r.list.lastRowMs, "ms");
}

export async function bigPlan(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(12, "Big plans in the browser (issue 16: drag, typing, the list)");
  const baseline = process.env.BENCH_BASELINE ?? DEFAULT_BASELINE;
  const sizes = (process.env.BENCH_SIZES ?? "400,2000").split(",").map(Number);
  const stack = ctx.stack;
  const doors = { url: stack.webdis.url, subscribeUrl: stack.subscribeDoors[0]?.url };
  const dirs: string[] = [];
  const servers: StaticServer[] = [];
  let browser: Browser | undefined;
  try {
    ctx.log(`  building the page (current tree) and the baseline (${baseline})`);
    const current = await buildPageAt(root);
    dirs.push(current);
    const builds: { tag: string; label: string; url: string }[] = [];
    if (baseline !== "none") {
      const exp = exportCommit(baseline, Math.max(...sizes));
      dirs.push(exp.dir);
      const base = await buildPageAt(exp.dir);
      dirs.push(base);
      const bs = await serve(base, doors);
      servers.push(bs);
      builds.push({ tag: "base", label: `baseline ${baseline}`, url: bs.url });
      sc.note(`baseline: a clean export of ${baseline} built in this run; ${exp.capNote}`);
    }
    const cs = await serve(current, doors);
    servers.push(cs);
    builds.push({ tag: "cur", label: "current", url: cs.url });
    browser = await launch();
    if (!FOLLOWER)
      sc.note("BENCH_FOLLOWER=off: the follower page left once it had the plan; the leader alone on this machine");
    if (ROUNDS > 1) sc.note(`${ROUNDS} rounds per build and size, alternating builds; samples pooled (BENCH_ROUNDS)`);
    for (const n of sizes) {
      const runs = new Map<string, RunResult[]>(builds.map((b) => [b.tag, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const b of builds) {
          ctx.log(`  ${b.label}: ${n} waypoints${ROUNDS > 1 ? `, round ${round}/${ROUNDS}` : ""}`);
          try {
            runs.get(b.tag)?.push(await runOnce(browser, b.url, n, ctx.log, b.tag));
          } catch (e) {
            // One build failing one size (e.g. a page that refuses the plan) must not lose the others.
            ctx.log(`    failed: ${(e as Error).message}`);
            sc.note(`${b.label}, ${n} waypoints: failed (${(e as Error).message})`);
          }
        }
      }
      for (const b of builds) {
        const rs = runs.get(b.tag) ?? [];
        if (rs.length > 0) record(sc, b.tag, b.label, n, pooled(rs));
      }
    }
    const big = Math.max(...sizes);
    for (const n of sizes) {
      if (baseline === "none") break;
      sc.ratio(
        `type_${n}`,
        `typing p95, current / baseline, ${n} wp`,
        `cur_${n}_type_key_p95`,
        `base_${n}_type_key_p95`,
      );
      sc.ratio(
        `drag_${n}`,
        `drag frame p95, current / baseline, ${n} wp`,
        `cur_${n}_drag_frame_p95`,
        `base_${n}_drag_frame_p95`,
      );
    }
    const fps = sc.get(`cur_${big}_drag_fps`);
    sc.target(
      "drag_fps",
      `leader frames/s during a drag, ${big} wp`,
      ">= 55 fps",
      fps,
      "fps",
      fps !== null && fps >= 55,
    );
    const p95 = sc.get(`cur_${big}_drag_frame_p95`);
    sc.target(
      "drag_p95",
      `leader frame p95 during a drag, ${big} wp`,
      "<= 20 ms",
      p95,
      "ms",
      p95 !== null && p95 <= 20,
    );
    const ups = sc.get(`cur_${big}_drag_follower_ups`);
    sc.target(
      "follower_ups",
      `follower updates/s during a drag, ${big} wp`,
      ">= 10/s",
      ups,
      "/s",
      ups !== null && ups >= 10,
    );
    const key = sc.get(`cur_${big}_type_key_p95`);
    sc.target("typing", `typing, input to frame p95, ${big} wp`, "<= 50 ms", key, "ms", key !== null && key <= 50);
    const rows = sc.get(`cur_${big}_list_rows`);
    sc.target("rows", `route rows in the DOM, ${big} wp`, "<= 100", rows, "rows", rows !== null && rows <= 100);
    sc.note(
      `drag: ${MOVES} page.mouse moves 16 ms apart (each waits for the page to take it, so a blocked page stretches the drag); frames are requestAnimationFrame intervals on the leader; follower updates/s are distinct on-screen positions of the dragged marker, sampled every frame on the follower, within the drag`,
    );
    sc.note(
      "bytes per publish: the relay_publish request bodies the leader page sent during the drag (Webdis form, sealed content in base64url); follower bytes: WebSocket frames it received then",
    );
    sc.note("typing: event.timeStamp of each input event to the next requestAnimationFrame callback");
    sc.note(
      "current: the page as it is in the working tree at the run (the shared tree may hold other engineers' edits; see the commit line)",
    );
  } finally {
    await browser?.close();
    for (const s of servers) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return sc;
}
