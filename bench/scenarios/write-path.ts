/**
 * 9. The write path of protocol v2 (issue 14), every figure next to its
 * baseline in the same run:
 *   a. Redis CPU per publish of a one-waypoint edit on a 1 KB and a 200 KB plan
 *      (sealed sizes; blobs over RESP, whole states when the server asks, so
 *      snapshots are in the average) vs a trivial FCALL_RO relay_version;
 *   b. Redis CPU of one whole 200 KB snapshot ("s");
 *   c. throughput through Webdis: checked edits (32 connections, a stream each)
 *      and 32 leaders of the client API in this process, vs the trivial FCALL;
 *   d. leader upload bytes per small edit of a 200 KB plan through the client
 *      (a counting fetch), over a whole snapshot cycle, and Redis memory of that
 *      stream after 100 edits;
 *   e. e2e publish -> follower on the subscription door's WebSocket vs raw
 *      Webdis PUBLISH -> WebSocket of a small message, interleaved in blocks;
 *   f. the browser bundle's gzip size and zod's share of it.
 */
import http from "node:http";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { baseKey, commandBody } from "../../src/core/wire.ts";
import { createRelay } from "../../src/node.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan, type Plan, rng, smallEdit } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { publishAck, publishArgs, publishBody, RawStream, sealedLength, sealedSizes } from "../lib/sealed.ts";
import { hex, post } from "../lib/stack.ts";
import { CpuMeter, cpuMs, mean, percentile, sleep, until } from "../lib/stats.ts";
import { bundle } from "./client.ts";

const PW = "bench-pw";

/** Redis's own time in a command family (INFO commandstats usec), e.g. "fcall". */
async function commandUsec(redis: Redis, cmd: string): Promise<{ calls: number; usec: number }> {
  const text = String(await redis.call("INFO", "commandstats"));
  const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+),usec=(\\d+)`).exec(text);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

interface CpuSample {
  calls: number;
  /** Redis process CPU (/proc, 10 ms ticks) per call, µs */
  procUs: number;
  /** Redis's time inside the command (INFO commandstats) per call, µs */
  cmdUs: number;
}

export async function writePath(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(9, "Write path of protocol v2 (issue 14): sealed edits end to end");
  const { stack, quick } = ctx;
  const log = (s: string) => ctx.log(`  ${s}`);
  // Development aid: BENCH_PARTS=d,e runs only those parts (a-f, as in the header).
  const parts = process.env.BENCH_PARTS?.split(",");
  const part = (p: string) => !parts || parts.includes(p);

  // --- f. browser bundle (no stack needed) ---
  if (part("f")) {
    const full = await bundle([]);
    const noZod = await bundle(["zod"]);
    sc.fig("bundle_gz", "browser bundle of src/index.ts, minified + gzip -9", full.gz / 1024, "KiB");
    sc.fig("bundle_min", "... minified", full.min / 1024, "KiB");
    sc.fig("bundle_nozod_gz", "... gzip with zod external", noZod.gz / 1024, "KiB");
    sc.fig("bundle_zod_gz", "zod's part of the gzip bundle", (full.gz - noZod.gz) / 1024, "KiB");
    sc.ratio("bundle_zod_share", "zod share of the gzip bundle", "bundle_zod_gz", "bundle_gz", "%");
    const gz = full.gz / 1024;
    sc.target("bundle", "client bundle <= 10 KB gzip", "<= 10 KiB", gz, "KiB", gz <= 10);
  }

  // Realistic sealed sizes: one-waypoint edits of a 1 KB and a 200 KB plan, and each plan whole.
  const plan1k = makePlan(1024, 7);
  const plan200k = makePlan(200_000, 21);
  const [s1k, s200k] = [await sealedSizes(plan1k, 16), await sealedSizes(plan200k, 16)];
  sc.fig("sealed_edit_1k", "sealed edit of the 1 KB plan, mean", mean(s1k.edits), "B");
  sc.fig("sealed_edit_200k", "sealed edit of the 200 KB plan, mean", mean(s200k.edits), "B");
  sc.fig("sealed_state_200k", "sealed 200 KB plan whole", s200k.state, "B");

  const redis = new Redis({ port: stack.redisPort, host: "127.0.0.1", enableAutoPipelining: false });
  try {
    // --- a. Redis CPU per publish: edits (with the snapshots the server asks for) vs trivial ---
    if (part("a")) {
      const inFlight = 4;
      // 1001 publishes per stream: with the default history (1000) a 200 KB plan's cycle is
      // 1000 changes + 1 whole state, so each round holds one snapshot per stream.
      const perStream = quick ? 300 : 1001;
      const rounds = quick ? 1 : 2;
      const mk = async (stateBytes: number, edits: number[]) => {
        const raws = await Promise.all(
          Array.from(
            { length: inFlight },
            async () => new RawStream(await stack.startStream("wcpu"), stateBytes, edits),
          ),
        );
        for (const raw of raws) await rawCall(raw); // each stream's first whole state
        return raws;
      };
      const rawCall = async (raw: RawStream) => {
        const { opId, args } = raw.next();
        const reply = String(await redis.call("FCALL", ...publishArgs(raw.stream, opId, args)));
        if (!raw.ack(args.kind, publishAck(reply))) throw new Error(`publish: ${reply.slice(0, 200)}`);
      };
      const e1k = await mk(s1k.state, s1k.edits);
      const e200k = await mk(s200k.state, s200k.edits);
      const measure = async (cmd: string, each: (i: number) => Promise<unknown>): Promise<CpuSample> => {
        const u0 = await commandUsec(redis, cmd);
        const c0 = cpuMs(stack.redis.pid);
        await Promise.all(
          Array.from({ length: inFlight }, async (_, i) => {
            for (let k = 0; k < perStream; k++) await each(i);
          }),
        );
        const c1 = cpuMs(stack.redis.pid);
        const u1 = await commandUsec(redis, cmd);
        const calls = inFlight * perStream;
        return { calls, procUs: ((c1 - c0) * 1000) / calls, cmdUs: (u1.usec - u0.usec) / (u1.calls - u0.calls) };
      };
      const acc: Record<string, CpuSample[]> = { trivial: [], e1k: [], e200k: [] };
      const wholeBefore = (raws: RawStream[]) => raws.reduce((a, r) => a + r.sent.s, 0);
      const w1k0 = wholeBefore(e1k);
      const w200k0 = wholeBefore(e200k);
      for (let round = 0; round < rounds; round++) {
        acc.trivial?.push(await measure("fcall_ro", () => redis.call("FCALL_RO", "relay_version", "0")));
        acc.e1k?.push(await measure("fcall", (i) => rawCall(e1k[i] as RawStream)));
        acc.e200k?.push(await measure("fcall", (i) => rawCall(e200k[i] as RawStream)));
      }
      const avg = (k: string, f: (s: CpuSample) => number) => mean((acc[k] ?? []).map(f));
      sc.fig(
        "cpu_trivial",
        "Redis CPU per trivial FCALL_RO relay_version (/proc)",
        avg("trivial", (s) => s.procUs),
        "µs",
      );
      sc.fig(
        "cpu_1k",
        "Redis CPU per edit publish, 1 KB plan (/proc)",
        avg("e1k", (s) => s.procUs),
        "µs",
      );
      sc.fig(
        "cpu_200k",
        "Redis CPU per edit publish, 200 KB plan (/proc)",
        avg("e200k", (s) => s.procUs),
        "µs",
      );
      sc.fig(
        "cmd_trivial",
        "Redis time inside the command, trivial (commandstats)",
        avg("trivial", (s) => s.cmdUs),
        "µs",
      );
      sc.fig(
        "cmd_1k",
        "Redis time inside the command, 1 KB edit (commandstats)",
        avg("e1k", (s) => s.cmdUs),
        "µs",
      );
      sc.fig(
        "cmd_200k",
        "Redis time inside the command, 200 KB edit (commandstats)",
        avg("e200k", (s) => s.cmdUs),
        "µs",
      );
      const calls = inFlight * perStream * rounds;
      sc.fig(
        "whole_share_1k",
        "whole states among the 1 KB plan's publishes",
        (100 * (wholeBefore(e1k) - w1k0)) / calls,
        "%",
      );
      sc.fig(
        "whole_share_200k",
        "whole states among the 200 KB plan's publishes",
        (100 * (wholeBefore(e200k) - w200k0)) / calls,
        "%",
      );
      const r1 = sc.ratio("cpu_1k_vs_trivial", "Redis CPU: 1 KB edit / trivial FCALL", "cpu_1k", "cpu_trivial");
      const r200 = sc.ratio("cpu_200k_vs_trivial", "Redis CPU: 200 KB edit / trivial FCALL", "cpu_200k", "cpu_trivial");
      sc.ratio("cmd_1k_vs_trivial", "in-command time: 1 KB edit / trivial", "cmd_1k", "cmd_trivial");
      sc.ratio("cmd_200k_vs_trivial", "in-command time: 200 KB edit / trivial", "cmd_200k", "cmd_trivial");
      sc.target(
        "cpu_1k",
        "Redis CPU per 1 KB-plan edit <= 2x trivial FCALL",
        "<= 2 x",
        r1,
        "x",
        r1 === null ? null : r1 <= 2,
      );
      sc.target(
        "cpu_200k",
        "Redis CPU per 200 KB-plan edit <= 3x trivial FCALL",
        "<= 3 x",
        r200,
        "x",
        r200 === null ? null : r200 <= 3,
      );
      sc.note(
        `Redis CPU: ${inFlight} streams, one publish in flight each (ioredis, RESP), ${perStream} publishes per stream per round, ${rounds} round(s) interleaved with the trivial FCALL at the same concurrency; ` +
          "sealed-size base64url blobs (Lua checks the form only), whole states whenever the server asks (so snapshots are in the averages).",
      );
      log(
        `redis CPU: trivial ${sc.get("cpu_trivial")?.toFixed(0)} µs, 1 KB ${sc.get("cpu_1k")?.toFixed(0)} µs, 200 KB ${sc.get("cpu_200k")?.toFixed(0)} µs`,
      );
    }

    // --- b. one whole 200 KB snapshot: as the client seals this plan (deflated), and incompressible ---
    if (part("b")) {
      const n = quick ? 20 : 50;
      const snapshot = async (bytes: number) => {
        const raws = await Promise.all(
          [0, 1].map(async () => new RawStream(await stack.startStream("wsnap"), bytes, [], true)),
        );
        const one = async (raw: RawStream) => {
          const { opId, args } = raw.next();
          const reply = String(await redis.call("FCALL", ...publishArgs(raw.stream, opId, args)));
          if (!raw.ack(args.kind, publishAck(reply))) throw new Error(`snapshot: ${reply.slice(0, 200)}`);
        };
        for (const raw of raws) await one(raw);
        const u0 = await commandUsec(redis, "fcall");
        const c0 = cpuMs(stack.redis.pid);
        for (let i = 0; i < n; i++) await one(raws[i % 2] as RawStream);
        const c1 = cpuMs(stack.redis.pid);
        const u1 = await commandUsec(redis, "fcall");
        return { cpu: (c1 - c0) / n, cmd: (u1.usec - u0.usec) / (u1.calls - u0.calls) / 1000 };
      };
      const real = await snapshot(s200k.state);
      const raw = await snapshot(sealedLength(200_000));
      sc.fig(
        "snap_cpu",
        `Redis CPU per whole 200 KB snapshot publish (${s200k.state} B sealed, /proc)`,
        real.cpu,
        "ms",
      );
      sc.fig("snap_cmd", "... time inside the command (commandstats)", real.cmd, "ms");
      sc.fig(
        "snap_raw_cpu",
        `... if the plan did not compress (${sealedLength(200_000)} B sealed, /proc)`,
        raw.cpu,
        "ms",
      );
      sc.fig("snap_raw_cmd", "... time inside the command (commandstats)", raw.cmd, "ms");
      sc.target(
        "snap_cpu",
        "Redis CPU of a full 200 KB snapshot publish <= 5 ms",
        "<= 5 ms",
        real.cpu,
        "ms",
        real.cpu <= 5,
        `${raw.cpu.toFixed(2)} ms if the plan did not compress`,
      );
      log(`snapshot: ${real.cpu.toFixed(2)} ms (incompressible: ${raw.cpu.toFixed(2)} ms)`);
    }
  } finally {
    redis.disconnect();
  }

  // --- c. throughput through Webdis: checked edits, the client API, trivial ---
  if (part("c")) {
    const conns = 32;
    const seconds = quick ? 0.6 : 1.5;
    const warm = quick ? 0.2 : 0.3;
    const rounds = quick ? 2 : 3;
    const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
    const raws = await Promise.all(
      Array.from({ length: conns }, async () => new RawStream(await stack.startStream("wtput"), s1k.state, s1k.edits)),
    );
    const relay = createRelay({ url: stack.webdis.url, heartbeatMs: 0 });
    const leaders = await Promise.all(
      Array.from({ length: conns }, () => relay.start(`wlead-${hex(5)}`, { password: PW, code: "bench-code" })),
    );
    const plans = leaders.map(() => plan1k);
    const editsOf = leaders.map(() => 0); // per leader, so each one cycles through move, rename, insert, delete
    const r = rng(3);
    type Op = (i: number) => Promise<boolean>;
    const checked: Op = async (i) => {
      const raw = raws[i] as RawStream;
      const { opId, args } = raw.next();
      const res = await post(agent, stack.webdis.port, publishBody(raw.stream, opId, args));
      return res.status === 200 && raw.ack(args.kind, publishAck(res.text));
    };
    const trivial: Op = async () => {
      const res = await post(agent, stack.webdis.port, "FCALL_RO/relay_version/0");
      return res.status === 200 && res.text.startsWith('{"FCALL_RO":"');
    };
    const client: Op = async (i) => {
      const n = editsOf[i] ?? 0;
      editsOf[i] = n + 1;
      const next = smallEdit(plans[i] as Plan, n, r);
      plans[i] = next;
      await leaders[i]?.publish(next);
      return true;
    };
    const run = async (op: Op, secs: number) => {
      const meter = new CpuMeter({ webdis: stack.webdis.proc.pid, redis: stack.redis.pid });
      const end = performance.now() + secs * 1000;
      let ops = 0;
      let errors = 0;
      await Promise.all(
        Array.from({ length: conns }, async (_, i) => {
          while (performance.now() < end) {
            if (await op(i).catch(() => false)) ops++;
            else errors++;
          }
        }),
      );
      const { wallMs, cpu } = meter.read();
      return { opsPerSec: (ops * 1000) / wallMs, errors, redisUs: ((cpu.redis ?? 0) * 1000) / Math.max(1, ops) };
    };
    const acc: Record<string, { opsPerSec: number; errors: number; redisUs: number }[]> = {};
    for (let round = 0; round < rounds; round++)
      for (const [name, op] of [
        ["checked", checked],
        ["client", client],
        ["trivial", trivial],
      ] as const) {
        await run(op, warm);
        await sleep(100);
        const res = await run(op, seconds);
        acc[name] = [...(acc[name] ?? []), res];
        log(`${name}: ${res.opsPerSec.toFixed(0)} ops/s, ${res.errors} errors`);
      }
    agent.destroy();
    await Promise.all(leaders.map((l) => l.stop().catch(() => {})));
    const avg = (k: string, f: (x: { opsPerSec: number; errors: number; redisUs: number }) => number) =>
      mean((acc[k] ?? []).map(f));
    sc.fig(
      "tput_checked",
      "checked edit publishes via Webdis (32 conns, a stream each)",
      avg("checked", (x) => x.opsPerSec),
      "ops/s",
    );
    sc.fig(
      "tput_client",
      "client API: 32 leaders, await publish(state) loops",
      avg("client", (x) => x.opsPerSec),
      "ops/s",
    );
    sc.fig(
      "tput_trivial",
      "trivial FCALL_RO relay_version via Webdis (32 conns)",
      avg("trivial", (x) => x.opsPerSec),
      "ops/s",
    );
    sc.fig(
      "tput_checked_redis",
      "Redis CPU per checked edit via Webdis",
      avg("checked", (x) => x.redisUs),
      "µs",
    );
    sc.fig(
      "tput_client_redis",
      "Redis CPU per client-API publish",
      avg("client", (x) => x.redisUs),
      "µs",
    );
    sc.fig(
      "tput_errors",
      "failed calls (all three)",
      Object.values(acc)
        .flat()
        .reduce((a, x) => a + x.errors, 0),
      "count",
    );
    const c = sc.ratio(
      "tput_checked_vs_trivial",
      "checked edit / trivial FCALL via Webdis",
      "tput_checked",
      "tput_trivial",
      "%",
    );
    const k = sc.ratio(
      "tput_client_vs_trivial",
      "client API / trivial FCALL via Webdis",
      "tput_client",
      "tput_trivial",
      "%",
    );
    sc.target(
      "tput_checked",
      "checked publish >= 80% of trivial FCALL through Webdis",
      ">= 80 %",
      c,
      "%",
      c === null ? null : c >= 80,
    );
    sc.target(
      "tput_client",
      "client API (32 leaders, one Node process) >= 50% of trivial FCALL through Webdis",
      ">= 50 %",
      k,
      "%",
      k === null ? null : k >= 50,
    );
    sc.note(
      `Throughput: ${rounds} rounds of ${seconds} s slices (after ${warm} s warm-up each), checked / client / trivial interleaved; 1 KB plan, one-waypoint edits; ` +
        "the load generator (and the 32 leaders' diff, SHA-1 and AES-GCM) shares the 2 cores with Redis and Webdis.",
    );
  }

  // --- d. leader upload bytes per edit of a 200 KB plan, and Redis memory of the busy stream ---
  if (part("d")) {
    const minEdits = quick ? 200 : 250;
    const maxEdits = quick ? 250 : 1100;
    const requests: { bytes: number; kind: string }[] = [];
    const counting: typeof fetch = (input, init) => {
      const body = init?.body;
      if (typeof body === "string" && body.startsWith("FCALL/relay_publish/")) {
        // FCALL/relay_publish/1/key/name/token/term/op/base/KIND/content (bench names have no "/")
        requests.push({ bytes: Buffer.byteLength(body), kind: body.split("/")[9] ?? "?" });
      }
      return fetch(input, init);
    };
    log("upload: 200 KB plan through the client");
    const relay = createRelay({ url: stack.webdis.url, heartbeatMs: 0, fetch: counting });
    const name = `wbytes-${hex(4)}`;
    const leader = await relay.start(name, { password: PW, code: "bench-code" });
    let plan = plan200k;
    await leader.publish(plan);
    const first = requests.length;
    const r = rng(5);
    const t0 = performance.now();
    let edits = 0;
    let memory: number | null = null;
    let stateAt100 = 0;
    const redis2 = new Redis({ port: stack.redisPort, host: "127.0.0.1" });
    try {
      for (;;) {
        plan = smallEdit(plan, edits, r);
        await leader.publish(plan);
        edits++;
        if (edits % 100 === 0) log(`upload: ${edits} edits, ${requests.length - first} requests`);
        if (edits === 100) {
          // MEMORY USAGE of every key of this stream (SAMPLES 0: every list element counted)
          const keys: string[] = [];
          let cursor = "0";
          do {
            const [next, batch] = (await redis2.scan(cursor, "MATCH", `${baseKey(name)}:*`, "COUNT", 1000)) as [
              string,
              string[],
            ];
            cursor = next;
            keys.push(...batch);
          } while (cursor !== "0");
          memory = 0;
          for (const key of keys) memory += Number(await redis2.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
          stateAt100 = JSON.stringify(plan).length;
        }
        const wholes = requests.slice(first).filter((q) => q.kind === "s").length;
        if ((edits >= minEdits && wholes >= 1) || edits >= maxEdits) break;
      }
    } finally {
      redis2.disconnect();
    }
    const secs = (performance.now() - t0) / 1000;
    await leader.stop().catch(() => {});
    const sent = requests.slice(first);
    const stateBytes = JSON.stringify(plan).length;
    const wholes = sent.filter((q) => q.kind === "s");
    sc.fig("up_state", "200 KB plan JSON", stateBytes, "B");
    sc.fig("up_edits", "edits published through the client", edits, "edits");
    sc.fig("up_wholes", "of which sent whole (the server asked for a snapshot)", wholes.length, "publishes");
    sc.fig(
      "up_mean",
      "leader request body bytes per edit, mean over all edits",
      sent.reduce((a, q) => a + q.bytes, 0) / edits,
      "B",
    );
    sc.fig(
      "up_patch",
      "... a patch request alone, mean",
      mean(sent.filter((q) => q.kind === "p").map((q) => q.bytes)),
      "B",
    );
    sc.fig("up_whole", "... a whole-state request", mean(wholes.map((q) => q.bytes)), "B");
    sc.fig("up_edit_ms", "client time per 200 KB-plan edit (publish to ack)", (secs * 1000) / edits, "ms");
    const u = sc.ratio("up_vs_state", "leader upload per edit / plan JSON", "up_mean", "up_state", "%");
    sc.target(
      "upload",
      "leader upload per small edit of a 200 KB plan <= 1% of the state",
      "<= 1 %",
      u,
      "%",
      u === null ? null : u <= 1,
      wholes.length ? undefined : `no snapshot within ${edits} edits: the mean holds no whole state`,
    );
    sc.fig("mem_stream", "Redis MEMORY USAGE of the stream's keys after 100 edits", memory, "B");
    sc.fig("mem_state", "plan JSON at that point", stateAt100 || null, "B");
    const mr = sc.ratio("mem_vs_state", "stream memory / plan JSON", "mem_stream", "mem_state");
    sc.target(
      "memory",
      "Redis memory of a busy stream (200 KB plan, 100 edits) <= 3x the state",
      "<= 3 x",
      mr,
      "x",
      mr === null ? null : mr <= 3,
    );
    sc.note(
      `Upload: the real client with a counting fetch (request bodies of relay_publish), the first whole state excluded; edits until a snapshot cycle closed (>= ${minEdits}, at most ${maxEdits}).`,
    );
  }

  // --- e. e2e: publish -> follower (WebSocket, subscription door) vs Webdis PUBLISH -> WebSocket ---
  if (part("e")) {
    const block = 50;
    const blocks = quick ? 2 : 6;
    const warm = 30;
    log("e2e: starting the subscription door");
    const door = await stack.wsWebdis();
    const relay = createRelay({
      url: stack.webdis.url,
      subscribeUrl: door.url,
      transports: ["websocket"],
      heartbeatMs: 0,
    });
    const name = `wlat-${hex(4)}`;
    const leader = await relay.start(name, { password: PW, code: "bench-code" });
    const follower = await relay.connect(name, { password: PW });
    const acl = [
      { disabled: ["*"] },
      { enabled: ["FCALL", "FCALL_RO", "SUBSCRIBE", "UNSUBSCRIBE", "PING", "PUBLISH"] },
    ];
    const wd = await stack.startWebdis("wpublish", { acl, websockets: true });
    const ws = new WebSocket(`ws://127.0.0.1:${wd.port}/.json`, { origin: wd.url });
    let want = -1;
    let got: ((t: number) => void) | undefined;
    const arrived = (rev: number) => {
      if (rev === want && got) {
        const g = got;
        got = undefined;
        g(performance.now());
      }
    };
    const waitFor = (rev: number) =>
      new Promise<number>((resolve, reject) => {
        want = rev;
        const t = setTimeout(() => reject(new Error(`rev ${rev} not received within 5 s`)), 5_000);
        got = (at) => {
          clearTimeout(t);
          resolve(at);
        };
      });
    try {
      await until("follower live", () => follower.status === "live", 10_000);
      log("e2e: follower live");
      if (follower.transport !== "websocket") throw new Error(`follower uses ${follower.transport}`);
      follower.on("state", (u) => arrived((u.state as { rev?: number }).rev ?? -1));
      const ch = `wlat-${hex(8)}`;
      let subscribed = false;
      ws.on("message", (data) => {
        const body = (JSON.parse(String(data)) as { SUBSCRIBE?: [string, string, unknown] }).SUBSCRIBE;
        if (body?.[0] === "subscribe") subscribed = true;
        else if (body?.[0] === "message") arrived((JSON.parse(String(body[2])) as { rev: number }).rev);
      });
      await new Promise<void>((res, rej) => {
        ws.once("open", () => res());
        ws.once("error", rej);
      });
      ws.send(JSON.stringify(["SUBSCRIBE", ch]));
      await until("webdis subscribe", () => subscribed, 5_000);
      let rev = 0;
      const relayOnce = async () => {
        const at = waitFor(++rev);
        const t0 = performance.now();
        leader.publish({ ...plan1k, rev }).catch(() => {});
        return (await at) - t0;
      };
      const rawOnce = async () => {
        const at = waitFor(++rev);
        const t0 = performance.now();
        const body = commandBody("PUBLISH", [ch, JSON.stringify({ rev, pad: "xxxxxxxxxxxx" })]);
        void fetch(`${wd.url}/`, { method: "POST", body }).then((res) => res.text());
        return (await at) - t0;
      };
      const xs = { relay: [] as number[], raw: [] as number[] };
      for (let i = 0; i < warm; i++) {
        await relayOnce();
        await rawOnce();
      }
      for (let b = 0; b < blocks; b++)
        for (const [k, once] of [
          ["relay", relayOnce],
          ["raw", rawOnce],
        ] as const)
          for (let i = 0; i < block; i++) {
            xs[k].push(await once());
            await sleep(2);
          }
      sc.fig("e2e_relay_p50", "e2e leader.publish -> follower (WebSocket, door) p50", percentile(xs.relay, 50), "ms");
      sc.fig("e2e_relay_p99", "e2e leader.publish -> follower (WebSocket, door) p99", percentile(xs.relay, 99), "ms");
      sc.fig("e2e_raw_p50", "raw Webdis PUBLISH -> WebSocket, small message p50", percentile(xs.raw, 50), "ms");
      sc.fig("e2e_raw_p99", "raw Webdis PUBLISH -> WebSocket, small message p99", percentile(xs.raw, 99), "ms");
      const p50 = sc.ratio("e2e_p50", "e2e p50: relay / raw Webdis", "e2e_relay_p50", "e2e_raw_p50");
      const p99 = sc.ratio("e2e_p99", "e2e p99: relay / raw Webdis", "e2e_relay_p99", "e2e_raw_p99");
      sc.target(
        "e2e_p50",
        "e2e p50 <= 1.5x raw Webdis PUBLISH -> WebSocket",
        "<= 1.5 x",
        p50,
        "x",
        p50 === null ? null : p50 <= 1.5,
      );
      sc.target(
        "e2e_p99",
        "e2e p99 <= 2x raw Webdis PUBLISH -> WebSocket",
        "<= 2 x",
        p99,
        "x",
        p99 === null ? null : p99 <= 2,
      );
      sc.note(
        `e2e: ~1 KB plan, one publish in flight, ${warm} warm-up pairs, then ${blocks} blocks of ${block} samples per side, alternating; ` +
          `the relay's follower is on the ${stack.wsLabel} (PUBLISH reaches it through replication), the raw baseline on a bench-only Webdis with PUBLISH on the primary.`,
      );
    } finally {
      ws.terminate();
      follower.disconnect();
      await leader.stop().catch(() => {});
      await wd.proc.stop("SIGKILL");
    }
  }
  return sc;
}
