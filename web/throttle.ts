/**
 * Calls `fn` at most once per `intervalMs` with the newest argument, and always
 * delivers the last one: a trailing call fires at the end of the interval, and
 * `flush()` sends any pending value at once (e.g. on pointer-up). Used so a drag
 * publishes a few times a second and its final position always lands.
 */
export interface Throttled<A> {
  (arg: A): void;
  flush(): void;
  cancel(): void;
  readonly pending: boolean;
}

export function throttle<A>(
  fn: (arg: A) => void,
  intervalMs: number,
  clock: { now(): number; set(cb: () => void, ms: number): unknown; clear(h: unknown): void } = {
    now: () => Date.now(),
    set: (cb, ms) => setTimeout(cb, ms),
    clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  },
): Throttled<A> {
  let last = Number.NEGATIVE_INFINITY;
  let timer: unknown;
  let hasPending = false;
  let pendingArg: A | undefined;

  const fire = () => {
    if (timer !== undefined) clock.clear(timer);
    timer = undefined;
    if (!hasPending) return;
    const arg = pendingArg as A;
    hasPending = false;
    pendingArg = undefined;
    last = clock.now();
    fn(arg);
  };

  const call = ((arg: A) => {
    pendingArg = arg;
    hasPending = true;
    const wait = last + intervalMs - clock.now();
    if (wait <= 0) fire();
    else if (timer === undefined) timer = clock.set(fire, wait);
  }) as Throttled<A>;
  call.flush = fire;
  call.cancel = () => {
    if (timer !== undefined) clock.clear(timer);
    timer = undefined;
    hasPending = false;
    pendingArg = undefined;
  };
  Object.defineProperty(call, "pending", { get: () => hasPending });
  return call;
}
