/**
 * The alternative most users would pick: a Socket.IO server with the Redis
 * adapter doing the relay's job (keep the current state and a seq in Redis,
 * send each new state to the stream's room, hand the current state to a
 * joiner). Started as a child process by bench/scenarios/latency.ts; several
 * instances behind "a load balancer" share rooms through the adapter.
 *
 *   tsx bench/socketio-server.ts <redisPort>   -> prints "PORT <n>" when ready
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const redisPort = Number(process.argv[2]);
const pub = new Redis({ port: redisPort, host: "127.0.0.1" });
const sub = pub.duplicate();
const store = pub.duplicate();
const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub), serveClient: false, transports: ["websocket"] });

type Ack = (reply: unknown) => void;

io.on("connection", (socket) => {
  socket.on("join", async (room: string, ack: Ack) => {
    await socket.join(room);
    const [seq, state] = await store.mget(`sio:{${room}}:seq`, `sio:{${room}}:state`);
    ack({ seq: Number(seq ?? 0), state: state ? JSON.parse(state) : {} });
  });
  socket.on("publish", async (msg: { room: string; state: unknown }, ack: Ack) => {
    const json = JSON.stringify(msg.state);
    const res = await store.multi().incr(`sio:{${msg.room}}:seq`).set(`sio:{${msg.room}}:state`, json).exec();
    const seq = Number(res?.[0]?.[1] ?? 0);
    io.to(msg.room).emit("state", { seq, ts: Date.now(), state: msg.state });
    ack({ seq });
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  const addr = httpServer.address();
  if (addr && typeof addr === "object") process.stdout.write(`PORT ${addr.port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
