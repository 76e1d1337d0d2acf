/**
 * Subscriptions: a follower only receives a stream through the channel that
 * `connect` gave it (40 hex chars derived in Lua). PSUBSCRIBE is refused;
 * subscribing to the stream's name, key names, keyspace-notification channels
 * or guesses yields nothing while the leader publishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type Leader } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";
import { baseKeyBytes, closeSnapshots, encodeAll, eventually, http, rawFcall, sleep } from "./support.ts";

let stack: Stack;
let leader: Leader;
let name: string;
const password = "sub-pw";

beforeAll(async () => {
  stack = await startStack();
  const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
  name = uniqueName("sub");
  leader = await relay.start(name, { password, code: "sub-code" });
});
afterAll(async () => {
  leader?.close();
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

/** A chunked HTTP subscription (GET /SUBSCRIBE/chan), as an attacker without the client would open it. */
function listen(channel: string) {
  const ctl = new AbortController();
  const chunks: string[] = [];
  let status = 0;
  const done = fetch(`${stack.webdisUrl}/SUBSCRIBE/${encodeAll(channel)}`, { signal: ctl.signal })
    .then(async (res) => {
      status = res.status;
      const reader = res.body?.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const r = await reader?.read();
        if (!r || r.done) break;
        chunks.push(dec.decode(r.value));
      }
    })
    .catch(() => {});
  return {
    channel,
    get status() {
      return status;
    },
    confirmed: () => chunks.join("").includes('"subscribe"'),
    messages: () => [...chunks.join("").matchAll(/"message"/g)].length,
    close: async () => {
      ctl.abort();
      await done;
    },
  };
}

describe("subscriptions", () => {
  it("PSUBSCRIBE is refused in every form", async () => {
    for (const p of [
      "/PSUBSCRIBE/*",
      "/psubscribe/*",
      "/PSUBSCRIBE/*.json",
      "/PSUBSCRIBE/relay*.raw",
      "/0/PSUBSCRIBE/*",
    ]) {
      expect((await http(stack, "GET", p)).status, p).toBe(403);
    }
    expect((await http(stack, "POST", "/", "PSUBSCRIBE/*")).status).toBe(403);
    expect((await http(stack, "PUT", "/PSUBSCRIBE", "*")).status).toBe(403);
  });

  it("only the channel from connect delivers; names, keys and guesses hear nothing", async () => {
    const pw = (await derivePasswordKeys(name, password)).verifier;
    const conn = await rawFcall(stack, "relay_connect", [baseKeyBytes(name)], [name, pw, "-", "0"]);
    const channel = JSON.parse(String(conn.value)).channel as string;
    expect(channel).toMatch(/^[0-9a-f]{40}$/);
    const base = `relay:{${name}}`;
    const guesses = [
      name,
      base,
      `${base}:meta`,
      `${base}:snap`,
      `${base}:log`,
      `${base}:state`, // v1's key
      "relay:index",
      "relay",
      `relay:${name}`,
      `__keyspace@0__:${base}:snap`,
      `__keyevent@0__:set`,
      `__keyevent@0__:rpush`,
      channel.toUpperCase(),
      channel.slice(0, 39),
      `${channel} `,
      randomHex(20),
      "*",
    ];
    const real = listen(channel);
    const others = guesses.map(listen);
    expect(await eventually(async () => real.confirmed() && others.every((o) => o.confirmed()), 5_000)).toBe(true);
    for (let i = 1; i <= 5; i++) await leader.publish({ i });
    expect(await eventually(async () => real.messages() >= 5, 5_000)).toBe(true);
    await sleep(200);
    const heard = others.filter((o) => o.messages() > 0).map((o) => o.channel);
    expect(heard).toEqual([]);
    await Promise.all([real, ...others].map((o) => o.close()));
  });

  it("keyspace notifications stay off (they would leak key events to any subscriber)", async () => {
    expect(await stack.redis("CONFIG", "GET", "notify-keyspace-events")).toEqual(["notify-keyspace-events", ""]);
  });

  it("a channel from an ended stream delivers nothing from a new stream of the same name", async () => {
    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const n = uniqueName("reuse");
    const first = await relay.start(n, { password, code: "c1" });
    const pw = (await derivePasswordKeys(n, password)).verifier;
    const c1 = JSON.parse(
      String((await rawFcall(stack, "relay_connect", [baseKeyBytes(n)], [n, pw, "-", "0"])).value),
    ).channel;
    await first.stop();
    const second = await relay.start(n, { password, code: "c2" });
    const old = listen(c1);
    expect(await eventually(async () => old.confirmed(), 3_000)).toBe(true);
    await second.publish({ secret: "new stream" });
    await sleep(300);
    expect(old.messages()).toBe(0);
    await old.close();
    second.close();
  });
});
