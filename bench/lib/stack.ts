/**
 * The bench's own stack: a native redis-server and webdis on free ports of
 * 127.0.0.1, webdis configured from the repo's webdis.json with only the
 * ports (and log file) overridden. Extra Webdis instances (bench-only configs)
 * can be started next to it for baselines.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseKey, commandBody } from "../../src/core/wire.ts";
import {
  freePort,
  loadFunctions,
  type Managed,
  startRedis,
  startWebdis,
  webdisConfig,
} from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";

export const hex = (bytes: number) => randomBytes(bytes).toString("hex");

export interface WebdisInstance {
  port: number;
  url: string;
  proc: Managed;
  config: Record<string, unknown>;
}

export interface StreamHandle {
  name: string;
  key: string;
  pw: string;
  code: string;
  token: string;
  term: number;
  channel: string;
  epoch: string;
}

export class BenchStack {
  redisPort = 0;
  redis!: Managed;
  webdis!: WebdisInstance;
  readonly dir = mkdtempSync(join(tmpdir(), "relay-bench-"));
  readonly extras: WebdisInstance[] = [];
  #n = 0;

  static async start(): Promise<BenchStack> {
    const s = new BenchStack();
    s.redisPort = await freePort();
    // Same Redis settings as `mission-relay up` (AOF on, no RDB snapshots).
    s.redis = await startRedis({ port: s.redisPort, dir: join(s.dir, "redis"), aof: true });
    await loadFunctions(s.redisPort);
    s.webdis = await s.startWebdis("main");
    return s;
  }

  /** A Webdis on a free port: webdis.json plus `over` (bench-only changes). */
  async startWebdis(tag: string, over: Record<string, unknown> = {}): Promise<WebdisInstance> {
    const port = await freePort();
    const dir = join(this.dir, `webdis-${tag}-${this.#n++}`);
    const config = webdisConfig({ redisPort: this.redisPort, port, logfile: join(dir, "webdis.log"), ...over });
    const proc = await startWebdis(config, dir);
    return { port, url: `http://127.0.0.1:${port}`, proc, config };
  }

  /** Whether the shipped webdis.json turns WebSockets on. */
  get shippedWebSockets(): boolean {
    return this.webdis.config.websockets === true;
  }

  #ws: WebdisInstance | undefined;
  /**
   * A Webdis that accepts WebSockets: the main one if webdis.json enables them,
   * else a bench-only instance (webdis.json + "websockets": true).
   */
  async wsWebdis(): Promise<WebdisInstance> {
    if (this.shippedWebSockets) return this.webdis;
    if (!this.#ws) {
      this.#ws = await this.startWebdis("ws", { websockets: true });
      this.extras.push(this.#ws);
    }
    return this.#ws;
  }

  /** Restarts the WebSocket Webdis (fresh RSS and connections); returns it. */
  async restartWsWebdis(): Promise<WebdisInstance> {
    if (this.shippedWebSockets) {
      await this.restartMainWebdis();
      return this.webdis;
    }
    if (this.#ws) {
      await this.#ws.proc.stop("SIGKILL");
      this.extras.splice(this.extras.indexOf(this.#ws), 1);
      this.#ws = undefined;
    }
    return this.wsWebdis();
  }

  /** A fresh main Webdis (clean RSS and connections), same config and a new port. */
  async restartMainWebdis(): Promise<void> {
    await this.webdis.proc.stop("SIGKILL");
    this.webdis = await this.startWebdis("main");
  }

  cmd(...args: (string | number)[]): Promise<unknown> {
    return redisCommand(this.redisPort, args);
  }

  async info(section: string): Promise<Record<string, string>> {
    const text = String(await this.cmd("INFO", section));
    const out: Record<string, string> = {};
    for (const line of text.split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  /** relay_start straight over HTTP with random hex verifiers (no PBKDF2). */
  async startStream(prefix = "bench"): Promise<StreamHandle> {
    const name = `${prefix}-${hex(6)}`;
    const s = { name, key: baseKey(name), pw: hex(32), code: hex(32), token: hex(24) };
    const r = await webdisCall(this.webdis.url, "FCALL", [
      "relay_start",
      "1",
      s.key,
      name,
      s.pw,
      s.code,
      hex(24),
      s.token,
    ]);
    const j = JSON.parse(String(r)) as { channel: string; epoch: string; term: number };
    return { ...s, term: j.term, channel: j.channel, epoch: j.epoch };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.extras.map((w) => w.proc.stop("SIGKILL")), this.webdis?.proc.stop("SIGKILL")]);
    await this.redis?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One command through Webdis (`POST /`, the client's encoding); throws on an error reply. */
export async function webdisCall(url: string, command: string, args: string[]): Promise<unknown> {
  const res = await fetch(`${url}/`, { method: "POST", body: commandBody(command, args) });
  const body = (await res.json()) as Record<string, unknown>;
  const reply = body[command];
  if (res.status !== 200 || (Array.isArray(reply) && reply[0] === false)) {
    throw new Error(`${command} ${args[0]}: HTTP ${res.status} ${JSON.stringify(reply)}`);
  }
  return reply;
}

/** POST over a node:http keep-alive agent; resolves with status and body. */
export function post(agent: http.Agent, port: number, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        headers: { "content-type": "text/plain;charset=UTF-8", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
