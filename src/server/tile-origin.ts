/**
 * The one origin a tile URL template loads from ("https://tiles.example/{z}/{x}/{y}.png"
 * → "https://tiles.example"), or undefined when it is not http(s). Shared by the
 * page (web/map-config.ts checks relay-config.json's map.tileUrl) and the web
 * server (src/server/web.ts opens exactly this origin in the CSP's img-src).
 */
export function tileOrigin(tileUrl: string): string | undefined {
  // The host is one plain name, address or [IPv6] with an optional port, before any
  // placeholder: the CSP opens exactly that origin, so "{s}.tiles.example" or
  // "tiles{x}.example" would open one host and load from others, and user info or a
  // backslash would make the browser and this parser disagree on the host.
  const authority = /^https?:\/\/([^/?#]*)/i.exec(tileUrl.trim())?.[1];
  if (authority === undefined || !/^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:\d{1,5})?$/i.test(authority))
    return undefined;
  try {
    const u = new URL(tileUrl.trim().replace(/\{[a-z]+\}/g, "0"));
    return u.protocol === "http:" || u.protocol === "https:" ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Why `tileUrl` is not a template the page can use, or undefined when it is. */
export function tileUrlProblem(tileUrl: string): string | undefined {
  if (!["{z}", "{x}", "{y}"].every((p) => tileUrl.includes(p))) return "needs {z}, {x} and {y}";
  if (tileUrl.includes("{s}")) return "may not use {s} subdomains (name one host)";
  if (tileOrigin(tileUrl) === undefined) return "is not an http(s) URL";
  return undefined;
}
