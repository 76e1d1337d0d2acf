/**
 * "Stop stream" and its confirmation: stopping ends the stream for every
 * follower and frees the name, so it is asked once more, with the way out
 * (keep streaming) focused.
 */
import type { AppContext } from "../app.ts";
import { h } from "../dom.ts";
import type { LeaderController } from "../leader-controller.ts";
import { errorText } from "../messages.ts";
import { banner } from "./common.ts";

export interface StopDialog {
  button: HTMLButtonElement;
  dialog: HTMLDialogElement;
  close(): void;
}

export function stopDialog(ctx: AppContext, c: LeaderController, name: string): StopDialog {
  const button = h("button", { type: "button", class: "btn small danger" }, "Stop stream");
  const dialogMsg = h("div", { class: "form-msg" });
  const confirmStop = h("button", { type: "button", class: "btn danger" }, "Stop stream");
  const cancelStop = h("button", { type: "button", class: "btn ghost" }, "Keep streaming");
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "stop-title", "aria-describedby": "stop-desc" },
    h("h2", { id: "stop-title" }, `Stop “${name}”?`),
    h(
      "p",
      { id: "stop-desc" },
      "Followers will see that the stream ended, and the name becomes free. This cannot be undone. Export the plan first if you need it.",
    ),
    dialogMsg,
    h("div", { class: "form-actions" }, cancelStop, confirmStop),
  );
  button.addEventListener("click", () => {
    dialogMsg.replaceChildren();
    dialog.showModal();
    cancelStop.focus();
  });
  cancelStop.addEventListener("click", () => dialog.close());
  confirmStop.addEventListener("click", async () => {
    confirmStop.disabled = true;
    try {
      await c.stop();
      dialog.close();
      ctx.session.leader = undefined;
      ctx.notify(`Stream “${name}” stopped. Followers were told it ended.`);
      ctx.go({ view: "home" });
    } catch (e) {
      dialogMsg.replaceChildren(banner("error", errorText(e, "stop", name)));
    } finally {
      confirmStop.disabled = false;
    }
  });
  return {
    button,
    dialog,
    close: () => {
      if (dialog.open) dialog.close();
    },
  };
}
