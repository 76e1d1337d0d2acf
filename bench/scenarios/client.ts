/**
 * 6. Client size and time to first state.
 * Size: esbuild bundle of src/index.ts for the browser (ESM, minified), gzip
 * (zlib level 9) and brotli; the same with zod left out (external) to show
 * what the schema library weighs; the biggest inputs from the metafile.
 * Time: relay.connect() -> resolved with the first state (PBKDF2 of the
 * password + relay_connect over HTTP), and -> status "live" (subscription
 * confirmed), with PBKDF2 alone timed apart.
 */

import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "esbuild";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { PBKDF2_ITERATIONS } from "../../src/core/secrets.ts";
import { createRelay } from "../../src/node.ts";
import { repoRoot } from "../../src/server/native.ts";
import type { Ctx } from "../lib/ctx.ts";
import { Scenario } from "../lib/report.ts";
import { hex } from "../lib/stack.ts";
import { percentile, until } from "../lib/stats.ts";

export async function bundle(external: string[]) {
  const r = await build({
    entryPoints: [join(repoRoot, "src", "index.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    outfile: "relay-client.js",
    metafile: true,
    external,
    logLevel: "silent",
  });
  const code = r.outputFiles.find((f) => f.path.endsWith(".js"))?.contents;
  if (!code?.length) throw new Error("esbuild produced no bundle");
  return {
    min: code.length,
    gz: gzipSync(code, { level: 9 }).length,
    br: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    meta: r.metafile,
  };
}

export async function clientSize(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(6, "Client size and time to first state");
  const full = await bundle([]);
  const noZod = await bundle(["zod"]);
  sc.fig("min", "browser bundle of src/index.ts, minified", full.min / 1024, "KiB");
  const gz = sc.fig("gz", "... minified + gzip -9", full.gz / 1024, "KiB");
  sc.fig("br", "... minified + brotli", full.br / 1024, "KiB");
  sc.fig("nozod_gz", "same without zod (external), gzip", noZod.gz / 1024, "KiB");
  sc.fig("zod_gz", "zod's part of the gzip bundle (difference)", (full.gz - noZod.gz) / 1024, "KiB");
  sc.ratio("zod_share", "share of the gzip bundle that is zod", "zod_gz", "gz", "%");
  // Biggest inputs (bytes in the minified output).
  const out = Object.values(full.meta.outputs)[0];
  const byPkg = new Map<string, number>();
  for (const [file, info] of Object.entries(out?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? "src (mission-relay)";
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + info.bytesInOutput);
  }
  const top = [...byPkg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);
  for (const [pkg, bytes] of top) sc.fig(`in_${pkg}`, `minified bytes from ${pkg}`, bytes / 1024, "KiB");
  sc.target("client_gz", "client <= 8 KB gz", "<= 8 KiB", gz, "KiB", gz === null ? null : gz <= 8);

  // Time from connect() to the first state.
  const { stack, quick } = ctx;
  const n = quick ? 5 : 15;
  const relay = createRelay({ url: stack.webdis.url, heartbeatMs: 0 });
  const name = `first-${hex(4)}`;
  const leader = await relay.start(name, { password: "pw-bench", code: "code-bench" });
  await leader.publish({ version: 1, title: "t", notes: "", waypoints: [] });
  const toState: number[] = [];
  const toLive: number[] = [];
  const kdf: number[] = [];
  await derivePasswordKeys(name, "warm-up");
  for (let i = 0; i < n; i++) {
    const k0 = performance.now();
    await derivePasswordKeys(name, "pw-bench");
    kdf.push(performance.now() - k0);
    const t0 = performance.now();
    const f = await createRelay({ url: stack.webdis.url }).connect(name, { password: "pw-bench" });
    const t1 = performance.now();
    if (f.state === undefined) throw new Error("connect() resolved without a state");
    await until("live", () => f.status === "live", 10_000, 1);
    toState.push(t1 - t0);
    toLive.push(performance.now() - t0);
    f.disconnect();
  }
  await leader.stop().catch(() => {});
  sc.fig("first_state_p50", "connect() -> first state, p50 (Node, HTTP stream)", percentile(toState, 50), "ms");
  sc.fig("live_p50", "connect() -> live subscription, p50", percentile(toLive, 50), "ms");
  sc.fig(
    "kdf_p50",
    `of which PBKDF2-SHA-256 (${PBKDF2_ITERATIONS.toLocaleString("en-US")} iterations) + HKDF split, p50`,
    percentile(kdf, 50),
    "ms",
  );
  sc.ratio("kdf_share", "PBKDF2 share of connect() -> first state", "kdf_p50", "first_state_p50", "%");
  sc.note(
    `${n} connects, one at a time, to a stream with a small state; Node's WebCrypto (a browser's is comparable).`,
  );
  return sc;
}
