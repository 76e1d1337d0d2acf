/**
 * Secrets at rest and in flight. After streams are started, joined, guessed
 * at, taken over and stopped with a known password and leader code, none of
 * these appear in the RDB (saved uncompressed, so a compressed copy cannot
 * hide one), the AOF (before and after a rewrite), the Redis or Webdis logs
 * (files natively, container output in containers mode), an
 * error message, or a URL: not the password or code, not their PBKDF2
 * verifiers, not a leader token, in hex, upper-case hex, raw bytes or base64.
 * Redis keeps only sha1(salt, verifier).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { createRelay, RelayError } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { closeSnapshots, eventually, sleep } from "./support.ts";

let stack: Stack;
const PASSWORD = "Pw-only-in-memory-4f9c";
const CODE = "Code-only-in-memory-7b21";
const seen: { url: string; method: string; body: string }[] = [];
const errors: string[] = [];
/** Every secret value, in every form we search for. */
const needles = new Map<string, Buffer>();

function addSecret(label: string, value: string) {
  needles.set(label, Buffer.from(value));
  if (/^[0-9a-f]+$/.test(value) && value.length % 2 === 0) {
    const raw = Buffer.from(value, "hex");
    needles.set(`${label} (HEX)`, Buffer.from(value.toUpperCase()));
    needles.set(`${label} (raw bytes)`, raw);
    needles.set(`${label} (base64)`, Buffer.from(raw.toString("base64")));
  } else {
    needles.set(`${label} (base64)`, Buffer.from(Buffer.from(value).toString("base64")));
  }
}

const spyFetch: typeof fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  seen.push({ url, method: init?.method ?? "GET", body: typeof init?.body === "string" ? init.body : "" });
  return fetch(input, init);
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function leaks(files: string[]): string[] {
  const found: string[] = [];
  for (const f of files) {
    const data = readFileSync(f);
    for (const [label, needle] of needles) if (data.includes(needle)) found.push(`${label} in ${f}`);
  }
  return found;
}

/** Which secrets appear in which log (the logs are latin1: byte for byte). */
function logLeaks(logs: Record<string, string>): string[] {
  return Object.entries(logs).flatMap(([server, text]) => {
    const data = Buffer.from(text, "latin1");
    return [...needles].filter(([, n]) => data.includes(n)).map(([label]) => `${label} in the ${server} log`);
  });
}

async function catchMessage(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RelayError);
  errors.push(String((e as Error).message), String((e as Error).stack ?? ""));
  return e as RelayError;
}

beforeAll(async () => {
  stack = await startStack({ aof: true });
  // Uncompressed RDB strings: LZF would otherwise hide a secret from the grep.
  await stack.redis("CONFIG", "SET", "rdbcompression", "no");
  const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 50, fetch: spyFetch });

  const live = uniqueName("secret-live");
  const gone = uniqueName("secret-gone");
  for (const n of [live, gone]) {
    addSecret(`password verifier of ${n}`, (await derivePasswordKeys(n, PASSWORD)).verifier);
    addSecret(`code verifier of ${n}`, await deriveVerifier("code", n, CODE));
  }
  addSecret("password", PASSWORD);
  addSecret("leader code", CODE);

  const l1 = await relay.start(live, { password: PASSWORD, code: CODE });
  const l2 = await relay.start(gone, { password: PASSWORD, code: CODE });
  await l1.publish({ n: 1 });
  await l2.publish({ n: 1 });
  const f = await relay.connect(live, { password: PASSWORD });
  await waitForStatus(f, "live");
  await catchMessage(relay.connect(live, { password: `${PASSWORD}-wrong` }));
  await catchMessage(relay.reconnect(live, { password: PASSWORD, code: `${CODE}-wrong` }));
  await catchMessage(relay.reconnect(live, { password: `${PASSWORD}-wrong`, code: CODE }));
  await catchMessage(relay.connect(uniqueName("nope"), { password: PASSWORD }));
  const l1b = await relay.reconnect(live, { password: PASSWORD, code: CODE }); // a second token
  await catchMessage(l1.publish({ n: 2 })); // the old leader: LEADER_REPLACED
  await l1b.publish({ n: 3 });
  await waitForSeq(f, 2);
  await sleep(200); // a few heartbeats carry the tokens too
  await l2.stop();
  f.disconnect();
  l1b.close();

  // The tokens, as the client sent them (start: 9th field, reconnect: 7th; fields count from 1).
  for (const r of seen) {
    const parts = r.body.split("/");
    if (parts[1] === "relay_start") addSecret(`leader token (start ${parts[4]})`, parts[8] as string);
    if (parts[1] === "relay_reconnect") addSecret(`leader token (reconnect ${parts[4]})`, parts[6] as string);
  }
});

afterAll(async () => {
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

describe("secrets", () => {
  it("the test really has tokens and verifiers to look for", () => {
    expect([...needles.keys()].filter((k) => k.startsWith("leader token")).length).toBeGreaterThanOrEqual(3 * 4);
    expect(needles.size).toBeGreaterThan(20);
  });

  it("control: the same grep does find a value that Redis stores (in RDB and AOF)", async () => {
    const canary = randomHex(32);
    await stack.redis("SET", "secrets:canary", canary);
    await stack.redis("SAVE");
    const hits = filesUnder(dirname(stack.dataDir)).filter((f) => readFileSync(f).includes(Buffer.from(canary)));
    expect(hits.some((f) => f.endsWith(".rdb"))).toBe(true);
    expect(hits.some((f) => /appendonly|\.aof/.test(f))).toBe(true);
    await stack.redis("DEL", "secrets:canary");
  });

  it("RDB and AOF hold no password, code, verifier or token", async () => {
    await stack.redis("SAVE");
    const files = filesUnder(dirname(stack.dataDir));
    expect(files.some((f) => f.endsWith(".rdb"))).toBe(true);
    expect(files.some((f) => /appendonly|\.aof/.test(f))).toBe(true);
    expect(leaks(files)).toEqual([]);
    // The stored form is there (so the files were not simply empty).
    const all = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(all.includes(Buffer.from("pw_hash"))).toBe(true);
  });

  // Natively the log files, in containers the containers' output: both modes
  // (CI runs this suite in containers mode).
  it("the Redis and Webdis logs hold no password, code, verifier or token", async () => {
    const logs = await stack.logs();
    expect(Object.keys(logs).sort()).toEqual(["redis", "replica", "webdis", "webdis-subscribe"]);
    // Each log is really there: Redis logs its start, the replica its sync.
    expect(logs.redis).toMatch(/Ready to accept connections/);
    expect(logs.replica).toMatch(/MASTER <-> REPLICA sync/);
    expect(logLeaks(logs)).toEqual([]);
  });

  it("control: the log grep finds a value Redis wrote to its log", async () => {
    const canary = randomHex(32);
    await stack.redis("EVAL", "redis.log(redis.LOG_WARNING, ARGV[1])", 0, `canary ${canary}`);
    const found = await eventually(async () => (await stack.logs()).redis?.includes(canary) ?? false, 10_000);
    expect(found).toBe(true);
  });

  it("nor does the AOF after a rewrite", async () => {
    await stack.redis("BGREWRITEAOF");
    const done = await eventually(
      async () =>
        /aof_rewrite_in_progress:0/.test(String(await stack.redis("INFO", "persistence"))) &&
        !/aof_rewrite_scheduled:1/.test(String(await stack.redis("INFO", "persistence"))),
      10_000,
    );
    expect(done).toBe(true);
    expect(leaks(filesUnder(dirname(stack.dataDir)))).toEqual([]);
  });

  it("error messages never contain a secret", () => {
    expect(errors.length).toBeGreaterThanOrEqual(8);
    const text = Buffer.from(errors.join("\n"));
    expect([...needles].filter(([, n]) => text.includes(n)).map(([l]) => l)).toEqual([]);
  });

  it("secrets never travel in a URL: every call is POST / with the arguments in the body", () => {
    const calls = seen.filter((r) => r.body.startsWith("FCALL"));
    expect(calls.length).toBeGreaterThan(5);
    for (const r of calls) {
      expect(r.method).toBe("POST");
      expect(new URL(r.url).pathname).toBe("/");
    }
    const urls = Buffer.from(seen.map((r) => r.url).join("\n"));
    expect([...needles].filter(([, n]) => urls.includes(n)).map(([l]) => l)).toEqual([]);
    // The password and code themselves never leave the client, not even in a body.
    const bodies = seen.map((r) => r.body).join("\n");
    expect(bodies).not.toContain(PASSWORD);
    expect(bodies).not.toContain(CODE);
  });

  it("Redis stores only salted hashes of the verifiers", async () => {
    const keys = (await stack.redis("KEYS", "relay:{secret-live*}:meta")) as string[];
    expect(keys).toHaveLength(1);
    const meta = (await stack.redis("HGETALL", keys[0] as string)) as string[];
    const fields = Object.fromEntries(meta.flatMap((v, i) => (i % 2 ? [] : [[v, meta[i + 1]]])));
    expect(Object.keys(fields).sort()).toEqual(
      expect.arrayContaining(["pw_hash", "code_hash", "tok_hash", "pw_salt", "code_salt"]),
    );
    for (const v of Object.values(fields)) {
      for (const [label, n] of needles) expect(Buffer.from(String(v)).includes(n), label).toBe(false);
    }
  });
});
