/**
 * Home: the paged, searchable list of live streams, and the three ways in:
 * start a stream, join one (password), resume one as its leader (code).
 */
import { appBar, type View } from "../app.ts";
import { field, h } from "../dom.ts";
import { IMPORT_ACCEPT, importPlanFile } from "../formats/index.ts";
import { ago, errorText } from "../messages.ts";
import { emptyPlan, type Plan } from "../plan.ts";
import type { StreamInfo } from "../relay.ts";
import { rememberFollower, tabStorage } from "../session.ts";
import { clock, margin } from "../status.ts";
import { banner, filePicker, streamNameField } from "./common.ts";

const PAGE = 20;
/** When searching, read at most this many pages to find matches. */
const SEARCH_PAGES = 25;

/** Opt-in: a reload of this tab rejoins without asking (web/session.ts; SECURITY.md says what that exposes). */
export function rememberBox(): HTMLElement {
  return h(
    "div",
    { class: "field check" },
    h(
      "label",
      {},
      h("input", { type: "checkbox", name: "remember", value: "1" }),
      " Rejoin without asking after a reload of this tab (until it closes)",
    ),
  );
}

export const homeView: View = (ctx, root) => {
  document.title = "Streams · Mission Relay";
  let disposed = false;

  // ---- stream list ---------------------------------------------------------
  const search = h("input", {
    type: "search",
    id: "stream-search",
    placeholder: "Filter by name",
    autocomplete: "off",
  });
  const refresh = h("button", { type: "button", class: "btn ghost" }, "Refresh");
  const listStatus = h("p", { class: "list-status", role: "status", "aria-live": "polite" });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "streams", "data-testid": "streams" },
    h("caption", { class: "visually-hidden" }, "Live streams"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Stream"),
        h("th", { scope: "col" }, "Last update"),
        h("th", { scope: "col", class: "num" }, "Changes"),
        h("th", { scope: "col" }, "Started"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
      ),
    ),
    tbody,
  );
  const prev = h("button", { type: "button", class: "btn ghost" }, "← Previous");
  const next = h("button", { type: "button", class: "btn ghost" }, "Next →");
  const pageLabel = h("span", { class: "page-label" });

  let cursors: (string | null)[] = [null]; // cursor for each page seen
  let page = 0;
  let rows: StreamInfo[] = [];
  let nextCursor: string | null = null;

  async function load() {
    listStatus.textContent = "Loading…";
    const q = search.value.trim().toLowerCase();
    try {
      if (q) {
        const found: StreamInfo[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const r = await ctx.relay.list({ cursor, count: 100 });
          found.push(...r.streams.filter((s) => s.name.toLowerCase().includes(q)));
          cursor = r.cursor;
        } while (cursor && ++pages < SEARCH_PAGES && found.length < PAGE * 5);
        rows = found;
        nextCursor = null;
        listStatus.textContent = `${found.length} match${found.length === 1 ? "" : "es"} for “${search.value.trim()}”${cursor ? " (showing the first ones)" : ""}.`;
      } else {
        const r = await ctx.relay.list({ cursor: cursors[page] ?? null, count: PAGE });
        rows = r.streams;
        nextCursor = r.cursor;
        listStatus.textContent =
          rows.length === 0 && page === 0 ? "No live streams right now. Start one on the right." : "";
      }
    } catch (e) {
      if (disposed) return;
      rows = [];
      listStatus.textContent = "";
      listStatus.append(banner("error", errorText(e, "list")));
    }
    if (!disposed) renderRows();
  }

  /** A stream whose leader has not been heard (no change, no heartbeat) for a beat and its margin. */
  const beat = ctx.config.heartbeatMs ?? 15_000;
  const away = (st: StreamInfo) => beat > 0 && st.heard !== undefined && Date.now() - st.heard > beat + margin(beat);

  function renderRows() {
    const q = search.value.trim();
    tbody.replaceChildren(
      ...rows.map((st) =>
        h(
          "tr",
          { "data-stream": st.name, class: away(st) ? "away" : "" },
          h(
            "th",
            { scope: "row", class: "sname" },
            st.name,
            away(st) && st.heard !== undefined
              ? h("span", { class: "badge away", "data-testid": "leader-away" }, `Leader away since ${clock(st.heard)}`)
              : null,
          ),
          h("td", { class: "age", "data-ts": st.updated }, ago(st.updated)),
          h("td", { class: "num" }, String(st.seq)),
          h("td", { class: "age", "data-ts": st.created }, ago(st.created)),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                class: "btn small",
                "aria-label": `Join ${st.name}`,
                onclick: () => pick(joinForm, st.name),
              },
              "Join",
            ),
            h(
              "button",
              {
                type: "button",
                class: "btn small ghost",
                "aria-label": `Resume ${st.name} as leader`,
                onclick: () => pick(resumeForm, st.name),
              },
              "Resume",
            ),
          ),
        ),
      ),
    );
    prev.disabled = !!q || page === 0;
    next.disabled = !!q || !nextCursor;
    pageLabel.textContent = q ? "" : `Page ${page + 1}`;
  }

  prev.addEventListener("click", () => {
    if (page > 0) page--;
    void load();
  });
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors = cursors.slice(0, page + 1);
    cursors.push(nextCursor);
    page++;
    void load();
  });
  refresh.addEventListener("click", () => void load());
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      page = 0;
      cursors = [null];
      void load();
    }, 250);
  });

  // Ages tick every second; the list itself refreshes every 15 s.
  const tick = setInterval(() => {
    for (const td of root.querySelectorAll<HTMLElement>("td.age[data-ts]")) td.textContent = ago(Number(td.dataset.ts));
  }, 1000);
  const poll = setInterval(() => {
    if (!document.hidden && !table.contains(document.activeElement)) void load();
  }, 15_000);

  // ---- forms ---------------------------------------------------------------
  function form(
    id: string,
    title: string,
    blurb: string,
    fields: HTMLElement[],
    submit: string,
    onSubmit: (data: FormData, fail: (msg: string) => void) => Promise<void>,
  ) {
    const msg = h("div", { class: "form-msg", "aria-live": "assertive" });
    const button = h("button", { type: "submit", class: "btn primary" }, submit);
    const el = h(
      "form",
      { class: "card", id, "aria-labelledby": `${id}-title`, novalidate: true },
      h("h2", { id: `${id}-title` }, title),
      h("p", { class: "blurb" }, blurb),
      ...fields,
      msg,
      h("div", { class: "form-actions" }, button),
    );
    el.addEventListener("submit", async (e) => {
      e.preventDefault();
      msg.replaceChildren();
      const missing = [...el.querySelectorAll<HTMLInputElement>("input[required]")].find((i) => !i.value.trim());
      if (missing) {
        const label = el.querySelector(`label[for="${missing.id}"]`)?.textContent ?? "This field";
        msg.append(banner("error", `${label} is required.`));
        missing.focus();
        return;
      }
      // A field that refused its value as it was typed (a stream name too long in bytes) refuses the submit too.
      const invalid = [...el.querySelectorAll<HTMLInputElement>("input")].find((i) => i.validity.customError);
      if (invalid) {
        msg.append(banner("error", invalid.validationMessage));
        invalid.focus();
        return;
      }
      button.disabled = true;
      const old = button.textContent;
      button.textContent = "Working…";
      try {
        await onSubmit(new FormData(el), (m) => msg.append(banner("error", m)));
      } finally {
        button.disabled = false;
        button.textContent = old;
      }
    });
    return el;
  }

  const input = (name: string, type: string, autocomplete: string, extra: Record<string, string | boolean> = {}) =>
    h("input", { name, type, required: true, autocomplete, spellcheck: "false", ...extra });

  let startPlan: Plan | undefined;
  // Set while the chosen file was refused: Start then starts nothing (not an empty stream).
  let planRefused: string | undefined;
  const planName = h("span", { class: "file-name" }, "None: start with an empty map");
  const planPicker = filePicker(IMPORT_ACCEPT, async (f) => {
    const r = importPlanFile(f.name, await f.text());
    if (r.ok) {
      startPlan = r.plan;
      planRefused = undefined;
      planName.textContent = `${f.name} (${r.plan.waypoints.length} waypoints)`;
    } else {
      startPlan = undefined;
      planRefused = `${f.name} was not read, so nothing was started. ${r.error} Choose another file.`;
      planName.textContent = r.error;
    }
  });
  const planButton = h(
    "button",
    { type: "button", class: "btn ghost small", onclick: () => planPicker.click() },
    "Choose plan file…",
  );

  const startForm = form(
    "start-form",
    "Start a stream",
    "You become the leader. Followers need the password; keep the leader code to resume later.",
    [
      streamNameField("Stream name", input("name", "text", "off", { maxlength: "200" })),
      field("Password for followers", input("password", "password", "new-password")),
      field(
        "Leader code",
        input("code", "password", "new-password"),
        "Only you need this: it lets you resume as leader.",
      ),
      h(
        "div",
        { class: "field" },
        h("span", { class: "label", id: "start-plan-label" }, "Start from a plan file (optional)"),
        h("div", { class: "file-row" }, planButton, planName, planPicker),
      ),
    ],
    "Start stream",
    async (d, fail) => {
      const name = String(d.get("name")).trim();
      if (String(d.get("password")) === String(d.get("code"))) {
        // Followers know the password: with the same code, any of them could take over.
        fail(
          "The leader code must differ from the password. Followers know the password, so with the same code any of them could take over.",
        );
        startForm.querySelector<HTMLInputElement>('input[name="code"]')?.select();
        return;
      }
      if (planRefused) {
        fail(planRefused);
        return;
      }
      try {
        const leader = await ctx.relay.start(name, {
          password: String(d.get("password")),
          code: String(d.get("code")),
        });
        ctx.session.leader = { name, leader, plan: startPlan ?? emptyPlan(name) };
        ctx.go({ view: "lead", name });
      } catch (e) {
        fail(errorText(e, "start", name));
      }
    },
  );

  const joinForm = form(
    "join-form",
    "Join a stream",
    "Follow a live plan, read-only. Ask the leader for the password.",
    [
      streamNameField("Stream name", input("name", "text", "off")),
      field("Password", input("password", "password", "current-password")),
      rememberBox(),
    ],
    "Join",
    async (d, fail) => {
      const name = String(d.get("name")).trim();
      try {
        const follower = await ctx.relay.connect(name, { password: String(d.get("password")) });
        if (d.get("remember")) rememberFollower(tabStorage(), name, String(d.get("password")));
        ctx.session.follower = { name, follower };
        ctx.go({ view: "follow", name });
      } catch (e) {
        fail(errorText(e, "join", name));
      }
    },
  );

  const resumeForm = form(
    "resume-form",
    "Resume as leader",
    "Take the lead of a live stream with its password and leader code, e.g. after a reload or from another machine.",
    [
      streamNameField("Stream name", input("name", "text", "off")),
      field("Password", input("password", "password", "current-password")),
      field("Leader code", input("code", "password", "current-password")),
    ],
    "Resume",
    async (d, fail) => {
      const name = String(d.get("name")).trim();
      try {
        const leader = await ctx.relay.reconnect(name, {
          password: String(d.get("password")),
          code: String(d.get("code")),
        });
        ctx.session.leader = { name, leader };
        ctx.go({ view: "lead", name });
      } catch (e) {
        fail(errorText(e, "resume", name));
      }
    },
  );

  // The three ways in share one card as tabs; a row's Join/Resume picks the tab.
  const entries: [string, string, HTMLFormElement][] = [
    ["join", "Join", joinForm],
    ["start", "Start", startForm],
    ["resume", "Resume", resumeForm],
  ];
  const panels = entries.map(([key, , f]) => {
    f.classList.remove("card");
    return h("div", { role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}` }, f);
  });
  const tabButtons = entries.map(([key, label]) =>
    h(
      "button",
      { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`, class: "tab" },
      label,
    ),
  );
  function showTab(i: number, focus = false) {
    entries.forEach((_, j) => {
      const on = i === j;
      (panels[j] as HTMLElement).hidden = !on;
      const b = tabButtons[j] as HTMLButtonElement;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    });
  }
  tabButtons.forEach((b, i) => {
    b.addEventListener("click", () => showTab(i));
    b.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      e.preventDefault();
      showTab((i + d + entries.length) % entries.length, true);
    });
  });
  showTab(0);

  function pick(f: HTMLFormElement, name: string) {
    showTab(entries.findIndex(([, , x]) => x === f));
    const nameIn = f.elements.namedItem("name") as HTMLInputElement;
    nameIn.value = name;
    nameIn.dispatchEvent(new Event("input")); // its length check sees the new name
    f.scrollIntoView({ block: "nearest", behavior: "smooth" });
    (f.querySelector("input[type=password]") as HTMLInputElement).focus();
  }

  root.replaceChildren(
    appBar(ctx),
    h(
      "main",
      { class: "home", id: "main" },
      h(
        "section",
        { class: "panel streams-panel", "aria-labelledby": "streams-title" },
        h(
          "div",
          { class: "panel-head" },
          h("h1", { id: "streams-title" }, "Live streams"),
          h("div", { class: "tools" }, field("Search streams", search), refresh),
        ),
        listStatus,
        h("div", { class: "table-wrap" }, table),
        h("div", { class: "pager" }, prev, pageLabel, next),
      ),
      h(
        "div",
        { class: "forms card" },
        h("div", { class: "tabs", role: "tablist", "aria-label": "Join, start or resume a stream" }, tabButtons),
        panels,
      ),
    ),
  );
  void load();

  return () => {
    disposed = true;
    clearInterval(tick);
    clearInterval(poll);
    clearTimeout(searchTimer);
  };
};
