/**
 * One test stack: a real Redis and a real Webdis, both on 127.0.0.1, with our
 * function library loaded. Tests never know whether they run as native
 * processes or as containers; fault tests use the controls below.
 */
export interface Stack {
  readonly mode: "native" | "containers";
  /** Base URL of the command door (Webdis, no WebSockets), e.g. http://127.0.0.1:41234 */
  readonly webdisUrl: string;
  /**
   * Base URL of the subscription door: a second Webdis, WebSockets on, in
   * front of a replica whose default user may only SUBSCRIBE/UNSUBSCRIBE/PING.
   */
  readonly subscribeUrl: string;
  /**
   * The Webdis both doors run, as its Debian version ("0.1.22+ds-1"; "unknown"
   * for a binary or image of unknown origin): tests of bugs only a newer Webdis
   * fixes skip on an older one, saying so (hasDoorFixes in src/server/webdis-bin.ts).
   */
  readonly webdisVersion: string;
  /** The edge's public doors, when started with `{ edge: true }`. */
  readonly edge?: { readonly commandUrl: string; readonly subscribeUrl: string };
  readonly redisPort: number;
  readonly webdisPort: number;
  /** The subscription replica (its default user can only subscribe). */
  readonly replicaPort: number;
  /** Folder holding Redis's RDB/AOF files (for the secrets-at-rest grep). */
  readonly dataDir: string;
  /** Run one Redis command straight over RESP (tests only: inspection, config). */
  redis(...args: (string | number)[]): Promise<unknown>;
  /**
   * The same on the subscription replica, as its `inspector` user (test stacks
   * only): what the door's subscribe-only user cannot see, e.g. INFO
   * commandstats to prove an attack reached Redis and was refused.
   */
  replica(...args: (string | number)[]): Promise<unknown>;
  /** Fault controls. restart* keeps the same ports. *Webdis acts on both doors. */
  killWebdis(): Promise<void>; // SIGKILL
  startWebdis(): Promise<void>;
  restartWebdis(): Promise<void>;
  restartRedis(): Promise<void>; // with AOF on, data survives
  pauseRedis(): Promise<void>; // SIGSTOP / docker pause
  resumeRedis(): Promise<void>;
  /**
   * Each server's log so far ("redis", "replica", "webdis", "webdis-subscribe"),
   * byte for byte as latin1: natively the log files, in containers the
   * containers' output (for the secrets-in-logs grep).
   */
  logs(): Promise<Record<string, string>>;
  /**
   * Fault control of one process. SIGKILL: gone at once (kill -9; the primary
   * loses what its AOF had not fsynced yet); a door comes back by itself (it is
   * supervised), Redis stays down until start(). SIGSTOP / SIGCONT: frozen and
   * thawed (containers: docker pause / unpause).
   */
  signal(target: Target, sig: FaultSignal): Promise<void>;
  /**
   * A door's resident memory in bytes and an id of its process that changes
   * when it restarts (native: VmRSS and the pid; containers: the cgroup's
   * memory usage and the container's start time). For the door attack tests.
   */
  door(target: "command-door" | "subscribe-door"): Promise<{ rssBytes: number; incarnation: string }>;
  /**
   * Brings a target back: thaws it if frozen, starts it if it is down (same
   * port and data: the primary replays its AOF, the replica syncs again), and
   * resolves once it answers.
   */
  start(target: Target): Promise<void>;
  stop(): Promise<void>;
}

/** The processes a fault test can hit one by one. */
export type Target = "primary" | "replica" | "command-door" | "subscribe-door";
export const TARGETS: readonly Target[] = ["primary", "replica", "command-door", "subscribe-door"];
export type FaultSignal = "SIGKILL" | "SIGSTOP" | "SIGCONT";

/**
 * Native mode only: run the servers inside network namespaces the test made
 * (test/faults/net.ts), listening on those namespaces' addresses, so faults
 * can be put on the links between them in the kernel.
 */
export interface Placement {
  /** Where Redis (primary and replica) runs: its address and the command that enters the namespace. */
  redis: { host: string; wrap: string[] };
  /** Where both doors run. */
  doors: { host: string; wrap: string[] };
}

export interface StackOptions {
  /** Turn on appendonly (AOF). Default true. */
  aof?: boolean;
  /** Extra fields for webdis.json (e.g. verbosity). */
  webdis?: Record<string, unknown>;
  /** Native mode only (containers mode refuses it): see Placement. */
  placement?: Placement;
  /**
   * Start the HAProxy edge (src/server/edge.ts, a native process in both modes)
   * in front of both doors: `stack.edge` has its URLs. Limits are loosened for
   * suites that start many streams from one address.
   */
  edge?: boolean;
}
