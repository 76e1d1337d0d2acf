/**
 * The live link: at most one subscription at a time, on the transport the
 * picker says. Handlers of a subscription that was replaced or closed are
 * ignored, so a late message or drop of an old one never reaches the follower.
 */
import { RelayError } from "../errors.ts";
import type { Subscriber, Subscription, TransportName } from "../subscribe.ts";
import { TransportPicker } from "./transport.ts";

export interface LinkHandlers {
  open(): void;
  message(payload: string): void;
  drop(error: RelayError): void;
}

export class Link {
  readonly #subscribers: readonly Subscriber[];
  readonly #on: LinkHandlers;
  readonly #picker: TransportPicker;
  #sub: Subscription | undefined;
  #open = false;

  constructor(subscribers: readonly Subscriber[], handlers: LinkHandlers) {
    this.#subscribers = subscribers;
    this.#on = handlers;
    this.#picker = new TransportPicker(subscribers.length);
  }

  /** The current subscription confirmed it is open. */
  get open(): boolean {
    return this.#open;
  }

  get transport(): TransportName | undefined {
    return this.#sub?.transport;
  }

  /** Closes any current subscription and opens one; a failure to start is a drop. */
  connect(channel: string): void {
    const subscriber = this.#subscribers[this.#picker.current];
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
          this.#on.open();
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
