/**
 * Issue 12, attack 10: `Victim`, `victim `, `vіctim` (Cyrillic і),
 * `victim\u200b` and `café` in NFC and NFD were all accepted and listed side
 * by side. Now (lua/lib/0_names.lua) relay_start refuses format characters and
 * leading/trailing whitespace (INVALID), refuses decomposed (NFD) Latin marks
 * (INVALID; the client sends names in NFC), and refuses a name whose skeleton
 * (case-folded, Cyrillic/Greek/full-width look-alikes mapped to Latin) is held
 * by another live stream (NAME_CONFUSABLE). A refusal writes nothing; a
 * skeleton is freed wherever its stream ends.
 *
 * The attacks go straight to the door (rawFcall, every byte as sent), so no
 * client-side cleaning hides a gap in Lua.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type RelayError } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { sleep, uniqueName, waitForSeq } from "../support/util.ts";
import { baseKeyBytes, changedKeys, closeSnapshots, codeOf, rawFcall, snapshot } from "./support.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

const V = randomHex(32);
const start = (name: string) =>
  rawFcall(stack, "relay_start", [baseKeyBytes(name)], [name, V, V, randomHex(24), randomHex(24)]);
const stop = (name: string) => rawFcall(stack, "relay_stop", [baseKeyBytes(name)], [name, V]);
const listed = async () => {
  const r = await rawFcall(stack, "relay_list", [], ["-", "100"], { command: "FCALL_RO" });
  return (JSON.parse(String(r.value)) as { streams: { name: string }[] }).streams.map((s) => s.name);
};

/** Starting `name` is refused with `code`, and not one key of any database changed. */
async function expectRefused(name: string, code: string, message?: RegExp): Promise<void> {
  const before = await snapshot(stack);
  const r = await start(name);
  expect(r.ok, `${JSON.stringify(name)} was accepted`).toBe(false);
  expect(codeOf(r.error), `${JSON.stringify(name)}: ${r.error}`).toBe(code);
  if (message) expect(r.error).toMatch(message);
  expect(changedKeys(before, await snapshot(stack)), JSON.stringify(name)).toEqual([]);
}

/** Waits (bounded) until the stream's idle deadline is behind the server's clock. */
async function untilExpired(name: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const [s, us] = (await stack.redis("TIME")) as [string, string];
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const deadline = Number(await stack.redis("HGET", `${baseKeyBytes(name).toString()}:meta`, "deadline"));
    if (deadline < now) return;
    if (Date.now() > end) throw new Error(`stream ${name} did not expire`);
    await sleep(50);
  }
}

describe("look-alike names (issue 12, attack 10)", () => {
  it("zero-width and other format characters are refused, wherever they are", async () => {
    const id = uniqueName("fmt");
    const invisible = [
      "\u200b",
      "\u200c",
      "\u200d",
      "\u200e",
      "\u200f",
      "\u2060",
      "\u2061",
      "\u2062",
      "\u2063",
      "\u2064",
      "\ufeff",
      "\u00ad",
      "\u180e",
      "\u034f",
      "\ufe00",
      "\ufe0f",
      "\u{e0001}",
      "\u{e0100}",
    ];
    for (const c of invisible) {
      await expectRefused(`victim${c}-${id}`, "INVALID", /invisible|format/);
      await expectRefused(`${c}victim-${id}`, "INVALID", /invisible|format/);
    }
  });

  it("leading and trailing whitespace is refused (ASCII and Unicode spaces)", async () => {
    const id = uniqueName("ws");
    for (const s of [" ", "\u00a0", "\u1680", "\u2000", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000"]) {
      await expectRefused(`victim-${id}${s}`, "INVALID", /whitespace/);
      await expectRefused(`${s}victim-${id}`, "INVALID", /whitespace/);
    }
    await expectRefused(" ", "INVALID", /whitespace/);
    // Inside a name a space is ordinary text.
    const inner = `Op Nightjar ${id}`;
    expect((await start(inner)).ok).toBe(true);
    expect((await stop(inner)).ok).toBe(true);
  });

  it("NFD is refused by Lua; the client sends NFC, so both spellings reach one stream", async () => {
    const id = uniqueName("cafe");
    const nfc = `café-${id}`;
    const nfd = nfc.normalize("NFD");
    expect(nfd).not.toBe(nfc);
    await expectRefused(nfd, "INVALID", /NFC|decomposed|combining/);
    await expectRefused(`x\u0300-${id}`, "INVALID", /NFC|decomposed|combining/); // a mark with no precomposed form

    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const leader = await relay.start(nfd, { password: "pw", code: "code" });
    expect(await listed()).toContain(nfc);
    expect(await listed()).not.toContain(nfd);
    // Verifiers and the content key are salted with the name: both spellings
    // derive the same ones, so both followers open what the leader sealed.
    const a = await relay.connect(nfc, { password: "pw" });
    const b = await relay.connect(nfd, { password: "pw" });
    await leader.publish({ title: "Recon" });
    for (const f of [a, b]) expect((await waitForSeq(f, 1, 10_000)).state).toEqual({ title: "Recon" });
    await expect(relay.connect(nfd, { password: "wrong" })).rejects.toMatchObject({ code: "BAD_PASSWORD" });
    const again = await relay.reconnect(nfd, { password: "pw", code: "code" });
    await again.stop();
    a.disconnect();
    b.disconnect();
    expect(await listed()).not.toContain(nfc);
  });

  it("every name of the attack is refused next to a live `Victim`, and nothing is written", async () => {
    const id = uniqueName("");
    const victim = `Victim${id}`;
    expect((await start(victim)).ok).toBe(true);
    for (const n of [
      `victim${id}`, // case
      `VICTIM${id}`,
      `v\u0456ctim${id}`, // Cyrillic і
      `V\u0456ct\u0456m${id}`,
      `Vi\u0441tim${id}`, // Cyrillic с
      `Vict\u0399m${id}`, // Greek Ι
      `\uff36\uff49\uff43\uff54\uff49\uff4d${id}`, // full-width Ｖｉｃｔｉｍ
    ]) {
      await expectRefused(n, "NAME_CONFUSABLE", /looks the same/);
    }
    await expectRefused(`victim${id} `, "INVALID");
    await expectRefused(`victim\u200b${id}`, "INVALID");
    await expectRefused(victim, "NAME_TAKEN");
    expect((await listed()).filter((n) => n.endsWith(id))).toEqual([victim]);
  });

  it("digits and look-alike letters fold together: 0/o, 1/l, Greek and Cyrillic o", async () => {
    const id = uniqueName("");
    expect((await start(`hello${id}`)).ok).toBe(true);
    for (const n of [`he1lo${id}`, `hell0${id}`, `hell\u03bf${id}`, `hell\u043e${id}`, `HE\u04c0LO${id}`]) {
      await expectRefused(n, "NAME_CONFUSABLE");
    }
    expect((await stop(`hello${id}`)).ok).toBe(true);
  });

  it("stopping `Victim` frees its skeleton: the look-alike may start then", async () => {
    const id = uniqueName("");
    const victim = `Victim${id}`;
    const alike = `v\u0456ctim${id}`;
    expect((await start(victim)).ok).toBe(true);
    expect(codeOf((await start(alike)).error)).toBe("NAME_CONFUSABLE");
    expect((await stop(victim)).ok).toBe(true);
    expect(await stack.redis("HVALS", "relay:skeleton")).not.toContain(victim);
    const r = await start(alike);
    expect(r.ok, r.error).toBe(true);
    expect(codeOf((await start(victim)).error)).toBe("NAME_CONFUSABLE");
    expect((await stop(alike)).ok).toBe(true);
  });

  it("an expired `Victim` does not hold its skeleton: swept, or replaced by a look-alike's start", async () => {
    const id = uniqueName("");
    const victim = `Victim${id}`;
    const alike = `v\u0456ctim${id}`;
    try {
      // idle_ttl 0: the stream is past its deadline at once, and its own start's sweep ends it.
      await stack.redis("HSET", "relay:config", "idle_ttl", "0");
      expect((await start(victim)).ok).toBe(true);
      expect(await stack.redis("ZSCORE", "relay:index", victim)).toBeNull();
      expect(await stack.redis("HVALS", "relay:skeleton")).not.toContain(victim);

      // idle_ttl 1: expired but not swept yet when the look-alike starts.
      await stack.redis("HSET", "relay:config", "idle_ttl", "1");
      expect((await start(victim)).ok).toBe(true);
      await untilExpired(victim);
      await stack.redis("HDEL", "relay:config", "idle_ttl");
      const r = await start(alike);
      expect(r.ok, r.error).toBe(true);
      expect(await listed()).toContain(alike);
      expect(await stack.redis("HVALS", "relay:skeleton")).toContain(alike);
      expect(await stack.redis("HVALS", "relay:skeleton")).not.toContain(victim);
      expect((await stop(alike)).ok).toBe(true);
    } finally {
      await stack.redis("HDEL", "relay:config", "idle_ttl");
    }
  });

  it("ordinary names still work, side by side", async () => {
    const id = uniqueName("");
    const names = [
      `Opération Nightjar${id}`,
      `東京 作戦${id}`,
      `a/b.c%{d}+e?f#g${id}`,
      `Café Mission ✈${id}`,
      `alpha${id}`,
      `alpha2${id}`,
      `Ελληνικά${id}`,
      `Москва${id}`,
    ];
    for (const n of names) {
      const r = await start(n);
      expect(r.ok, `${n}: ${r.error}`).toBe(true);
    }
    expect((await listed()).filter((n) => n.endsWith(id)).sort()).toEqual([...names].sort());
    for (const n of names) expect((await stop(n)).ok).toBe(true);
    const left = (await stack.redis("HVALS", "relay:skeleton")) as string[];
    expect(left.filter((n) => n.endsWith(id))).toEqual([]);
  });

  it("the client maps NAME_CONFUSABLE to its own code", async () => {
    const id = uniqueName("");
    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const leader = await relay.start(`Victim${id}`, { password: "pw", code: "code" });
    const e = (await relay.start(`v\u0456ctim${id}`, { password: "x", code: "y" }).catch((x) => x)) as RelayError;
    expect(e.code).toBe("NAME_CONFUSABLE");
    await leader.stop();
  });
});
