import { describe, expect, it } from "vitest";
import { cleanUrl, loadRelayConfig } from "./config.ts";

const loc = (search = "") => ({ search, hostname: "10.0.0.5", href: `http://10.0.0.5:8080/${search}` });
const fileFetch = (body: unknown, ok = true) =>
  (async () => ({ ok, json: async () => body })) as unknown as typeof fetch;
const noFile = (async () => {
  throw new TypeError("fetch failed");
}) as unknown as typeof fetch;

describe("relay config", () => {
  it("ignores a ?relay= link in a build: a link cannot point the page at another relay", async () => {
    const file = fileFetch({ url: "http://127.0.0.1:7400" });
    const phishing = loc("?relay=http://attacker.example:9000/&subscribe=http://attacker.example:9001");
    expect(await loadRelayConfig(phishing, file, {}, false)).toEqual({ url: "http://127.0.0.1:7400", source: "file" });
    // Even on the page's own host: a build reads relay-config.json only.
    expect(await loadRelayConfig(loc("?relay=http://10.0.0.5:9000/"), file, {}, false)).toMatchObject({
      source: "file",
    });
  });

  it("in development honours ?relay= only for a door on the page's own host", async () => {
    const file = fileFetch({ url: "http://127.0.0.1:7400" });
    expect(await loadRelayConfig(loc("?relay=http://10.0.0.5:9000/"), file, {}, true)).toEqual({
      url: "http://10.0.0.5:9000",
      source: "link",
    });
    expect(await loadRelayConfig(loc("?relay=http://attacker.example:9000/"), file, {}, true)).toMatchObject({
      source: "file",
    });
    const foreignSub = loc("?relay=http://10.0.0.5:9000/&subscribe=http://attacker.example:1");
    expect(await loadRelayConfig(foreignSub, file, {}, true)).toMatchObject({ source: "file" });
  });

  it("reads the map's tile server from relay-config.json, and ignores a bad one with a notice", async () => {
    const map = { tileUrl: "https://tiles.example/{z}/{x}/{y}.png", attribution: "© Example", maxZoom: 18 };
    expect(await loadRelayConfig(loc(), fileFetch({ url: "http://127.0.0.1:7400", map }), {}, false)).toEqual({
      url: "http://127.0.0.1:7400",
      source: "file",
      map,
    });
    const bad = await loadRelayConfig(
      loc(),
      fileFetch({ url: "http://127.0.0.1:7400", map: { tileUrl: "https://{s}.tiles.example/{z}/{x}/{y}.png" } }),
      {},
      false,
    );
    expect(bad.map).toBeUndefined();
    expect(bad.mapNotice).toMatch(/not used: map\.tileUrl may not use \{s\}/);
    expect(bad.url).toBe("http://127.0.0.1:7400"); // the doors still count
  });

  it("then relay-config.json beside the page", async () => {
    expect(await loadRelayConfig(loc(), fileFetch({ url: "http://127.0.0.1:7400" }), { url: "http://y:2" })).toEqual({
      url: "http://127.0.0.1:7400",
      source: "file",
    });
    const both = fileFetch({ url: "http://127.0.0.1:7400", subscribeUrl: "http://127.0.0.1:7401/" });
    expect(await loadRelayConfig(loc(), both, {})).toEqual({
      url: "http://127.0.0.1:7400",
      subscribeUrl: "http://127.0.0.1:7401",
      source: "file",
    });
  });

  it("several doors or shards from relay-config.json: all of them, checked by the client's schema, or none", async () => {
    const shards = [
      { id: "a", url: "http://127.0.0.1:7400/", subscribeUrls: ["http://127.0.0.1:7401", "http://127.0.0.1:7402"] },
      { id: "b", urls: ["http://127.0.0.1:7500"] },
    ];
    expect(await loadRelayConfig(loc(), fileFetch({ shards, heartbeatMs: 1000 }), {})).toEqual({
      url: "http://127.0.0.1:7400",
      doors: {
        shards: [
          {
            id: "a",
            urls: ["http://127.0.0.1:7400"],
            subscribeUrls: ["http://127.0.0.1:7401", "http://127.0.0.1:7402"],
          },
          { id: "b", urls: ["http://127.0.0.1:7500"] },
        ],
      },
      heartbeatMs: 1000,
      source: "file",
    });
    const replicated = fileFetch({
      url: "http://127.0.0.1:7400",
      subscribeUrls: ["http://127.0.0.1:7401", "http://127.0.0.1:7402"],
    });
    expect(await loadRelayConfig(loc(), replicated, {})).toMatchObject({
      doors: { url: "http://127.0.0.1:7400", subscribeUrls: ["http://127.0.0.1:7401", "http://127.0.0.1:7402"] },
    });
    // One bad door in a shard: the file is not used at all (never half a deployment).
    const bad = fileFetch({ shards: [...shards, { id: "c", url: "javascript:alert(1)" }] });
    expect(await loadRelayConfig(loc(), bad, {})).toEqual({ url: "http://10.0.0.5:7379", source: "default" });
  });

  it("takes the heartbeat and watchdog intervals from relay-config.json when they are sane", async () => {
    const f = fileFetch({ url: "http://127.0.0.1:7400", heartbeatMs: 1000, staleAfterMs: 3000 });
    expect(await loadRelayConfig(loc(), f, {})).toMatchObject({ heartbeatMs: 1000, staleAfterMs: 3000 });
    const bad = fileFetch({ url: "http://127.0.0.1:7400", heartbeatMs: -5, staleAfterMs: "soon" });
    expect(await loadRelayConfig(loc(), bad, {})).toEqual({ url: "http://127.0.0.1:7400", source: "file" });
  });

  it("then the build-time VITE_RELAY_URL, then port 7379 on the page's host", async () => {
    expect(await loadRelayConfig(loc(), noFile, { url: "http://y:2" })).toEqual({ url: "http://y:2", source: "build" });
    expect(await loadRelayConfig(loc(), fileFetch({}, false), {})).toEqual({
      url: "http://10.0.0.5:7379",
      source: "default",
    });
  });

  it("ignores unusable URLs", async () => {
    expect(cleanUrl("javascript:alert(1)")).toBeUndefined();
    expect(cleanUrl("not a url")).toBeUndefined();
    expect(cleanUrl(42)).toBeUndefined();
    expect(await loadRelayConfig(loc("?relay=ftp://x"), fileFetch({ url: "file:///etc" }), {}, true)).toMatchObject({
      source: "default",
    });
  });
});
