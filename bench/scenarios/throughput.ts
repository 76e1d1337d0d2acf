/**
 * 1. Publish throughput. N concurrent keep-alive HTTP connections (node:http
 * Agent) hammer Webdis for a fixed time with:
 *   - checked publish: FCALL relay_publish, real token/term, a fresh ~1 KB state each call
 *   - trivial FCALL:   FCALL_RO relay_version (the cheapest function through the same Webdis)
 * and ioredis (one connection, N commands in flight = pipelined) does
 *   - PUBLISH of an envelope of the same size straight to Redis (the floor)
 *   - FCALL relay_publish / FCALL_RO relay_version straight to Redis (diagnostics:
 *     the Lua cost without HTTP)
 * CPU of redis-server and webdis during each run comes from /proc/<pid>/stat.
 */
import http from "node:http";
import { Redis } from "ioredis";
import { commandBody, encodeArg } from "../../src/core/wire.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { hex, post } from "../lib/stack.ts";
import { CpuMeter, sleep } from "../lib/stats.ts";

interface RunResult {
  ops: number;
  errors: number;
  opsPerSec: number;
  cpuWebdisPerKop: number;
  cpuRedisPerKop: number;
  firstError?: string;
}

export async function throughput(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(1, "Publish throughput");
  const { stack, quick } = ctx;
  const conns = 32;
  // Short slices, interleaved over several rounds, so every variant sees the
  // same share of whatever else the box is doing (ratios hold better than totals).
  const seconds = quick ? 0.6 : 2;
  const warmSeconds = quick ? 0.2 : 0.5;
  const rounds = quick ? 3 : 5;

  const stream = await stack.startStream("tput");
  const plan = makePlan(1024, 7);
  // The state differs on every call (else relay_publish stores and publishes nothing).
  const [head, tail] = JSON.stringify({ ...plan, rev: 123456789 }).split("123456789") as [string, string];
  const encHead = encodeArg(head);
  const encTail = encodeArg(tail);
  const prefix = commandBody("FCALL", [
    "relay_publish",
    "1",
    stream.key,
    stream.name,
    stream.token,
    String(stream.term),
  ]);
  const opBase = hex(8);
  let counter = 0;
  const publishBody = () => {
    const n = ++counter;
    return `${prefix}/${opBase}${n.toString(16).padStart(16, "0")}/${encHead}${n}${encTail}`;
  };
  const versionBody = () => "FCALL_RO/relay_version/0";
  const stateBytes = head.length + tail.length + 6;
  sc.fig("state_bytes", "state size per publish", stateBytes, "B");
  sc.fig("connections", "concurrent connections", conns, "conns");

  async function httpRun(bodyFn: () => string, ok: (text: string) => boolean, secs: number): Promise<RunResult> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
    const meter = new CpuMeter({ webdis: stack.webdis.proc.pid, redis: stack.redis.pid });
    const t0 = performance.now();
    const end = t0 + secs * 1000;
    let ops = 0;
    let errors = 0;
    let firstError: string | undefined;
    await Promise.all(
      Array.from({ length: conns }, async () => {
        while (performance.now() < end) {
          const r = await post(agent, stack.webdis.port, bodyFn()).catch((e: Error) => ({
            status: 0,
            text: e.message,
          }));
          if (r.status === 200 && ok(r.text)) ops++;
          else {
            errors++;
            firstError ??= `${r.status} ${r.text.slice(0, 200)}`;
          }
        }
      }),
    );
    const { wallMs, cpu } = meter.read();
    agent.destroy();
    return result(ops, errors, wallMs, cpu, firstError);
  }

  function result(
    ops: number,
    errors: number,
    wallMs: number,
    cpu: Record<string, number>,
    firstError?: string,
  ): RunResult {
    const r: RunResult = {
      ops,
      errors,
      opsPerSec: (ops * 1000) / wallMs,
      cpuWebdisPerKop: ops ? ((cpu.webdis ?? 0) * 1000) / ops : Number.NaN,
      cpuRedisPerKop: ops ? ((cpu.redis ?? 0) * 1000) / ops : Number.NaN,
    };
    if (firstError) r.firstError = firstError;
    return r;
  }

  const redis = new Redis({ port: stack.redisPort, host: "127.0.0.1", lazyConnect: true, enableAutoPipelining: false });
  await redis.connect();
  const envelopeSize = `{"v":1,"t":"state","epoch":"${stream.epoch}","seq":1,"ts":${Date.now()},"state":${head}1${tail}}`;
  async function respRun(cmd: () => Promise<unknown>, secs: number): Promise<RunResult> {
    const meter = new CpuMeter({ webdis: stack.webdis.proc.pid, redis: stack.redis.pid });
    const t0 = performance.now();
    const end = t0 + secs * 1000;
    let ops = 0;
    let errors = 0;
    let firstError: string | undefined;
    await Promise.all(
      Array.from({ length: conns }, async () => {
        while (performance.now() < end) {
          try {
            await cmd();
            ops++;
          } catch (e) {
            errors++;
            firstError ??= String(e);
          }
        }
      }),
    );
    const { wallMs, cpu } = meter.read();
    return result(ops, errors, wallMs, cpu, firstError);
  }
  const respPublish = () => redis.publish(`bench-floor-${stream.channel}`, envelopeSize);
  const respFcall = () => {
    const n = ++counter;
    return redis.call(
      "FCALL",
      "relay_publish",
      "1",
      stream.key,
      stream.name,
      stream.token,
      String(stream.term),
      `${opBase}${n.toString(16).padStart(16, "0")}`,
      `${head}${n}${tail}`,
    );
  };
  const respVersion = () => redis.call("FCALL_RO", "relay_version", "0");

  const isPublished = (t: string) => t.includes('\\"changed\\":true') || t.includes('"changed":true');
  const isVersion = (t: string) => t.includes('"1"');

  const variants: [string, (secs: number) => Promise<RunResult>][] = [
    ["checked", (s) => httpRun(publishBody, isPublished, s)],
    ["trivial", (s) => httpRun(versionBody, isVersion, s)],
    ["floor", (s) => respRun(respPublish, s)],
    ["resp_fcall", (s) => respRun(respFcall, s)],
    ["resp_version", (s) => respRun(respVersion, s)],
  ];
  const acc = new Map<string, RunResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of variants) {
      await run(warmSeconds);
      await sleep(200);
      const r = await run(seconds);
      ctx.log(
        `  ${name}: ${r.opsPerSec.toFixed(0)} ops/s, ${r.errors} errors${r.firstError ? ` (${r.firstError})` : ""}`,
      );
      acc.set(name, [...(acc.get(name) ?? []), r]);
    }
  }
  redis.disconnect();

  const avg = (name: string, f: (r: RunResult) => number) => {
    const rs = acc.get(name) ?? [];
    return rs.length ? rs.reduce((a, r) => a + f(r), 0) / rs.length : null;
  };
  const errs = (name: string) => (acc.get(name) ?? []).reduce((a, r) => a + r.errors, 0);
  sc.fig(
    "checked_ops",
    "checked publish via Webdis (FCALL relay_publish)",
    avg("checked", (r) => r.opsPerSec),
    "ops/s",
  );
  sc.fig(
    "trivial_ops",
    "trivial FCALL_RO relay_version via Webdis",
    avg("trivial", (r) => r.opsPerSec),
    "ops/s",
  );
  sc.fig(
    "floor_ops",
    "PUBLISH straight to Redis (ioredis, floor)",
    avg("floor", (r) => r.opsPerSec),
    "ops/s",
  );
  sc.fig(
    "resp_fcall_ops",
    "FCALL relay_publish straight to Redis (ioredis)",
    avg("resp_fcall", (r) => r.opsPerSec),
    "ops/s",
  );
  sc.fig(
    "resp_version_ops",
    "FCALL_RO relay_version straight to Redis (ioredis)",
    avg("resp_version", (r) => r.opsPerSec),
    "ops/s",
  );
  sc.fig(
    "checked_redis_cpu",
    "redis CPU per 1k checked publishes (via Webdis)",
    avg("checked", (r) => r.cpuRedisPerKop),
    "ms",
  );
  sc.fig(
    "checked_webdis_cpu",
    "webdis CPU per 1k checked publishes",
    avg("checked", (r) => r.cpuWebdisPerKop),
    "ms",
  );
  sc.fig(
    "trivial_redis_cpu",
    "redis CPU per 1k trivial FCALLs (via Webdis)",
    avg("trivial", (r) => r.cpuRedisPerKop),
    "ms",
  );
  sc.fig(
    "trivial_webdis_cpu",
    "webdis CPU per 1k trivial FCALLs",
    avg("trivial", (r) => r.cpuWebdisPerKop),
    "ms",
  );
  sc.fig(
    "resp_fcall_redis_cpu",
    "redis CPU per 1k relay_publish (ioredis)",
    avg("resp_fcall", (r) => r.cpuRedisPerKop),
    "ms",
  );
  sc.fig(
    "floor_redis_cpu",
    "redis CPU per 1k PUBLISH (ioredis)",
    avg("floor", (r) => r.cpuRedisPerKop),
    "ms",
  );
  sc.fig(
    "errors",
    "error replies (all variants)",
    ["checked", "trivial", "floor", "resp_fcall", "resp_version"].reduce((a, n) => a + errs(n), 0),
    "count",
  );

  const ratio = sc.ratio(
    "checked_vs_trivial",
    "checked publish / trivial FCALL (Webdis)",
    "checked_ops",
    "trivial_ops",
    "%",
  );
  sc.ratio("checked_vs_floor", "checked publish via Webdis / PUBLISH floor", "checked_ops", "floor_ops", "%");
  sc.ratio("trivial_vs_floor", "trivial FCALL via Webdis / PUBLISH floor", "trivial_ops", "floor_ops", "%");
  sc.ratio("resp_fcall_vs_floor", "relay_publish (ioredis) / PUBLISH floor", "resp_fcall_ops", "floor_ops", "%");
  sc.target(
    "checked_vs_trivial",
    "checked publish >= 80% of trivial FCALL through Webdis",
    ">= 80 %",
    ratio,
    "%",
    ratio === null ? null : ratio >= 80,
  );
  sc.note(
    `${conns} keep-alive connections from one Node process; each variant runs ${rounds} slices of ${seconds} s (after ${warmSeconds} s warm-up each), interleaved with the others, averaged; ` +
      "the load generator shares the 2 cores with redis-server and webdis, so absolute ops/s are a floor for this box.",
  );
  return sc;
}
