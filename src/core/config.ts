/**
 * What a client needs to reach a deployment: its shards, and per shard its
 * command doors and subscription doors. One schema for createRelay, the CLI's
 * RELAY_CONFIG file and the web UI's relay-config.json. Two shapes:
 *
 *   flat     { url | urls, subscribeUrl? | subscribeUrls? }        one shard (as before)
 *   sharded  { shards: [{ id, url | urls, subscribeUrls? }, ...] }
 *
 * Without subscription doors, live updates use the command doors' HTTP stream.
 * Shard ids place streams (src/core/shards.ts): renaming one moves its streams.
 * Errors are INVALID with the path of what is wrong, never the value (a URL
 * with a user and password in it is refused, and its text is not repeated).
 */
import * as z from "zod/mini";
import { RelayError } from "./errors.ts";

/** A Webdis door: http(s), no user or password in it (fetch refuses those anyway). */
const door = z.url({ protocol: /^https?$/ }).check(
  z.refine((u) => {
    try {
      const parsed = new URL(u);
      return parsed.username === "" && parsed.password === "";
    } catch {
      return false;
    }
  }, "must not carry a user or password"),
);
const doors = z.array(door).check(z.minLength(1), z.maxLength(64));
const shardId = z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 . _ -"));

const shardSchema = z.object({
  id: shardId,
  /** The command door (or `urls`, several doors to the same primary, tried in turn on network errors). */
  url: z.optional(door),
  urls: z.optional(doors),
  /** The subscription doors (Webdis with WebSockets, each in front of a replica). */
  subscribeUrls: z.optional(doors),
});

/** The fields of the config, shared with createRelay's options (relay.ts). */
export const doorsShape = {
  /** Webdis base URL of the command door, e.g. http://127.0.0.1:7379 */
  url: z.optional(door),
  /** Several command doors to the same primary, tried in turn on network errors. */
  urls: z.optional(doors),
  /**
   * Webdis base URL of the subscription door (WebSockets on, in front of a
   * subscribe-only Redis replica), e.g. http://127.0.0.1:7380. Without one,
   * live updates use the HTTP stream of the command door.
   */
  subscribeUrl: z.optional(door),
  /** Several subscription doors: each follower keeps one (spread by a hash), and moves on when it fails. */
  subscribeUrls: z.optional(doors),
  /** Streams spread over these by a hash of their name; instead of the flat fields. */
  shards: z.optional(z.array(shardSchema).check(z.minLength(1), z.maxLength(256))),
};
export const configSchema = z.object(doorsShape);
export type RelayConfigInput = z.input<typeof configSchema>;

export interface Shard {
  readonly id: string;
  /** Command doors, at least one. */
  readonly urls: readonly string[];
  /** Subscription doors; empty: the command doors' HTTP stream. */
  readonly subscribeUrls: readonly string[];
}
export interface Deployment {
  readonly shards: readonly Shard[];
}

/** The id a flat (one-shard) config's shard gets. */
export const DEFAULT_SHARD = "default";

const clean = (u: string) => new URL(u).href.replace(/\/+$/, "");
const unique = (list: readonly string[]) => [...new Set(list.map(clean))];

function invalid(what: string, path: string, message: string): RelayError {
  return new RelayError("INVALID", `${what}: ${path ? `${path} ` : ""}${message}`);
}

function oneOf(what: string, path: string, single: string | undefined, many: readonly string[] | undefined) {
  if (single !== undefined && many !== undefined) throw invalid(what, path, "has both a door and a list of doors");
  return single !== undefined ? [single] : (many ?? []);
}

/** The parsed fields as a deployment: exactly one shape, unique shard ids, each command door in one shard. */
export function toDeployment(o: z.output<typeof configSchema>, what = "relay config"): Deployment {
  let shards: Shard[];
  if (o.shards) {
    if (o.url ?? o.urls ?? o.subscribeUrl ?? o.subscribeUrls)
      throw invalid(what, "", "has shards and flat doors: use one shape");
    shards = o.shards.map((s, i) => {
      const urls = oneOf(what, `shards.${i}`, s.url, s.urls);
      if (urls.length === 0) throw invalid(what, `shards.${i}`, "needs a command door (url or urls)");
      return { id: s.id, urls: unique(urls), subscribeUrls: unique(s.subscribeUrls ?? []) };
    });
  } else {
    const urls = oneOf(what, "", o.url, o.urls);
    if (urls.length === 0) throw invalid(what, "", "needs a command door (url, urls or shards)");
    const subs = oneOf(what, "", o.subscribeUrl, o.subscribeUrls);
    shards = [{ id: DEFAULT_SHARD, urls: unique(urls), subscribeUrls: unique(subs) }];
  }
  const ids = new Set<string>();
  const commandDoors = new Set<string>();
  for (const [i, s] of shards.entries()) {
    if (ids.has(s.id)) throw invalid(what, `shards.${i}.id`, "is the id of an earlier shard");
    ids.add(s.id);
    for (const u of s.urls) {
      if (commandDoors.has(u)) throw invalid(what, `shards.${i}`, "shares a command door with an earlier shard");
      commandDoors.add(u);
    }
  }
  return { shards };
}

/** Checks a config value (an object, e.g. parsed JSON) against the schema; INVALID names the path. */
export function parseConfig(value: unknown, what = "relay config"): Deployment {
  const r = configSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw invalid(what, issue ? issue.path.map(String).join(".") || "value" : "value", issue?.message ?? "invalid");
  }
  return toDeployment(r.data, what);
}

/** A config file's text: JSON, then the schema. Nothing of the text is repeated in an error. */
export function parseConfigText(text: string, what = "relay config"): Deployment {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(what, "", "is not JSON");
  }
  return parseConfig(value, what);
}

/** The deployment in the config's own shape (relay-config.json): flat when it is one shard. */
export function configJson(d: Deployment): RelayConfigInput {
  const only = d.shards.length === 1 ? d.shards[0] : undefined;
  if (only && only.id === DEFAULT_SHARD) {
    const out: RelayConfigInput = only.urls.length === 1 ? { url: only.urls[0] } : { urls: [...only.urls] };
    if (only.subscribeUrls.length === 1) out.subscribeUrl = only.subscribeUrls[0];
    else if (only.subscribeUrls.length > 1) out.subscribeUrls = [...only.subscribeUrls];
    return out;
  }
  return {
    shards: d.shards.map((s) =>
      s.subscribeUrls.length
        ? { id: s.id, urls: [...s.urls], subscribeUrls: [...s.subscribeUrls] }
        : { id: s.id, urls: [...s.urls] },
    ),
  };
}

/** Every door of a deployment (command and subscription), e.g. for a CSP's connect-src. */
export function allDoors(d: Deployment): { command: string[]; subscribe: string[] } {
  return {
    command: d.shards.flatMap((s) => s.urls),
    subscribe: d.shards.flatMap((s) => s.subscribeUrls),
  };
}
