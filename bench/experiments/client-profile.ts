/**
 * The client's own CPU on the write path, for `node --cpu-prof`: a leader
 * publishes 2,000 one-waypoint edits of a 1 KB plan, then 200 of a 200 KB plan
 * (each awaited), and a follower in the same process (HTTP stream) applies
 * them all. Prints the wall time of each phase; summarise the profile with
 * cpuprofile-top.ts.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/relay-prof --import tsx bench/experiments/client-profile.ts
 *   npx tsx bench/experiments/cpuprofile-top.ts /tmp/relay-prof/*.cpuprofile
 */
import { createRelay } from "../../src/node.ts";
import { makePlan, type Plan, rng, smallEdit } from "../lib/plan.ts";
import { BenchStack } from "../lib/stack.ts";
import { until } from "../lib/stats.ts";

const small = Number(process.env.PROFILE_SMALL ?? 2000);
const big = Number(process.env.PROFILE_BIG ?? 200);

const stack = await BenchStack.start();
try {
  for (const [label, bytes, n] of [
    ["1 KB plan", 1024, small],
    ["200 KB plan", 200_000, big],
  ] as const) {
    const relay = createRelay({ url: stack.webdis.url, heartbeatMs: 0 });
    const name = `prof-${bytes}`;
    const leader = await relay.start(name, { password: "pw-bench", code: "code-bench" });
    let plan: Plan = makePlan(bytes, 3);
    await leader.publish(plan);
    const follower = await relay.connect(name, { password: "pw-bench" });
    await until("follower live", () => follower.status === "live", 10_000);
    let applied = 0;
    follower.on("state", () => applied++);
    const r = rng(9);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      plan = smallEdit(plan, i, r);
      await leader.publish(plan);
    }
    const published = performance.now() - t0;
    await until("follower caught up", () => follower.seq >= leader.seq, 60_000, 5);
    const caughtUp = performance.now() - t0;
    console.log(
      `${label}: ${n} publishes in ${published.toFixed(0)} ms (${(published / n).toFixed(2)} ms each), follower caught up at ${caughtUp.toFixed(0)} ms, ${applied} state events, seq ${follower.seq}`,
    );
    follower.disconnect();
    await leader.stop();
  }
} finally {
  await stack.stop();
}
process.exit(0);
