/**
 * One test stack: a real Redis and a real Webdis, both on 127.0.0.1, with our
 * function library loaded. Tests never know whether they run as native
 * processes or as containers; fault tests use the controls below.
 */
export interface Stack {
  readonly mode: "native" | "containers";
  /** Base URL of Webdis, e.g. http://127.0.0.1:41234 */
  readonly webdisUrl: string;
  readonly redisPort: number;
  readonly webdisPort: number;
  /** Folder holding Redis's RDB/AOF files (for the secrets-at-rest grep). */
  readonly dataDir: string;
  /** Run one Redis command straight over RESP (tests only: inspection, config). */
  redis(...args: (string | number)[]): Promise<unknown>;
  /** Fault controls. restart* keeps the same ports. */
  killWebdis(): Promise<void>; // SIGKILL
  startWebdis(): Promise<void>;
  restartWebdis(): Promise<void>;
  restartRedis(): Promise<void>; // with AOF on, data survives
  pauseRedis(): Promise<void>; // SIGSTOP / docker pause
  resumeRedis(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Turn on appendonly (AOF). Default true. */
  aof?: boolean;
  /** Extra fields for webdis.json (e.g. verbosity). */
  webdis?: Record<string, unknown>;
}
