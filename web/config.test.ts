import { describe, expect, it } from "vitest";
import { cleanUrl, loadRelayConfig } from "./config.ts";

const loc = (search = "") => ({ search, hostname: "10.0.0.5", href: `http://10.0.0.5:8080/${search}` });
const fileFetch = (body: unknown, ok = true) =>
  (async () => ({ ok, json: async () => body })) as unknown as typeof fetch;
const noFile = (async () => {
  throw new TypeError("fetch failed");
}) as unknown as typeof fetch;

describe("relay config", () => {
  it("prefers an explicit ?relay= link parameter", async () => {
    const c = await loadRelayConfig(loc("?relay=http://127.0.0.1:9000/"), fileFetch({ url: "http://x:1" }), {
      url: "http://y:2",
    });
    expect(c).toEqual({ url: "http://127.0.0.1:9000", source: "link" });
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
    expect(await loadRelayConfig(loc("?relay=ftp://x"), fileFetch({ url: "file:///etc" }), {})).toMatchObject({
      source: "default",
    });
  });
});
