/**
 * Follow a stream from Deno, straight from source:
 *   RELAY_PASSWORD=pw deno run --allow-net --allow-env examples/deno-follow.ts NAME [URL]
 */
import { createRelay } from "../src/index.ts";

const [name, url = "http://127.0.0.1:7379"] = Deno.args;
if (!name) {
  console.error("usage: deno-follow.ts NAME [URL]");
  Deno.exit(2);
}
const relay = createRelay({ url });
const follower = await relay.connect(name, { password: Deno.env.get("RELAY_PASSWORD") ?? "" });
follower.on("status", (s) => console.error(`[${s.status}] ${s.reason}`));
for await (const state of follower) console.log(JSON.stringify(state));
