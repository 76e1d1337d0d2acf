/** Starts bench/socketio-server.ts as a child process and waits for its port. */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export interface SocketIoServer {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function startSocketIoServer(redisPort: number, timeoutMs = 15_000): Promise<SocketIoServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "..", "socketio-server.ts"), String(redisPort)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("socket.io server did not start"));
    }, timeoutMs);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const port = Number(m[1]);
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        pid: child.pid ?? -1,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r();
            child.once("exit", () => r());
            child.kill("SIGTERM");
            setTimeout(() => child.kill("SIGKILL"), 2_000).unref();
          }),
      });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`socket.io server exited (${code})`));
    });
  });
}
