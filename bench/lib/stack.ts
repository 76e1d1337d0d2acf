/**
 * The bench's own stack, the shipped topology on free ports of 127.0.0.1: a
 * native redis-server with the command door (webdis.json), and on first use a
 * subscribe-only replica with the subscription door (webdis.subscribe.json),
 * each config with only ports and log file overridden. Extra Webdis instances
 * (bench-only configs) can be started next to them for baselines.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseKey, commandBody } from "../../src/core/wire.ts";
import {
  freePort,
  loadFunctions,
  type Managed,
  repoRoot,
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

  /** Whether the command door (webdis.json) turns WebSockets on. */
  get shippedWebSockets(): boolean {
    return this.webdis.config.websockets === true;
  }

  /** The repo ships a subscription door (webdis.subscribe.json, in front of a replica). */
  readonly hasDoor = existsSync(join(repoRoot, "webdis.subscribe.json"));
  replicaPort = 0;
  replica: Managed | undefined;
  #ws: WebdisInstance | undefined;

  /** Where WebSocket subscribers go: "door" (shipped topology) or a bench-only Webdis. */
  get wsKind(): "door" | "command" | "bench-only" {
    if (this.hasDoor) return "door";
    return this.shippedWebSockets ? "command" : "bench-only";
  }

  /** Redis process the WebSocket subscribers are connected to (the replica behind the door). */
  get wsRedisPid(): number {
    return this.wsKind === "door" && this.replica ? this.replica.pid : this.redis.pid;
  }

  /**
   * The Webdis WebSocket subscribers use. Shipped topology: the subscription
   * door (webdis.subscribe.json) in front of a subscribe-only replica of the
   * primary, as `mission-relay up` runs it. Older checkouts: the command Webdis
   * if it has WebSockets on, else a bench-only one (webdis.json + websockets).
   */
  async wsWebdis(): Promise<WebdisInstance> {
    if (this.wsKind === "command") return this.webdis;
    if (this.#ws) return this.#ws;
    if (this.wsKind === "door") {
      if (!this.replica) {
        this.replicaPort = await freePort();
        this.replica = await startRedis({
          port: this.replicaPort,
          dir: join(this.dir, "replica"),
          replicaOf: this.redisPort,
        } as never);
        await this.#waitReplica();
      }
      const port = await freePort();
      const dir = join(this.dir, `webdis-door-${this.#n++}`);
      const config = webdisConfig(
        { redisPort: this.replicaPort, port, logfile: join(dir, "webdis-subscribe.log") },
        "subscribe",
      );
      const proc = await startWebdis(config, dir);
      this.#ws = { port, url: `http://127.0.0.1:${port}`, proc, config };
    } else {
      this.#ws = await this.startWebdis("ws", { websockets: true });
    }
    this.extras.push(this.#ws);
    return this.#ws;
  }

  async #waitReplica() {
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      const r = await this.info("replication");
      if (Object.entries(r).some(([k, v]) => k.startsWith("slave") && v.includes("state=online"))) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error("the replica did not come online");
  }

  /** Restarts the WebSocket Webdis (fresh RSS and connections); returns it. */
  async restartWsWebdis(): Promise<WebdisInstance> {
    if (this.wsKind === "command") {
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

  /** A label for tables: what the WebSocket figures ran on. */
  get wsLabel(): string {
    if (this.wsKind === "door") return "subscription door: webdis.subscribe.json + replica";
    return this.wsKind === "command" ? "webdis.json" : "bench-only Webdis with websockets on";
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

  /**
   * relay_start straight over HTTP with random hex verifiers (no PBKDF2), or the
   * given name and password verifier (lib/sealed.ts startSealedStream: followers
   * then open the stream's changes with the password's content key).
   */
  async startStream(prefix = "bench", given: { name?: string; pw?: string } = {}): Promise<StreamHandle> {
    const name = given.name ?? `${prefix}-${hex(6)}`;
    const s = { name, key: baseKey(name), pw: given.pw ?? hex(32), code: hex(32), token: hex(24) };
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
    await this.replica?.stop();
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
