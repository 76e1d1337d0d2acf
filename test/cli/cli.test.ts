/** The two command-line tools against the real stack, as a user runs them. */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRelay } from "../../src/node.ts";
import { freePort } from "../../src/server/native.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { rawRequest, uniqueName } from "../support/util.ts";

const root = join(import.meta.dirname, "..", "..");
const tool = (name: string) => ["--import", "tsx", join(root, "src", "cli", `${name}.ts`)];

let stack: Stack;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  stack = await startStack();
  // No subscription door unless a test passes --subscribe-url.
  env = {
    ...process.env,
    RELAY_URL: stack.webdisUrl,
    RELAY_SUBSCRIBE_URL: "",
    RELAY_PASSWORD: "cli-pw",
    RELAY_CODE: "cli-code",
  };
});
afterAll(async () => {
  await stack?.stop();
});

/** The library in this process, for set-up and checks around a CLI run. */
const library = () => createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });

async function cli(name: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = execFile(process.execPath, [...tool(name), ...args], {
    cwd: root,
    env: opts.env ?? env,
    timeout: 30_000,
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
  return { code, stdout, stderr };
}

/** Reads a child's stdout line by line; a read after its stdout ended rejects (no hang). */
function lines(child: ChildProcessWithoutNullStreams) {
  const queue: string[] = [];
  const waiters: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let ended = false;
  const gone = () => new Error("the command's output ended before this line");
  const rl = createInterface({ input: child.stdout });
  rl.on("line", (l) => {
    const w = waiters.shift();
    if (w) w.resolve(l);
    else queue.push(l);
  });
  rl.on("close", () => {
    ended = true;
    for (const w of waiters.splice(0)) w.reject(gone());
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      if (queue.length) resolve(queue.shift() as string);
      else if (ended) reject(gone());
      else waiters.push({ resolve, reject });
    });
}

/** One JSON value per non-empty output line. */
const jsonLines = (out: string) =>
  out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("mission-relay", () => {
  it("start, publish from stdin, follow, list-streams and stop", async () => {
    const name = `${uniqueName("cli")}/plan.v1 ✈`;
    const started = await cli("mission-relay", ["start", name]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ name, seq: 0 });

    const follow = spawn(process.execPath, [...tool("mission-relay"), "follow", name], { cwd: root, env });
    const next = lines(follow);
    expect(JSON.parse(await next())).toEqual({});

    const pub = await cli("mission-relay", ["publish", name, "-"], { input: '{"a":1}\n\n{"a":2}\n{"a":2}\n' });
    expect(pub.code).toBe(0);
    expect(jsonLines(pub.stdout)).toEqual([
      { line: 1, seq: 1, changed: true },
      { line: 3, seq: 2, changed: true },
      { line: 4, seq: 2, changed: false },
    ]);
    expect(JSON.parse(await next())).toEqual({ a: 1 });
    expect(JSON.parse(await next())).toEqual({ a: 2 });

    const listed = await cli("list-streams", ["--json", "--count", "100", "--all"]);
    expect(listed.code).toBe(0);
    const found = JSON.parse(listed.stdout).streams.find((s: { name: string }) => s.name === name);
    expect(found).toMatchObject({ name, seq: 2 });
    const table = await cli("list-streams", ["--all"]);
    expect(table.stdout).toMatch(/^NAME\s+SEQ\s+UPDATED\s+STARTED/);
    expect(table.stdout).toContain(name);

    const exited = new Promise<number>((r) => follow.on("close", (c) => r(c ?? -1)));
    const stopped = await cli("mission-relay", ["stop", name]);
    expect(stopped.code).toBe(0);
    expect(await exited).toBe(0);
  });

  it("errors are one line with the code and a non-zero exit; no secret is echoed", async () => {
    const name = uniqueName("cli");
    await cli("mission-relay", ["start", name]);
    const bad = await cli("mission-relay", ["stop", name], { env: { ...env, RELAY_CODE: "wrong-code-xyz" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("mission-relay: BAD_CODE: wrong leader code\n");
    expect(bad.stderr).not.toContain("wrong-code-xyz");
    // The right code with a wrong password would seal a plan nobody can open: refused too.
    const badPw = await cli("mission-relay", ["stop", name], { env: { ...env, RELAY_PASSWORD: "wrong-pw-xyz" } });
    expect(badPw.code).toBe(1);
    expect(badPw.stderr).toBe("mission-relay: BAD_PASSWORD: wrong password\n");
    const noPw = await cli("mission-relay", ["stop", name], { env: { ...env, RELAY_PASSWORD: "" } });
    expect(noPw.code).toBe(2);
    expect(noPw.stderr).toMatch(/RELAY_PASSWORD/);
    const missing = await cli("mission-relay", ["follow", uniqueName("nope")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^mission-relay: NOT_FOUND: /);
    const taken = await cli("mission-relay", ["start", name]);
    expect(taken.stderr).toMatch(/NAME_TAKEN/);
    const notJson = await cli("mission-relay", ["publish", name, "-"], { input: "{nope\n" });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/line 1 is not JSON/);
  });

  it("usage errors exit 2; --help exits 0", async () => {
    expect((await cli("mission-relay", ["--help"])).code).toBe(0);
    expect((await cli("list-streams", ["--help"])).stdout).toMatch(/Usage: list-streams/);
    const unknown = await cli("mission-relay", ["frobnicate"]);
    expect(unknown.code).toBe(2);
    const noSecret = await cli("mission-relay", ["start", "x"], { env: { ...env, RELAY_PASSWORD: "" } });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/RELAY_PASSWORD/);
    expect((await cli("list-streams", ["--count", "500"])).code).toBe(2);
  });

  // Set-up and tear-down of these go through the library in-process: each CLI
  // run costs a Node + tsx start, so only the part under test is a CLI run.
  it("publish FILE reads the states from the file, not stdin", async () => {
    const name = uniqueName("cli-file");
    const leader = await library().start(name, { password: "cli-pw", code: "cli-code" });
    leader.close();
    const file = join(mkdtempSync(join(tmpdir(), "relay-cli-")), "states.jsonl");
    writeFileSync(file, '{"from":"file","n":1}\n{"from":"file","n":2}\n');
    // stdin carries something else: it must be ignored.
    const pub = await cli("mission-relay", ["publish", name, file], { input: '{"from":"stdin"}\n' });
    expect(pub.stderr).toBe("");
    expect(pub.code).toBe(0);
    expect(jsonLines(pub.stdout)).toEqual([
      { line: 1, seq: 1, changed: true },
      { line: 2, seq: 2, changed: true },
    ]);
    // Redis holds only sealed text: a follower tells what the stream's plan is.
    const f = await library().connect(name, { password: "cli-pw" });
    f.disconnect();
    expect([f.seq, f.state]).toEqual([2, { from: "file", n: 2 }]);
    await (await library().reconnect(name, { password: "cli-pw", code: "cli-code" })).stop();
  });

  it("--password and --code work without the env vars and win over them", async () => {
    const name = uniqueName("cli-flags");
    const bare = { ...env, RELAY_PASSWORD: "", RELAY_CODE: "" };
    const started = await cli("mission-relay", ["start", name, "--password", "flag-pw", "--code", "flag-code"], {
      env: bare,
    });
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    // The library agrees: the stream has the flags' secrets.
    (await library().connect(name, { password: "flag-pw" })).disconnect();
    // The env holds other (wrong) secrets: the flags must be the ones used.
    const wrongEnv = { ...env, RELAY_PASSWORD: "env-pw", RELAY_CODE: "env-code" };
    const follow = spawn(process.execPath, [...tool("mission-relay"), "follow", name, "--password", "flag-pw"], {
      cwd: root,
      env: wrongEnv,
    });
    let followErr = "";
    follow.stderr.on("data", (d) => (followErr += d));
    const exited = new Promise<number>((r) => follow.on("close", (c) => r(c ?? -1)));
    expect(JSON.parse(await lines(follow)())).toEqual({}); // joined: the current state
    // stop takes the stream over first, and a leader needs the password too (it seals the plan).
    const stopped = await cli("mission-relay", ["stop", name, "--password", "flag-pw", "--code", "flag-code"], {
      env: wrongEnv,
    });
    expect(stopped.stderr).toBe("");
    expect(stopped.code).toBe(0);
    // The follower hears the end ("gone" if it stopped before its subscription opened).
    expect(await exited).toBe(0);
    expect(followErr).toMatch(/^mission-relay: stream ended \((stopped|gone)\)\n$/);
    await expect(library().connect(name, { password: "flag-pw" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("follow --subscribe-url takes live updates from the subscription door", async () => {
    const name = uniqueName("cli-door");
    const leader = await library().start(name, { password: "cli-pw", code: "cli-code" });
    // Subscribers on the primary: the command door's HTTP stream ends there,
    // the subscription door's WebSockets on the replica.
    const channel = String(await stack.redis("HGET", `relay:{${name}}:meta`, "channel"));
    const onPrimary = async () => Number(((await stack.redis("PUBSUB", "NUMSUB", channel)) as unknown[])[1]);
    const follow = (args: string[]) => {
      const child = spawn(process.execPath, [...tool("mission-relay"), "follow", name, ...args], { cwd: root, env });
      return { next: lines(child), exited: new Promise<number>((r) => child.on("close", (c) => r(c ?? -1))) };
    };
    const viaDoor = follow(["--subscribe-url", stack.subscribeUrl]);
    const viaHttp = follow([]); // control: without the flag, the HTTP stream on the primary
    expect(JSON.parse(await viaDoor.next())).toEqual({});
    expect(JSON.parse(await viaHttp.next())).toEqual({});
    await leader.publish({ n: 1 });
    // A follower prints a change only through an open subscription (or the
    // re-sync right after one opened), so both are subscribed now.
    expect(JSON.parse(await viaDoor.next())).toEqual({ n: 1 });
    expect(JSON.parse(await viaHttp.next())).toEqual({ n: 1 });
    expect(await onPrimary()).toBe(1);
    await leader.stop();
    expect(await viaDoor.exited).toBe(0);
    expect(await viaHttp.exited).toBe(0);
  });

  it("cannot reach the server: one clear line", async () => {
    const r = await cli("list-streams", ["--url", "http://127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^list-streams: NETWORK: cannot reach/);
  });
});

describe("mission-relay up", () => {
  it("starts redis + webdis behind the edge with the functions loaded and stops all on SIGINT", {
    timeout: 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-up-"));
    // Every port free, the metrics one too (its default, 9464, is fixed: a test running
    // beside this one may hold it, and up then exits before "Ready").
    const [p, r, w, m] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        ...tool("mission-relay"),
        "up",
        "--port",
        String(p),
        "--redis-port",
        String(r),
        "--web-port",
        String(w),
        "--metrics-port",
        String(m),
        "--data",
        dir,
      ],
      { cwd: root, env },
    );
    const next = lines(child);
    let out = "";
    for (let l = await next(); !l.startsWith("Ready"); l = await next()) out += `${l}\n`;
    expect(out).toContain(`edge    http://127.0.0.1:${p}`);
    const res = await fetch(`http://127.0.0.1:${p}/`, { method: "POST", body: "FCALL_RO/relay_version/0" });
    expect(await res.json()).toEqual({ FCALL_RO: "2" });
    const refused = await fetch(`http://127.0.0.1:${p}/`, { method: "POST", body: "KEYS/*" });
    expect(refused.status).toBe(403);
    const closed = new Promise<number>((res2) => child.on("close", (c) => res2(c ?? -1)));
    child.kill("SIGINT");
    expect(await closed).toBe(0);
    await expect(fetch(`http://127.0.0.1:${p}/`, { method: "POST", body: "PING" })).rejects.toThrow();
  });
});

/** Holds `port` on 127.0.0.1; resolves undefined when something else holds it already (taken either way). */
function occupy(port: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" ? resolve(undefined) : reject(e)));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("mission-relay up: taken default ports and the web UI", () => {
  const WEBDIS_DEFAULT = 7379;
  const WEB_DEFAULT = 8080;
  let child: ChildProcessWithoutNullStreams | undefined;
  let held: (Server | undefined)[] = [];
  let printed = "";
  let subscribePort = 0;
  let dataDir: string | undefined;

  beforeAll(async () => {
    // up serves web/dist when it is there; `npm start` and CI build it first.
    if (!existsSync(join(root, "web", "dist", "index.html"))) {
      await build({ configFile: join(root, "vite.config.ts"), mode: "production", logLevel: "error" });
    }
    held = await Promise.all([occupy(WEBDIS_DEFAULT), occupy(WEB_DEFAULT)]);
    // Only the command door and the web UI are left to their defaults; the
    // other ports are free ones so that parallel runs cannot collide.
    const [r, s] = [await freePort(), await freePort()];
    subscribePort = s;
    dataDir = mkdtempSync(join(tmpdir(), "relay-up-"));
    child = spawn(
      process.execPath,
      [...tool("mission-relay"), "up", "--redis-port", String(r), "--subscribe-port", String(s), "--data", dataDir],
      { cwd: root, env },
    );
    const next = lines(child);
    for (let l = await next(); !l.startsWith("Ready"); l = await next()) printed += `${l}\n`;
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const closed = new Promise((r) => child?.on("close", r));
      child.kill("SIGINT");
      // A stuck shutdown must not hang the suite: SIGKILL after 15 s (its servers die with it).
      const timer = setTimeout(() => child?.kill("SIGKILL"), 15_000);
      await closed;
      clearTimeout(timer);
    }
    await Promise.all(held.map((h) => new Promise((r) => (h ? h.close(r) : r(undefined)))));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("survives a malformed path on the web UI (GET /% used to end up, and Redis with it)", async () => {
    const web = new URL(printedUrl(/web UI/).url);
    const reply = await rawRequest(Number(web.port), "GET /% HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(child?.exitCode).toBeNull();
    const res = await fetch(`${printedUrl(/edge/).url}/`, { method: "POST", body: "FCALL_RO/relay_version/0" });
    expect(await res.json()).toEqual({ FCALL_RO: "2" });
  });

  const printedUrl = (label: RegExp) => {
    const m = printed.match(new RegExp(`^${label.source}\\s+(http://127\\.0\\.0\\.1:(\\d+)/?)`, "m"));
    expect(m, printed).not.toBeNull();
    return { url: (m?.[1] ?? "").replace(/\/$/, ""), port: Number(m?.[2]) };
  };

  it("uses and prints a free port when a default one is taken", async () => {
    const door = printedUrl(/edge/);
    const web = printedUrl(/web UI/);
    expect(door.port).not.toBe(WEBDIS_DEFAULT);
    expect(web.port).not.toBe(WEB_DEFAULT);
    // The printed command door is the real one.
    const res = await fetch(`${door.url}/`, { method: "POST", body: "FCALL_RO/relay_version/0" });
    expect(await res.json()).toEqual({ FCALL_RO: "2" });
  });

  it("serves the web UI: the page, its script, and where the doors are", async () => {
    const web = printedUrl(/web UI/).url;
    const page = await fetch(`${web}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain("<title>Mission Relay</title>");
    const src = html.match(/<script[^>]+src="([^"]+\.js)"/)?.[1];
    expect(src, html).toBeDefined();
    const script = await fetch(new URL(src ?? "", `${web}/`));
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("relay-config.json"); // the app's own code
    const config = await (await fetch(`${web}/relay-config.json`)).json();
    expect(config).toEqual({ url: printedUrl(/edge/).url, subscribeUrl: `http://127.0.0.1:${subscribePort}` });
  });
});
