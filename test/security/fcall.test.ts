/**
 * FCALL is a door too: Webdis's ACL sees only the command name, so a caller
 * picks the function, the keys and the arguments. Fuzzing with fast-check:
 * before and after every attack we dump every key of every database (type +
 * DUMP payload); a refused call must leave it byte-for-byte the same (the one
 * deliberate exception is the failed-secret counter), and both servers must
 * still answer. Then the holes this suite found, one test each. Runs are
 * bounded by count and by time, so a busy machine runs fewer cases instead of
 * timing out, but never fewer than a floor (see fuzz()).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openChange, patchChange, sealChange, wholeState } from "../../src/core/content.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import type { SealedEnvelope } from "../../src/core/wire.ts";
import { createRelay, type Leader } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";
import {
  baseKeyBytes,
  bothAlive,
  changedKeys,
  closeSnapshots,
  codeOf,
  http,
  rawFcall,
  redisDb,
  sealedOf,
  snapshot,
} from "./support.ts";

let stack: Stack;
const leaders: Leader[] = [];
const victims: string[] = [];
const pw = "victim password";
const code = "victim code";

/**
 * A stream the attacker owns (started with raw FCALL), so its token is known and
 * publish reaches the content checks. Its password verifier and content key come
 * from a real password, so the test can seal content as a client does. `seq` is
 * the stream's seq as last seen (a publish must name it as its base).
 */
const own = {
  name: "",
  token: randomHex(24),
  code: randomHex(32),
  pw: "",
  key: undefined as unknown as CryptoKey,
  channel: "",
  epoch: "",
  seq: 0,
};

const OUR_FUNCTIONS = [
  "relay_start",
  "relay_reconnect",
  "relay_stop",
  "relay_connect",
  "relay_publish",
  "relay_heartbeat",
  "relay_heal",
  "relay_list",
  "relay_version",
];
const READ_ONLY = new Set(["relay_list", "relay_version"]);
const FOREIGN_KEYS = ["victim:plain", "victim:hash", "victim:list", "relay:index", "relay:deadline", "relay:config"];

beforeAll(async () => {
  stack = await startStack();
  const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
  for (let i = 0; i < 2; i++) {
    const name = uniqueName("victim");
    const l = await relay.start(name, { password: pw, code });
    await l.publish({ secret: `state ${i}`, list: [1, 2, 3] });
    leaders.push(l);
    victims.push(name);
  }
  await stack.redis("SET", "victim:plain", "do not touch");
  await stack.redis("HSET", "victim:hash", "f", "v");
  await stack.redis("RPUSH", "victim:list", "a", "b");
  const db2 = redisDb(stack, 2);
  await db2.set("victim:other-db", "x");
  db2.disconnect();
  own.name = uniqueName("own");
  const keys = await derivePasswordKeys(own.name, "own password");
  own.pw = keys.verifier;
  own.key = keys.content;
  const r = await rawFcall(
    stack,
    "relay_start",
    [baseKeyBytes(own.name)],
    [own.name, own.pw, own.code, randomHex(24), own.token],
  );
  expect(r.ok, r.error).toBe(true);
  ({ channel: own.channel, epoch: own.epoch } = JSON.parse(String(r.value)));
});

afterAll(async () => {
  for (const l of leaders) l.close();
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

// ---- arbitraries -----------------------------------------------------------

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const controlChars = fc.constantFrom(
  "\u0000",
  "\u0001",
  "\n",
  "\r",
  "\t",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009b",
  "\u2028",
  "\u202e",
);
const withControl = fc
  .tuple(fc.string({ maxLength: 20 }), controlChars, fc.string({ maxLength: 20 }))
  .map(([a, c, b]) => a + c + b);
const nonUtf8 = fc.constantFrom(
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0x80]), // overlong NUL
  Buffer.from([0xed, 0xa0, 0x80]), // surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // > U+10FFFF
  Buffer.from([0x61, 0xe2, 0x82]), // cut short
  Buffer.from([0x80, 0x61]),
);
const huge = fc.integer({ min: 1_048_577, max: 1_250_000 }).map((n) => "a".repeat(n));

const anyArg: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 2, arbitrary: bytes(0, 40) },
  { weight: 2, arbitrary: withControl },
  { weight: 1, arbitrary: nonUtf8 },
  { weight: 2, arbitrary: hex(64) },
  { weight: 1, arbitrary: hex(48) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("-", "0", "1", "-1", "99999999999999999999", "1e3", "{}", '{"a":1}', "[]", "s", "p"),
  },
  // Sealed-looking content (base64url, 38+ bytes): reaches the checks after the form.
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{38,80}$/) },
  { weight: 1, arbitrary: fc.nat().map((i) => victims[i % Math.max(1, victims.length)] ?? "x") },
  { weight: 1, arbitrary: fc.string({ minLength: 201, maxLength: 400 }) },
);
/** Mostly small arguments, now and then one over 1 MiB. */
const anyArgOrHuge = fc.oneof({ weight: 30, arbitrary: anyArg }, { weight: 1, arbitrary: huge });

const fnName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...OUR_FUNCTIONS) },
  { weight: 1, arbitrary: fc.constantFrom("evil", "relay", "RELAY_START", "relay_start ", "redis", "", "__init__") },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: bytes(1, 10) },
);

// ---- helpers -----------------------------------------------------------------

/**
 * Replays a failure CI reported: FC_SEED=<seed> FC_PATH=<path> npx vitest run
 * test/security/fcall.test.ts -t '<the test's name>' (only that property: the seed is
 * the whole run's).
 */
function replay(): { seed?: number; path?: string } {
  const seed = process.env.FC_SEED;
  if (seed === undefined) return {};
  return { seed: Number(seed), ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };
}

/** Fails with the seed, path and cause only: counterexamples hold megabytes of bytes. */
function shortReport<Ts>(out: fc.RunDetails<Ts>): void {
  if (!out.failed) return;
  const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  throw new Error(
    `property failed after ${out.numRuns} runs (seed ${out.seed}, path "${out.counterexamplePath}"; replay: FC_SEED=${out.seed} FC_PATH=${out.counterexamplePath}): ${cause.slice(0, 600)}`,
  );
}

/**
 * Runs a property for up to `numRuns` cases or `timeLimitMs`, whichever comes
 * first (a busy machine runs fewer cases instead of timing out), prints how
 * many ran, and fails on a counterexample or when fewer than `floor` ran:
 * a time cap alone would let a stalled run pass after a handful of cases.
 * Floors: about a third to a half of numRuns; unloaded, every property runs
 * all its cases in a fifth of its time limit or less, so only a box over ten
 * times slower than that falls below a floor.
 */
async function fuzz<Ts>(
  what: string,
  property: fc.IAsyncProperty<Ts>,
  { numRuns, timeLimitMs, floor }: { numRuns: number; timeLimitMs: number; floor: number },
): Promise<void> {
  const started = Date.now();
  const out = await fc.check(property, { numRuns, interruptAfterTimeLimit: timeLimitMs, ...replay() });
  shortReport(out);
  console.log(`[fuzz] ${what}: ${out.numRuns}/${numRuns} runs in ${Date.now() - started} ms (floor ${floor})`);
  expect(out.numRuns, `${what}: only ${out.numRuns} runs in ${timeLimitMs} ms`).toBeGreaterThanOrEqual(floor);
}

/** Keys that may change on a wrong secret: the rate-limit counters, nothing else. */
const isCounter = (k: string) => /:(code_)?fails$/.test(k);

async function attack(
  fn: string | Buffer,
  keys: (string | Buffer)[],
  args: (string | Buffer)[],
  opts: { command?: string; numkeys?: string } = {},
) {
  const before = await snapshot(stack);
  const r = await rawFcall(stack, fn, keys, args, opts).catch((e: Error) => ({
    status: 0,
    ok: false,
    value: undefined,
    error: `network ${e.message}`,
  }));
  const changed = changedKeys(before, await snapshot(stack));
  await bothAlive(stack);
  return { ...r, changed, code: codeOf(r.error) };
}

function expectRefusedAndUnchanged(r: Awaited<ReturnType<typeof attack>>, what: string) {
  expect(r.ok, `${what} should be refused`).toBe(false);
  if (r.code === "BAD_PASSWORD" || r.code === "BAD_CODE") {
    expect(
      r.changed.filter((k) => !isCounter(k)),
      what,
    ).toEqual([]);
  } else {
    expect(r.changed, `${what} (${r.error})`).toEqual([]);
  }
}

// ---- properties --------------------------------------------------------------

describe("FCALL fuzzing", () => {
  it("random functions, key lists, argument counts and bytes: refused calls change nothing", async () => {
    const keyArb = fc.oneof(
      fc.constantFrom(...FOREIGN_KEYS),
      fc.constantFrom(...victims.map((v) => baseKeyBytes(v))),
      anyArg,
    );
    await fuzz(
      "random calls",
      fc.asyncProperty(
        fnName,
        fc.constantFrom("FCALL", "FCALL_RO"),
        fc.array(keyArb, { maxLength: 3 }),
        fc.array(anyArgOrHuge, { maxLength: 7 }),
        fc.option(fc.constantFrom("-1", "99", "abc", "", "1e3", "0x1"), { freq: 4 }),
        async (fn, command, keys, args, numkeys) => {
          const r = await attack(fn, keys, args, { command, numkeys: numkeys ?? undefined });
          if (r.ok) {
            // Only a read-only function can succeed with made-up arguments.
            expect(READ_ONLY.has(String(fn)), `${String(fn)} succeeded: ${String(r.value).slice(0, 100)}`).toBe(true);
            expect(r.changed).toEqual([]);
          } else {
            expectRefusedAndUnchanged(r, `${command} ${String(fn)}`);
          }
        },
      ),
      { numRuns: 100, timeLimitMs: 25_000, floor: 30 },
    );
  }, 60_000);

  /**
   * A valid-shaped call: its keys and arguments, optional trailing arguments
   * it may leave out, and which arguments are hex / integers.
   */
  type Template = {
    keys: (string | Buffer)[];
    args: (string | Buffer)[];
    optional?: (string | Buffer)[];
    hexAt: number[];
    intAt: number[];
  };

  /** A valid-shaped call per operation against a live stream, as [function, keys, args]. */
  function templates(): Record<string, Template> {
    const v = victims[0] as string;
    const vk = baseKeyBytes(v);
    const ok = baseKeyBytes(own.name);
    return {
      relay_start: {
        keys: [baseKeyBytes("fresh")],
        args: ["fresh", randomHex(32), randomHex(32), randomHex(24), randomHex(24)],
        hexAt: [1, 2, 3, 4],
        intAt: [],
      },
      relay_reconnect: {
        keys: [vk],
        args: [v, randomHex(32), randomHex(24), "-", randomHex(32)],
        hexAt: [1, 2, 4],
        intAt: [],
      },
      // ARGV[3] (the code pass) may be left out: [name, verifier, "-"] is a valid call (then
      // BAD_CODE is the right answer), so "one argument more" must go past it.
      relay_stop: { keys: [vk], args: [v, randomHex(32)], optional: ["-"], hexAt: [1], intAt: [] },
      // ARGV[5] (the pass) may be left out: one more than 4 can be a valid call.
      relay_connect: { keys: [vk], args: [v, randomHex(32), "-", "0"], optional: ["-"], hexAt: [1], intAt: [3] },
      // ARGV[4..5] (the leader's epoch and seq) may be left out.
      relay_heartbeat: { keys: [ok], args: [own.name, own.token, "1"], optional: ["-", "-"], hexAt: [1], intAt: [2] },
      relay_publish: {
        keys: [ok],
        // Valid as it stands (the token, term and base are right): every mutation must break it.
        args: [own.name, own.token, "1", randomHex(16), String(own.seq), "s", sealedOf(64)],
        // ARGV[8] (the leader's epoch) may be left out.
        optional: ["-"],
        hexAt: [1, 3],
        intAt: [2, 4],
      },
    };
  }

  type Mutation = (t: Template) => {
    keys: (string | Buffer)[];
    args: (string | Buffer)[];
  };

  const mutation: fc.Arbitrary<[string, Mutation]> = fc.oneof(
    fc
      .constantFrom(...FOREIGN_KEYS, "relay:{other}", "relay:{victim}:meta")
      .map((k): [string, Mutation] => [`foreign key ${k}`, (t) => ({ keys: [k], args: t.args })]),
    fc.constant<[string, Mutation]>([
      "the other victim's key",
      (t) => ({ keys: [baseKeyBytes(victims[1] as string)], args: t.args }),
    ]),
    fc.constant<[string, Mutation]>(["extra key", (t) => ({ keys: [...t.keys, "victim:plain"], args: t.args })]),
    fc.constant<[string, Mutation]>(["no key", (t) => ({ keys: [], args: t.args })]),
    fc.constant<[string, Mutation]>(["one argument fewer", (t) => ({ keys: t.keys, args: t.args.slice(0, -1) })]),
    anyArg.map((extra): [string, Mutation] => [
      "one argument more",
      (t) => ({ keys: t.keys, args: [...t.args, ...(t.optional ?? []), extra] }),
    ]),
    fc
      .oneof(
        withControl,
        nonUtf8,
        fc.constant(""),
        fc.string({ minLength: 201, maxLength: 300 }),
        fc.constantFrom("a\u0085b", "a\u202eb", "a\u2028b", "a\u2066b"),
      )
      .map((bad): [string, Mutation] => [
        `name ${JSON.stringify(bad.toString())}`,
        // The key is rebuilt from the bad name, so only the name check can refuse it.
        (t) => ({ keys: [baseKeyBytes(bad)], args: [bad, ...t.args.slice(1)] }),
      ]),
    fc
      .tuple(
        fc.nat(),
        fc.oneof(fc.constantFrom("A".repeat(64), "g".repeat(64), "ab", "0".repeat(65), ""), bytes(32, 32), withControl),
      )
      .map(([i, bad]): [string, Mutation] => [
        `hex argument ${JSON.stringify(bad.toString())}`,
        (t) => {
          const at = t.hexAt[i % Math.max(1, t.hexAt.length)];
          if (at === undefined) return { keys: t.keys, args: [...t.args, bad] };
          const args = [...t.args];
          args[at] = bad;
          return { keys: t.keys, args };
        },
      ]),
    fc
      .tuple(fc.nat(), fc.constantFrom("-1", "1.5", "abc", "1234567890123456", "", " 1", "0x1", "1e3"))
      .map(([i, bad]): [string, Mutation] => [
        `integer argument ${JSON.stringify(bad)}`,
        (t) => {
          const at = t.intAt[i % Math.max(1, t.intAt.length)];
          if (at === undefined) return { keys: t.keys, args: t.args.slice(0, -1) };
          const args = [...t.args];
          args[at] = bad;
          return { keys: t.keys, args };
        },
      ]),
  );

  it("every operation refuses foreign keys, wrong counts, non-UTF-8, control characters and bad values with INVALID/TOO_LARGE", async () => {
    await fuzz(
      "mutated operations",
      fc.asyncProperty(fc.constantFrom(...Object.keys(templates())), mutation, async (fn, [label, mutate]) => {
        const t = templates()[fn];
        if (!t) throw new Error(fn);
        const m = mutate(t);
        const r = await attack(fn, m.keys, m.args);
        expectRefusedAndUnchanged(r, `${fn} with ${label}`);
        // Redis's own arity errors (numkeys) are fine too; anything else must be a relay code.
        // (HTTP: Webdis refused an oversized request before Redis saw it.)
        expect(["INVALID", "TOO_LARGE", "ERR", "HTTP"], `${fn} with ${label}: ${r.error}`).toContain(r.code);
      }),
      { numRuns: 80, timeLimitMs: 20_000, floor: 40 },
    );
  });

  // v2: Lua never parses a state (plans are sealed in the client), so the old
  // "strict JSON" premise is gone. What keeps followers safe now is the form
  // check: only base64url content of 38..max_state bytes is stored, so nothing
  // a caller sends can break the envelope JSON Lua builds around it, and a
  // publish must name a well-formed kind and base seq.
  type BadPublish = { label: string; args: (string | Buffer)[]; code: "INVALID" | "TOO_LARGE" | "STALE" };
  const publishArgs = (over: { base?: string; kind?: string; content?: string | Buffer } = {}) => [
    own.name,
    own.token,
    "1",
    randomHex(16),
    over.base ?? String(own.seq),
    over.kind ?? "s",
    over.content ?? sealedOf(64),
  ];
  const insertAt = (text: string, at: number, bad: string | Buffer) =>
    Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]);
  const badPublish: fc.Arbitrary<BadPublish> = fc.oneof(
    // Content that is not sealed: plain JSON (v1's states, NaN and all), too short, standard
    // base64, or one foreign byte anywhere in otherwise good content.
    fc.constantFrom("", "{}", '{"a":1}', '{"a":NaN}', "null", "[]", "x".repeat(37), `${"QUJD".repeat(10)}==`).map(
      (c): BadPublish => ({
        label: `content ${JSON.stringify(c)}`,
        args: publishArgs({ content: c }),
        code: "INVALID",
      }),
    ),
    fc
      .tuple(
        fc.nat({ max: 63 }),
        fc.oneof(fc.constantFrom("+", "/", "=", ".", "%", " ", '"', "\\", "\n", "\u0000", "é", '","k":"s'), nonUtf8),
      )
      .map(
        ([at, bad]): BadPublish => ({
          label: `content with ${JSON.stringify(bad.toString())} at ${at}`,
          args: publishArgs({ content: insertAt(sealedOf(64), at, bad) }),
          code: "INVALID",
        }),
      ),
    // (Built when drawn, as every case here: the own stream exists only then.)
    fc.constant(null).map(
      (): BadPublish => ({
        label: "content over 1 MiB",
        args: publishArgs({ content: sealedOf(1_048_577) }),
        code: "TOO_LARGE",
      }),
    ),
    fc
      .constantFrom("", "S", "P", "x", "sp", "state", "patch", "s ", "-")
      .map(
        (k): BadPublish => ({ label: `kind ${JSON.stringify(k)}`, args: publishArgs({ kind: k }), code: "INVALID" }),
      ),
    fc.constantFrom("", "-", "-1", "1.5", "abc", "1e3", " 0", "0x0", "1234567890123456").map(
      (b): BadPublish => ({
        label: `base seq ${JSON.stringify(b)}`,
        args: publishArgs({ base: b }),
        code: "INVALID",
      }),
    ),
    // A v1 publish (no base seq, no kind: name, token, term, op, state[, patch]) is no publish.
    fc.constantFrom(5, 6, 8).map(
      (n): BadPublish => ({
        label: `${n} arguments`,
        args: [...publishArgs().slice(0, 4), '{"v1":true}', "-", "-", "-"].slice(0, n),
        code: "INVALID",
      }),
    ),
    // Well formed, but on another base: the replay guard (replay.test.ts).
    fc.integer({ min: 1, max: 50 }).map(
      (d): BadPublish => ({
        label: `base seq +${d}`,
        args: publishArgs({ base: String(own.seq + d) }),
        code: "STALE",
      }),
    ),
  );

  it("publish refuses content that is not sealed, a bad kind or base seq, v1 arguments and a stale base; nothing changes", async () => {
    await fuzz(
      "bad publishes",
      fc.asyncProperty(badPublish, async ({ label, args, code }) => {
        const r = await attack("relay_publish", [baseKeyBytes(own.name)], args);
        expectRefusedAndUnchanged(r, label);
        expect(r.code, `${label}: ${r.error}`).toBe(code);
      }),
      { numRuns: 25, timeLimitMs: 20_000, floor: 15 },
    );
  });

  /** Publishes `content` as `kind` on the own stream's seq; fails the test if refused. */
  async function publishOwn(kind: "s" | "p", content: string) {
    const args = [own.name, own.token, "1", randomHex(16), String(own.seq), kind, content];
    const r = await rawFcall(stack, "relay_publish", [baseKeyBytes(own.name)], args);
    expect(r.ok, `${kind} of ${content.length} bytes: ${r.error}`).toBe(true);
    own.seq = JSON.parse(String(r.value)).seq;
  }
  const place = () => ({ name: own.name, epoch: own.epoch, seq: own.seq + 1 });

  it("publish accepts whatever the client seals (states and changes), and stores envelopes that parse and open", async () => {
    const base = `relay:{${own.name}}`;
    // The smallest sealed text (an empty plaintext) is the bottom of the form check.
    const empty = await sealChange(own.key, place(), wholeState(""));
    expect(empty).toHaveLength(38);
    await publishOwn("s", empty);
    await fuzz(
      "sealed states and changes",
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), async (obj) => {
        // As JSON says it (fast-check's jsonValue may hold -0, which JSON writes as 0).
        const state = JSON.parse(JSON.stringify({ ...obj, n: own.seq + 1 }));
        const json = JSON.stringify(state);
        const whole = await sealChange(own.key, place(), wholeState(json));
        await publishOwn("s", whole);
        // Right after a whole state the log is empty, so one change always has room.
        const next = { ...state, n: own.seq + 1 };
        const patch = JSON.stringify([{ op: "replace", path: "/n", value: next.n }]);
        const change = await sealChange(own.key, place(), patchChange(JSON.stringify(next), patch));
        await publishOwn("p", change);
        // What Redis holds is JSON around exactly the sealed text, and it opens to what was sealed.
        const snap = JSON.parse(String(await stack.redis("GET", `${base}:snap`))) as SealedEnvelope;
        const last = JSON.parse(String(await stack.redis("LINDEX", `${base}:log`, -1))) as SealedEnvelope;
        expect([snap.k, snap.c, last.k, last.c]).toEqual(["s", whole, "p", change]);
        expect((await openChange(own.key, own.name, snap)).state).toEqual(state);
        expect((await openChange(own.key, own.name, last)).patch).toEqual(JSON.parse(patch));
      }),
      { numRuns: 40, timeLimitMs: 15_000, floor: 20 },
    );
  });
});

describe("holes found here, fixed in lua/", () => {
  it("start derives the channel: nobody can pick another stream's channel and publish into it", async () => {
    // Before: the channel was taken as sent. A follower of stream A (who knows A's
    // channel) could start stream B with the same channel and publish into A's followers.
    const seed = randomHex(24);
    const a = uniqueName("chan");
    const b = uniqueName("chan");
    const ra = await rawFcall(
      stack,
      "relay_start",
      [baseKeyBytes(a)],
      [a, randomHex(32), randomHex(32), seed, randomHex(24)],
    );
    const rb = await rawFcall(
      stack,
      "relay_start",
      [baseKeyBytes(b)],
      [b, randomHex(32), randomHex(32), seed, randomHex(24)],
    );
    const ca = JSON.parse(String(ra.value)).channel;
    const cb = JSON.parse(String(rb.value)).channel;
    expect(ca).not.toBe(seed);
    expect(ca).not.toBe(cb);
    expect(ca).toMatch(/^[0-9a-f]{40}$/);
    expect(await stack.redis("HGET", `relay:{${a}}:meta`, "channel")).toBe(ca);
    // And the victim's real channel cannot be taken either.
    const victimChannel = String(await stack.redis("HGET", `relay:{${victims[0]}}:meta`, "channel"));
    const c = uniqueName("chan");
    const rc = await rawFcall(
      stack,
      "relay_start",
      [baseKeyBytes(c)],
      [c, randomHex(32), randomHex(32), victimChannel.padEnd(32, "0"), randomHex(24)],
    );
    expect(JSON.parse(String(rc.value)).channel).not.toBe(victimChannel);
  });

  it("names with C1 controls, line separators or bidi overrides are refused", async () => {
    for (const bad of [
      "a\u0085b",
      "a\u009bb",
      "line\u2028sep",
      "para\u2029sep",
      "evil\u202etxt.exe",
      "x\u202ay",
      "x\u2066y",
      "x\u2069y",
    ]) {
      const r = await attack(
        "relay_start",
        [baseKeyBytes(bad)],
        [bad, randomHex(32), randomHex(32), randomHex(24), randomHex(24)],
      );
      expectRefusedAndUnchanged(r, JSON.stringify(bad));
      expect(r.code, JSON.stringify(bad)).toBe("INVALID");
    }
    // Ordinary non-ASCII text is still fine.
    const good = uniqueName("Café ✈ 東京 — ok");
    const r = await rawFcall(
      stack,
      "relay_start",
      [baseKeyBytes(good)],
      [good, randomHex(32), randomHex(32), randomHex(24), randomHex(24)],
    );
    expect(r.ok, r.error).toBe(true);
  });

  it("a Webdis database prefix (/5/FCALL/...) cannot escape db 0 or the operator's limits", async () => {
    // Before: Webdis ran SELECT 5 first, so the stream lived in db 5 where
    // relay:config does not exist: no operator limits, invisible to list.
    await stack.redis("HSET", "relay:config", "max_state", "100");
    try {
      const name = uniqueName("db5");
      const key = encodeURIComponent(`relay:{${name}}`);
      const token = randomHex(24);
      const line = ["FCALL", "relay_start", "1", key, name, randomHex(32), randomHex(32), randomHex(24), token].join(
        "/",
      );
      const start = await http(stack, "POST", "/", `5/${line}`);
      expect(JSON.parse(start.text).FCALL).toContain("channel");
      expect(await stack.redis("EXISTS", `relay:{${name}}:meta`)).toBe(1); // in db 0
      const db5 = redisDb(stack, 5);
      expect(await db5.dbsize()).toBe(0);
      db5.disconnect();
      const pub = await http(
        stack,
        "GET",
        `/5/FCALL/relay_publish/1/${key}/${name}/${token}/1/${randomHex(16)}/0/s/${sealedOf(200)}`,
      );
      expect(String(JSON.parse(pub.text).FCALL[1])).toMatch(/^TOO_LARGE/);
    } finally {
      await stack.redis("HDEL", "relay:config", "max_state");
    }
  });

  it("the victims are untouched after all of the above", async () => {
    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    for (const [i, v] of victims.entries()) {
      const f = await relay.connect(v, { password: pw });
      expect(f.state).toEqual({ secret: `state ${i}`, list: [1, 2, 3] });
      f.disconnect();
    }
    expect(await stack.redis("GET", "victim:plain")).toBe("do not touch");
    // The verifiers we used are never what is stored.
    const meta = (await stack.redis("HGETALL", `relay:{${victims[0]}}:meta`)) as string[];
    expect(meta).not.toContain((await derivePasswordKeys(victims[0] as string, pw)).verifier);
    expect(meta).not.toContain(await deriveVerifier("code", victims[0] as string, code));
  });
});
