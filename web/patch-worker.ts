/**
 * The leader's changes, made off the page's thread (web/patch-maker.ts): each message
 * is `{ id, base, json }` (the acknowledged state's JSON and the next one's), each answer
 * `{ id, change }` or `{ id, failed: true }`. The work is the client's own `changeText`
 * (parse both, diff, check the result's key order, SHA-1 of `json`): at 2,000 waypoints
 * that is most of what a drag's publish cost the page (bench scenario 12).
 */
import { changeText } from "./relay.ts";

type Ask = { id: number; base: string; json: string };

// In a worker `self` is the worker's global scope; DOM typings call it a Window.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Ask>) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = (e) => {
  const { id, base, json } = e.data;
  changeText(base, json).then(
    (change) => scope.postMessage({ id, change }),
    // Nothing of the plan in the answer: the page makes the change itself instead.
    () => scope.postMessage({ id, failed: true }),
  );
};
