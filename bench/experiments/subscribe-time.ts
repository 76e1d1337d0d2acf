import WebSocket from "ws";
import { BenchStack } from "../lib/stack.ts";

const stack = await BenchStack.start();
try {
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const ac = new AbortController();
    const res = await fetch(`${stack.webdis.url}/`, { method: "POST", body: "SUBSCRIBE/abc", signal: ac.signal });
    const t1 = performance.now();
    if (!res.body) throw new Error("no body");
    const reader = res.body.getReader();
    const { value } = await reader.read();
    const t2 = performance.now();
    console.log(
      `http-stream: headers ${(t1 - t0).toFixed(1)} ms, first chunk ${(t2 - t0).toFixed(1)} ms: ${new TextDecoder().decode(value)}`,
    );
    ac.abort();
  }
  const wd = await stack.wsWebdis();
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const ws = new WebSocket(`ws://127.0.0.1:${wd.port}/.json`, { origin: wd.url });
    await new Promise<void>((r) =>
      ws.on("open", () => {
        ws.send('["SUBSCRIBE","abc"]');
        ws.on("message", () => r());
      }),
    );
    console.log(`ws: subscribed ${(performance.now() - t0).toFixed(1)} ms`);
    ws.terminate();
  }
} finally {
  await stack.stop();
}
