/**
 * Webdis is never started unchecked (issue 12): Webdis given a config it
 * cannot read listens on 0.0.0.0:7379 with its defaults, so startWebdis
 * refuses a wildcard address, and checks where the process really listens.
 * Native processes: this is the product's own start path (`up`, the native stack).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, listeningOn, type Managed, startRedis, startWebdis, webdisConfig } from "../../src/server/native.ts";
import { chooseWebdis } from "../../src/server/webdis-bin.ts";

const dir = mkdtempSync(join(tmpdir(), "webdis-start-"));
let redis: Managed;
let redisPort: number;
beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedis({ port: redisPort, dir });
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("starting Webdis", () => {
  it(`listens only where its config says (${chooseWebdis().version})`, async () => {
    const port = await freePort();
    const w = await startWebdis(webdisConfig({ redisPort, port, logfile: join(dir, "w.log") }), dir);
    try {
      expect(listeningOn(w.pid)).toEqual([`127.0.0.1:${port}`]);
    } finally {
      await w.stop();
    }
  });

  it("refuses a wildcard or missing address before anything runs", async () => {
    const port = await freePort();
    for (const http_host of ["0.0.0.0", "::", "", undefined]) {
      const config = { ...webdisConfig({ redisPort, port, logfile: join(dir, "w.log") }), http_host };
      await expect(startWebdis(config, dir), String(http_host)).rejects.toThrow(/not a wildcard/);
    }
    // Nothing was started on the port.
    expect(await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).catch(() => "closed")).toBe(
      "closed",
    );
  });

  it("reads a process's listening sockets from /proc (a wildcard shows as one)", async () => {
    const { createServer } = await import("node:net");
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "0.0.0.0", () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      expect(listeningOn(process.pid)).toContain(`0.0.0.0:${port}`);
    } finally {
      srv.close();
    }
  });
});
