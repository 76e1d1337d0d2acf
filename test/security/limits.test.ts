/**
 * Limits: a sealed state or change is at most max_state bytes (1 MiB by
 * default), names at most max_name bytes, list pages at most max_page; all
 * configurable in the relay:config hash. Webdis refuses requests over
 * http_max_request_size (4 MiB in webdis.json: a caller may percent-encode every
 * byte, so 1 MiB of content can take up to 3 MiB on the wire). Huge or malformed
 * requests get an error, never a crash.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type Relay, RelayError } from "../../src/node.ts";
import { repoRoot } from "../../src/server/native.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";
import {
  baseKeyBytes,
  bothAlive,
  changedKeys,
  closeSnapshots,
  codeOf,
  encodeAll,
  http,
  type RawStream,
  rawFcall,
  rawPublish,
  rawStream,
  sealedOf,
  sleep,
  snapshot,
} from "./support.ts";

let stack: Stack;
let relay: Relay;
const MiB = 1024 * 1024;

beforeAll(async () => {
  stack = await startStack();
  relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
});
afterEach(async () => {
  await stack.redis("DEL", "relay:config");
});
afterAll(async () => {
  if (stack) closeSnapshots(stack);
  await stack?.stop();
});

const own = () => rawStream(stack, "lim");
const publish = (s: RawStream, content: string) => rawPublish(stack, s, content);

/** Raw bytes to Webdis over TCP; resolves with whatever came back before it closed (or `ms`). */
function rawTcp(data: Buffer | string, ms = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port: stack.webdisPort });
    let got = "";
    const end = () => {
      sock.destroy();
      resolve(got);
    };
    const t = setTimeout(end, ms);
    sock.on("data", (d) => {
      got += d.toString("latin1");
    });
    sock.on("close", () => {
      clearTimeout(t);
      resolve(got);
    });
    sock.on("error", () => {});
    sock.on("connect", () => sock.write(data));
  });
}

describe("state, name and page limits", () => {
  it("sealed content over 1 MiB (the default) is TOO_LARGE and the old state stays; 1 MiB exactly is fine", async () => {
    const s = await own();
    const fits = await publish(s, sealedOf(MiB));
    expect(fits.ok, fits.error).toBe(true);
    const before = await snapshot(stack);
    const r = await publish(s, sealedOf(MiB + 1));
    expect(codeOf(r.error)).toBe("TOO_LARGE");
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
    // The same through the client: a plan of 1.2 MB that DEFLATE cannot shrink below
    // 900 KB (random bytes in base64) seals to more than 1 MiB.
    const leader = await relay.start(uniqueName("lim"), { password: "p", code: "c" });
    const err = await leader.publish({ p: randomBytes(900_000).toString("base64") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe("TOO_LARGE");
    leader.close();
  });

  it("max_state is configurable in relay:config", async () => {
    await stack.redis("HSET", "relay:config", "max_state", "1000");
    const s = await own();
    expect((await publish(s, sealedOf(1000))).ok).toBe(true);
    expect(codeOf((await publish(s, sealedOf(1001))).error)).toBe("TOO_LARGE");
  });

  it("names: 200 bytes fine, 201 TOO_LARGE (counted in UTF-8 bytes); max_name configurable", async () => {
    const start = (name: string) =>
      rawFcall(
        stack,
        "relay_start",
        [baseKeyBytes(name)],
        [name, randomHex(32), randomHex(32), randomHex(24), randomHex(24)],
      );
    const base = uniqueName("n");
    expect((await start(base.padEnd(200, "x"))).ok).toBe(true);
    expect(codeOf((await start(base.padEnd(201, "x"))).error)).toBe("TOO_LARGE");
    expect(codeOf((await start(`${base.padEnd(199, "x")}é`)).error)).toBe("TOO_LARGE"); // 199 chars, 201 bytes
    await stack.redis("HSET", "relay:config", "max_name", "20");
    expect(codeOf((await start("x".repeat(21))).error)).toBe("TOO_LARGE");
  });

  it("list pages: 1..100 by default, max_page configurable; bad counts are refused", async () => {
    const list = (count: string) => rawFcall(stack, "relay_list", [], ["-", count], { command: "FCALL_RO" });
    expect((await list("100")).ok).toBe(true);
    expect(codeOf((await list("101")).error)).toBe("TOO_LARGE");
    for (const bad of ["0", "-1", "abc", "1e2", "99999999999999999"])
      expect(["INVALID", "TOO_LARGE"]).toContain(codeOf((await list(bad)).error));
    await stack.redis("HSET", "relay:config", "max_page", "5");
    expect(codeOf((await list("6")).error)).toBe("TOO_LARGE");
  });
});

describe("huge and malformed requests", () => {
  it("webdis.json sets http_max_request_size to 4 MiB", () => {
    const conf = JSON.parse(readFileSync(join(repoRoot, "webdis.json"), "utf8"));
    expect(conf.http_max_request_size).toBe(4 * MiB);
  });

  it("1 MiB of sealed content with every byte percent-encoded still fits through the door", async () => {
    // Sealed content is base64url, which the client never needs to encode; a
    // caller may still encode every byte (%XX, 3 bytes each): the worst case of a
    // valid request. It must fit under http_max_request_size.
    const s = await own();
    const body = [
      "FCALL",
      "relay_publish",
      "1",
      encodeAll(`relay:{${s.name}}`),
      s.name,
      s.token,
      "1",
      randomHex(16),
      "0",
      "s",
      encodeAll(sealedOf(MiB)),
    ].join("/");
    expect(body.length).toBeGreaterThan(3 * MiB);
    expect(body.length).toBeLessThan(4 * MiB);
    const r = await http(stack, "POST", "/", body);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).FCALL).toContain('"changed":true');
  });

  it("an 8 MiB body, a 5 MiB URL and a 100 KiB header get an error; both servers stay up", async () => {
    const before = await snapshot(stack);
    const big = await http(stack, "POST", "/", `FCALL/relay_version/0/${"a".repeat(8 * MiB)}`).catch((e: Error) => ({
      status: -1,
      text: e.message,
    }));
    expect(big.status === -1 || big.status >= 400, `8 MiB body: ${big.status}`).toBe(true);
    const url = await http(stack, "GET", `/FCALL/relay_version/0/${"a".repeat(5 * MiB)}`).catch((e: Error) => ({
      status: -1,
      text: e.message,
    }));
    expect(url.status === -1 || url.status >= 400, `5 MiB URL: ${url.status}`).toBe(true);
    await rawTcp(`GET /PING HTTP/1.1\r\nHost: x\r\nX-Big: ${"h".repeat(100 * 1024)}\r\n\r\n`);
    // A lying Content-Length far beyond the limit.
    const liar = await rawTcp("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nPING");
    expect(liar).toMatch(/^HTTP\/1\.[01] 4\d\d|^$/);
    await bothAlive(stack);
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
  });

  it("broken percent-encoding and garbage bytes get an error or a harmless answer; both servers stay up", async () => {
    const before = await snapshot(stack);
    const bodies = [
      "FCALL/relay_version/0/%",
      "FCALL/relay_version/0/%G1",
      "FCALL/relay_version/0/%%%%",
      "FCALL/relay_version/0/%0",
      "FCALL/relay_version/%00",
      "FCALL/%",
      "%",
      "/",
      "//////",
      ".json",
      "FCALL/relay_start/1/%ZZ/%ZZ/%ZZ/%ZZ/%ZZ/%ZZ",
      "FCALL_RO/relay_list/0/%FF%FE/1",
    ];
    for (const b of bodies) {
      const r = await http(stack, "POST", "/", b);
      if (r.status === 200) expect(r.text, b).not.toMatch(/"(OK|PONG)"/);
      else expect(r.status, b).toBeGreaterThanOrEqual(400);
    }
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const garbage = Array.from({ length: 20 }, (_, i) =>
      Buffer.from(Array.from({ length: 64 + (rnd() % 4096) * (i + 1) }, () => rnd() & 0xff)),
    );
    garbage.push(
      Buffer.from("GET / HTTP/9.9\r\n\r\n"),
      Buffer.from("\r\n\r\n\r\n"),
      Buffer.from("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nFLUSHALL\r\n0\r\n\r\n"),
    );
    await Promise.all(garbage.map((g) => rawTcp(g, 500)));
    await bothAlive(stack);
    expect(changedKeys(before, await snapshot(stack))).toEqual([]);
  });

  it("slow clients (slowloris, bounded: 100 sockets for 3 s) do not stop others from being served", async () => {
    const socks = Array.from({ length: 100 }, () => connect({ host: "127.0.0.1", port: stack.webdisPort }));
    for (const s of socks) {
      s.on("error", () => {});
      s.write("POST / HTTP/1.1\r\nHost: x\r\n");
    }
    try {
      const until = Date.now() + 3_000;
      let served = 0;
      while (Date.now() < until) {
        for (const s of socks) if (!s.destroyed) s.write(`X-Slow-${served}: ${"s".repeat(10)}\r\n`);
        const t0 = Date.now();
        await bothAlive(stack);
        expect(Date.now() - t0).toBeLessThan(3_000); // generous: the test machine may be busy
        served++;
        await sleep(250);
      }
      expect(served).toBeGreaterThan(5);
    } finally {
      for (const s of socks) s.destroy();
    }
    await bothAlive(stack);
  });
});
