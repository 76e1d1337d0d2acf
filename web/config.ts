/**
 * Where Webdis is. In order: a `?relay=` link parameter (an explicit choice;
 * `&subscribe=` may add the subscription door), then `relay-config.json` beside
 * index.html (written/served by `mission-relay up`: `{url, subscribeUrl}`), then
 * VITE_RELAY_URL / VITE_RELAY_SUBSCRIBE_URL at build time, then port 7379 on
 * this page's host. Without a subscription door, live updates use the command
 * door's HTTP stream.
 */
export interface RelayConfig {
  url: string;
  /** Webdis with WebSockets in front of the subscribe-only replica, when there is one. */
  subscribeUrl?: string;
  source: "link" | "file" | "build" | "default";
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

export async function loadRelayConfig(
  loc: Pick<Location, "search" | "hostname" | "href"> = location,
  fetchFn: typeof fetch = fetch,
  build: { url?: string | undefined; subscribeUrl?: string | undefined } = {
    url: import.meta.env.VITE_RELAY_URL,
    subscribeUrl: import.meta.env.VITE_RELAY_SUBSCRIBE_URL,
  },
): Promise<RelayConfig> {
  const params = new URLSearchParams(loc.search);
  const fromLink = cleanUrl(params.get("relay"));
  if (fromLink) return withSubscribe(fromLink, cleanUrl(params.get("subscribe")), "link");
  try {
    const res = await fetchFn(new URL("relay-config.json", loc.href), { cache: "no-store" });
    if (res.ok) {
      const body = (await res.json()) as { url?: unknown; subscribeUrl?: unknown } | null;
      const url = cleanUrl(body?.url);
      if (url) return withSubscribe(url, cleanUrl(body?.subscribeUrl), "file");
    }
  } catch {
    // No file beside the page (e.g. `vite dev`): fall through.
  }
  const fromBuild = cleanUrl(build.url);
  if (fromBuild) return withSubscribe(fromBuild, cleanUrl(build.subscribeUrl), "build");
  return { url: `http://${loc.hostname || "127.0.0.1"}:7379`, source: "default" };
}
