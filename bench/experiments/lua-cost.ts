/**
 * Where does relay_publish spend its time? Loads variants of the function
 * library (a temp copy of lua/ with one change each; lua/ itself is never
 * touched) into a private redis-server and measures FCALL relay_publish
 * straight over RESP (ioredis, 32 streams, one publish in flight each) and
 * Redis CPU per call, for sealed content of realistic sizes (protocol v2: Lua
 * checks its form only, so random base64url of the right length stands in).
 *
 *   npx tsx bench/experiments/lua-cost.ts [--only=as is] [--rounds=2]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { baseKey } from "../../src/core/wire.ts";
import { bundleLua, luaDir } from "../../src/server/lua.ts";
import { freePort, startRedis } from "../../src/server/native.ts";
import { makePlan } from "../lib/plan.ts";
import { publishAck, publishArgs, RawStream, sealedLength, sealedSizes } from "../lib/sealed.ts";
import { hex } from "../lib/stack.ts";
import { cpuMs } from "../lib/stats.ts";

type Edit = [file: string, from: string, to: string];
const VARIANTS: [string, Edit[]][] = [
  ["as is (working tree)", []],
  [
    "no check_sealed (the content's form check)",
    [["publish.lua", "    check_sealed(content, cfg, kind == 's' and 'state' or 'change')\n", "\n"]],
  ],
  ["check_sealed: explicit ranges instead of %w", [["lib/4_json.lua", "'^[%w_%-]*$'", "'^[A-Za-z0-9_%-]*$'"]]],
  [
    "touch without its 3 PEXPIREs",
    [
      [
        "lib/6_expiry.lua",
        "  redis.call('PEXPIRE', k.meta, ttl)\n  redis.call('PEXPIRE', k.snap, ttl)\n  redis.call('PEXPIRE', k.log, ttl)\n",
        "\n",
      ],
    ],
  ],
  ["no op-id window (remember_op)", [["publish.lua", "'ops', remember_op(m, op, seq),", ""]]],
  ["no leader check (check_leader)", [["publish.lua", "  check_leader(m, term, argv[2])\n", "\n"]]],
  [
    "config() without HGETALL relay:config",
    [["lib/1_config.lua", "local raw = redis.call('HGETALL', CONFIG)", "local raw = {}"]],
  ],
  ["no sweep in publish", [["publish.lua", "  sweep(cfg, now)\n", "\n"]]],
  ["no touch in publish", [["publish.lua", "  touch(argv[1], k, cfg, now)\n", "\n"]]],
];

/** What one run publishes: sealed content of `stateBytes` whole ("s") or `changeBytes` changes ("p", "s" when asked). */
type Load = [label: string, stateBytes: number, changeBytes: number[], whole: boolean];
async function loads(): Promise<Load[]> {
  const [k1, k200] = [await sealedSizes(makePlan(1024, 7), 16), await sealedSizes(makePlan(200_000, 21), 16)];
  return [
    ["edit of a 1 KB plan", k1.state, k1.edits, false],
    ["edit of a 200 KB plan", k200.state, k200.edits, false],
    ["whole 1 KB plan (s)", k1.state, [], true],
    [`whole 200 KB plan (s, ${k200.state} B sealed)`, k200.state, [], true],
    ["whole 200 KB, incompressible (s)", sealedLength(200_000), [], true],
  ];
}

async function main() {
  const args = process.argv.slice(2);
  const filter = args.find((a) => a.startsWith("--only="))?.slice(7);
  const rounds = Number(args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 2);
  const LOADS = await loads();
  const dir = mkdtempSync(join(tmpdir(), "relay-luacost-"));
  const port = await freePort();
  const redisProc = await startRedis({ port, dir: join(dir, "redis"), aof: true });
  const redis = new Redis({ port, host: "127.0.0.1" });
  try {
    for (let round = 1; round <= rounds; round++)
      for (const [label, edits] of VARIANTS) {
        if (filter && !filter.split(",").some((f) => label.includes(f))) continue;
        const copy = join(dir, `lua-${Math.random().toString(36).slice(2)}`);
        cpSync(luaDir(), copy, { recursive: true });
        let applied = true;
        for (const [file, from, to] of edits) {
          const p = join(copy, file);
          const src = readFileSync(p, "utf8");
          if (!src.includes(from)) applied = false;
          writeFileSync(
            p,
            src.replace(from, () => to),
          ); // a function: `to` may hold "$'"
        }
        if (!applied) {
          console.log(`${label}: edit does not apply to the current lua/ (skipped)`);
          continue;
        }
        await redis.call("FUNCTION", "LOAD", "REPLACE", bundleLua(copy));
        for (const [load, stateBytes, changeBytes, whole] of LOADS) {
          // 32 streams, one publish in flight each (a v2 publish names its base seq).
          const streams = await Promise.all(
            Array.from({ length: 32 }, async () => {
              const name = `cost-${hex(4)}`;
              const key = baseKey(name);
              const token = hex(24);
              const r = JSON.parse(
                String(await redis.call("FCALL", "relay_start", "1", key, name, hex(32), hex(32), hex(24), token)),
              ) as { term: number; epoch: string; channel: string };
              const handle = { name, key, token, term: r.term, epoch: r.epoch, channel: r.channel, pw: "", code: "" };
              return new RawStream(handle, stateBytes, changeBytes, whole);
            }),
          );
          const call = async (raw: RawStream) => {
            const { opId, args: a } = raw.next();
            const reply = String(await redis.call("FCALL", ...publishArgs(raw.stream, opId, a)));
            if (!raw.ack(a.kind, publishAck(reply))) throw new Error(reply);
          };
          // warm-up (also each stream's first whole state), then measure; big ones are capped in count
          for (const raw of streams) await call(raw);
          const maxCalls = whole ? Math.max(200, Math.floor(60e6 / stateBytes)) : Number.POSITIVE_INFINITY;
          const secs = 3;
          const c0 = cpuMs(redisProc.pid);
          const t0 = performance.now();
          let ops = 0;
          await Promise.all(
            streams.map(async (raw) => {
              while (performance.now() - t0 < secs * 1000 && ops < maxCalls) {
                await call(raw);
                ops++;
              }
            }),
          );
          const wall = performance.now() - t0;
          const cpu = cpuMs(redisProc.pid) - c0;
          const wholes = streams.reduce((a, r) => a + r.sent.s, 0);
          console.log(
            `${label.padEnd(44)} ${load.padEnd(40)}: ${((ops * 1000) / wall).toFixed(0).padStart(6)} calls/s, redis CPU ${((cpu * 1000) / ops).toFixed(0).padStart(5)} us/call (${ops} calls, ${wholes} whole)`,
          );
          for (const raw of streams) {
            const k = raw.stream.key;
            await redis.call("DEL", `${k}:meta`, `${k}:snap`, `${k}:log`);
            await redis.call("ZREM", "relay:index", raw.stream.name);
            await redis.call("ZREM", "relay:deadline", raw.stream.name);
          }
        }
      }
  } finally {
    redis.disconnect();
    await redisProc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
