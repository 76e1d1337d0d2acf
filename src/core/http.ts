/**
 * Commands over HTTP: `POST /` with the command line as the body (never GET,
 * so nothing is cached and no argument lands in a URL or an access log).
 */
import { errorFromRedis, GatewayError, NetworkError, OpError, RelayError, TimeoutError } from "./errors.ts";
import { commandBody } from "./wire.ts";

export interface CommandOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Retry when the request never got an answer (only for calls safe to repeat). */
  retries?: number;
}

export interface Commander {
  /** Runs `command` with `args`; resolves with Redis's reply as Webdis decoded it. */
  call(command: string, args: readonly string[], options?: CommandOptions): Promise<unknown>;
}

export interface HttpCommanderOptions {
  url: string;
  /**
   * Several doors to the same primary (`url` is then the first): a request
   * that got no answer (network error, timeout) moves the commander to the next
   * one, for its retry and for the calls after it.
   */
  urls?: readonly string[];
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Delay before retry `n` (1-based). */
  backoff?: (n: number) => number;
}

export const defaultBackoff = (n: number): number => Math.min(10_000, 200 * 2 ** (n - 1)) * (0.5 + Math.random() / 2);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export function httpCommander(opts: HttpCommanderOptions): Commander {
  const bases = (opts.urls?.length ? opts.urls : [opts.url]).map((u) => (u.endsWith("/") ? u : `${u}/`));
  let door = 0;
  const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const backoff = opts.backoff ?? defaultBackoff;

  async function once(command: string, args: readonly string[], o: CommandOptions): Promise<unknown> {
    const base = bases[door % bases.length] as string;
    const timeoutMs = o.timeoutMs ?? opts.timeoutMs ?? 15_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await doFetch(base, {
        method: "POST",
        body: commandBody(command, args),
        headers: { "content-type": "text/plain;charset=UTF-8" },
        signal,
      });
    } catch (e) {
      if (timeout.aborted) throw new TimeoutError(`no answer from ${base} within ${timeoutMs} ms`);
      if (o.signal?.aborted) throw o.signal.reason;
      throw new NetworkError(`cannot reach ${base}`, e);
    }
    const text = await res.text().catch((e) => {
      throw new NetworkError(`connection to ${base} dropped`, e);
    });
    if (res.status === 403) throw new GatewayError(`${command} is not allowed by the server`, 403);
    // The edge's per-client limit (src/server/edge.ts): the same typed error as
    // the per-stream one in Lua, so callers wait the same way.
    if (res.status === 429) {
      const after = Number(res.headers.get("retry-after"));
      const wait = Number.isFinite(after) && after > 0 ? `; retry in ${Math.ceil(after)} s` : "";
      throw new OpError("RATE_LIMITED", `too many requests from this client${wait}`);
    }
    if (!res.ok) throw new GatewayError(`server answered HTTP ${res.status}`, res.status);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new GatewayError("server answered with something other than JSON", res.status);
    }
    const reply = (body as Record<string, unknown>)[command];
    if (Array.isArray(reply) && reply.length === 2 && reply[0] === false && typeof reply[1] === "string") {
      throw errorFromRedis(reply[1]);
    }
    if (reply === undefined) throw new GatewayError("reply did not name the command", res.status);
    return reply;
  }

  return {
    async call(command, args, o = {}) {
      const retries = o.retries ?? 0;
      for (let attempt = 0; ; attempt++) {
        const at = door;
        try {
          return await once(command, args, o);
        } catch (e) {
          const transient = e instanceof NetworkError || e instanceof TimeoutError;
          // Calls that failed together on one door move the commander once, not past the next door.
          if (transient && door === at) door = (at + 1) % bases.length;
          if (!transient || attempt >= retries) throw e;
          await sleep(backoff(attempt + 1), o.signal);
        }
      }
    },
  };
}

export function isRelayError(e: unknown): e is RelayError {
  return e instanceof RelayError;
}
