/**
 * Runs under Deno, straight from source (deno.json maps zod to node_modules).
 * Usage: deno run --allow-net=127.0.0.1 --allow-read client.deno.ts WEBDIS_URL SUBSCRIBE_URL TRANSPORT [NODE_STREAM]
 * TRANSPORT is websocket, http-stream, or default (the client's own choice under Deno).
 * NODE_STREAM: a stream Node started and sealed (password deno-pw, code deno-code):
 * Deno opens it as a follower, then takes it over and publishes an edit Node opens.
 * Prints one JSON line with what it saw; the vitest side asserts on it.
 */
import { createRelay, RelayError } from "../../src/index.ts";

const [url, subscribeUrl, transport, nodeStream] = Deno.args as [
  string,
  string,
  "websocket" | "http-stream" | "default",
  string | undefined,
];
const relay = createRelay({
  url,
  subscribeUrl,
  heartbeatMs: 0,
  ...(transport === "default" ? {} : { transports: [transport] }),
});
const name = `deno/${transport}.${crypto.randomUUID().slice(0, 8)} ✈`;
const leader = await relay.start(name, { password: "deno-pw", code: "deno-code" });
await leader.publish({ step: 0 });
const follower = await relay.connect(name, { password: "deno-pw" });
const first = follower.state;
const seqs: number[] = [];
follower.on("state", (u) => seqs.push(u.seq));
await new Promise<void>((resolve) => {
  if (follower.status === "live") resolve();
  follower.on("status", (s) => s.status === "live" && resolve());
});
for (let i = 1; i <= 5; i++) await leader.publish({ step: i });
while (follower.seq < 6) await new Promise((r) => setTimeout(r, 10));
// The subscription that carried the updates (read now: it is gone once the stream ends).
const used = follower.transport ?? null;
let badPassword = "";
try {
  await relay.connect(name, { password: "wrong" });
} catch (e) {
  badPassword = e instanceof RelayError ? e.code : String(e);
}
const ended = new Promise((r) => follower.on("ended", (e) => r(e.reason)));
await leader.stop();
// Sealed by Node, opened by Deno; then sealed by Deno for Node to open.
let fromNode: unknown = null;
if (nodeStream) {
  const joined = await relay.connect(nodeStream, { password: "deno-pw" });
  fromNode = joined.state;
  joined.disconnect();
  const taken = await relay.reconnect(nodeStream, { password: "deno-pw", code: "deno-code" });
  await taken.publish({ ...(taken.state as object), by: "deno" });
  taken.close();
}
console.log(
  JSON.stringify({
    first,
    last: follower.state,
    seqs,
    transport: used,
    badPassword,
    ended: await ended,
    fromNode,
    runtime: `deno ${Deno.version.deno}`,
  }),
);
// A closed WebSocket stays open on Deno's side (Webdis never answers the close
// handshake), which would keep the process alive: exit explicitly.
Deno.exit(0);
