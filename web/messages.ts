/**
 * Every error the page shows, in plain words. Codes come from the client
 * library (RelayError.code); anything else gets a generic sentence, never a
 * stack trace.
 */
import type { FollowerStatus, ReasonCode } from "./relay.ts";

type Action = "start" | "join" | "resume" | "list" | "publish" | "stop";

function codeOf(e: unknown): string | undefined {
  return e && typeof e === "object" && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

export function errorText(e: unknown, action: Action, name?: string): string {
  const stream = name ? `“${name}”` : "this stream";
  switch (codeOf(e)) {
    case "NOT_FOUND":
      return action === "publish" || action === "stop"
        ? `The stream ${stream} has ended.`
        : `There is no live stream called ${stream}. Check the name, or it may have ended.`;
    case "BAD_PASSWORD":
      return `Wrong password for ${stream}.`;
    case "BAD_CODE":
      return `Wrong leader code for ${stream}.`;
    case "SEALED":
      return `The plan of ${stream} does not open with that password, or was altered on the way. Nothing of it is shown.`;
    case "NAME_TAKEN":
      return `A live stream called ${stream} already exists. Pick another name, or resume it with its leader code.`;
    case "NAME_CONFUSABLE":
      return `A live stream has a name that looks the same as ${stream} (only letter case or look-alike letters differ). Pick a clearly different name.`;
    case "INVALID": {
      const detail = e instanceof Error && e.message && e.message.length < 160 ? ` (${e.message})` : "";
      return `The relay did not accept that${detail}.`;
    }
    case "TOO_LARGE":
      return action === "publish"
        ? "The plan is too large to send (the limit is 1 MiB). Shorten the notes or remove waypoints."
        : "That is too long. Use a shorter name.";
    case "RATE_LIMITED": {
      const wait =
        e && typeof e === "object" && "retryAfter" in e && typeof e.retryAfter === "number" ? e.retryAfter : 0;
      return wait > 0
        ? `Too many wrong attempts. Wait ${wait} seconds and try again.`
        : "Too many wrong attempts. Wait a minute and try again.";
    }
    case "LEADER_REPLACED":
      return "Another leader has taken over this stream. Your later changes were not sent.";
    case "STALE":
      return "The stream changed on the relay since your last change was confirmed. Resume it to send your plan again.";
    case "QUOTA": {
      const wait =
        e && typeof e === "object" && "retryAfter" in e && typeof e.retryAfter === "number" ? e.retryAfter : 0;
      return `Changes are coming faster than the relay accepts for one stream. Your newest plan goes out ${
        wait > 0 ? `in ${wait} seconds` : "shortly"
      }.`;
    }
    case "FULL":
      return action === "start"
        ? "The relay has no room for another stream right now. Try again later, or ask whoever runs it."
        : "The relay has no room right now, so nothing was saved. Try again later, or ask whoever runs it.";
    case "NETWORK":
      return "Cannot reach the relay server. Check the network connection and try again.";
    case "TIMEOUT":
      return "The relay server did not answer in time. Try again.";
    case "GATEWAY":
    case "PROTOCOL":
      return "The relay server refused the request. It may be set up wrongly; ask whoever runs it.";
    case "CLOSED":
      return "This session is closed. Go back to the stream list and join again.";
    default:
      return "Something went wrong. Try again.";
  }
}

export function endedText(reason: string): string {
  switch (reason) {
    case "stopped":
      return "The leader ended this stream. The last plan stays on screen.";
    case "expired":
      return "This stream ended: the leader was away too long. The last plan stays on screen.";
    case "gone":
      return "This stream no longer exists. The last plan stays on screen.";
    default:
      return "You left this stream.";
  }
}

/** What a follower's status means, by why it changed (the follower's reason code); `""` is the default. Each code has words of its own (a unit test keeps them distinct). */
const STATUS_TEXT: Record<FollowerStatus, Partial<Record<ReasonCode | "", string>>> = {
  connecting: {
    "": "Connecting to the relay.",
    retry: "Connecting to the relay again.",
  },
  live: { "": "You see every change as the leader makes it." },
  "catching-up": {
    "": "Fetching the changes you missed.",
    gap: "A change went missing on the way; fetching the changes you missed.",
    silence: "No word from the relay for a while; checking the connection.",
    resubscribed: "Back in touch with the relay; fetching the changes you missed.",
    "door-switched": "Moved to another relay server; fetching the changes you missed.",
    "epoch-changed": "The stream was restarted; fetching its current plan.",
    "heartbeat-behind": "The relay is behind the plan you see; checking which plan is current.",
    "large-change": "Fetching a large change.",
    "delta-out-of-order": "A change arrived out of turn; fetching the changes in order.",
    "delta-failed": "A change named parts of the plan this screen does not have; fetching the whole plan.",
    "delta-mismatch": "A change gave a different plan here than the leader's; fetching the whole plan.",
    "sealed-refused":
      "A change arrived that does not open with this stream's password (altered on the way); it was not shown. Fetching the plan again.",
  },
  reset: {
    "": "Loading the current plan.",
    "epoch-changed": "The stream restarted; loading the current plan.",
    "went-back": "The relay lost its most recent changes; loading the plan as it is now.",
    "history-too-short": "You missed more changes than the relay keeps; loading the current plan.",
    "delta-out-of-order": "Changes arrived out of turn; loading the whole plan instead.",
    "delta-failed": "A change did not fit the plan shown here; loading the whole plan instead.",
    "delta-mismatch": "A change did not add up to the leader's plan; loading the whole plan instead.",
  },
  offline: {
    "": "Lost the connection to the relay. Trying again; the plan below may be out of date.",
    dropped: "Lost the connection to the relay. Trying again; the plan below may be out of date.",
    "sync-failed": "The relay did not answer a request for the plan. Trying again; the plan below may be out of date.",
    "rate-limited": "The relay is turning requests away for a moment. Trying again; the plan below may be out of date.",
  },
  ended: { "": "This stream has ended." },
};

/** The words a status has for each code it knows (for the tests: no two alike). */
export function statusTexts(status: FollowerStatus): Readonly<Partial<Record<ReasonCode | "", string>>> {
  return STATUS_TEXT[status] ?? {};
}

/** The follower's status in a sentence, from the status and the reason code it carries. */
export function followerStatusText(status: FollowerStatus, code?: ReasonCode): string {
  const texts = STATUS_TEXT[status] ?? {};
  return (code && texts[code]) || texts[""] || "";
}

/** How long ago, in words a person reads at a glance. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min ago`;
  return `${Math.floor(h / 24)} days ago`;
}
