/**
 * Scale-out on the client, on real stacks: two stacks as two shards (streams
 * land where the hash says, followers work, `list` and `list-streams --all`
 * show every stream once, in order across shards), and a follower with two
 * subscription doors whose door dies moving to the other and converging.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FollowerStatusEvent } from "../../src/core/follower.ts";
import { compareNames } from "../../src/core/shards.ts";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay, type Follower, type Relay } from "../../src/node.ts";
import { fastBackoff } from "../faults/support.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { record, sleep, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

const root = join(import.meta.dirname, "..", "..");
const creds = { password: "shard-pw", code: "shard-code" };
const norm = (u: string) => new URL(u).href;

let a: Stack;
let b: Stack;
const open: { disconnect?: () => void; close?: () => void }[] = [];
const dir = mkdtempSync(join(tmpdir(), "relay-shards-"));

beforeAll(async () => {
  [a, b] = await Promise.all([startStack(), startStack()]);
});
afterAll(async () => {
  for (const h of open) (h.disconnect ?? h.close)?.call(h);
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const shardsConfig = () => ({
  shards: [
    { id: "east", url: a.webdisUrl, subscribeUrls: [a.subscribeUrl] },
    { id: "west", url: b.webdisUrl, subscribeUrls: [b.subscribeUrl] },
  ],
});

describe("two stacks as two shards", () => {
  let relay: Relay;
  const names: string[] = [];

  beforeAll(async () => {
    relay = createRelay({ ...shardsConfig(), heartbeatMs: 0, backoff: fastBackoff });
    // Enough names that both shards get some (the chance that 14 all land on one is 2^-13).
    for (let i = 0; i < 14; i++) names.push(uniqueName(`shard${i % 2 ? "Z" : "a"}`));
  });

  it("a stream lands on the shard the hash names, and only there; its follower works", async () => {
    const byStack = { east: a, west: b };
    for (const name of names) {
      const leader = await relay.start(name, creds);
      open.push(leader);
      await leader.publish({ name, n: 1 });
      const home = relay.shardOf(name) as keyof typeof byStack;
      const other = home === "east" ? b : a;
      expect(await byStack[home].redis("ZSCORE", "relay:index", name), name).not.toBeNull();
      expect(await byStack[home].redis("EXISTS", `${baseKey(name)}:meta`)).toBe(1);
      expect(await other.redis("EXISTS", `${baseKey(name)}:meta`)).toBe(0);
    }
    const homes = new Set(names.map((n) => relay.shardOf(n)));
    expect(homes).toEqual(new Set(["east", "west"]));
    // A follower of a stream on each shard: the state at once, then live changes.
    for (const home of ["east", "west"]) {
      const name = names.find((n) => relay.shardOf(n) === home) as string;
      const f = await relay.connect(name, { password: creds.password });
      open.push(f);
      expect(f.state).toEqual({ name, n: 1 });
      await waitForStatus(f, "live", 10_000);
      expect(norm(f.door as string)).toBe(norm(home === "east" ? a.subscribeUrl : b.subscribeUrl));
      const leader = await relay.reconnect(name, creds);
      open.push(leader);
      await leader.publish({ name, n: 2 });
      expect((await waitForSeq(f, 2, 10_000)).state).toEqual({ name, n: 2 });
    }
  });

  it("list pages walk both shards: every stream once, in Redis's name order", async () => {
    const want = [...names].sort(compareNames);
    for (const count of [1, 3, 5, 100]) {
      const got: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 100; i++) {
        const page = await relay.list({ cursor, count });
        expect(page.streams.length).toBeLessThanOrEqual(count);
        got.push(...page.streams.map((s) => s.name));
        cursor = page.cursor;
        if (cursor === null) break;
      }
      expect(cursor, `count ${count}: the walk ended`).toBeNull();
      expect(got, `count ${count}`).toEqual(want);
    }
  });

  it("list-streams --all with RELAY_CONFIG: every stream once, in order", async () => {
    const file = join(dir, "relay-config.json");
    writeFileSync(file, JSON.stringify(shardsConfig()));
    const env = { ...process.env, RELAY_CONFIG: file, RELAY_URL: "", RELAY_SUBSCRIBE_URL: "" };
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", join(root, "src", "cli", "list-streams.ts"), "--json", "--all", "--count", "4"],
        { cwd: root, env, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
      );
    });
    const listed = JSON.parse(out) as { streams: { name: string }[]; cursor: string | null };
    expect(listed.streams.map((s) => s.name)).toEqual([...names].sort(compareNames));
    expect(listed.cursor).toBeNull();
  });
});

/** A TCP forwarder to `target` that can be shut (listener and every connection), as a dying door. */
async function forwarder(target: string) {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = netConnect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe("several subscription doors", () => {
  it("a follower whose door dies moves to the other door, catches up and converges", async () => {
    const door = await forwarder(a.subscribeUrl);
    open.push({ close: () => door.close() });
    const relay = createRelay({
      url: a.webdisUrl,
      subscribeUrls: [door.url, a.subscribeUrl],
      heartbeatMs: 0,
      backoff: fastBackoff,
    });
    const name = uniqueName("doors");
    const leader = await relay.start(name, creds);
    open.push(leader);
    await leader.publish({ n: 1 });
    // Followers spread over the doors (each ranks them by its random id): join until one is on
    // the forwarder, and keep one on each door.
    const on: Record<string, Follower> = {};
    for (let i = 0; i < 40 && Object.keys(on).length < 2; i++) {
      const f = await relay.connect(name, { password: creds.password });
      const key = norm(f.door as string);
      if (on[key]) f.disconnect();
      else on[key] = f;
    }
    const moving = on[norm(door.url)];
    const staying = on[norm(a.subscribeUrl)];
    expect(moving && staying, "followers on both doors").toBeTruthy();
    for (const f of [moving, staying] as Follower[]) {
      open.push(f);
      await waitForStatus(f, "live", 10_000);
    }
    const m = moving as Follower;
    const seen = record(m);
    const statuses: FollowerStatusEvent[] = [];
    m.on("status", (s) => statuses.push(s));

    door.close();
    for (let n = 2; n <= 8; n++) await leader.publish({ n });
    await waitForSeq(m, leader.seq, 20_000);
    await waitForStatus(m, "live", 20_000);
    expect(m.state).toEqual({ n: 8 });
    expect(norm(m.door as string)).toBe(norm(a.subscribeUrl));
    expect(statuses.map((s) => s.code)).toContain("door-switched");
    // In order, none twice, nothing older shown as newer.
    const seqs = seen.map((u) => u.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
    expect((await waitForSeq(staying as Follower, leader.seq, 10_000)).state).toEqual({ n: 8 });
  });

  it("a quiet leader is not a dead door: followers past the heartbeat ask their door, it answers, they stay", async () => {
    const door = await forwarder(a.subscribeUrl);
    open.push({ close: () => door.close() });
    // The leader never beats; followers expect a beat every 600 ms, so they ask at 1 s of silence.
    const leader = await createRelay({ url: a.webdisUrl, heartbeatMs: 0, backoff: fastBackoff }).start(
      uniqueName("quiet"),
      creds,
    );
    open.push(leader);
    await leader.publish({ n: 1 });
    const relay = createRelay({
      url: a.webdisUrl,
      subscribeUrls: [door.url, a.subscribeUrl],
      heartbeatMs: 600,
      backoff: fastBackoff,
    });
    const followers: Follower[] = [];
    for (let i = 0; i < 3; i++) followers.push(await relay.connect(leader.name, { password: creds.password }));
    open.push(...followers);
    for (const f of followers) await waitForStatus(f, "live", 10_000);
    const doors = followers.map((f) => f.door);
    const statuses: string[] = [];
    for (const f of followers) f.on("status", (e) => statuses.push(`${e.status}:${e.code}`));
    await sleep(3_500);
    expect(statuses, "no follower moved or re-synced").toEqual([]);
    expect(followers.map((f) => f.door)).toEqual(doors);
    // And they still hear the leader.
    await leader.publish({ n: 2 });
    for (const f of followers) expect((await waitForSeq(f, leader.seq, 10_000)).state).toEqual({ n: 2 });
  });
});
