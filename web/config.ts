/**
 * Where Webdis is. In order: a `?relay=` link parameter (an explicit choice),
 * then `relay-config.json` beside index.html (written by `mission-relay up`),
 * then VITE_RELAY_URL at build time, then port 7379 on this page's host.
 */
export interface RelayConfig {
  url: string;
  /** The subscription door (WebSockets), when the deployment has one. */
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

export async function loadRelayConfig(
  loc: Pick<Location, "search" | "hostname" | "href"> = location,
  fetchFn: typeof fetch = fetch,
  buildUrl: string | undefined = import.meta.env.VITE_RELAY_URL,
): Promise<RelayConfig> {
  const params = new URLSearchParams(loc.search);
  const fromLink = cleanUrl(params.get("relay"));
  if (fromLink) return { url: fromLink, subscribeUrl: cleanUrl(params.get("subscribe")), source: "link" };
  try {
    const res = await fetchFn(new URL("relay-config.json", loc.href), { cache: "no-store" });
    if (res.ok) {
      const body = (await res.json()) as { url?: unknown; subscribeUrl?: unknown } | null;
      const url = cleanUrl(body?.url);
      if (url) return { url, subscribeUrl: cleanUrl(body?.subscribeUrl), source: "file" };
    }
  } catch {
    // No file beside the page (e.g. `vite dev`): fall through.
  }
  const fromBuild = cleanUrl(buildUrl);
  if (fromBuild) return { url: fromBuild, source: "build" };
  return { url: `http://${loc.hostname || "127.0.0.1"}:7379`, source: "default" };
}
