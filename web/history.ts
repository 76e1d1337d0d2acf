/**
 * Undo/redo over immutable plan snapshots. Edits that belong together (one
 * drag, a burst of typing in the same field) share a `group` key, so one undo
 * takes back the whole gesture rather than each pixel or keystroke.
 */
/** The steps of a History as plain data (kept with a saved leader session; web/store.ts). */
export interface HistorySnapshot<T> {
  past: T[];
  current: T;
  future: T[];
}

/** How many undo (and redo) steps go with a saved session: enough to undo a reload, bounded in size. */
export const SAVED_STEPS = 100;

export class History<T> {
  /** A history with the steps of `s` (from `snapshot`): undo after a reload takes back what came before it. */
  static from<T>(s: HistorySnapshot<T>, limit = 200, groupWindowMs = 1500): History<T> {
    const h = new History<T>(s.current, limit, groupWindowMs);
    h.past = s.past.slice(-limit);
    h.future = s.future.slice(-limit);
    return h;
  }

  private past: T[] = [];
  private future: T[] = [];
  private lastGroup: string | undefined;
  private lastAt = 0;

  constructor(
    private current: T,
    private readonly limit = 200,
    private readonly groupWindowMs = 1500,
  ) {}

  get value(): T {
    return this.current;
  }
  get canUndo(): boolean {
    return this.past.length > 0;
  }
  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /**
   * Records a new value. With the same `group` as the previous push (and within
   * the group window), it replaces the top entry instead of adding one.
   */
  push(next: T, group?: string, now = Date.now()): void {
    if (next === this.current) return;
    const merge = group !== undefined && group === this.lastGroup && now - this.lastAt <= this.groupWindowMs;
    if (!merge) {
      this.past.push(this.current);
      if (this.past.length > this.limit) this.past.shift();
    }
    this.current = next;
    this.future = [];
    this.lastGroup = group;
    this.lastAt = now;
  }

  /** The newest `steps` undo and redo steps and the current value (the values themselves, not copies). */
  snapshot(steps = SAVED_STEPS): HistorySnapshot<T> {
    return { past: this.past.slice(-steps), current: this.current, future: this.future.slice(-steps) };
  }

  /** Ends any open group, so the next push starts a new undo step. */
  seal(): void {
    this.lastGroup = undefined;
  }

  undo(): T | undefined {
    const prev = this.past.pop();
    if (prev === undefined) return undefined;
    this.future.push(this.current);
    this.current = prev;
    this.lastGroup = undefined;
    return prev;
  }

  redo(): T | undefined {
    const next = this.future.pop();
    if (next === undefined) return undefined;
    this.past.push(this.current);
    this.current = next;
    this.lastGroup = undefined;
    return next;
  }

  /** Starts over from `value` (e.g. after an import); the old steps are dropped. */
  reset(value: T): void {
    this.current = value;
    this.past = [];
    this.future = [];
    this.lastGroup = undefined;
  }
}
