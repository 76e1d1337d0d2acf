/**
 * The fault campaign: one seeded, bounded run of a leader publishing and
 * followers on both transports and both doors, while a nemesis applies a
 * random schedule of faults (kill -9 and SIGSTOP of the primary, the replica
 * and each door, Redis restarts, and, natively as root, partitions, black
 * holes, half-open connections, loss and throttling in the kernel; latency
 * from a delay proxy). The checker then reads every follower's history.
 *
 *   RELAY_CAMPAIGN_SECONDS=300 RELAY_CAMPAIGN_SEED=1234 RELAY_TEST_STACK=native \
 *     npx vitest run test/faults/campaign.test.ts
 *
 * See test/faults/README.md.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createRelay, type Follower, type Leader, type RelayOptions } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { sleep, uniqueName } from "../support/util.ts";
import { check, counterOf, type FollowerHistory, type LeaderHistory, percentile, recordHistory } from "./checker.ts";
import { describeFault, faultKinds, runNemesis, schedule } from "./nemesis.ts";
import { DelayProxy, makeNetLab, type NetLab, netUnavailable } from "./net.ts";
import { creds, fastBackoff } from "./support.ts";

const SECONDS = Number(process.env.RELAY_CAMPAIGN_SECONDS || 50);
/**
 * CI replays one known schedule (a red CI must mean a regression, not a new
 * draw); anywhere else each run draws a new seed, printed for replay. Seed
 * 281666635 is the one that found the frozen-while-down door.
 */
const CI_SEED = 281666635;
const SEED = process.env.RELAY_CAMPAIGN_SEED
  ? Number(process.env.RELAY_CAMPAIGN_SEED)
  : process.env.CI
    ? CI_SEED
    : Math.floor(Math.random() * 2 ** 31);
/** After the last fault is lifted, every follower must show the leader's last state within this. */
const CONVERGE_BOUND_MS = 30_000;
const PUBLISH_EVERY_MS = 60;

/** A plan with 20 waypoints; each change moves one, so most changes go out as small patches. */
const planFor = (i: number) => ({
  i,
  title: "campaign",
  waypoints: Array.from({ length: 20 }, (_, k) => ({ k, x: k === i % 20 ? i : k, y: k * 2 })),
});

const open: { close(): unknown }[] = [];
afterAll(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** The native stack inside network namespaces when we can make them; else whatever startStack gives. */
async function stackWithFaults(): Promise<{ stack: Stack; lab?: NetLab; layer: string }> {
  const native = process.env.RELAY_TEST_STACK === "native";
  const why = native ? netUnavailable() : "containers mode: the engine runs with host networking";
  if (!why) {
    const lab = await makeNetLab();
    open.push({ close: () => lab.destroy() });
    const { startNativeStack } = await import("../setup/native.ts");
    const stack = await startNativeStack({ placement: lab.placement });
    open.push({ close: () => stack.stop() });
    return { stack, lab, layer: "kernel (network namespaces: iptables, tc tbf) + delay proxy" };
  }
  const stack = await startStack();
  open.push({ close: () => stack.stop() });
  return {
    stack,
    layer: `process faults + userspace proxy (latency, black hole, half-open); no kernel faults: ${why}`,
  };
}

/**
 * CI runs the campaign once, in its native pass, where it also has the kernel
 * faults. In containers mode it has only process faults, and twice in about 15
 * CI runs a heal through the Docker API hung until the test's timeout (CI run 9
 * last session, run 34 this one; not explained yet): there it runs when asked
 * (RELAY_CAMPAIGN_CONTAINERS=1) and always outside CI.
 */
const skipHere =
  !!process.env.CI && process.env.RELAY_TEST_STACK === "containers" && process.env.RELAY_CAMPAIGN_CONTAINERS !== "1";
if (skipHere) console.warn("[campaign] skipped in CI's containers pass: it runs in the native pass (see above)");

describe.skipIf(skipHere)("fault campaign", () => {
  it(`seeded run of ${SECONDS} s: nothing lost, doubled or out of order; everyone converges`, {
    // Room for slow heals on a loaded box (each is bounded: a door or Redis gets 30 s
    // to come back) plus the 30 s flush and 35 s convergence bounds; CI run 9 overran 150 s.
    timeout: SECONDS * 1_000 + 200_000,
  }, async () => {
    const { stack, lab, layer } = await stackWithFaults();
    const doorHost = new URL(stack.webdisUrl).hostname;
    const proxies = {
      command: await new DelayProxy(doorHost, stack.webdisPort).listen(),
      subscribe: await new DelayProxy(doorHost, Number(new URL(stack.subscribeUrl).port)).listen(),
    };
    open.push(proxies.command, proxies.subscribe);
    const kinds = faultKinds(lab !== undefined);
    const faults = schedule(SEED, SECONDS * 1_000, kinds);
    console.log(
      `[campaign] seed ${SEED} (replay: RELAY_CAMPAIGN_SEED=${SEED} RELAY_CAMPAIGN_SECONDS=${SECONDS}` +
        ` RELAY_TEST_STACK=${stack.mode}) | ${stack.mode} | faults: ${layer}\n` +
        `[campaign] schedule (${faults.length}):\n  ${faults.map(describeFault).join("\n  ")}`,
    );

    const common = { backoff: fastBackoff, timeoutMs: 2_000 } satisfies Partial<RelayOptions>;
    const name = uniqueName("campaign");
    const leader: Leader = await createRelay({ url: proxies.command.url, ...common, heartbeatMs: 300 }).start(
      name,
      creds,
    );
    open.push(leader);
    const published: LeaderHistory["published"] = [];
    let changes = 0;
    leader.on("published", (p) => {
      published.push({ at: Date.now(), seq: p.seq, i: counterOf(p.state) });
      if (p.changed) changes++;
    });

    // Both transports, both doors, direct and through the delay proxies.
    const follow = { ...common, staleAfterMs: 1_500 };
    const setups: [string, RelayOptions][] = [
      ["ws/subscribe-door", { url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, ...follow }],
      ["ws/subscribe-door/proxy", { url: proxies.command.url, subscribeUrl: proxies.subscribe.url, ...follow }],
      [
        "http/subscribe-door",
        { url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, transports: ["http-stream"], ...follow },
      ],
      ["http/command-door", { url: stack.webdisUrl, transports: ["http-stream"], ...follow }],
      ["http/command-door/proxy", { url: proxies.command.url, transports: ["http-stream"], ...follow }],
    ];
    const followers: Follower[] = [];
    const histories: FollowerHistory[] = [];
    for (const [label, o] of setups) {
      const f = await createRelay(o).connect(name, creds);
      open.push({ close: () => f.disconnect() });
      followers.push(f);
      histories.push(recordHistory(label, f));
    }

    // The leader edits all along; publish() keeps only the newest waiting state during outages.
    let i = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        i++;
        leader.publish(planFor(i)).catch(() => {});
        await sleep(PUBLISH_EVERY_MS);
      }
    })();

    const start = Date.now();
    let run: Awaited<ReturnType<typeof runNemesis>>;
    try {
      run = await runNemesis(faults, { stack, lab, proxies }, start, (l) => console.warn(`[campaign] ${l}`));
      await sleep(2_000); // a little more editing on a healthy stack
    } finally {
      publishing = false; // also when the nemesis threw: the publisher must end
      await publisher;
    }
    const flushedBy = Date.now() + CONVERGE_BOUND_MS;
    while (leader.pending > 0 && Date.now() < flushedBy) await sleep(20);
    const final = { epoch: leader.epoch, seq: leader.seq, i: counterOf(leader.state) };
    const convergedBy = run.lastHeal + CONVERGE_BOUND_MS + 5_000;
    while (Date.now() < convergedBy && !followers.every((f) => f.seq === final.seq && counterOf(f.state) === final.i)) {
      await sleep(50);
    }

    const { violations, figures } = check({ published, final }, histories, run.lastHeal, CONVERGE_BOUND_MS);
    const byKind: Record<string, number> = {};
    for (const f of run.applied) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    const converge = figures.convergeMs.filter((x): x is number => x !== undefined);
    const report = {
      seed: SEED,
      mode: stack.mode,
      seconds: SECONDS,
      faultsApplied: run.applied.length,
      faultsByKind: byKind,
      statesPublished: changes,
      finalSeq: final.seq,
      statesLost: figures.lost,
      duplicates: figures.duplicates,
      regressions: figures.regressions,
      resets: figures.resets,
      wentBack: figures.wentBack,
      lagP99Ms: figures.lagP99,
      lagMaxMs: figures.lagMax,
      convergeAfterLastHealP99Ms: percentile(converge, 99),
      transports: followers.map((f, k) => `${histories[k]?.name}: ${f.transport} ${f.status}`),
    };
    console.log(`[campaign] figures ${JSON.stringify(report, null, 2)}`);
    if (violations.length) {
      console.log(
        `[campaign] FAILED with seed ${SEED}:\n  ${violations.map((v) => `${v.follower}: ${v.rule}: ${v.detail}`).join("\n  ")}`,
      );
    }
    expect(run.errors, `seed ${SEED}`).toEqual([]);
    expect(leader.status, `seed ${SEED}`).toBe("live");
    expect(run.applied.length, "the nemesis applied its schedule").toBe(faults.length);
    expect(violations, `seed ${SEED}`).toEqual([]);
    expect(figures.lost).toBe(0);
    expect(changes, "the leader got changes through").toBeGreaterThan(SECONDS);
  });
});
