/** The shapes a TabElection takes and gives (election.ts), and what tabs say to each other. */

/** The part of the Web Locks API used here (`navigator.locks`). */
export interface LockManagerLike {
  request(
    name: string,
    options: { mode?: "exclusive"; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

/** The part of BroadcastChannel used here. */
export interface BroadcastChannelLike {
  postMessage(data: unknown): void;
  close(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface TabElectionOptions {
  /** What is being led, e.g. the stream name; tabs with the same key compete. */
  key: string;
  /** Defaults to `navigator.locks` when present. `null` forces the lease fallback. */
  locks?: LockManagerLike | null;
  /** Defaults to `new BroadcastChannel(name)` when present; `null`: no tab-to-tab messages. */
  channel?: ((name: string) => BroadcastChannelLike) | null;
  /** Lease fallback only: beat interval. Default 1000 ms. */
  heartbeatMs?: number;
}

export interface TabElectionEvents {
  /** This tab is now the writer (reconnect as the leader now). */
  elected: { id: string };
  /** This tab stopped being the writer (close its Leader). */
  demoted: { id: string; reason: string };
  /** Another tab became (or is) the writer; undefined when none is known. */
  writer: { id: string | undefined };
  /** A `post()` from another tab. */
  message: { data: unknown; from: string };
}

export type Wire =
  | { t: "lead"; id: string }
  | { t: "claim"; id: string }
  | { t: "resign"; id: string }
  | { t: "who"; id: string }
  | { t: "msg"; id: string; data: unknown };
