/**
 * Sealed plans (issue 14): Redis and the doors only ever see ciphertext. A real
 * leader (the real client, through the real stack) publishes a plan holding a
 * unique canary, then edits it (patches, some carrying the canary again). Then
 * every key of every database of the primary and of the replica (all types, read
 * value by value), the RDB (BGSAVE, uncompressed), the AOF before and after a
 * rewrite (BGREWRITEAOF), the servers' logs, the replies a follower gets from the
 * door (raw relay_connect) and the messages on the stream's channel are searched
 * for the canary: in clear, in hex, and in base64 and base64url at each of the
 * three byte alignments (a client that forgot to encrypt but kept the base64url
 * form would pass Lua's form check); and since a change of 1 KiB or more is
 * DEFLATEd before it is sealed (src/core/content.ts), every base64url run is also
 * decoded and inflated where it inflates, so a client that compressed but did not
 * encrypt is caught too. A control in the same test plants another canary in
 * each form and key type and shows that the search finds it.
 *
 * Persistence (test/setup/native.ts and containers.ts; src/server/native.ts
 * redisArgs): the primary runs with appendonly yes (Redis 7 multi-part AOF in
 * appendonlydir/, RDB preamble) and `--save ""` (no automatic RDB), so the RDB is
 * written here with BGSAVE, into stack.dataDir, in both modes. The replica has no
 * AOF; natively its folder (beside dataDir: its log, and the RDB of a full sync
 * when it had one) is searched too; in containers mode its files stay inside its
 * container, so only its keyspace is searched.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type Leader } from "../../src/node.ts";
import { inspector } from "../setup/inspector.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitForSeq } from "../support/util.ts";
import { baseKeyBytes, encodeAll, eventually, http } from "./support.ts";

const PASSWORD = "sealed-test-password";
// Unique per run, so no earlier run's files or logs can hold it by chance.
const CANARY = `canary-${randomHex(12)}-plan-text`;
const NAME = uniqueName("sealed");

let stack: Stack;
let leader: Leader;
/** What the raw subscriber heard on the stream's channel (the subscription door's HTTP stream). */
let heard = "";
let stopListening: () => Promise<void> = async () => {};

// ---- what we search for ---------------------------------------------------------

/**
 * The forms `text` takes inside something bigger: itself, its hex, and for each
 * byte offset 0..2 the base64 / base64url characters that depend on its bytes
 * alone (the first and last group are cut: they mix in the bytes around it).
 */
function needlesOf(text: string): Map<string, Buffer> {
  const raw = Buffer.from(text);
  const out = new Map<string, Buffer>([
    ["clear", raw],
    ["hex", Buffer.from(raw.toString("hex"))],
  ]);
  for (const k of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(k), raw]).toString("base64");
    const std = b64.slice([0, 2, 3][k], 4 * Math.floor((k + raw.length) / 3));
    out.set(`base64 @${k}`, Buffer.from(std));
    out.set(`base64url @${k}`, Buffer.from(std.replace(/\+/g, "-").replace(/\//g, "_")));
  }
  return out;
}

type Piece = { where: string; data: Buffer };

/** The needles found in each piece, as "<form> in <where>". */
function search(pieces: Piece[], needles: Map<string, Buffer>): string[] {
  return pieces.flatMap((p) =>
    [...needles].filter(([, n]) => p.data.includes(n)).map(([form]) => `${form} in ${p.where}`),
  );
}

/**
 * What the base64url runs in `pieces` decode to, and inflate to where they do
 * (raw DEFLATE after a first byte 0, as content.ts packs it, with or without a
 * 12-byte IV before it): what an attacker would try on what they found.
 */
function unwrapped(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    for (const [found] of p.data.toString("latin1").matchAll(/[A-Za-z0-9_-]{38,}/g)) {
      // A run may have neighbours glued on (a length byte in the RDB that happens to be a
      // letter): decode from each of the first four characters.
      for (const skip of [0, 1, 2, 3]) {
        const bytes = Buffer.from(found.slice(skip), "base64url");
        out.push({ where: `${p.where} (decoded)`, data: bytes });
        for (const at of [1, 13]) {
          try {
            const inflated = inflateRawSync(bytes.subarray(at), { maxOutputLength: 1 << 24 });
            out.push({ where: `${p.where} (inflated)`, data: inflated });
          } catch {
            // Not DEFLATE there: ciphertext almost never is.
          }
        }
      }
    }
  }
  return out;
}

/** Every key of every database of one server, each read whole by its type (binary-safe). */
async function keyspace(server: "primary" | "replica"): Promise<Piece[]> {
  const open = (db: number) =>
    new Redis({
      host: "127.0.0.1",
      port: server === "primary" ? stack.redisPort : stack.replicaPort,
      db,
      maxRetriesPerRequest: 1,
      ...(server === "replica" ? { username: inspector.auth.user, password: inspector.auth.password } : {}),
    });
  const first = open(0);
  const info = String(await first.info("keyspace"));
  first.disconnect();
  const out: Piece[] = [];
  for (const db of [...info.matchAll(/^db(\d+):keys=/gm)].map((m) => Number(m[1]))) {
    const r = open(db);
    try {
      let cursor = "0";
      do {
        const [next, keys] = await r.scanBuffer(cursor, "COUNT", "500");
        cursor = String(next);
        for (const key of keys) {
          const type = await r.type(key);
          const parts: Buffer[] = [key];
          if (type === "string") parts.push((await r.getBuffer(key)) ?? Buffer.alloc(0));
          else if (type === "hash")
            for (const [f, v] of Object.entries(await r.hgetallBuffer(key))) parts.push(Buffer.from(f), v);
          else if (type === "list") parts.push(...(await r.lrangeBuffer(key, 0, -1)));
          else if (type === "set") parts.push(...(await r.smembersBuffer(key)));
          else if (type === "zset") parts.push(...(await r.zrangeBuffer(key, "0", "-1")));
          else if (type === "stream") parts.push(Buffer.from(JSON.stringify(await r.xrange(key, "-", "+"))));
          else if (type !== "none") throw new Error(`a key of type ${type}: the search cannot read it`);
          // One value per line, so no two values run together into one base64url run.
          const data = Buffer.concat(parts.flatMap((x) => [x, Buffer.from("\n")]));
          out.push({ where: `${server} db${db} ${type} ${key.toString("latin1")}`, data });
        }
      } while (cursor !== "0");
    } finally {
      r.disconnect();
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every file of the stack's folder (RDB, AOF, natively also the replica's RDB, configs and logs). */
const files = (): Piece[] =>
  filesUnder(dirname(stack.dataDir)).map((f) => ({
    where: f.slice(dirname(stack.dataDir).length),
    data: readFileSync(f),
  }));

const logs = async (): Promise<Piece[]> =>
  Object.entries(await stack.logs()).map(([server, text]) => ({
    where: `the ${server} log`,
    data: Buffer.from(text, "latin1"),
  }));

/** Everything at rest: both keyspaces, the files, the logs; and what their base64url runs open to. */
async function atRest(): Promise<Piece[]> {
  const pieces = [...(await keyspace("primary")), ...(await keyspace("replica")), ...files(), ...(await logs())];
  return [...pieces, ...unwrapped(pieces)];
}

const persistence = async () => String(await stack.redis("INFO", "persistence"));

/** BGSAVE, then waits until it is done and checks that it worked. */
async function bgsave(): Promise<void> {
  expect(String(await stack.redis("BGSAVE"))).toMatch(/started/);
  expect(await eventually(async () => /rdb_bgsave_in_progress:0/.test(await persistence()), 15_000)).toBe(true);
  expect(await persistence()).toMatch(/rdb_last_bgsave_status:ok/);
}

async function bgrewriteaof(): Promise<void> {
  expect(String(await stack.redis("BGREWRITEAOF"))).toMatch(/rewriting/);
  const done = async () => {
    const p = await persistence();
    return /aof_rewrite_in_progress:0/.test(p) && /aof_rewrite_scheduled:0/.test(p);
  };
  expect(await eventually(done, 15_000)).toBe(true);
  expect(await persistence()).toMatch(/aof_last_bgrewrite_status:ok/);
}

/** The replica has caught up with the primary (same replication offset). */
async function replicaCaughtUp(): Promise<void> {
  const offset = async (call: Stack["redis"]) =>
    /master_repl_offset:(\d+)/.exec(String(await call("INFO", "replication")))?.[1];
  const synced = async () => (await offset(stack.redis)) === (await offset(stack.replica));
  expect(await eventually(synced, 10_000)).toBe(true);
}

/** relay_connect as a follower sends it, straight to the door; the reply's raw text. */
async function rawConnect(epoch: string, last: number): Promise<string> {
  const verifier = (await derivePasswordKeys(NAME, PASSWORD)).verifier;
  const line = ["FCALL", "relay_connect", "1", encodeAll(baseKeyBytes(NAME))]
    .concat([NAME, verifier, epoch, String(last), "-"].map(encodeAll))
    .join("/");
  const r = await http(stack, "POST", "/", line);
  expect(r.status).toBe(200);
  return r.text;
}

/** A raw HTTP-stream subscription on the subscription door, as any holder of the channel can open. */
function listen(channel: string) {
  const ctl = new AbortController();
  const done = fetch(`${stack.subscribeUrl}/`, { method: "POST", body: `SUBSCRIBE/${channel}`, signal: ctl.signal })
    .then(async (res) => {
      const reader = res.body?.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const r = await reader?.read();
        if (!r || r.done) break;
        heard += dec.decode(r.value, { stream: true });
      }
    })
    .catch(() => {});
  stopListening = async () => {
    ctl.abort();
    await done;
  };
}
const messagesHeard = () => [...heard.matchAll(/"message"/g)].length;

// ---- the streaming run ------------------------------------------------------------

const plan = {
  title: `Op ${CANARY}`,
  notes: "rendezvous at the ridge",
  waypoints: Array.from({ length: 30 }, (_, i) => ({ id: i, name: `WP${i}`, lat: 46 + i / 100, lon: 7 + i / 100 })),
};
const edits: ((p: typeof plan) => void)[] = [
  (p) => {
    (p.waypoints[3] as { lat: number }).lat += 0.5; // a move: a small patch
  },
  (p) => {
    (p.waypoints[7] as { name: string }).name = `${CANARY} rally`; // the canary inside a patch
  },
  (p) => {
    p.waypoints.push({ id: 30, name: `LZ ${CANARY}`, lat: 46.5, lon: 7.5 });
  },
  (p) => {
    p.notes = `moved to ${CANARY}`;
  },
];

beforeAll(async () => {
  stack = await startStack({ aof: true });
  // LZF would otherwise hide a plaintext string from the RDB search.
  await stack.redis("CONFIG", "SET", "rdbcompression", "no");
  const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
  leader = await relay.start(NAME, { password: PASSWORD, code: "sealed-test-code" });
  const first = JSON.parse(JSON.parse(await rawConnect("-", 0)).FCALL) as { channel: string };
  listen(first.channel);
  expect(await eventually(async () => heard.includes('"subscribe"'), 10_000)).toBe(true);
  const current = structuredClone(plan);
  await leader.publish(current);
  for (const edit of edits) {
    edit(current);
    await leader.publish(structuredClone(current));
  }
  expect(leader.seq).toBe(1 + edits.length);
  expect(await eventually(async () => messagesHeard() >= 1 + edits.length, 10_000)).toBe(true);
  await replicaCaughtUp();
});

afterAll(async () => {
  await stopListening();
  leader?.close();
  await stack?.stop();
});

describe("sealed plans: no plan text outside the clients", () => {
  it("Redis's keys (primary and replica), the RDB, the AOF before and after a rewrite and the logs hold no plan text, in clear or base64", async () => {
    const base = `relay:{${NAME}}`;
    // The run made a snapshot and a log of changes (edits went as patches).
    const snap = JSON.parse(String(await stack.redis("GET", `${base}:snap`))) as { k: string; c: string };
    expect(snap.k).toBe("s");
    expect(Number(await stack.redis("LLEN", `${base}:log`))).toBeGreaterThanOrEqual(3);

    // Control: another canary planted in every form, each in another key type, is found
    // in both keyspaces and in the RDB and the AOF files.
    const planted = `planted-${randomHex(12)}`;
    const b64 = (prefix: string) => Buffer.from(prefix + planted).toString("base64");
    const url = (prefix: string) => Buffer.from(prefix + planted).toString("base64url");
    const control: [string, string, (string | number)[]][] = [
      ["string", "clear", ["SET", "sealed:control:string", `x${planted}y`]],
      ["hash", "base64 @1", ["HSET", "sealed:control:hash", "f", b64("a")]],
      ["list", "base64url @2", ["RPUSH", "sealed:control:list", url("ab")]],
      ["zset", "hex", ["ZADD", "sealed:control:zset", 1, Buffer.from(planted).toString("hex")]],
      ["set", "base64url @0", ["SADD", "sealed:control:set", url("")]],
      // Packed as content.ts packs a large change (byte 0, raw DEFLATE), then base64url: no needle
      // matches these bytes, only their inflation holds the canary.
      [
        "string",
        "clear",
        [
          "SET",
          "sealed:control:deflated",
          Buffer.concat([Buffer.alloc(1), deflateRawSync(`${planted} `.repeat(40))]).toString("base64url"),
        ],
      ],
    ];
    for (const [, , cmd] of control) await stack.redis(...cmd);
    await replicaCaughtUp();
    await bgsave();
    const hits = search(await atRest(), needlesOf(planted));
    for (const [type, form, [, key]] of control) {
      const inflated = key === "sealed:control:deflated" ? " (inflated)" : "";
      for (const server of ["primary", "replica"])
        expect(hits).toContain(`${form} in ${server} db0 ${type} ${key}${inflated}`);
    }
    expect(hits.filter((h) => h.includes("sealed:control:deflated") && !h.endsWith("(inflated)"))).toEqual([]);
    expect(hits).toContain("clear in /redis/dump.rdb");
    expect(
      hits.some((h) => /^clear in \/redis\/appendonlydir\/.*\.incr\.aof$/.test(h)),
      hits.join("; "),
    ).toBe(true);
    await stack.redis("DEL", ...control.map(([, , [, key]]) => String(key)));

    // The plan: not a byte of the canary in any form, anywhere, while its sealed text is there.
    const canary = needlesOf(CANARY);
    const sealed = new Map([["the snapshot's sealed text", Buffer.from(snap.c)]]);
    await bgsave();
    let pieces = await atRest();
    expect(search(pieces, canary)).toEqual([]);
    const where = search(pieces, sealed);
    expect(where).toContain("the snapshot's sealed text in /redis/dump.rdb");
    expect(
      where.some((h) => /\/redis\/appendonlydir\/.*\.incr\.aof$/.test(h)),
      where.join("; "),
    ).toBe(true);

    await bgrewriteaof();
    pieces = await atRest();
    expect(search(pieces, canary)).toEqual([]);
    // After the rewrite the AOF's base (an RDB preamble) holds the snapshot.
    const base2 = search(pieces, sealed).filter((h) => /\/redis\/appendonlydir\/.*\.base\.rdb$/.test(h));
    expect(base2).toHaveLength(1);
  });

  it("what a follower gets over the wire (relay_connect replies, channel messages) holds no plan text", async () => {
    const canary = needlesOf(CANARY);
    const full = await rawConnect("-", 0);
    const full1 = JSON.parse(JSON.parse(full).FCALL) as { mode: string; epoch: string; changes: { c: string }[] };
    expect(full1.mode).toBe("full");
    expect(full1.changes.length).toBe(1 + Number(await stack.redis("LLEN", `relay:{${NAME}}:log`)));
    const changes = await rawConnect(full1.epoch, 1);
    expect(JSON.parse(JSON.parse(changes).FCALL).changes).toHaveLength(edits.length);
    expect(messagesHeard()).toBeGreaterThanOrEqual(1 + edits.length);
    const wire: Piece[] = [
      { where: "the full connect reply", data: Buffer.from(full) },
      { where: "the changes connect reply", data: Buffer.from(changes) },
      { where: "the channel", data: Buffer.from(heard) },
    ];
    expect(search([...wire, ...unwrapped(wire)], canary)).toEqual([]);

    // Control: the same replies carry the plan, sealed: the real client opens it, canary and all.
    const follower = await createRelay({ url: stack.webdisUrl, heartbeatMs: 0 }).connect(NAME, { password: PASSWORD });
    try {
      const { state } = await waitForSeq(follower, 1 + edits.length, 10_000);
      const opened = { where: "the follower's state", data: Buffer.from(JSON.stringify(state)) };
      expect(search([opened], canary)).toContain("clear in the follower's state");
    } finally {
      follower.disconnect();
    }
  });
});
