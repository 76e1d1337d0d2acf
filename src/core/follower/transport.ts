/**
 * The transport picker: which subscriber (by index, in the configured order,
 * e.g. WebSocket then HTTP stream) the next subscription uses. A transport that
 * never opened is skipped next time; after a drop of one that worked, the most
 * preferred transport that ever worked is used again (one the server refuses,
 * e.g. a WebSocket, is not retried each time). Pure.
 */
export class TransportPicker {
  readonly #count: number;
  #index = 0;
  /** Transports (by index) that opened at least once: worth going back to. */
  readonly #worked = new Set<number>();

  constructor(count: number) {
    this.#count = Math.max(1, count);
  }

  /** The index to subscribe with now. */
  get current(): number {
    return this.#index % this.#count;
  }

  /** The current transport confirmed a subscription. */
  opened(): void {
    this.#worked.add(this.current);
  }

  /** The subscription ended; `opened` says whether it had confirmed first. */
  dropped(opened: boolean): void {
    if (!opened) this.#index++;
    else this.#index = Math.min(...this.#worked);
  }

  /** Subscribing threw at once: try the next transport. */
  failed(): void {
    this.#index++;
  }
}
