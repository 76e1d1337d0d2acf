/**
 * createRelay: the client's front door. Every operation is one Redis function
 * called through Webdis (`FCALL` / `FCALL_RO` over HTTP POST); live updates
 * come over a WebSocket or the chunked HTTP stream.
 */
import * as z from "zod/mini";
import { type Deployment, doorsShape, type Shard, toDeployment } from "./config.ts";
import { fold, openChange, openChanges, openReply, sha1Async } from "./content.ts";
import { GatewayError, RelayError } from "./errors.ts";
import { Follower } from "./follower.ts";
import { type Commander, defaultBackoff, httpCommander } from "./http.ts";
import { Leader, type LeaderSession, type MakeChange, restoreSaved, type SavedLeader } from "./leader.ts";
import { OPS, type OpName } from "./ops.ts";
import { derivePasswordKeys } from "./seal.ts";
import { deriveVerifier, PBKDF2_ITERATIONS, randomHex } from "./secrets.ts";
import { doorOrder, mergePages, shardIndex } from "./shards.ts";
import {
  httpStreamSubscriber,
  type Subscriber,
  type TransportName,
  type WebSocketFactory,
  webSocketSubscriber,
} from "./subscribe.ts";
import {
  baseKey,
  connectReply,
  healReply,
  heartbeatReply,
  type ListPage,
  listReply,
  nameProblem,
  pass,
  publishReply,
  reconnectReply,
  startReply,
  stopReply,
} from "./wire.ts";

const fn = <T>(what: string) =>
  z.optional(z.custom<T>((v) => typeof v === "function", { message: `${what} must be a function` }));
const int = (min: number) => z.number().check(z.int(), z.gte(min));

export const relayOptionsSchema = z.object({
  /** Where the doors are: `{ url, subscribeUrl? }` (or `urls` / `subscribeUrls`), or `{ shards }` (config.ts). */
  ...doorsShape,
  /** Live-update transports, tried in this order. */
  transports: z.optional(z.array(z.enum(["websocket", "http-stream"])).check(z.minLength(1))),
  timeoutMs: z._default(int(1), 15_000),
  /** How often a leader tells the server (and followers) it is still there; 0 = never. */
  heartbeatMs: z._default(int(0), 15_000),
  /** A follower re-syncs when it heard nothing for this long. */
  staleAfterMs: z._default(int(1), 45_000),
  /** How long a follower waits for a late message before it treats a gap as a loss (Webdis reorders). */
  reorderMs: z._default(int(0), 200),
  /** PBKDF2 iterations for verifiers; both sides of a stream must use the same. */
  iterations: z._default(int(100_000), PBKDF2_ITERATIONS),
  fetch: fn<typeof fetch>("fetch"),
  webSocket: fn<WebSocketFactory>("webSocket"),
  backoff: fn<(attempt: number) => number>("backoff"),
  /**
   * A leader's changes made elsewhere: `(baseJson, json) => changeText(baseJson, json)` run in
   * a Worker (web/patch-worker.ts), so a big plan's parse, diff and hash leave the thread
   * that draws it. What it answers is checked for shape; a failure is made here instead.
   */
  makeChange: fn<MakeChange>("makeChange"),
});
export type RelayOptions = z.input<typeof relayOptionsSchema>;

const secret = z.string().check(z.minLength(1, "must not be empty"), z.maxLength(1024, "is too long"));
const startCreds = z.object({ password: secret, code: secret });
// `pass`: from an earlier leader's `pass` / follower's connect, exempts from the failed-check limit.
// A leader comes back with the password too: the plan is sealed with a key from it.
const leaderCreds = z.object({ password: secret, code: secret, pass: z.optional(pass) });
const passwordCreds = z.object({ password: secret, pass: z.optional(pass) });
const listOptions = z.object({
  cursor: z.optional(z.nullable(z.string())),
  count: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 50),
});

function invalid(e: { issues: readonly { path: PropertyKey[]; message: string }[] }, what: string): RelayError {
  const issue = e.issues[0];
  return new RelayError(
    "INVALID",
    `${what}: ${issue ? `${issue.path.map(String).join(".") || "value"} ${issue.message}` : "invalid"}`,
  );
}

function checked<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(r.error, what);
  return r.data;
}

/**
 * The one place a stream name enters the client: checked, then put in NFC, the
 * form Lua accepts (it has no normalizer and refuses decomposed marks). Every
 * verifier is salted with the name, so this runs before anything is derived, and
 * start, reconnect, connect and the leader's publish/stop all use its result.
 */
function streamName(name: string): string {
  const nfc = typeof name === "string" ? name.normalize("NFC") : name;
  const problem = nameProblem(nfc);
  if (problem) throw new RelayError("INVALID", problem);
  return nfc;
}

function parseReply<T>(schema: z.ZodMiniType<T>, raw: unknown): T {
  let value: unknown;
  try {
    value = typeof raw === "string" ? JSON.parse(raw) : raw;
  } catch {
    throw new RelayError("PROTOCOL", "reply is not JSON");
  }
  const r = schema.safeParse(value);
  if (!r.success)
    throw new RelayError("PROTOCOL", "reply does not match the protocol (is the function library loaded?)");
  return r.data;
}

export interface Relay {
  /** Starts a stream; you are its leader. NAME_TAKEN if the name is live. */
  start(name: string, creds: { password: string; code: string }): Promise<Leader>;
  /**
   * Takes over an existing stream as its leader (an older leader gets
   * LEADER_REPLACED). The password opens the sealed plan; the code proves leadership.
   */
  reconnect(name: string, creds: { password: string; code: string; pass?: string }): Promise<Leader>;
  /**
   * Rebuilds a leader from `leader.save()` (a reload of the same tab): no code, no network
   * round trip. The server checks its next publish or heartbeat as usual (a session taken
   * over meanwhile is fenced: LEADER_REPLACED; `leader.ping()` asks at once). INVALID for a
   * record that is not one.
   */
  resume(saved: SavedLeader): Leader;
  /** Joins a stream as a follower: the current state at once, then every change. */
  connect(name: string, creds: { password: string; pass?: string }): Promise<Follower>;
  /** One page of live streams in name order. */
  list(options?: { cursor?: string | null; count?: number }): Promise<ListPage>;
  /** Version of the function library on the server (the first shard's). */
  version(): Promise<string>;
  /** The id of the shard that holds the stream `name` (every client computes the same). */
  shardOf(name: string): string;
  /** The first shard's first command door. */
  readonly url: string;
  /** The doors and shards this relay uses, checked. */
  readonly deployment: Deployment;
}

/** What a runtime adapter may bring (src/node.ts): a cheaper fetch for commands, used unless the caller gives one. */
export interface RuntimeParts {
  commandFetch?: typeof fetch;
}

export function createRelay(options: RelayOptions, runtime: RuntimeParts = {}): Relay {
  const o = checked(relayOptionsSchema, options, "relay options");
  const deployment = toDeployment(o, "relay options");
  const backoff = o.backoff ?? defaultBackoff;
  const commandFetch = o.fetch ?? runtime.commandFetch;
  const webSocket = o.webSocket;

  // Each shard: its command doors behind one commander, and per subscription
  // door its transports. Live updates come from the subscription doors when
  // there are some (WebSockets are only safe there: see webdis.subscribe.json),
  // else from the command doors' HTTP stream.
  const shards = deployment.shards.map((s: Shard) => {
    const http: Commander = httpCommander({
      url: s.urls[0] as string,
      urls: s.urls,
      fetch: commandFetch,
      timeoutMs: o.timeoutMs,
      backoff,
    });
    const subUrls = s.subscribeUrls.length ? s.subscribeUrls : s.urls;
    const wanted: TransportName[] =
      o.transports ?? (webSocket && s.subscribeUrls.length ? ["websocket", "http-stream"] : ["http-stream"]);
    const doors: Subscriber[][] = subUrls.map((u) =>
      wanted.map((t) => {
        if (t === "http-stream") return httpStreamSubscriber(u, o.fetch);
        if (!webSocket) throw new RelayError("INVALID", "the websocket transport needs a webSocket factory here");
        return webSocketSubscriber(u, webSocket);
      }),
    );
    return { id: s.id, http, subUrls, doors };
  });
  const ids = shards.map((s) => s.id);
  /**
   * Whether a subscription door's Redis answers: PING through it, no retry, a few
   * seconds at most (a door whose replica is gone answers with an error, or not at all).
   * An edge refuses PING (403: it serves only SUBSCRIBE, src/server/edge.ts) and health-
   * checks the doors behind it itself, closing what it holds on a dead one: its refusal
   * says the edge is up, and nothing more can be asked of it.
   */
  const probeDoor = async (url: string): Promise<boolean> => {
    const door = httpCommander({ url, fetch: commandFetch, timeoutMs: Math.min(o.timeoutMs, 3_000), backoff });
    const reply = await door.call("PING", [], { retries: 0 }).catch((e: unknown) => {
      if (e instanceof GatewayError && e.status === 403) return "PONG";
      throw e;
    });
    // Webdis answers a status reply as [true, "PONG"].
    return reply === "PONG" || (Array.isArray(reply) && reply[1] === "PONG");
  };
  /** The shard of a stream: every operation on it goes there (the name is in NFC already). */
  const shardFor = (name: string) => shards[shardIndex(name, ids)] ?? (shards[0] as (typeof shards)[number]);
  const first = shards[0] as (typeof shards)[number];
  const iterations = o.iterations;

  // Every stream function: numkeys 1, KEYS[1] = the stream's base key, ARGV[1] = the name.
  const fcall = (fnName: OpName, name: string, args: string[], retries = 0) => {
    if (args.length + 1 !== OPS[fnName].args)
      throw new RelayError("PROTOCOL", `${fnName} takes ${OPS[fnName].args} arguments`);
    const keys = String(OPS[fnName].keys);
    return shardFor(name).http.call("FCALL", [fnName, keys, baseKey(name), name, ...args], { retries });
  };

  /**
   * `pwVerifier` and `seed` (the channel seed; unknown to a leader that took over) stay in
   * memory, for a heal (lua/heal.lua): the stream is re-made from what the leader holds.
   */
  function leaderFor(session: LeaderSession, codeVerifier: string, pwVerifier: string, seed?: string): Leader {
    return new Leader(session, {
      heartbeatMs: o.heartbeatMs,
      backoff,
      ...(o.makeChange ? { makeChange: o.makeChange } : {}),
      async publish(s, opId, body) {
        // The base seq: the last state this leader saw acknowledged, the one a patch starts from.
        // The epoch too: a stream behind this leader (a failover lost writes) answers BEHIND.
        const args = [s.token, String(s.term), opId, String(body.base), body.kind, body.content, s.epoch];
        return parseReply(publishReply, await fcall("relay_publish", s.name, args));
      },
      async heartbeat(s) {
        const args = [s.token, String(s.term), s.epoch, String(s.seq)];
        parseReply(heartbeatReply, await fcall("relay_heartbeat", s.name, args, 1));
      },
      async heal(s, opId, body) {
        // A leader that took over never had the seed: a new one (a re-made stream gets a new channel).
        seed ??= randomHex(24);
        const at = [s.origin ?? s.epoch, body.epoch, String(body.seq), opId, body.content, s.pass];
        const args = [pwVerifier, codeVerifier, seed, s.token, String(s.term), ...at];
        return parseReply(healReply, await fcall("relay_heal", s.name, args));
      },
      async stop() {
        parseReply(stopReply, await fcall("relay_stop", session.name, [codeVerifier, session.pass]));
      },
      verifiers: { code: codeVerifier, password: pwVerifier },
    });
  }

  return {
    url: (deployment.shards[0] as Shard).urls[0] as string,
    deployment,
    shardOf: (name) => shardFor(streamName(name)).id,

    async start(rawName, creds) {
      const name = streamName(rawName);
      const c = checked(startCreds, creds, "start");
      const [pw, code] = await Promise.all([
        derivePasswordKeys(name, c.password, iterations),
        deriveVerifier("code", name, c.code, iterations),
      ]);
      const channel = randomHex(24);
      const token = randomHex(24);
      const r = parseReply(startReply, await fcall("relay_start", name, [pw.verifier, code, channel, token]));
      const state = {};
      const session = { ...r, origin: r.epoch, name, state, json: "{}", key: pw.content, snapshot: false, token };
      return leaderFor(session, code, pw.verifier, channel);
    },

    async reconnect(rawName, creds) {
      const name = streamName(rawName);
      const c = checked(leaderCreds, creds, "reconnect");
      const [pw, code] = await Promise.all([
        derivePasswordKeys(name, c.password, iterations),
        deriveVerifier("code", name, c.code, iterations),
      ]);
      const token = randomHex(24);
      const args = [code, token, c.pass ?? "-", pw.verifier];
      const r = parseReply(reconnectReply, await fcall("relay_reconnect", name, args));
      const { channel, epoch, term, seq } = r;
      const session = { name, channel, epoch, origin: r.origin ?? epoch, term, seq, pass: r.pass, token };
      // The plan as followers see it, opened with the password's key: the base of the next patch.
      // A history that does not open or add up (only a token holder can write one) must not
      // block the take-over: the leader starts with no base, `state` undefined, and its first
      // publish goes whole, which heals the stream for everyone.
      const base = await openChanges(pw.content, name, r.epoch, r.changes).then(
        (changes) => fold(r, changes).state,
        (e: unknown) => {
          if (e instanceof RelayError && (e.code === "SEALED" || e.code === "PROTOCOL")) return undefined;
          throw e;
        },
      );
      if (base === undefined)
        return leaderFor(
          { ...session, state: undefined, json: "", key: pw.content, snapshot: true },
          code,
          pw.verifier,
        );
      return leaderFor(
        { ...session, state: base, json: JSON.stringify(base), key: pw.content, snapshot: r.snapshot },
        code,
        pw.verifier,
      );
    },

    resume(saved) {
      const { session, verifiers } = restoreSaved(saved);
      // The name as every other entry takes it (NFC, in bytes): a record edited by hand is refused here.
      if (streamName(session.name) !== session.name)
        throw new RelayError("INVALID", "saved leader: name is not in NFC");
      // The channel seed is not kept: a heal makes a new one, as for a leader that took over.
      return leaderFor(session, verifiers.code, verifiers.password);
    },

    async connect(rawName, creds) {
      const name = streamName(rawName);
      const c = checked(passwordCreds, creds, "connect");
      const pw = await derivePasswordKeys(name, c.password, iterations);
      let lastPass = c.pass ?? "-";
      // A random id per follower picks its door (and the order of the others):
      // followers spread over the doors, and stay on theirs until it fails.
      const shard = shardFor(name);
      const doors = doorOrder(randomHex(8), shard.subUrls).map((i) => shard.doors[i] as Subscriber[]);
      const follower = new Follower({
        name,
        subscribers: doors[0] ?? [],
        doors,
        staleAfterMs: o.staleAfterMs,
        // Silence past the leader's heartbeat and a half: ask the door (shell.ts #probeDoor).
        suspectAfterMs: o.heartbeatMs > 0 ? Math.max(1_000, Math.round(o.heartbeatMs * 1.5)) : undefined,
        probeDoor,
        heartbeatMs: o.heartbeatMs,
        reorderMs: o.reorderMs,
        backoff,
        async sync(epoch, lastSeq) {
          // Every re-sync sends the pass of the last one: once in, a follower
          // is never locked out by someone else's wrong guesses.
          const raw = await fcall("relay_connect", name, [pw.verifier, epoch ?? "-", String(lastSeq), lastPass], 2);
          const r = parseReply(connectReply, raw);
          lastPass = r.pass;
          return openReply(pw.content, name, r);
        },
        open: (env) => openChange(pw.content, name, env),
        digest: sha1Async,
      });
      await follower.open();
      return follower;
    },

    async list(opts = {}) {
      const l = checked(listOptions, opts, "list");
      const args = ["relay_list", "0", l.cursor ?? "-", String(l.count)];
      // Every shard's page after the same cursor, merged in one name order (shards.ts).
      const pages = await Promise.all(
        shards.map(async (s, shard) => ({
          shard,
          page: parseReply(listReply, await s.http.call("FCALL_RO", args, { retries: 2 })),
        })),
      );
      if (pages.length === 1) return (pages[0] as (typeof pages)[number]).page;
      return mergePages(pages, l.count, (name) => shardIndex(name, ids));
    },

    async version() {
      return String(await first.http.call("FCALL_RO", ["relay_version", "0"], { retries: 2 }));
    },
  };
}
