/**
 * The endpoint picker: which door (a subscription door, in the order this
 * follower tries them: its own first) and which transport on it (by index, in
 * the configured order, e.g. WebSocket then HTTP stream) the next subscription
 * uses. Pure.
 *
 * Transports: one that never opened is skipped next time; after a drop of one
 * that worked, the most preferred transport that ever worked is used again (one
 * the server refuses, e.g. a WebSocket, is not retried each time).
 *
 * Doors (when there are several): the door failed, and the next one is used,
 * when a subscription that had opened drops, when a transport that worked
 * before fails to open, when every transport failed to open on it, or when the
 * shell says so (a silent subscription). One door: the transport rules alone.
 */
export class EndpointPicker {
  readonly #doors: number;
  readonly #count: number;
  #door = 0;
  #index = 0;
  /** Failures to open on this door since it last opened or was chosen. */
  #fails = 0;
  /** Transports (by index) that opened at least once, on any door: worth going back to. */
  readonly #worked = new Set<number>();

  constructor(doors: number, transports: number) {
    this.#doors = Math.max(1, doors);
    this.#count = Math.max(1, transports);
  }

  /** The door (position in the follower's order) to subscribe on now. */
  get door(): number {
    return this.#door;
  }

  /** The transport index to subscribe with now. */
  get current(): number {
    return this.#index % this.#count;
  }

  /** The current transport confirmed a subscription. */
  opened(): void {
    this.#worked.add(this.current);
    this.#fails = 0;
  }

  /** The subscription ended; `opened` says whether it had confirmed first. True when the door changed. */
  dropped(opened: boolean): boolean {
    if (opened) {
      this.#index = Math.min(...this.#worked);
      return this.nextDoor();
    }
    return this.failed();
  }

  /** Subscribing failed before it opened (or threw at once). True when the door changed. */
  failed(): boolean {
    this.#fails++;
    if (this.#doors > 1 && (this.#worked.has(this.current) || this.#fails >= this.#count)) return this.nextDoor();
    this.#index++;
    return false;
  }

  /** Moves to the next door (the first again after the last), with the best transport known. */
  nextDoor(): boolean {
    if (this.#doors <= 1) return false;
    this.#door = (this.#door + 1) % this.#doors;
    this.#fails = 0;
    this.#index = this.#worked.size ? Math.min(...this.#worked) : 0;
    return true;
  }
}

/** One door's transport picker (the rules above with a single door). */
export class TransportPicker extends EndpointPicker {
  constructor(count: number) {
    super(1, count);
  }
}
