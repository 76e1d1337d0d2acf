/** Shared bits of the two command-line tools: options, secrets, errors. */
import { readFileSync } from "node:fs";
import { configJson, parseConfigText, type RelayConfigInput } from "../core/config.ts";
import { RelayError } from "../core/errors.ts";

export const DEFAULT_URL = "http://127.0.0.1:7379";

/** The words both tools' --help use for where the doors come from. */
export const DOORS_HELP = `Doors, first found wins: --url (with --subscribe-url), then $RELAY_URL (with
$RELAY_SUBSCRIBE_URL), then the JSON file $RELAY_CONFIG ({url, subscribeUrl} or
{shards:[{id, url|urls, subscribeUrls}]}; --subscribe-url or $RELAY_SUBSCRIBE_URL
replaces a one-shard file's subscription doors), then ${DEFAULT_URL}.`;

/**
 * Where the doors are, for createRelay. Precedence: a command door named on the
 * command line (--url), then in RELAY_URL, replaces any file with that one door
 * (and the subscription door from --subscribe-url or RELAY_SUBSCRIBE_URL); else
 * the file RELAY_CONFIG names (a subscription door from the flag or env replaces
 * a one-shard file's, and is refused for a sharded one); else DEFAULT_URL.
 * Errors are INVALID and name the file, never its content.
 */
export function clientConfig(
  flags: { url?: string | undefined; subscribeUrl?: string | undefined },
  env: Record<string, string | undefined> = process.env,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): RelayConfigInput {
  const url = flags.url ?? (env.RELAY_URL || undefined);
  const sub = flags.subscribeUrl ?? (env.RELAY_SUBSCRIBE_URL || undefined);
  const flat = (u: string): RelayConfigInput => (sub ? { url: u, subscribeUrl: sub } : { url: u });
  if (url) return flat(url);
  const path = env.RELAY_CONFIG || undefined;
  if (!path) return flat(DEFAULT_URL);
  let text: string;
  try {
    text = read(path);
  } catch {
    throw new RelayError("INVALID", `RELAY_CONFIG: cannot read ${JSON.stringify(path)}`);
  }
  const d = parseConfigText(text, `RELAY_CONFIG ${JSON.stringify(path)}`);
  if (!sub) return configJson(d);
  const [only, ...more] = d.shards;
  if (!only || more.length)
    throw new RelayError("INVALID", "RELAY_SUBSCRIBE_URL / --subscribe-url cannot override a sharded RELAY_CONFIG");
  return configJson({ shards: [{ ...only, subscribeUrls: [sub] }] });
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
