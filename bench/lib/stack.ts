/**
 * The bench's own stack: a topology from src/server/topology.ts (`single` by
 * default, as `mission-relay up` runs it; `replicated` with N subscription
 * doors for scenario 10) on free ports of 127.0.0.1, started by its native
 * runner. The doors are the repo's webdis.json / webdis.subscribe.json with
 * only ports and log files overridden, and supervised: a restart goes through
 * the runner (stopDoor + startDoor), never a bare kill the supervisor would
 * race. Extra Webdis instances (bench-only configs) can be started next to
 * them for baselines.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseKey, commandBody } from "../../src/core/wire.ts";
import { freePort, type Managed, startWebdis, webdisConfig } from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import {
  type DoorNode,
  planTopology,
  type RunningTopology,
  startTopology,
  type TopologyPlan,
} from "../../src/server/topology.ts";

export const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** A process the bench measures (/proc CPU, RSS) and may stop. */
export interface Proc {
  readonly pid: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface WebdisInstance {
  port: number;
  url: string;
  proc: Proc;
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
  readonly extras: WebdisInstance[] = [];
  #n = 0;

  /** `dir`: the run's folder (the topology's data, configs and logs, and the extras'). */
  private constructor(
    readonly run: RunningTopology,
    readonly dir: string,
  ) {}

  /** Starts `plan` (default: the single topology) with `up`'s Redis settings (AOF on, no RDB). */
  static async start(plan: TopologyPlan = { kind: "single" }): Promise<BenchStack> {
    const topology = await planTopology(plan);
    const dir = mkdtempSync(join(tmpdir(), "relay-bench-"));
    let run: RunningTopology;
    try {
      run = await startTopology(topology, { dir, aof: true });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return new BenchStack(run, dir);
  }

  get #shard() {
    const shard = this.run.topology.shards[0];
    if (!shard) throw new Error("the topology has no shard");
    return shard;
  }

  #node(id: string): DoorNode {
    const d = this.run.topology.doors.find((x) => x.id === id);
    if (!d) throw new Error(`no door ${id}`);
    return d;
  }

  /** A topology door as the scenarios see it: its supervisor's current pid, and its config as written. */
  #door(id: string): WebdisInstance {
    const d = this.#node(id);
    const run = this.run;
    return {
      port: d.port,
      url: run.doorUrl(id),
      proc: {
        get pid() {
          return run.door(id)?.pid ?? -1;
        },
        stop: (signal) => run.stopDoor(id, signal),
      },
      config: JSON.parse(readFileSync(join(run.dir, d.configName), "utf8")) as Record<string, unknown>,
    };
  }

  get redisPort(): number {
    return this.#portOf(this.#shard.primary);
  }

  #portOf(redisId: string): number {
    const n = this.run.topology.redis.find((x) => x.id === redisId);
    if (!n) throw new Error(`no redis node ${redisId}`);
    return n.port;
  }

  /** The primary's process now. */
  get redis(): Managed {
    return this.run.redis(this.#shard.primary);
  }

  /** The command door (webdis.json on the primary). */
  get webdis(): WebdisInstance {
    return this.#door(this.#shard.commandDoor);
  }

  /** Every subscription door (webdis.subscribe.json, each on its own replica), in topology order. */
  get subscribeDoors(): WebdisInstance[] {
    return this.#shard.subscribeDoors.map((id) => this.#door(id));
  }

  /** The replicas' processes, in the order of `subscribeDoors`. */
  get replicas(): Managed[] {
    return this.#shard.replicas.map((id) => this.run.redis(id));
  }

  /** A Webdis on a free port: webdis.json plus `over` (bench-only changes), on the primary. */
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

  /** Where WebSocket subscribers go: always the subscription door now (kept for the scenarios' labels). */
  readonly wsKind = "door" as const;

  /** Redis process the WebSocket subscribers are connected to (the replica behind the first door). */
  get wsRedisPid(): number {
    return this.replicas[0]?.pid ?? this.redis.pid;
  }

  /** The subscription door WebSocket subscribers use (the first, in front of a subscribe-only replica). */
  async wsWebdis(): Promise<WebdisInstance> {
    const first = this.#shard.subscribeDoors[0];
    if (!first) throw new Error("the topology has no subscription door");
    return this.#door(first);
  }

  /** Restarts a topology door through its runner (fresh RSS and connections, same port). */
  async #restartDoor(id: string): Promise<WebdisInstance> {
    await this.run.stopDoor(id, "SIGKILL");
    await this.run.startDoor(id);
    return this.#door(id);
  }

  /** Restarts the WebSocket door (fresh RSS and connections); returns it. */
  async restartWsWebdis(): Promise<WebdisInstance> {
    const first = this.#shard.subscribeDoors[0];
    if (!first) throw new Error("the topology has no subscription door");
    return this.#restartDoor(first);
  }

  /** Restarts every subscription door (scenario 10: fresh RSS on each). */
  async restartSubscribeDoors(): Promise<WebdisInstance[]> {
    return Promise.all(this.#shard.subscribeDoors.map((id) => this.#restartDoor(id)));
  }

  /** A label for tables: what the WebSocket figures ran on. */
  get wsLabel(): string {
    return "subscription door: webdis.subscribe.json + replica";
  }

  /** A fresh command door (clean RSS and connections), same config and port. */
  async restartMainWebdis(): Promise<void> {
    await this.#restartDoor(this.#shard.commandDoor);
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
    await Promise.all(this.extras.map((w) => w.proc.stop("SIGKILL")));
    await this.run.stop();
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
