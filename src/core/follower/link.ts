/**
 * The live link: at most one subscription at a time, on the door and transport
 * the picker says. Handlers of a subscription that was replaced or closed are
 * ignored, so a late message or drop of an old one never reaches the follower.
 */
import { RelayError } from "../errors.ts";
import type { Subscriber, Subscription, TransportName } from "../subscribe.ts";
import { EndpointPicker } from "./transport.ts";

export interface LinkHandlers {
  /** The subscription confirmed; `switched`: it is on another door than the last one that opened. */
  open(switched: boolean): void;
  message(payload: string): void;
  drop(error: RelayError): void;
}

export class Link {
  readonly #doors: readonly (readonly Subscriber[])[];
  readonly #on: LinkHandlers;
  readonly #picker: EndpointPicker;
  #sub: Subscription | undefined;
  #subscriber: Subscriber | undefined;
  #open = false;
  /** The door (position) of the last subscription that opened. */
  #openedOn: number | undefined;

  /** `doors`: each door's transports, in the order this follower tries the doors. */
  constructor(doors: readonly (readonly Subscriber[])[], handlers: LinkHandlers) {
    this.#doors = doors;
    this.#on = handlers;
    this.#picker = new EndpointPicker(doors.length, Math.max(0, ...doors.map((d) => d.length)));
  }

  /** The current subscription confirmed it is open. */
  get open(): boolean {
    return this.#open;
  }

  get transport(): TransportName | undefined {
    return this.#sub?.transport;
  }

  /** The URL of the door the current subscription uses, when its subscriber names one. */
  get door(): string | undefined {
    return this.#sub ? this.#subscriber?.url : undefined;
  }

  /** How many doors this link may use. */
  get doorCount(): number {
    return this.#doors.length;
  }

  /** The next subscription goes to the next door (a silent one is presumed dead). */
  moveOn(): void {
    this.#picker.nextDoor();
  }

  /** Closes any current subscription and opens one; a failure to start is a drop. */
  connect(channel: string): void {
    const door = this.#picker.door;
    const transports = this.#doors[door] ?? [];
    const subscriber = transports[this.#picker.current % Math.max(1, transports.length)];
    if (!subscriber) throw new RelayError("PROTOCOL", "no transport configured");
    this.close();
    let opened = false;
    try {
      const sub: Subscription = subscriber.subscribe(channel, {
        onOpen: () => {
          if (this.#sub !== sub) return;
          opened = true;
          this.#open = true;
          this.#picker.opened();
          const switched = this.#openedOn !== undefined && this.#openedOn !== door;
          this.#openedOn = door;
          this.#on.open(switched);
        },
        onMessage: (payload) => {
          if (this.#sub === sub) this.#on.message(payload);
        },
        onDrop: (error) => {
          if (this.#sub !== sub) return;
          this.#sub = undefined;
          this.#open = false;
          this.#picker.dropped(opened);
          this.#on.drop(error);
        },
      });
      this.#sub = sub;
      this.#subscriber = subscriber;
    } catch (e) {
      this.#picker.failed();
      this.#on.drop(e instanceof RelayError ? e : new RelayError("NETWORK", "cannot subscribe", { cause: e }));
    }
  }

  close(): void {
    this.#sub?.close();
    this.#sub = undefined;
    this.#open = false;
  }
}
