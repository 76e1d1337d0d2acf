/**
 * The one config shape (src/core/config.ts) and the CLI's precedence
 * (src/cli/common.ts clientConfig): flat and sharded, typed INVALID errors that
 * name the path and never the value.
 */
import { describe, expect, it } from "vitest";
import { clientConfig } from "../../src/cli/common.ts";
import { configJson, DEFAULT_SHARD, parseConfig, parseConfigText } from "../../src/core/config.ts";
import { RelayError } from "../../src/core/errors.ts";
import { createRelay } from "../../src/core/relay.ts";
import { connectSources, imageSources, securityHeaders, webHandler } from "../../src/server/web.ts";

const invalid = (f: () => unknown): RelayError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RelayError);
    expect((e as RelayError).code).toBe("INVALID");
    return e as RelayError;
  }
  throw new Error("expected INVALID");
};

describe("relay config", () => {
  it("the flat form is one shard, as relay-config.json has always said it", () => {
    expect(parseConfig({ url: "http://127.0.0.1:7379/", subscribeUrl: "http://127.0.0.1:7380" })).toEqual({
      shards: [{ id: DEFAULT_SHARD, urls: ["http://127.0.0.1:7379"], subscribeUrls: ["http://127.0.0.1:7380"] }],
    });
    expect(parseConfig({ urls: ["http://a:1", "http://a:2"], subscribeUrls: ["http://a:3", "http://a:4"] })).toEqual({
      shards: [{ id: DEFAULT_SHARD, urls: ["http://a:1", "http://a:2"], subscribeUrls: ["http://a:3", "http://a:4"] }],
    });
    expect(configJson(parseConfig({ url: "http://a:1", subscribeUrl: "http://a:2" }))).toEqual({
      url: "http://a:1",
      subscribeUrl: "http://a:2",
    });
  });

  it("the sharded form: ids, a command door (url or urls) and subscription doors per shard", () => {
    const shards = [
      { id: "s1", url: "http://127.0.0.1:1", subscribeUrls: ["http://127.0.0.1:2", "http://127.0.0.1:3"] },
      { id: "s2", urls: ["http://127.0.0.1:4"] },
    ];
    const d = parseConfig({ shards });
    expect(d.shards.map((s) => [s.id, s.urls.length, s.subscribeUrls.length])).toEqual([
      ["s1", 1, 2],
      ["s2", 1, 0],
    ]);
    expect(parseConfig(configJson(d))).toEqual(d);
  });

  it("refuses, with the path and without the value: mixed shapes, no door, duplicates, bad URLs", () => {
    const secret = "hunter2-secret";
    const e = invalid(() => parseConfig({ shards: [{ id: "a", url: `http://user:${secret}@127.0.0.1:1` }] }));
    expect(e.message).toMatch(/shards\.0\.url must not carry a user or password/);
    expect(e.message).not.toContain(secret);
    expect(invalid(() => parseConfig({ url: "http://a:1", shards: [{ id: "a", url: "http://a:2" }] })).message).toMatch(
      /one shape/,
    );
    expect(invalid(() => parseConfig({})).message).toMatch(/needs a command door/);
    expect(invalid(() => parseConfig({ shards: [{ id: "a" }] })).message).toMatch(/shards\.0 needs a command door/);
    const dup = {
      shards: [
        { id: "a", url: "http://a:1" },
        { id: "a", url: "http://a:2" },
      ],
    };
    expect(invalid(() => parseConfig(dup)).message).toMatch(/shards\.1\.id/);
    const shared = {
      shards: [
        { id: "a", url: "http://a:1" },
        { id: "b", urls: ["http://a:1/"] },
      ],
    };
    expect(invalid(() => parseConfig(shared)).message).toMatch(/shares a command door/);
    expect(invalid(() => parseConfig({ url: "ftp://a" })).message).toMatch(/^relay config: url /);
    expect(invalid(() => parseConfig({ shards: [{ id: "a:b", url: "http://a:1" }] })).message).toMatch(/shards\.0\.id/);
    expect(invalid(() => parseConfig({ url: "http://a:1", urls: ["http://a:2"] })).message).toMatch(/both/);
    const text = invalid(() => parseConfigText(`{"url": "http://a:1", "password": "${secret}"`));
    expect(text.message).toBe("relay config: is not JSON");
  });

  it("createRelay takes both shapes (and refuses the same things, typed)", () => {
    expect(createRelay({ url: "http://127.0.0.1:7379" }).url).toBe("http://127.0.0.1:7379");
    const r = createRelay({
      shards: [
        { id: "x", url: "http://127.0.0.1:1" },
        { id: "y", url: "http://127.0.0.1:2" },
      ],
    });
    expect(r.deployment.shards).toHaveLength(2);
    expect(["x", "y"]).toContain(r.shardOf("mission"));
    expect(r.shardOf("mission")).toBe(r.shardOf("mission".normalize("NFD")));
    invalid(() => createRelay({}));
    // A maker of changes that is not a function is refused here, not at the first publish.
    invalid(() => createRelay({ url: "http://127.0.0.1:7379", makeChange: "worker" as never }));
  });
});

describe("CLI doors: precedence", () => {
  const file = JSON.stringify({
    shards: [
      { id: "a", url: "http://127.0.0.1:1" },
      { id: "b", url: "http://127.0.0.1:2" },
    ],
  });
  const one = JSON.stringify({ url: "http://127.0.0.1:5", subscribeUrl: "http://127.0.0.1:6" });
  const read = (text: string) => (p: string) => {
    if (p !== "/cfg.json") throw new Error("ENOENT");
    return text;
  };

  it("--url, then RELAY_URL, then RELAY_CONFIG, then the default", () => {
    const env = { RELAY_URL: "http://127.0.0.1:9", RELAY_CONFIG: "/cfg.json" };
    expect(clientConfig({ url: "http://127.0.0.1:8" }, env, read(file))).toEqual({ url: "http://127.0.0.1:8" });
    expect(clientConfig({}, env, read(file))).toEqual({ url: "http://127.0.0.1:9" });
    expect(clientConfig({}, { RELAY_CONFIG: "/cfg.json" }, read(file))).toMatchObject({
      shards: [{ id: "a" }, { id: "b" }],
    });
    expect(clientConfig({}, {}, read(file))).toEqual({ url: "http://127.0.0.1:7379" });
    expect(clientConfig({ subscribeUrl: "http://127.0.0.1:3" }, { RELAY_URL: "http://127.0.0.1:9" })).toEqual({
      url: "http://127.0.0.1:9",
      subscribeUrl: "http://127.0.0.1:3",
    });
  });

  it("a subscription door from the flag or env replaces a one-shard file's, and is refused for a sharded one", () => {
    const env = { RELAY_CONFIG: "/cfg.json", RELAY_SUBSCRIBE_URL: "http://127.0.0.1:7" };
    expect(clientConfig({}, env, read(one))).toEqual({ url: "http://127.0.0.1:5", subscribeUrl: "http://127.0.0.1:7" });
    expect(invalid(() => clientConfig({}, env, read(file))).message).toMatch(/cannot override a sharded/);
  });

  it("a file that cannot be read or parsed is INVALID, naming the file and not its content", () => {
    expect(invalid(() => clientConfig({}, { RELAY_CONFIG: "/nope.json" }, read(file))).message).toBe(
      'RELAY_CONFIG: cannot read "/nope.json"',
    );
    const e = invalid(() => clientConfig({}, { RELAY_CONFIG: "/cfg.json" }, read('{"code": "leader-secret"')));
    expect(e.message).toBe('RELAY_CONFIG "/cfg.json": is not JSON');
    expect(e.message).not.toContain("leader-secret");
  });
});

describe("web UI server: every door of a sharded config", () => {
  const config = {
    shards: [
      { id: "a", url: "http://127.0.0.1:7400", subscribeUrls: ["http://127.0.0.1:7401", "https://relay.test:7402"] },
      { id: "b", urls: ["http://127.0.0.1:7500", "http://127.0.0.1:7501"] },
    ],
  };

  it("connect-src lists each command door, and each subscription door over HTTP and WebSocket", () => {
    const doors = { url: "http://127.0.0.1:7400", config };
    expect(connectSources(doors).sort()).toEqual(
      [
        "http://127.0.0.1:7400",
        "http://127.0.0.1:7401",
        "ws://127.0.0.1:7401",
        "https://relay.test:7402",
        "wss://relay.test:7402",
        "http://127.0.0.1:7500",
        "http://127.0.0.1:7501",
      ].sort(),
    );
    // The one-door form as before.
    expect(connectSources({ url: "http://127.0.0.1:1", subscribeUrl: "http://127.0.0.1:2" })).toEqual([
      "http://127.0.0.1:1",
      "http://127.0.0.1:2",
      "ws://127.0.0.1:2",
    ]);
  });

  it("serves the config as relay-config.json, and refuses a bad one at start-up (typed)", () => {
    let body = "";
    const res = {
      writeHead: () => res,
      end: (b: string) => {
        body = b;
      },
    };
    webHandler("/nonexistent", { url: "http://127.0.0.1:7400", config })(
      { method: "GET", url: "/relay-config.json" } as never,
      res as never,
    );
    expect(parseConfig(JSON.parse(body))).toEqual(parseConfig(config));
    invalid(() => webHandler("/x", { url: "http://a:1", config: { shards: [{ id: "a", url: "ftp://x" }] } }));
  });
});

describe("web UI server: the map's tile server (up --tile-url)", () => {
  const doors = { url: "http://127.0.0.1:1" };
  const img = (h: Record<string, string>) => /img-src ([^;]*)/.exec(h["content-security-policy"] ?? "")?.[1];

  it("keeps img-src to the page and data: without one", () => {
    expect(img(securityHeaders(doors))).toBe("'self' data:");
  });

  it("opens exactly the tile server's origin in img-src, nothing else changes", () => {
    const map = { tileUrl: "https://tiles.example:8443/osm/{z}/{x}/{y}.png?key=k" };
    const h = securityHeaders({ ...doors, map });
    expect(img(h)).toBe("'self' data: https://tiles.example:8443");
    expect(imageSources({ ...doors, map })).toEqual(["'self'", "data:", "https://tiles.example:8443"]);
    expect(h["content-security-policy"]?.replace(/img-src [^;]*/, "")).toBe(
      securityHeaders(doors)["content-security-policy"]?.replace(/img-src [^;]*/, ""),
    );
    // A URL that is not http(s) opens nothing.
    expect(imageSources({ ...doors, map: { tileUrl: "javascript:x/{z}/{x}/{y}" } })).toEqual(["'self'", "data:"]);
  });

  it("serves it to the page in relay-config.json as map", async () => {
    const map = { tileUrl: "https://tiles.example/{z}/{x}/{y}.png" };
    const handler = webHandler("/nonexistent", { ...doors, map });
    const body = await new Promise<string>((resolve) => {
      const res = {
        headersSent: false,
        writeHead() {},
        end: (b: string) => resolve(String(b)),
      };
      handler({ method: "GET", url: "/relay-config.json" } as never, res as never);
    });
    expect(JSON.parse(body)).toEqual({ url: "http://127.0.0.1:1", map });
  });
});
