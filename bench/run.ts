/**
 * `npm run bench` (every scenario, a few minutes) or `npm run bench -- --quick`
 * (under a minute). Starts its own redis-server + webdis on free ports of
 * 127.0.0.1, runs each scenario against its baselines in the same run, prints
 * a table and writes bench/results/latest.json.
 *
 *   --quick            short runs, fewer samples, no 5,000-follower fan-out
 *   --only=1,3         run only these scenarios (9: the v2 write path, about 2 minutes;
 *                      10: 1, 2 and 4 subscription doors, about a minute;
 *                      11: failover time over 5 kill -9 runs, 1-2 minutes;
 *                      12: big plans in the browser, current vs a baseline build, 2-6 minutes)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chooseWebdis } from "../src/server/webdis-bin.ts";
import type { Ctx } from "./lib/ctx.ts";
import { type Scenario, type ScenarioResult, table, targetSummary } from "./lib/report.ts";
import { BenchStack } from "./lib/stack.ts";
import { bigPlan } from "./scenarios/big-plan.ts";
import { bytesOnTheWire } from "./scenarios/bytes.ts";
import { clientSize } from "./scenarios/client.ts";
import { doors } from "./scenarios/doors.ts";
import { failover } from "./scenarios/failover.ts";
import { fanout } from "./scenarios/fanout.ts";
import { flood } from "./scenarios/flood.ts";
import { latency } from "./scenarios/latency.ts";
import { memory } from "./scenarios/memory.ts";
import { throughput } from "./scenarios/throughput.ts";
import { webdisVersions } from "./scenarios/webdis-versions.ts";
import { writePath } from "./scenarios/write-path.ts";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const onlyArg = argv.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice(7).split(",").map(Number)) : undefined;

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memTotalMiB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fdLimit: Number(sh("sh", ["-c", "ulimit -n"])) || null,
  };
}

async function main() {
  const started = new Date();
  const loadStart = os.loadavg();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`mission-relay bench (${quick ? "quick" : "full"}) - starting redis-server + webdis on free ports`);
  const stack = await BenchStack.start();
  const ctx: Ctx = { stack, quick, log };
  const serverInfo = await stack.info("server");
  const commit = sh("git", ["-C", join(here, ".."), "rev-parse", "--short", "HEAD"]);
  const dirty = sh("git", [
    "-C",
    join(here, ".."),
    "status",
    "--porcelain",
    "--",
    "lua",
    "src",
    "webdis.json",
    "webdis.subscribe.json",
  ]);
  const versions = {
    node: process.version,
    redis: serverInfo.redis_version ?? "unknown",
    // The Webdis the doors run (src/server/webdis-bin.ts: RELAY_WEBDIS, the packaged 0.1.22 when
    // installed), not only Debian's: the two differ on this box.
    webdis: webdisVersion(),
    ioredis: pkgVersion("ioredis"),
    ws: pkgVersion("ws"),
    "socket.io": pkgVersion("socket.io"),
    "@socket.io/redis-adapter": pkgVersion("@socket.io/redis-adapter"),
    esbuild: pkgVersion("esbuild"),
  };

  const scenarios: [number, (c: Ctx) => Promise<Scenario>][] = [
    [1, throughput],
    [2, latency],
    [3, fanout],
    [4, memory],
    [5, bytesOnTheWire],
    [6, clientSize],
    [7, flood],
    [8, webdisVersions],
    [9, writePath],
    [10, doors],
    [11, failover],
    [12, bigPlan],
  ];
  const results: ScenarioResult[] = [];
  try {
    for (const [id, run] of scenarios) {
      if (only && !only.has(id)) continue;
      log(`-- scenario ${id}`);
      const t0 = performance.now();
      try {
        const sc = await run(ctx);
        sc.result.seconds = (performance.now() - t0) / 1000;
        results.push(sc.result);
      } catch (e) {
        log(`scenario ${id} failed: ${(e as Error).stack ?? e}`);
        results.push({
          id,
          title: `scenario ${id}`,
          figures: [],
          ratios: [],
          targets: [],
          notes: [],
          seconds: (performance.now() - t0) / 1000,
          error: String(e),
        });
      }
    }
  } finally {
    await stack.stop();
  }

  const report = {
    mode: quick ? "quick" : "full",
    started: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    /** the checkout measured; "+local changes" when lua/, src/ or the Webdis configs differ from it */
    commit:
      commit === "unknown"
        ? (process.env.BENCH_COMMIT ?? "unknown (not a git checkout; set BENCH_COMMIT)")
        : `${commit}${dirty && dirty !== "unknown" ? " +local changes" : ""}`,
    machine: {
      ...machine(),
      // Other work on the box skews absolute figures; ratios within one run hold better.
      loadavg1mStart: Number(loadStart[0]?.toFixed(2)),
      loadavg1mEnd: Number(os.loadavg()[0]?.toFixed(2)),
    },
    versions,
    webdisConfig: "webdis.json with redis_port/http_port/logfile overridden",
    scenarios: results,
    targets: results.flatMap((r) => r.targets.map((t) => ({ scenario: r.id, ...t }))),
  };
  const outDir = join(here, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  const m = report.machine;
  console.log(`mission-relay bench, ${report.mode} mode, ${report.seconds.toFixed(0)} s`);
  console.log(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memTotalMiB} MiB; node ${versions.node}, redis ${versions.redis}, webdis ${versions.webdis}`,
  );
  console.log(`load average (1 min): ${m.loadavg1mStart} at start, ${m.loadavg1mEnd} at end; commit ${report.commit}`);
  console.log(table(results));
  console.log(targetSummary(results));
  console.log(`\nwrote ${join("bench", "results", "latest.json")}`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

function webdisVersion(): string {
  try {
    const w = chooseWebdis();
    return `${w.version} (${w.source})`;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

function pkgVersion(name: string): string {
  try {
    const p = join(here, "..", "node_modules", name, "package.json");
    return (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

main().then(
  () => process.exit(),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
