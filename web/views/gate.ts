/**
 * Shown when a leader or follower link is opened without a session (a reload,
 * a shared link): asks for the leader code or the password, then continues.
 */
import { type AppContext, appBar } from "../app.ts";
import { field, h } from "../dom.ts";
import { errorText } from "../messages.ts";
import { banner } from "./common.ts";

export function gateView(
  ctx: AppContext,
  root: HTMLElement,
  kind: "lead" | "follow",
  name: string,
  onReady: () => void,
) {
  const lead = kind === "lead";
  document.title = `${lead ? "Resume" : "Join"} ${name} · Mission Relay`;
  const secret = h("input", {
    type: "password",
    name: "secret",
    required: true,
    autocomplete: lead ? "current-password" : "current-password",
  });
  const msg = h("div", { class: "form-msg", "aria-live": "assertive" });
  const button = h("button", { type: "submit", class: "btn primary" }, lead ? "Resume as leader" : "Join");
  const form = h(
    "form",
    { class: "card gate", "aria-labelledby": "gate-title", novalidate: true },
    h("h1", { id: "gate-title" }, lead ? "Resume as leader" : "Join stream"),
    h("p", { class: "blurb" }, "Stream ", h("strong", { class: "stream-name" }, name)),
    field(lead ? "Leader code" : "Password", secret),
    msg,
    h("div", { class: "form-actions" }, h("a", { href: "#/", class: "btn ghost" }, "All streams"), button),
  );
  let alive = true;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    if (!secret.value) {
      msg.append(banner("error", `${lead ? "Leader code" : "Password"} is required.`));
      secret.focus();
      return;
    }
    button.disabled = true;
    try {
      if (lead) {
        const leader = await ctx.relay.reconnect(name, { code: secret.value });
        if (!alive) return leader.close();
        ctx.session.leader = { name, leader };
      } else {
        const follower = await ctx.relay.connect(name, { password: secret.value });
        if (!alive) return follower.disconnect();
        ctx.session.follower = { name, follower };
      }
      onReady();
    } catch (err) {
      msg.append(banner("error", errorText(err, lead ? "resume" : "join", name)));
      secret.select();
    } finally {
      button.disabled = false;
    }
  });
  root.replaceChildren(appBar(ctx), h("main", { class: "gate-wrap", id: "main" }, form));
  secret.focus();
  return () => {
    alive = false;
  };
}
