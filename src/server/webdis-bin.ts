/**
 * Which Webdis runs: the one place `up`, the native test stack, the image
 * build and the bench ask. Default: the newest packaged one (Debian trixie's
 * 0.1.22, unpacked by scripts/install-webdis into a prefix we own) when it is
 * there, else the system's. Webdis 0.1.9 (bookworm) writes a dropped request's
 * late reply to whichever client holds that fd next and segfaults on an 8-byte
 * WebSocket frame; 0.1.22 fixes both (SECURITY.md). 0.1.9 stays selectable and
 * tested: many users have only that.
 *
 *   RELAY_WEBDIS=auto (default) | packaged | system | /path/to/webdis
 *   RELAY_WEBDIS_PREFIX  where scripts/install-webdis put it
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type WebdisSource = "packaged" | "system" | "path";

export interface WebdisChoice {
  bin: string;
  /** Debian version ("0.1.22+ds-1"), or "unknown" for an explicit path. */
  version: string;
  source: WebdisSource;
}

export interface WebdisCandidates {
  packaged?: { bin: string; version: string };
  system?: { bin: string; version: string };
}

export class WebdisChoiceError extends Error {
  override name = "WebdisChoiceError";
}

/** The newest Webdis whose known door bugs (fd reuse, frame crash) are fixed. */
export const FIXED_WEBDIS = "0.1.22";

/** Pure: what `want` picks among what is installed. */
export function pickWebdis(want: string | undefined, have: WebdisCandidates): WebdisChoice {
  const w = want?.trim() || "auto";
  if (w.startsWith("/")) return { bin: w, version: "unknown", source: "path" };
  const packaged = have.packaged && { ...have.packaged, source: "packaged" as const };
  const system = have.system && { ...have.system, source: "system" as const };
  switch (w) {
    case "auto": {
      // The packaged one only when it is newer: a trixie machine's own 0.1.22 wins.
      const best =
        packaged && system ? (compareVersions(packaged.version, system.version) > 0 ? packaged : system) : undefined;
      const pick = best ?? packaged ?? system;
      if (pick) return pick;
      throw new WebdisChoiceError(
        "webdis is not installed. Run scripts/install-webdis (Webdis 0.1.22 from Debian's packages, no root needed) or: sudo apt-get install -y webdis",
      );
    }
    case "packaged":
      if (packaged) return packaged;
      throw new WebdisChoiceError("RELAY_WEBDIS=packaged but there is none: run scripts/install-webdis");
    case "system":
      if (system) return system;
      throw new WebdisChoiceError("RELAY_WEBDIS=system but webdis is not installed: sudo apt-get install -y webdis");
    default:
      throw new WebdisChoiceError(`RELAY_WEBDIS must be auto, packaged, system or an absolute path (got ${w})`);
  }
}

/** Compares Debian-style versions on their numeric upstream part ("0.1.22+ds-1" > "0.1.9+dfsg-1"). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (v.match(/^\d+(?:\.\d+)*/)?.[0] ?? "0").split(".").map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when `version` has the fixes of FIXED_WEBDIS (unknown counts as not). */
export const hasDoorFixes = (version: string) => version !== "unknown" && compareVersions(version, FIXED_WEBDIS) >= 0;

export function webdisPrefix(env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return env.RELAY_WEBDIS_PREFIX || join(data, "mission-relay", "webdis-trixie");
}

function installed(env: NodeJS.ProcessEnv): WebdisCandidates {
  const have: WebdisCandidates = {};
  const prefix = webdisPrefix(env);
  const wrapper = join(prefix, "bin", "webdis");
  if (existsSync(wrapper) && existsSync(join(prefix, "VERSION"))) {
    have.packaged = { bin: wrapper, version: readFileSync(join(prefix, "VERSION"), "utf8").trim() };
  }
  const dirs = [...(env.PATH ?? "").split(":"), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  const sys = dirs.map((d) => d && join(d, "webdis")).find((p) => p && p !== wrapper && existsSync(p));
  if (sys) {
    // Never run the binary to ask: `webdis --version` would start a server.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const q = spawnSync("dpkg-query", ["-W", "-f=${Version}", "webdis"], { encoding: "utf8" });
    have.system = { bin: sys, version: q.status === 0 && q.stdout.trim() ? q.stdout.trim() : "unknown" };
  }
  return have;
}

let cached: { key: string; choice: WebdisChoice } | undefined;

/** The Webdis to run, per RELAY_WEBDIS (see the top of this file). Throws WebdisChoiceError. */
export function chooseWebdis(env: NodeJS.ProcessEnv = process.env): WebdisChoice {
  const key = `${env.RELAY_WEBDIS ?? ""}\0${webdisPrefix(env)}\0${env.PATH ?? ""}`;
  if (cached?.key !== key) cached = { key, choice: pickWebdis(env.RELAY_WEBDIS, installed(env)) };
  return cached.choice;
}

export const describeWebdis = (c: WebdisChoice) =>
  `Webdis ${c.version} (${c.source}${hasDoorFixes(c.version) ? "" : `; older than ${FIXED_WEBDIS}: see SECURITY.md`})`;
