/**
 * Webdis never sets TCP_NODELAY on the sockets it accepts, so a frame written
 * while the previous one is unacknowledged waits for the reader's ACK, and the
 * reader, here the edge, delays ACKs by up to 40 ms: 2 KB updates every 5 ms
 * stalled to p50 8-14 ms through the edge in 6 of 10 bench runs, none with
 * this fix (docs/webdis-latency.md, bench scenario 8). The fix is the reader's:
 * a `quickack 1` route for one loopback address that only the edge dials, so
 * no other connection on the host changes. Root only; Linux only. A route for
 * that address that is not ours is never touched.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The doors' own address behind the edge (all of 127/8 is local on Linux). */
export const DOOR_HOST = "127.0.0.2";

const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((p) => existsSync(p));
const ROUTE = (host: string) => ["local", host, "dev", "lo", "table", "local", "scope", "host", "src", "127.0.0.1"];
const ip = (...args: string[]) => spawnSync(IP ?? "ip", args, { encoding: "utf8" });

/** Routes we added and have not removed yet: removed on exit too, whatever ends the process. */
const ours = new Set<string>();
let exitHook = false;
const remove = (host: string) => {
  if (ours.delete(host)) ip("route", "del", ...ROUTE(host));
};

/**
 * Adds the route; returns its remover, or undefined (with a log line) where
 * it cannot or must not be set: then the doors stay on 127.0.0.1.
 */
export function quickackRoute(host: string, log: (l: string) => void): (() => void) | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !IP) {
    log(
      `edge: no quickack route for ${host} (needs root and iproute2): 2 KB updates may stall up to 40 ms (docs/webdis-latency.md)`,
    );
    return undefined;
  }
  const have = ip("route", "show", "table", "local", host);
  if (have.stdout.trim()) {
    // Someone's route (another up, an operator's boot script): use it if it does the job, never change it.
    if (/\bquickack 1\b/.test(have.stdout)) {
      log(`edge: the quickack route for ${host} is already there (not ours: left as it is)`);
      return () => {};
    }
    log(`edge: ${host} already has a route without quickack; not touching it, the doors stay on 127.0.0.1`);
    return undefined;
  }
  const r = ip("route", "add", ...ROUTE(host), "quickack", "1");
  if (r.error || r.status !== 0) {
    log(`edge: could not add a quickack route for ${host} (${(r.stderr || String(r.error)).trim()})`);
    return undefined;
  }
  ours.add(host);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const h of [...ours]) remove(h);
    });
  }
  log(`edge: quickack route for ${host}, the doors' address (removed on stop)`);
  return () => remove(host);
}
