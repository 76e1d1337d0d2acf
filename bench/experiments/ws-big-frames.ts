import WebSocket from "ws";
import { BenchStack, webdisCall } from "../lib/stack.ts";

const stack = await BenchStack.start();
try {
  const acl = [{ disabled: ["*"] }, { enabled: ["SUBSCRIBE", "PUBLISH", "PING"] }];
  const wd = await stack.startWebdis("big", { acl, websockets: true });
  stack.extras.push(wd);
  for (const size of [1000, 65000, 65600, 70000, 200000]) {
    const ws = new WebSocket(`ws://127.0.0.1:${wd.port}/.json`, { origin: wd.url });
    const result = await new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve("timeout"), 3000);
      ws.on("error", (e) => {
        clearTimeout(t);
        resolve(`error: ${e.message}`);
      });
      ws.on("close", (c) => {
        clearTimeout(t);
        resolve(`close ${c}`);
      });
      ws.on("message", (d) => {
        const s = String(d);
        if (s.includes('"subscribe"')) {
          void webdisCall(wd.url, "PUBLISH", ["big", "x".repeat(size)]);
          return;
        }
        clearTimeout(t);
        resolve(`ok ${s.length} bytes`);
      });
      ws.on("open", () => ws.send(JSON.stringify(["SUBSCRIBE", "big"])));
    });
    console.log(size, result);
    ws.terminate();
  }
} finally {
  await stack.stop();
}
