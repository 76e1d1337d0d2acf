/** Shared bits of the two command-line tools: options, secrets, errors. */
import { RelayError } from "../core/errors.ts";

export const DEFAULT_URL = "http://127.0.0.1:7379";

export function relayUrl(flag: string | undefined): string {
  return flag ?? process.env.RELAY_URL ?? DEFAULT_URL;
}

/** The subscription door, when there is one (WebSockets); else the HTTP stream of the command door. */
export function subscribeUrl(flag: string | undefined): string | undefined {
  return flag ?? (process.env.RELAY_SUBSCRIBE_URL || undefined);
}

/** A secret from its flag or its env var (the env var keeps it out of `ps`). */
export function secretFrom(flag: string | undefined, env: "RELAY_PASSWORD" | "RELAY_CODE", what: string): string {
  const value = flag ?? process.env[env];
  if (!value)
    throw new UsageError(`${what} is required: set ${env} or pass --${what === "password" ? "password" : "code"}`);
  return value;
}

export class UsageError extends Error {}

/** Runs a CLI main: one line on stderr and a non-zero exit on any error. */
export async function runMain(tool: string, main: () => Promise<number | undefined>): Promise<void> {
  try {
    process.exitCode = (await main()) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${tool}: ${e.message} (see ${tool} --help)\n`);
      process.exitCode = 2;
    } else if (e instanceof RelayError) {
      process.stderr.write(`${tool}: ${e.code}: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`${tool}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  }
}

/** Writes a line to stdout, waiting when the pipe is full (no unbounded buffering). */
export function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(`${line}\n`, (e) => (e ? reject(e) : undefined))) resolve();
    else process.stdout.once("drain", resolve);
  });
}
