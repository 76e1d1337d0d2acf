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
  readonly redisPort: number;
  readonly webdisPort: number;
  /** The subscription replica (its default user can only subscribe). */
  readonly replicaPort: number;
  /** Folder holding Redis's RDB/AOF files (for the secrets-at-rest grep). */
  readonly dataDir: string;
  /** Run one Redis command straight over RESP (tests only: inspection, config). */
  redis(...args: (string | number)[]): Promise<unknown>;
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
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Turn on appendonly (AOF). Default true. */
  aof?: boolean;
  /** Extra fields for webdis.json (e.g. verbosity). */
  webdis?: Record<string, unknown>;
}
