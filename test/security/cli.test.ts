/**
 * The CLI with secrets in RELAY_PASSWORD / RELAY_CODE: no password, code or
 * verifier in the process's arguments (what `ps` shows every user), in its
 * output, or in its error messages.
 */
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { deriveVerifier } from "../../src/core/secrets.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";

const root = join(import.meta.dirname, "..", "..");
const tool = ["--import", "tsx", join(root, "src", "cli", "mission-relay.ts")];
const PASSWORD = "cli-secret-pw-93ab";
const CODE = "cli-secret-code-61fe";

let stack: Stack;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  stack = await startStack();
  env = { ...process.env, RELAY_URL: stack.webdisUrl, RELAY_PASSWORD: PASSWORD, RELAY_CODE: CODE };
});
afterAll(async () => {
  await stack?.stop();
});

function run(args: string[], e = env) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile(process.execPath, [...tool, ...args], { cwd: root, env: e, timeout: 30_000 });
    child.stdin?.end();
    let out = "";
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (out += d));
    child.on("close", (c) => resolve({ code: c ?? -1, out }));
  });
}

describe("CLI secrets", () => {
  it("keeps the password, code and verifiers out of argv, output and errors", async () => {
    const name = uniqueName("cli-sec");
    const secrets = [
      PASSWORD,
      CODE,
      (await derivePasswordKeys(name, PASSWORD)).verifier,
      await deriveVerifier("code", name, CODE),
    ];
    const started = await run(["start", name]);
    expect(started.code, started.out).toBe(0);

    const follow = spawn(process.execPath, [...tool, "follow", name], { cwd: root, env });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("follow printed nothing")), 45_000);
        createInterface({ input: follow.stdout }).once("line", (l) => {
          clearTimeout(t);
          resolve(l);
        });
      });
      expect(JSON.parse(first)).toEqual({});
      const argv = readFileSync(`/proc/${follow.pid}/cmdline`, "utf8").split("\0").join(" ");
      expect(argv).toContain("follow");
      for (const s of secrets) expect(argv).not.toContain(s);
    } finally {
      follow.kill("SIGTERM");
    }

    const wrong = await Promise.all([
      run(["follow", name], { ...env, RELAY_PASSWORD: `${PASSWORD}-wrong` }),
      run(["stop", name], { ...env, RELAY_CODE: `${CODE}-wrong` }),
    ]);
    const outputs = [started.out, ...wrong.map((w) => w.out)];
    expect(outputs[1]).toMatch(/BAD_PASSWORD|wrong password/i);
    for (const o of outputs) for (const s of secrets) expect(o).not.toContain(s);
  }, 90_000); // five Node processes with tsx: slow on a busy machine
});
