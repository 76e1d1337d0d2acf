/** Timeline of one follower's connect(): status changes with ms since connect() was called. */
import { createRelay } from "../../src/node.ts";
import { BenchStack } from "../lib/stack.ts";
import { until } from "../lib/stats.ts";

const stack = await BenchStack.start();
try {
  const relay = createRelay({ url: stack.webdis.url, heartbeatMs: 0 });
  const leader = await relay.start("timeline", { password: "pw-bench", code: "code-bench" });
  for (const transport of ["http-stream", "http-stream", "websocket", "default", "default"] as const) {
    const url = transport === "websocket" ? (await stack.wsWebdis()).url : stack.webdis.url;
    const t0 = performance.now();
    const opts = transport === "default" ? { url } : { url, transports: [transport] };
    const f = await createRelay(opts).connect("timeline", { password: "pw-bench" });
    const marks = [`resolved ${(performance.now() - t0).toFixed(1)}`];
    f.on("status", (s) => marks.push(`${s.status} ${(performance.now() - t0).toFixed(1)} (${s.reason})`));
    await until("live", () => f.status === "live", 10_000, 1);
    console.log(transport, f.transport, marks.join(" | "));
    f.disconnect();
  }
  await leader.stop();
} finally {
  await stack.stop();
}
