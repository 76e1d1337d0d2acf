/** Entry: find the relay, then route between home, leader and follower views. */
import "./style.css";
import { type AppContext, parseRoute, type Route, routeHash, type View } from "./app.ts";
import { loadRelayConfig } from "./config.ts";
import { h } from "./dom.ts";
import { workerMakeChange } from "./patch-maker.ts";
import { createRelay } from "./relay.ts";
import { pageStore } from "./store.ts";
import { followerView } from "./views/follower.ts";
import { homeView } from "./views/home.ts";
import { leaderView } from "./views/leader.ts";

const views: Record<Route["view"], View> = { home: homeView, lead: leaderView, follow: followerView };

async function boot() {
  const app = document.getElementById("app") as HTMLElement;
  const live = document.getElementById("announcer") as HTMLElement;
  const toast = document.getElementById("toast") as HTMLElement;
  const config = await loadRelayConfig();
  let relay: ReturnType<typeof createRelay>;
  const makeChange = workerMakeChange();
  try {
    relay = createRelay({
      ...(config.doors ?? { url: config.url, subscribeUrl: config.subscribeUrl }),
      ...(config.heartbeatMs !== undefined ? { heartbeatMs: config.heartbeatMs } : {}),
      ...(config.staleAfterMs !== undefined ? { staleAfterMs: config.staleAfterMs } : {}),
      // A big plan's patch is made in a Worker, not in the task that moved the marker.
      ...(makeChange ? { makeChange } : {}),
    });
  } catch {
    app.replaceChildren(
      h(
        "main",
        { class: "gate-wrap", id: "main" },
        h(
          "div",
          { class: "card" },
          h("h1", {}, "Cannot start"),
          h("p", {}, `The relay address “${config.url}” is not usable. Check relay-config.json.`),
        ),
      ),
    );
    return;
  }

  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  let dispose: (() => void) | undefined;
  const ctx: AppContext = {
    relay,
    config,
    session: {},
    go(route) {
      const hash = routeHash(route);
      if (location.hash === hash) show();
      else location.hash = hash;
    },
    notify(text) {
      live.textContent = text;
      toast.textContent = text;
      toast.hidden = false;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => {
        toast.hidden = true;
      }, 5000);
    },
  };

  function show() {
    dispose?.();
    dispose = undefined;
    const route = parseRoute(location.hash);
    dispose = views[route.view](ctx, app, route) ?? undefined;
  }
  window.addEventListener("hashchange", show);
  // The skip link must not touch the hash (the router owns it).
  document.querySelector(".skip-link")?.addEventListener("click", (e) => {
    e.preventDefault();
    const main = document.getElementById("main");
    main?.setAttribute("tabindex", "-1");
    main?.focus();
  });
  show();
  // Saved leader sessions of tabs closed a day ago, and pending edits a week old (web/store.ts).
  void pageStore().then((s) => s?.sweep().catch(() => 0));
  document.documentElement.dataset.ready = "true";
}

void boot();
