/**
 * Webdis never sets TCP_NODELAY on the sockets it accepts, so a frame written
 * while the previous one is unacknowledged waits for the reader's ACK, and the
 * reader, here the edge, delays ACKs by up to 40 ms: 2 KB updates every 5 ms
 * stalled to p50 8-14 ms through the edge in 6 of 10 bench runs, none with
 * this fix (docs/webdis-latency.md, bench scenario 8). The fix is the reader's:
 * a `quickack 1` route for one loopback address that only the edge dials, so
 * no other connection on the host changes. Root only; Linux only.
 */
import { spawnSync } from "node:child_process";

/** The doors' own address behind the edge (all of 127/8 is local on Linux). */
export const DOOR_HOST = "127.0.0.2";

const route = (verb: "replace" | "del", host: string) =>
  spawnSync(
    "ip",
    ["route", verb, "local", host, "dev", "lo", "table", "local", "scope", "host", "src", "127.0.0.1"].concat(
      verb === "replace" ? ["quickack", "1"] : [],
    ),
    { encoding: "utf8" },
  );

/**
 * Adds the route; resolves with its remover, or undefined (with a log line)
 * where it cannot be set: then the doors stay on 127.0.0.1 and may stall.
 */
export function quickackRoute(host: string, log: (l: string) => void): (() => void) | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    log(`edge: not root, no quickack route for ${host}: 2 KB updates may stall up to 40 ms (docs/webdis-latency.md)`);
    return undefined;
  }
  const r = route("replace", host);
  if (r.error || r.status !== 0) {
    log(`edge: could not add a quickack route for ${host} (${(r.stderr || String(r.error)).trim()})`);
    return undefined;
  }
  log(`edge: quickack route for ${host}, the doors' address (removed on stop)`);
  return () => {
    route("del", host);
  };
}
