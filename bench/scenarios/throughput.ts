/**
 * 1. Publish throughput. N concurrent keep-alive HTTP connections (node:http
 * Agent) hammer Webdis for a fixed time with:
 *   - checked publish: FCALL relay_publish, real token/term, a whole ~1 KB state
 *     (sealed size) each call; protocol v2 names the base seq, so each connection
 *     publishes on its own stream, one publish in flight per stream
 *   - trivial FCALL:   FCALL_RO relay_version (the cheapest function through the same Webdis)
 * and ioredis (one connection, N commands in flight = pipelined) does
 *   - PUBLISH of an envelope of the same size straight to Redis (the floor)
 *   - FCALL relay_publish / FCALL_RO relay_version straight to Redis (diagnostics:
 *     the Lua cost without HTTP)
 * CPU of redis-server and webdis during each run comes from /proc/<pid>/stat.
 * Scenario 9 (write-path.ts) measures one-waypoint edits (sealed patches) instead.
 */
import http from "node:http";
import { Redis } from "ioredis";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { blob, publishAck, publishArgs, publishBody, RawStream, sealedSizes } from "../lib/sealed.ts";
import { post } from "../lib/stack.ts";
import { CpuMeter, sleep } from "../lib/stats.ts";

interface RunResult {
  ops: number;
  errors: number;
  opsPerSec: number;
  cpuWebdisPerKop: number;
  cpuRedisPerKop: number;
  firstError?: string;
}

/** One call of a variant on connection `i`: undefined when it succeeded, else what went wrong. */
type Op = (i: number) => Promise<string | undefined>;

export async function throughput(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(1, "Publish throughput");
  const { stack, quick } = ctx;
  const conns = 32;
  // Short slices, interleaved over several rounds, so every variant sees the
  // same share of whatever else the box is doing (ratios hold better than totals).
  const seconds = quick ? 0.6 : 2;
  const warmSeconds = quick ? 0.2 : 0.5;
  const rounds = quick ? 3 : 5;

  // A whole ~1 KB plan each call, sealed (deflated first): Lua sees base64url of this length.
  const stateBytes = (await sealedSizes({ ...makePlan(1024, 7), rev: 123456789 })).state;
  const streams = await Promise.all(Array.from({ length: conns }, () => stack.startStream("tput")));
  const raws = streams.map((st) => new RawStream(st, stateBytes, stateBytes, true));
  sc.fig("state_bytes", "sealed state size per publish", stateBytes, "B");
  sc.fig("connections", "concurrent connections (one stream each)", conns, "conns");

  async function run(op: Op, secs: number): Promise<RunResult> {
    const meter = new CpuMeter({ webdis: stack.webdis.proc.pid, redis: stack.redis.pid });
    const t0 = performance.now();
    const end = t0 + secs * 1000;
    let ops = 0;
    let errors = 0;
    let firstError: string | undefined;
    await Promise.all(
      Array.from({ length: conns }, async (_, i) => {
        while (performance.now() < end) {
          const err = await op(i).catch((e: Error) => e.message);
          if (err === undefined) ops++;
          else {
            errors++;
            firstError ??= err;
          }
        }
      }),
    );
    const { wallMs, cpu } = meter.read();
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

  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const httpPublish: Op = async (i) => {
    const raw = raws[i] as RawStream;
    const { opId, args } = raw.next();
    const r = await post(agent, stack.webdis.port, publishBody(raw.stream, opId, args));
    if (r.status === 200 && raw.ack(args.kind, publishAck(r.text))) return undefined;
    return `${r.status} ${r.text.slice(0, 200)}`;
  };
  const httpVersion: Op = async () => {
    const r = await post(agent, stack.webdis.port, "FCALL_RO/relay_version/0");
    return r.status === 200 && r.text.startsWith('{"FCALL_RO":"') ? undefined : `${r.status} ${r.text.slice(0, 200)}`;
  };

  const redis = new Redis({ port: stack.redisPort, host: "127.0.0.1", lazyConnect: true, enableAutoPipelining: false });
  await redis.connect();
  const first = streams[0];
  const envelopeSize = `{"v":2,"t":"state","epoch":"${first?.epoch}","seq":1,"ts":${Date.now()},"k":"s","c":"${blob(stateBytes)}"}`;
  const respPublish: Op = async () => {
    await redis.publish(`bench-floor-${first?.channel}`, envelopeSize);
    return undefined;
  };
  const respFcall: Op = async (i) => {
    const raw = raws[i] as RawStream;
    const { opId, args } = raw.next();
    const reply = String(await redis.call("FCALL", ...publishArgs(raw.stream, opId, args)));
    return raw.ack(args.kind, publishAck(reply)) ? undefined : reply.slice(0, 200);
  };
  const respVersion: Op = async () => {
    await redis.call("FCALL_RO", "relay_version", "0");
    return undefined;
  };

  const variants: [string, (secs: number) => Promise<RunResult>][] = [
    ["checked", (s) => run(httpPublish, s)],
    ["trivial", (s) => run(httpVersion, s)],
    ["floor", (s) => run(respPublish, s)],
    ["resp_fcall", (s) => run(respFcall, s)],
    ["resp_version", (s) => run(respVersion, s)],
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
  agent.destroy();

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
    `${conns} keep-alive connections from one Node process (one stream each: a v2 publish names its base seq); each variant runs ${rounds} slices of ${seconds} s (after ${warmSeconds} s warm-up each), interleaved with the others, averaged; ` +
      "the load generator shares the 2 cores with redis-server and webdis, so absolute ops/s are a floor for this box.",
  );
  return sc;
}
