/** The two command-line tools against the real stack, as a user runs them. */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/server/native.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";

const root = join(import.meta.dirname, "..", "..");
const tool = (name: string) => ["--import", "tsx", join(root, "src", "cli", `${name}.ts`)];

let stack: Stack;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  stack = await startStack();
  env = { ...process.env, RELAY_URL: stack.webdisUrl, RELAY_PASSWORD: "cli-pw", RELAY_CODE: "cli-code" };
});
afterAll(async () => {
  await stack?.stop();
});

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

function lines(child: ChildProcessWithoutNullStreams) {
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return () => new Promise<string>((r) => (queue.length ? r(queue.shift() as string) : waiters.push(r)));
}

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
    expect(
      pub.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
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

  it("cannot reach the server: one clear line", async () => {
    const r = await cli("list-streams", ["--url", "http://127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^list-streams: NETWORK: cannot reach/);
  });
});

describe("mission-relay up", () => {
  it("starts redis + webdis with the functions loaded and stops both on SIGINT", { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-up-"));
    const [p, r, w] = [await freePort(), await freePort(), await freePort()];
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
        "--data",
        dir,
      ],
      { cwd: root, env },
    );
    const next = lines(child);
    let out = "";
    for (let l = await next(); !l.startsWith("Ready"); l = await next()) out += `${l}\n`;
    expect(out).toContain(`webdis  http://127.0.0.1:${p}`);
    const res = await fetch(`http://127.0.0.1:${p}/`, { method: "POST", body: "FCALL_RO/relay_version/0" });
    expect(await res.json()).toEqual({ FCALL_RO: "1" });
    const refused = await fetch(`http://127.0.0.1:${p}/`, { method: "POST", body: "KEYS/*" });
    expect(refused.status).toBe(403);
    const closed = new Promise<number>((res2) => child.on("close", (c) => res2(c ?? -1)));
    child.kill("SIGINT");
    expect(await closed).toBe(0);
    await expect(fetch(`http://127.0.0.1:${p}/`, { method: "POST", body: "PING" })).rejects.toThrow();
  });
});
