/** Small numeric helpers: percentiles, process CPU and memory from /proc. */
import { readFileSync } from "node:fs";

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] ?? null;
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86_64

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after ") ".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) : Number.NaN;
}

export function threads(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /Threads:\s+(\d+)/.exec(status);
  return m ? Number(m[1]) : Number.NaN;
}

/** CPU time of several processes over a stretch of wall time. */
export class CpuMeter {
  readonly #start: Map<number, number>;
  readonly #t0 = performance.now();
  constructor(readonly pids: Record<string, number>) {
    this.#start = new Map(Object.values(pids).map((p) => [p, cpuMs(p)]));
  }
  /** CPU ms per process and the wall ms since the meter started. */
  read(): { wallMs: number; cpu: Record<string, number> } {
    const cpu: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) cpu[name] = cpuMs(pid) - (this.#start.get(pid) ?? 0);
    cpu.bench = process.cpuUsage().user / 1000; // not a delta; informative only
    return { wallMs: performance.now() - this.#t0, cpu };
  }
}

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Resolves when probe() is true; throws after timeoutMs. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
