#!/usr/bin/env node
/** mission-relay: run the local stack, and lead or follow a stream from a shell. */
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createRelay } from "../node.ts";
import { tileUrlProblem } from "../server/tile-origin.ts";
import { planShape, TOPOLOGY_KINDS, TopologyError, type TopologyKind } from "../server/topology.ts";
import { clientConfig, DOORS_HELP, runMain, secretFrom, UsageError, writeLine } from "./common.ts";
import { status } from "./status.ts";
import { up } from "./up.ts";

const HELP = `Usage: mission-relay <command> [options]

Commands:
  up [--port P] [--subscribe-port S] [--redis-port R] [--web-port W] [--data DIR] [--install] [--no-edge]
     [--maxmemory SIZE] [--topology single|replicated|sharded] [--replicas N] [--shards S]
     [--metrics-port M] [--tile-url URL]
        Start Redis (+ a subscribe-only replica), the two Webdis doors and the
        HAProxy edge in front of them on 127.0.0.1, load the relay functions,
        serve the web UI, print the URLs (the edge's: P and S are its ports);
        Ctrl-C stops everything. Redis gets maxmemory SIZE (default 256mb, 0 = no
        limit) with noeviction: when full, writes are refused, never half done.
        --no-edge: Webdis itself on P and S (development only).
        --topology: single (default: one primary, one replica); replicated (a
        primary and N replicas, default 2, each with its own subscription door,
        spread by the edge); sharded (S shards, default 2, each with its own
        edge; clients pick a stream's shard by its name). Writes DIR/topology.json
        for \`status\` and serves Prometheus /metrics and /healthz on M (default 9464).
        --tile-url: a raster tile server for the web UI's map, e.g.
        https://tiles.example/{z}/{x}/{y}.png (one host, no {s}); the page's CSP
        then lets images come from that origin. Without it the map is offline.
  start NAME      Start a stream (needs password and leader code).
  stop NAME       Stop a stream: followers get "ended", the name is free again
                  (password and leader code).
  publish NAME [FILE|-]
                  Become the leader (takes over from any other) and publish one
                  JSON state per line of FILE or stdin, in order (password and
                  leader code: the plan is sealed with a key from the password).
  follow NAME     Print the current state, then each new one, one JSON line each,
                  until the stream ends or Ctrl-C.
  status [--topology FILE] [--json]
                  Each Redis node's role, replication lag, streams, followers and
                  memory, and whether each door answers, from the description
                  \`up\` writes (default ./.relay/topology.json); exits 1 and says
                  what when something is down (docs/operating.md).

Options:
  --url URL          command door (default $RELAY_URL or http://127.0.0.1:7379)
  --subscribe-url U  subscription door for WebSockets (default $RELAY_SUBSCRIBE_URL;
                     without it, live updates use the command door's HTTP stream)
  --password PW      stream password (better: $RELAY_PASSWORD, kept out of ps)
  --code CODE        leader code (better: $RELAY_CODE)
  -h, --help         this help

${DOORS_HELP}
`;

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: "string" },
        "subscribe-url": { type: "string" },
        "subscribe-port": { type: "string" },
        password: { type: "string" },
        code: { type: "string" },
        port: { type: "string" },
        "redis-port": { type: "string" },
        "web-port": { type: "string" },
        data: { type: "string" },
        install: { type: "boolean" },
        "no-edge": { type: "boolean" },
        maxmemory: { type: "string" },
        topology: { type: "string" },
        json: { type: "boolean" },
        replicas: { type: "string" },
        shards: { type: "string" },
        "metrics-port": { type: "string" },
        "tile-url": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function port(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--${flag} must be a port number`);
  return n;
}

/** A tile URL template the page can use (src/server/tile-origin.ts: the page checks the same). */
function tileUrl(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const problem = tileUrlProblem(v.trim());
  if (problem) throw new UsageError(`--tile-url ${problem}, e.g. https://tiles.example/{z}/{x}/{y}.png`);
  return v.trim();
}

function memory(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+(b|k|kb|m|mb|g|gb)?$/i.test(v)) throw new UsageError("--maxmemory must be a size like 256mb or 1gb");
  return v.toLowerCase();
}

function count(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a whole number of at least 1`);
  return n;
}

function topologyKind(v: string | undefined): TopologyKind | undefined {
  if (v === undefined) return undefined;
  if (!(TOPOLOGY_KINDS as readonly string[]).includes(v))
    throw new UsageError(`--topology must be one of ${TOPOLOGY_KINDS.join(", ")}`);
  return v as TopologyKind;
}

function needName(name: string | undefined, cmd: string): string {
  if (!name) throw new UsageError(`${cmd} needs a stream NAME`);
  return name;
}

await runMain("mission-relay", async () => {
  const { values, positionals } = parse();
  const [cmd, name, file] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const relay = () =>
    createRelay({
      ...clientConfig({ url: values.url, subscribeUrl: values["subscribe-url"] }),
      heartbeatMs: 15_000,
    });
  const leaderSecrets = () => ({
    password: secretFrom(values.password, "RELAY_PASSWORD", "password"),
    code: secretFrom(values.code, "RELAY_CODE", "code"),
  });

  switch (cmd) {
    case "up": {
      const shape = {
        topology: topologyKind(values.topology),
        replicas: count(values.replicas, "replicas"),
        shards: count(values.shards, "shards"),
      };
      try {
        planShape({ kind: shape.topology, replicas: shape.replicas, shards: shape.shards });
      } catch (e) {
        if (e instanceof TopologyError) throw new UsageError(e.message);
        throw e;
      }
      const running = await up({
        port: port(values.port, "port"),
        subscribePort: port(values["subscribe-port"], "subscribe-port"),
        redisPort: port(values["redis-port"], "redis-port"),
        webPort: port(values["web-port"], "web-port"),
        dataDir: values.data ?? join(process.cwd(), ".relay"),
        install: values.install,
        edge: !values["no-edge"],
        maxmemory: memory(values.maxmemory),
        ...shape,
        metricsPort: port(values["metrics-port"], "metrics-port"),
        tileUrl: tileUrl(values["tile-url"]),
      });
      process.stdout.write("Ready. Ctrl-C to stop.\n");
      await new Promise<void>((resolve) => {
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
      });
      process.stdout.write("Stopping...\n");
      // A Ctrl-C often arrives twice (the terminal's and a wrapper's, npx/tsx):
      // the default action of the second would end us mid-stop, with no exit
      // hook run (servers and the quickack route left behind). A third one forces it.
      let more = 0;
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.on(sig, () => {
          if (++more >= 2) process.exit(130); // exit hooks still kill what we started
        });
      }
      await running.stop();
      return 0;
    }
    case "start": {
      const n = needName(name, cmd);
      const leader = await relay().start(n, leaderSecrets());
      leader.close();
      await writeLine(JSON.stringify({ name: n, seq: leader.seq, epoch: leader.epoch }));
      return 0;
    }
    case "stop": {
      const n = needName(name, cmd);
      const leader = await relay().reconnect(n, leaderSecrets());
      await leader.stop();
      await writeLine(JSON.stringify({ name: n, stopped: true, seq: leader.seq }));
      return 0;
    }
    case "publish": {
      const n = needName(name, cmd);
      const leader = await relay().reconnect(n, leaderSecrets());
      const input = !file || file === "-" ? process.stdin : createReadStream(file);
      let line = 0;
      try {
        for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
          line++;
          if (text.trim() === "") continue;
          let state: unknown;
          try {
            state = JSON.parse(text);
          } catch {
            throw new UsageError(`line ${line} is not JSON`);
          }
          const r = await leader.publish(state);
          await writeLine(JSON.stringify({ line, seq: r.seq, changed: r.changed }));
        }
      } finally {
        leader.close();
      }
      return 0;
    }
    case "follow": {
      const n = needName(name, cmd);
      const follower = await relay().connect(n, {
        password: secretFrom(values.password, "RELAY_PASSWORD", "password"),
      });
      let chain = writeLine(JSON.stringify(follower.state));
      follower.on("state", (u) => {
        chain = chain.then(() => writeLine(JSON.stringify(u.state)));
      });
      follower.on("status", (s) => {
        if (s.status === "offline" || s.status === "reset")
          process.stderr.write(`mission-relay: ${s.status}: ${s.reason}\n`);
      });
      const reason = await new Promise<string>((resolve) => {
        follower.on("ended", (e) => resolve(e.reason));
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve("interrupted"));
      });
      follower.disconnect();
      await chain;
      if (reason !== "interrupted") process.stderr.write(`mission-relay: stream ended (${reason})\n`);
      return 0;
    }
    case "status":
      return status({ file: values.topology, json: values.json });
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
});
