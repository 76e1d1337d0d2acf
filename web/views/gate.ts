/**
 * Shown when a leader or follower link is opened without a session (a reload,
 * a shared link): asks for the password (and the leader code, to lead), then
 * continues. A leader needs both: the plan is sealed with a key from the password.
 * A follower whose password this tab remembers (web/session.ts, opt-in) rejoins
 * at once; if that fails the form is shown and the password forgotten.
 */
import { type AppContext, appBar } from "../app.ts";
import { field, h } from "../dom.ts";
import { errorText } from "../messages.ts";
import { editedInAnotherTab, forgetFollower, recallFollower, rememberFollower, tabStorage } from "../session.ts";
import { banner } from "./common.ts";
import { rememberBox } from "./home.ts";

export function gateView(
  ctx: AppContext,
  root: HTMLElement,
  kind: "lead" | "follow",
  name: string,
  onReady: () => void,
  /** Why the gate is shown (a kept leader session that no longer counts), in words. */
  why?: string,
) {
  const lead = kind === "lead";
  document.title = `${lead ? "Resume" : "Join"} ${name} · Mission Relay`;
  const secret = h("input", {
    type: "password",
    name: "secret",
    required: true,
    autocomplete: "current-password",
  });
  // Leading also needs the password: it opens the sealed plan.
  const password = h("input", { type: "password", name: "password", required: true, autocomplete: "current-password" });
  const msg = h("div", { class: "form-msg", "aria-live": "assertive" });
  const button = h("button", { type: "submit", class: "btn primary" }, lead ? "Resume as leader" : "Join");
  const form = h(
    "form",
    { class: "card gate", "aria-labelledby": "gate-title", novalidate: true },
    h("h1", { id: "gate-title" }, lead ? "Resume as leader" : "Join stream"),
    h("p", { class: "blurb" }, "Stream ", h("strong", { class: "stream-name" }, name)),
    ...(lead ? [field("Password", password)] : []),
    field(lead ? "Leader code" : "Password", secret),
    ...(lead ? [] : [rememberBox()]),
    msg,
    h("div", { class: "form-actions" }, h("a", { href: "#/", class: "btn ghost" }, "All streams"), button),
  );
  let alive = true;
  const remember = form.querySelector<HTMLInputElement>('input[name="remember"]');
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    if (lead && !password.value) {
      msg.append(banner("error", "Password is required."));
      password.focus();
      return;
    }
    if (!secret.value) {
      msg.append(banner("error", `${lead ? "Leader code" : "Password"} is required.`));
      secret.focus();
      return;
    }
    button.disabled = true;
    try {
      if (lead) {
        const leader = await ctx.relay.reconnect(name, { password: password.value, code: secret.value });
        if (!alive) return leader.close();
        ctx.session.leader = { name, leader };
      } else {
        const follower = await ctx.relay.connect(name, { password: secret.value });
        if (!alive) return follower.disconnect();
        if (remember?.checked) rememberFollower(tabStorage(), name, secret.value);
        ctx.session.follower = { name, follower };
      }
      onReady();
    } catch (err) {
      msg.append(banner("error", errorText(err, lead ? "resume" : "join", name)));
      // The field that was wrong: the password, or the code (or the follower's password).
      const wrong = lead && (err as { code?: string }).code === "BAD_PASSWORD" ? password : secret;
      wrong.select();
    } finally {
      button.disabled = false;
    }
  });
  if (why) msg.append(banner("warn", why));
  root.replaceChildren(appBar(ctx), h("main", { class: "gate-wrap", id: "main" }, form));
  (lead ? password : secret).focus();
  if (lead) {
    void editedInAnotherTab(name).then((elsewhere) => {
      if (alive && elsewhere && !msg.hasChildNodes())
        msg.append(
          banner(
            "info",
            h("strong", {}, "Editing in another tab. "),
            "Another tab of this browser leads this stream. Resume here to take over; that tab becomes read-only.",
          ),
        );
    });
  }
  const kept = lead ? undefined : recallFollower(tabStorage(), name);
  if (kept) {
    // This tab remembers the password: rejoin without asking (the form stays for a failure).
    secret.value = kept;
    if (remember) remember.checked = true;
    msg.append(banner("info", "Rejoining with the password this tab remembers…"));
    ctx.relay.connect(name, { password: kept }).then(
      (follower) => {
        if (!alive) return follower.disconnect();
        ctx.session.follower = { name, follower };
        onReady();
      },
      (err: unknown) => {
        if (!alive) return;
        if ((err as { code?: string }).code === "BAD_PASSWORD") forgetFollower(tabStorage(), name);
        msg.replaceChildren(banner("error", errorText(err, "join", name)));
      },
    );
  }
  return () => {
    alive = false;
  };
}
