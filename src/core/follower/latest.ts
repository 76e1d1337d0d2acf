/**
 * Async iteration over a follower's states. A plan is a state, not a log, so
 * a slow reader gets the newest one, not a backlog.
 */
export class Latest<T> {
  #waiters: ((r: IteratorResult<T | undefined>) => void)[] = [];
  #pending: { value: T } | undefined;
  #done = false;

  push(value: T): void {
    const w = this.#waiters.shift();
    if (w) w({ value, done: false });
    else this.#pending = { value };
  }

  /** No more values; waiting readers finish (a pending value is still read first). */
  end(): void {
    this.#done = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  iterator(onReturn: () => void): AsyncIterator<T | undefined> {
    return {
      next: () => {
        if (this.#pending) {
          const { value } = this.#pending;
          this.#pending = undefined;
          return Promise.resolve({ value, done: false });
        }
        if (this.#done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => {
        onReturn();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
