/**
 * Where the doors are. In order: `relay-config.json` beside index.html
 * (written/served by `mission-relay up`: `{url, subscribeUrl}`, or with several
 * doors or shards `{urls, subscribeUrls}` / `{shards: [...]}`, src/core/config.ts), then
 * VITE_RELAY_URL / VITE_RELAY_SUBSCRIBE_URL at build time, then port 7379 on
 * this page's host. Without a subscription door, live updates use the command
 * door's HTTP stream.
 *
 * A `?relay=` link parameter is honoured only in development mode (`vite dev`) and
 * only for a door on the page's own host: in a build a link can never point
 * the page at another relay, since the page sends the password and leader-code
 * verifiers there (a phishing link `?relay=http://attacker#/follow/victim`
 * would otherwise hand them over). The server's CSP connect-src (see
 * src/server/web.ts) enforces the same in the browser.
 */
import { configJson, parseConfig, type RelayConfigInput } from "../src/core/config.ts";
import { parseMapConfig, type TileSource } from "./map-config.ts";

export interface RelayConfig {
  /** The (first) command door. */
  url: string;
  /** Webdis with WebSockets in front of the subscribe-only replica, when there is one. */
  subscribeUrl?: string;
  source: "link" | "file" | "build" | "default";
  /**
   * Every door, when relay-config.json lists several doors or shards (checked by
   * the client's one config schema): createRelay takes this instead of url/subscribeUrl.
   */
  doors?: RelayConfigInput;
  /**
   * The leader's heartbeat and the follower's watchdog (ms), from relay-config.json when it
   * says (a deployment that wants liveness sooner than the client's 15 s / 45 s defaults).
   */
  heartbeatMs?: number;
  staleAfterMs?: number;
  /** A raster tile server under the offline basemap (relay-config.json `map`, web/map-config.ts). */
  map?: TileSource;
  /** Why a `map` in relay-config.json is not used (shown on the map). */
  mapNotice?: string;
}

/** A whole number of ms in a sane range, or undefined. */
function timing(raw: unknown, min: number): number | undefined {
  return typeof raw === "number" && Number.isInteger(raw) && raw >= min && raw <= 600_000 ? raw : undefined;
}

export function cleanUrl(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.trim() === "") return undefined;
  try {
    const u = new URL(raw.trim());
    if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
    return u.href.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

function withSubscribe(url: string, subscribeUrl: string | undefined, source: RelayConfig["source"]): RelayConfig {
  return subscribeUrl ? { url, subscribeUrl, source } : { url, source };
}

/**
 * The file's doors: the client's schema for the shapes with several doors or
 * shards (all or nothing), the old lenient reading for `{url, subscribeUrl}`.
 */
function fromFile(body: Record<string, unknown> | null): RelayConfig | undefined {
  if (body && ("shards" in body || "urls" in body || "subscribeUrls" in body)) {
    try {
      const { url, urls, subscribeUrl, subscribeUrls, shards } = body;
      const d = parseConfig({ url, urls, subscribeUrl, subscribeUrls, shards });
      return { url: d.shards[0]?.urls[0] as string, doors: configJson(d), source: "file" };
    } catch {
      return undefined;
    }
  }
  const url = cleanUrl(body?.url);
  return url ? withSubscribe(url, cleanUrl(body?.subscribeUrl), "file") : undefined;
}

/** A `?relay=` (and `&subscribe=`) door from the link, when allowed and on the page's own host. */
function fromLink(loc: Pick<Location, "search" | "hostname">, allowLink: boolean): RelayConfig | undefined {
  if (!allowLink) return undefined;
  const params = new URLSearchParams(loc.search);
  const url = cleanUrl(params.get("relay"));
  const sub = cleanUrl(params.get("subscribe"));
  const ownHost = (u: string | undefined) => u === undefined || new URL(u).hostname === loc.hostname;
  if (!url || !ownHost(url) || !ownHost(sub)) return undefined;
  return withSubscribe(url, sub, "link");
}

export async function loadRelayConfig(
  loc: Pick<Location, "search" | "hostname" | "href"> = location,
  fetchFn: typeof fetch = fetch,
  build: { url?: string | undefined; subscribeUrl?: string | undefined } = {
    url: import.meta.env.VITE_RELAY_URL,
    subscribeUrl: import.meta.env.VITE_RELAY_SUBSCRIBE_URL,
  },
  // MODE, not DEV: DEV follows NODE_ENV, which a build run under a test runner inherits as "test".
  allowLink: boolean = import.meta.env.MODE === "development",
): Promise<RelayConfig> {
  const link = fromLink(loc, allowLink);
  if (link) return link;
  try {
    const res = await fetchFn(new URL("relay-config.json", loc.href), { cache: "no-store" });
    if (res.ok) {
      const body = (await res.json()) as Record<string, unknown> | null;
      const c = fromFile(body);
      if (c) {
        const heartbeatMs = timing(body?.heartbeatMs, 250);
        const staleAfterMs = timing(body?.staleAfterMs, 1000);
        if (heartbeatMs !== undefined) c.heartbeatMs = heartbeatMs;
        if (staleAfterMs !== undefined) c.staleAfterMs = staleAfterMs;
        const { map, notice } = parseMapConfig(body?.map);
        if (map) c.map = map;
        if (notice) c.mapNotice = notice;
        return c;
      }
    }
  } catch {
    // No file beside the page (e.g. `vite dev`): fall through.
  }
  const fromBuild = cleanUrl(build.url);
  if (fromBuild) return withSubscribe(fromBuild, cleanUrl(build.subscribeUrl), "build");
  return { url: `http://${loc.hostname || "127.0.0.1"}:7379`, source: "default" };
}
