/**
 * Where does relay_publish spend its time? Loads variants of the function
 * library (a temp copy of lua/ with one change each; lua/ itself is never
 * touched) into a private redis-server and measures FCALL relay_publish
 * straight over RESP (ioredis, 32 in flight) and Redis CPU per call.
 *
 *   npx tsx bench/experiments/lua-cost.ts [stateBytes ...]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { baseKey } from "../../src/core/wire.ts";
import { bundleLua, luaDir } from "../../src/server/lua.ts";
import { freePort, startRedis } from "../../src/server/native.ts";
import { makePlan } from "../lib/plan.ts";
import { hex } from "../lib/stack.ts";
import { cpuMs } from "../lib/stats.ts";

type Edit = [file: string, from: string, to: string];
const VARIANTS: [string, Edit[]][] = [
  ["as is (working tree)", []],
  ["no strict_json (cjson.decode + valid_utf8 kept)", [["lib/4_json.lua", "or not strict_json(state) then", "then"]]],
  [
    "no cjson.decode (strict_json kept)",
    [["lib/4_json.lua", "local ok, decoded = pcall(cjson.decode, state)", "local ok, decoded = true, {}"]],
  ],
  ["no check_state at all", [["publish.lua", "  check_state(state, cfg)\n", "\n"]]],
  [
    "strict_json without its per-token loop (share of the loop)",
    [
      [
        "lib/4_json.lua",
        `  for tok in bare:gmatch('[^%s{}%[%]:,]+') do
    if not strict_scalar(tok) then return false end
  end`,
        "",
      ],
    ],
  ],
  [
    "strict_json fast path when the state has no byte < 0x20",
    [
      ["lib/4_json.lua", "local function strict_json(s)", "local function strict_json_full(s)"],
      [
        "lib/4_json.lua",
        "\n-- A state is one JSON object",
        `
-- JSON.stringify output has no byte below 0x20 (it escapes them and adds no
-- layout), so the raw-control-character checks cannot fail and strings can be
-- dropped outright (cjson.decode already accepted the structure, so no two
-- tokens meet where a string was): only numbers and literals are left to check.
local function strict_json(s)
  if s:find('[%z\\1-\\31]') then return strict_json_full(s) end
  local bare = s:gsub('\\\\.', ''):gsub('"[^"]*"', '')
  for tok in bare:gmatch('[^%s{}%[%]:,]+') do
    if not strict_scalar(tok) then return false end
  end
  return true
end

-- A state is one JSON object`,
      ],
    ],
  ],
  ["no sweep in publish", [["publish.lua", "  sweep(cfg, now)\n", "\n"]]],
  [
    "strict_json fast: strings dropped (not '0' tokens), tab check only if any",
    [
      [
        "lib/4_json.lua",
        `  local ok = true
  local bare = s:gsub('\\\\.', ''):gsub('"[^"]*"', function(str)
    if str:find('[\\t\\n\\r]') then ok = false end -- raw tab/newline inside a string
    return '0'
  end)
  if not ok then return false end`,
        `  local nostr = s:gsub('\\\\.', '')
  if nostr:find('[\\t\\n\\r]') then
    local ok = true
    nostr:gsub('"[^"]*"', function(str) if str:find('[\\t\\n\\r]') then ok = false end end)
    if not ok then return false end
  end
  -- cjson.decode already accepted the structure, so no two tokens can meet
  -- where a string was: dropping strings leaves only numbers and literals.
  local bare = nostr:gsub('"[^"]*"', '')`,
      ],
    ],
  ],
];

async function main() {
  const args = process.argv.slice(2);
  const filter = args.find((a) => a.startsWith("--only="))?.slice(7);
  const rounds = Number(args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 2);
  const sizes = args.map(Number).filter((n) => n > 0);
  if (!sizes.length) sizes.push(1024, 200_000);
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
          writeFileSync(p, src.replace(from, to));
        }
        if (!applied) {
          console.log(`${label}: edit does not apply to the current lua/ (skipped)`);
          continue;
        }
        await redis.call("FUNCTION", "LOAD", "REPLACE", bundleLua(copy));
        {
          // Same verdicts as before? Lenient JSON that cjson takes must still be refused.
          const name = `check-${hex(4)}`;
          const token = hex(24);
          await redis.call("FCALL", "relay_start", "1", baseKey(name), name, hex(32), hex(32), hex(24), token);
          const bad = [
            '{"a":01}',
            '{"a":NaN}',
            '{"a":"x\ty"}',
            '{"a":+1}',
            '{"a":0x10}',
            '{"a":-Infinity}',
            '{"a":"\u0001"}'.replace("\\u0001", "\u0001"),
            '{"a":[1,2,]}',
          ];
          const good = ['{"a":[1,-2.5e3,"q\\"x",true,null,{}],"b":"\\n 0x1 NaN"}', '{\n  "a": 1\n}'];
          const verdict = async (state: string) =>
            redis.call("FCALL", "relay_publish", "1", baseKey(name), name, token, "1", hex(16), state).then(
              () => true,
              () => false,
            );
          const badOk = (await Promise.all(bad.map(verdict))).every((v) => !v);
          const goodOk = (await Promise.all(good.map(verdict))).every((v) => v);
          if (round === 1)
            console.log(
              `${label}: refuses all ${bad.length} lenient states: ${badOk}; accepts all ${good.length} strict ones: ${goodOk}`,
            );
        }
        for (const size of sizes) {
          const name = `cost-${hex(4)}`;
          const key = baseKey(name);
          const token = hex(24);
          const r = JSON.parse(
            String(await redis.call("FCALL", "relay_start", "1", key, name, hex(32), hex(32), hex(24), token)),
          ) as { term: number };
          const [head, tail] = JSON.stringify({ ...makePlan(size, 3), rev: 123456789 }).split("123456789") as [
            string,
            string,
          ];
          let n = 0;
          const call = () => {
            n++;
            return redis.call(
              "FCALL",
              "relay_publish",
              "1",
              key,
              name,
              token,
              String(r.term),
              `${hex(8)}${n.toString(16).padStart(16, "0")}`,
              `${head}${n}${tail}`,
            );
          };
          const secs = 3;
          // warm-up, then measure
          for (let i = 0; i < 50; i++) await call();
          const c0 = cpuMs(redisProc.pid);
          const t0 = performance.now();
          let ops = 0;
          await Promise.all(
            Array.from({ length: 32 }, async () => {
              while (performance.now() - t0 < secs * 1000) {
                await call();
                ops++;
              }
            }),
          );
          const wall = performance.now() - t0;
          const cpu = cpuMs(redisProc.pid) - c0;
          console.log(
            `${label.padEnd(60)} state ${String(size).padStart(7)} B: ${((ops * 1000) / wall).toFixed(0).padStart(6)} calls/s, redis CPU ${((cpu * 1000) / ops).toFixed(0).padStart(5)} us/call`,
          );
          await redis.call("DEL", `${key}:meta`, `${key}:state`, `${key}:log`);
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
