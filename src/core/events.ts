/** A tiny typed event emitter: `on(name, fn)` returns its own unsubscribe. */
// biome-ignore lint/suspicious/noExplicitAny: event maps are user-declared records
export class Emitter<Events extends Record<string, any>> {
  readonly #handlers = new Map<keyof Events, Set<(e: never) => void>>();

  on<K extends keyof Events>(event: K, fn: (e: Events[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    set.add(fn as (e: never) => void);
    return () => this.off(event, fn);
  }

  off<K extends keyof Events>(event: K, fn: (e: Events[K]) => void): void {
    this.#handlers.get(event)?.delete(fn as (e: never) => void);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const fn of [...(this.#handlers.get(event) ?? [])]) {
      try {
        (fn as (e: Events[K]) => void)(payload);
      } catch (e) {
        // A listener's bug must not break the relay's own state machine.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
