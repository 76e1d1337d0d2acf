/**
 * A minimal RESP2 client for operators and tests: one command per call on a
 * fresh connection to 127.0.0.1. The product never talks RESP; only `up`
 * (FUNCTION LOAD) and the test stack (inspection, faults) do.
 */
import { connect } from "node:net";

export class RespError extends Error {}

type Reply = string | number | null | Reply[] | RespError;

function encode(args: (string | number | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `pos`; returns undefined when the buffer is incomplete. */
function parse(buf: Buffer, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos] as number);
  const line = buf.toString("utf8", pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return undefined;
      return [buf.toString("utf8", next, next + n), next + n + 2];
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, at);
        if (!r) return undefined;
        items.push(r[0]);
        at = r[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

export interface RedisCommandOptions {
  host?: string;
  timeoutMs?: number;
  /** AUTH as this ACL user first (pipelined on the same connection). */
  auth?: { user: string; password: string };
}

export function redisCommand(
  port: number,
  args: (string | number | Buffer)[],
  { host = "127.0.0.1", timeoutMs = 10_000, auth }: RedisCommandOptions = {},
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let buf = Buffer.alloc(0);
    // With auth, the first reply is AUTH's: skip it once it parsed as OK.
    let skip = auth !== undefined;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${host}:${port} did not answer ${String(args[0])} in ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    sock.on("connect", () => {
      if (auth) sock.write(encode(["AUTH", auth.user, auth.password]));
      sock.write(encode(args));
    });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      let r = parse(buf, 0);
      if (!r) return;
      if (skip) {
        if (r[0] instanceof RespError) return done(() => reject(new RespError(`AUTH failed: ${String(r?.[0])}`)));
        skip = false;
        buf = buf.subarray(r[1]);
        r = parse(buf, 0);
        if (!r) return;
      }
      const [reply] = r;
      done(() => (reply instanceof RespError ? reject(reply) : resolve(reply)));
    });
    sock.on("error", (e) => done(() => reject(e)));
  });
}
