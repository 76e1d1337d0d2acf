/** The app's shared context and the hash router (#/, #/lead/<name>, #/follow/<name>). */
import type { RelayConfig } from "./config.ts";
import { h } from "./dom.ts";
import type { HistorySnapshot } from "./history.ts";
import type { Plan } from "./plan.ts";
import type { Follower, Leader, Relay } from "./relay.ts";

export interface Session {
  /** `history`: undo steps kept from before a reload; `resumed`: from this tab's saved session (web/resume.ts), not yet confirmed by the server. */
  leader?: { name: string; leader: Leader; plan?: Plan; history?: HistorySnapshot<Plan>; resumed?: boolean };
  follower?: { name: string; follower: Follower };
}

export interface AppContext {
  relay: Relay;
  config: RelayConfig;
  session: Session;
  go(route: Route): void;
  /** A short notice in the shared live region (and on screen for a few seconds). */
  notify(text: string): void;
}

export type Route = { view: "home" } | { view: "lead"; name: string } | { view: "follow"; name: string };

export function parseRoute(hash: string): Route {
  const m = /^#\/(lead|follow)\/(.+)$/.exec(hash);
  if (m) {
    try {
      return { view: m[1] as "lead" | "follow", name: decodeURIComponent(m[2] as string) };
    } catch {
      return { view: "home" };
    }
  }
  return { view: "home" };
}

export function routeHash(r: Route): string {
  return r.view === "home" ? "#/" : `#/${r.view}/${encodeURIComponent(r.name)}`;
}

export type View = (ctx: AppContext, root: HTMLElement, route: Route) => (() => void) | undefined;

const SOURCE_WORDS: Record<AppContext["config"]["source"], string> = {
  link: "the link's ?relay= parameter",
  file: "relay-config.json",
  build: "the build settings",
  default: "the default port 7379",
};

/** The top bar every view shares. */
export function appBar(ctx: AppContext, ...right: (Node | string | null)[]): HTMLElement {
  const host = (() => {
    try {
      return new URL(ctx.config.url).host;
    } catch {
      return ctx.config.url;
    }
  })();
  return h(
    "header",
    { class: "appbar" },
    h(
      "a",
      { class: "brand", href: "#/", "aria-label": "Mission Relay: all streams" },
      h("span", { class: "logo", "aria-hidden": "true" }, "◭"),
      h("span", {}, "Mission Relay"),
    ),
    h(
      "div",
      { class: "appbar-right" },
      ...right,
      h(
        "span",
        {
          class: `relay-host${ctx.config.source === "link" ? " from-link" : ""}`,
          title: `Relay server (from ${SOURCE_WORDS[ctx.config.source]})`,
        },
        // A relay chosen by a link is named as such: passwords are checked by that server.
        ctx.config.source === "link" ? `Relay ${host} (from link)` : `Relay ${host}`,
      ),
    ),
  );
}
