/**
 * Guessing: failed password checks (connect) and failed leader-code checks
 * (reconnect, stop) are counted per stream inside Lua, in a fixed window from
 * relay:config (fail_limit, fail_window; 10 a minute by default). A full window
 * refuses even the right secret with RATE_LIMITED; it ends by itself; the two
 * counters are apart, so password guessers never lock the leader out; a live
 * leader (who holds a token) is never limited.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomHex } from "../../src/core/secrets.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";
import { baseKeyBytes, closeSnapshots, codeOf, rawFcall, sealedOf, sleep } from "./support.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.redis("DEL", "relay:config");
});
afterAll(async () => {
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

/** A stream started with raw FCALL: its verifiers and token are known to the test. */
async function stream() {
  const s = { name: uniqueName("rl"), pw: randomHex(32), code: randomHex(32), token: randomHex(24), term: 1, seq: 0 };
  const r = await rawFcall(
    stack,
    "relay_start",
    [baseKeyBytes(s.name)],
    [s.name, s.pw, s.code, randomHex(24), s.token],
  );
  expect(r.ok, r.error).toBe(true);
  return s;
}
type S = Awaited<ReturnType<typeof stream>>;

const connect = (s: S, pw = randomHex(32)) =>
  rawFcall(stack, "relay_connect", [baseKeyBytes(s.name)], [s.name, pw, "-", "0"]);
/** A take-over: a guessed code (default) with the right password, or the right code when given. */
const reconnect = (s: S, code = randomHex(32), pw = s.pw) =>
  rawFcall(stack, "relay_reconnect", [baseKeyBytes(s.name)], [s.name, code, randomHex(24), "-", pw]);
const stop = (s: S, code = randomHex(32)) => rawFcall(stack, "relay_stop", [baseKeyBytes(s.name)], [s.name, code]);
/** A whole state (sealed-looking content) on the stream's seq. */
const publish = (s: S) =>
  rawFcall(
    stack,
    "relay_publish",
    [baseKeyBytes(s.name)],
    [s.name, s.token, String(s.term), randomHex(16), String(s.seq), "s", sealedOf(64)],
  );

async function codes(calls: Promise<{ error?: string }>[]) {
  return (await Promise.all(calls)).map((r) => codeOf(r.error));
}

describe("rate limiting", () => {
  it("default: 10 wrong passwords a minute, then RATE_LIMITED even for the right one", async () => {
    const s = await stream();
    for (let i = 0; i < 10; i++) expect(codeOf((await connect(s)).error)).toBe("BAD_PASSWORD");
    const limited = await connect(s, s.pw);
    expect(codeOf(limited.error)).toBe("RATE_LIMITED");
    expect(limited.error).toMatch(/retry in (\d+) s/);
    const secs = Number(/retry in (\d+) s/.exec(String(limited.error))?.[1]);
    expect(secs).toBeGreaterThan(50);
    expect(secs).toBeLessThanOrEqual(60);
    expect(Number(await stack.redis("PTTL", `relay:{${s.name}}:fails`))).toBeLessThanOrEqual(60_000);
  });

  it("the window ends by itself, and guessing while limited does not extend it", async () => {
    await stack.redis("HSET", "relay:config", "fail_limit", "3", "fail_window", "2");
    const s = await stream();
    for (let i = 0; i < 3; i++) expect(codeOf((await connect(s)).error)).toBe("BAD_PASSWORD");
    const ttl0 = Number(await stack.redis("PTTL", `relay:{${s.name}}:fails`));
    // Keep guessing while limited: each is refused, the counter and its TTL stay.
    for (let i = 0; i < 5; i++) expect(codeOf((await connect(s)).error)).toBe("RATE_LIMITED");
    expect(await stack.redis("GET", `relay:{${s.name}}:fails`)).toBe("3");
    expect(Number(await stack.redis("PTTL", `relay:{${s.name}}:fails`))).toBeLessThanOrEqual(ttl0);
    await sleep(2_100);
    const ok = await connect(s, s.pw);
    expect(ok.ok, ok.error).toBe(true);
    expect(JSON.parse(String(ok.value)).mode).toBe("full");
  });

  it("leader-code guessing (reconnect and stop) is limited too; the real leader gets back in after the window", async () => {
    await stack.redis("HSET", "relay:config", "fail_limit", "4", "fail_window", "2");
    const s = await stream();
    expect(await codes([reconnect(s), stop(s), reconnect(s), stop(s)])).toEqual([
      "BAD_CODE",
      "BAD_CODE",
      "BAD_CODE",
      "BAD_CODE",
    ]);
    expect(codeOf((await reconnect(s, s.code)).error)).toBe("RATE_LIMITED");
    expect(codeOf((await stop(s, s.code)).error)).toBe("RATE_LIMITED");
    await sleep(2_100);
    const back = await reconnect(s, s.code);
    expect(back.ok, back.error).toBe(true);
    expect(JSON.parse(String(back.value)).term).toBe(2);
  });

  it("password guessers never lock the leader out, and code guessers never lock followers out", async () => {
    // Before the fix both shared one counter: anyone who sees the list could
    // stop the leader from taking over or stopping their own stream.
    await stack.redis("HSET", "relay:config", "fail_limit", "3", "fail_window", "30");
    const s = await stream();
    for (let i = 0; i < 5; i++) await connect(s);
    expect(codeOf((await connect(s, s.pw)).error)).toBe("RATE_LIMITED");
    const back = await reconnect(s, s.code);
    expect(back.ok, back.error).toBe(true);

    const t = await stream();
    for (let i = 0; i < 5; i++) await reconnect(t);
    expect(codeOf((await reconnect(t, t.code)).error)).toBe("RATE_LIMITED");
    const f = await connect(t, t.pw);
    expect(f.ok, f.error).toBe(true);

    // A take-over with the right code and a wrong password (v2: the leader seals
    // with the password's key) is BAD_PASSWORD, counted with the wrong codes, never
    // in the followers' window.
    const u = await stream();
    const got: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) got.push(codeOf((await reconnect(u, u.code, randomHex(32))).error));
    expect(got).toEqual(["BAD_PASSWORD", "BAD_PASSWORD", "BAD_PASSWORD", "RATE_LIMITED", "RATE_LIMITED"]);
    expect(await stack.redis("GET", `relay:{${u.name}}:code_fails`)).toBe("3");
    expect(await stack.redis("EXISTS", `relay:{${u.name}}:fails`)).toBe(0);
    expect((await connect(u, u.pw)).ok).toBe(true);
    expect(codeOf((await reconnect(u, u.code)).error)).toBe("RATE_LIMITED");
  });

  it("a live leader (token) keeps publishing while its stream is under a guessing attack", async () => {
    await stack.redis("HSET", "relay:config", "fail_limit", "2", "fail_window", "30");
    const s = await stream();
    for (let i = 0; i < 4; i++) await Promise.all([connect(s), reconnect(s), stop(s)]);
    expect(codeOf((await stop(s, s.code)).error)).toBe("RATE_LIMITED");
    const p = await publish(s);
    expect(p.ok, p.error).toBe(true);
    const hb = await rawFcall(stack, "relay_heartbeat", [baseKeyBytes(s.name)], [s.name, s.token, "1"]);
    expect(hb.ok, hb.error).toBe(true);
    // A wrong token is refused but not counted: tokens are 128+ random bits, not guessable.
    const wrong = await rawFcall(stack, "relay_heartbeat", [baseKeyBytes(s.name)], [s.name, randomHex(24), "1"]);
    expect(codeOf(wrong.error)).toBe("BAD_CODE");
  });

  it("is per stream: guessing on one stream does not limit another", async () => {
    await stack.redis("HSET", "relay:config", "fail_limit", "2", "fail_window", "30");
    const a = await stream();
    const b = await stream();
    for (let i = 0; i < 3; i++) await connect(a);
    expect(codeOf((await connect(a, a.pw)).error)).toBe("RATE_LIMITED");
    expect((await connect(b, b.pw)).ok).toBe(true);
  });

  it("is atomic: 40 guesses at once get exactly fail_limit answers, the rest RATE_LIMITED", async () => {
    await stack.redis("HSET", "relay:config", "fail_limit", "5", "fail_window", "30");
    const s = await stream();
    const got = await codes(Array.from({ length: 40 }, () => connect(s)));
    expect(got.filter((c) => c === "BAD_PASSWORD")).toHaveLength(5);
    expect(got.filter((c) => c === "RATE_LIMITED")).toHaveLength(35);
  });

  it("a guess never learns anything from the error text", async () => {
    const s = await stream();
    const texts = (await Promise.all([connect(s), reconnect(s), stop(s), connect(s, s.pw.toUpperCase())])).map((r) =>
      String(r.error),
    );
    for (const t of texts) {
      for (const secret of [s.pw, s.code, s.token]) expect(t).not.toContain(secret);
    }
  });
});
