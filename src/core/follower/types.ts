import type { OpenedReply } from "../content.ts";
import type { RelayError } from "../errors.ts";
import type { Subscriber } from "../subscribe.ts";
import type { SealedEnvelope } from "../wire.ts";
import type { Change } from "./delta.ts";
import type { EventCodes, FollowerStatus } from "./machine.ts";
import type { EndCode, ReasonCode } from "./reasons.ts";

export interface FollowerUpdate {
  seq: number;
  state: unknown;
  /** Server time of the change (ms since epoch). */
  ts: number;
  epoch: string;
  /** Set when this state is a reset (a full state from a sync, not the next seq), with why. */
  reset?: EventCodes["full-state"];
}

export interface FollowerStatusEvent {
  status: FollowerStatus;
  previous: FollowerStatus;
  /** Why, in a stable code (the web page words it). */
  code: ReasonCode;
  /** Why, as text for logs (a drop carries its error's message). */
  reason: string;
  seq: number;
  updated: number;
}

export interface FollowerEvents {
  state: FollowerUpdate;
  status: FollowerStatusEvent;
  ended: { reason: EndCode };
  error: { error: RelayError };
}

export interface FollowerDeps {
  name: string;
  /** Calls relay_connect(epoch, lastSeq) and opens what it sent; holds the verifier and the content key. */
  sync(epoch: string | undefined, lastSeq: number): Promise<OpenedReply>;
  /** Opens a sealed change from the channel (SEALED when it does not open). */
  open(env: SealedEnvelope): Promise<Change>;
  /** The transports of the one subscription door, in the order they are tried. */
  subscribers: readonly Subscriber[];
  /**
   * Several subscription doors: each one's transports, in the order this
   * follower tries the doors (its own first). When given, `subscribers` is not used.
   */
  doors?: readonly (readonly Subscriber[])[];
  /** Re-sync when nothing (not even a heartbeat) arrived for this long. */
  staleAfterMs: number;
  /**
   * Several doors: after this much silence (the leader's heartbeat interval and a
   * half), ask the door in use whether its Redis still answers (`probeDoor`). A
   * door whose replica died keeps its WebSockets open but deaf, so without this a
   * follower would sit there until staleAfterMs. Unset: staleAfterMs only.
   */
  suspectAfterMs?: number;
  /**
   * The leader's heartbeat interval (0 or unset: none). Silence past it and a quarter
   * makes the follower ask the relay (one `sync` at its seq) when the leader last spoke:
   * as long ago as this follower last heard, the leader is away and the relay answers
   * (`answeredAt`); since then, this channel stalled and is renewed at once.
   */
  heartbeatMs?: number;
  /** Whether the Redis behind a subscription door answers (a PING through it, bounded in time). */
  probeDoor?(url: string): Promise<boolean>;
  /**
   * How long a gap may stay open before a catch-up: Webdis delivers pub/sub
   * messages out of order under load, so a missing seq usually arrives a few
   * ms later. Default 200.
   */
  reorderMs?: number;
  backoff: (attempt: number) => number;
  /**
   * SHA-1 hex of a text, asynchronously (WebCrypto: off the main thread in browsers and
   * Node). Given, a patch that lands on the state held is applied and checked while it
   * waits to be applied (delta.ts `checked`), so applying it costs no hashing; unset,
   * the patch is hashed synchronously when applied (sha1.ts). Same result either way.
   */
  digest?(text: string): Promise<string>;
}
