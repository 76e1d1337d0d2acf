/**
 * 7. Another stream's publish under a flood (issue 12, attack 8): a victim leader
 * publishes a ~1 KB plan, one publish at a time (time to the ack), first on an
 * idle relay, then while an attacker's stream publishes 1 MiB states in a loop
 * through the command door. The attacker's stream has its publish budget
 * (publish_bytes per publish_window in relay:config): the figures say how many
 * of its states were accepted and how many refused (QUOTA), and what the
 * victim's p50/p99 is meanwhile: over the whole flood, and from the attacker's
 * first refusal on (the budget's steady state, after the first burst passed).
 */
import http from "node:http";
import { createRelay } from "../../src/node.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { publishAck, publishBody, RawStream } from "../lib/sealed.ts";
import { hex, post } from "../lib/stack.ts";
import { percentile, sleep } from "../lib/stats.ts";

const MiB = 1024 * 1024;

export async function flood(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(7, "Another stream's publish under a flood of 1 MiB states");
  const { stack, quick } = ctx;
  const n = quick ? 60 : 300;
  const floodMs = quick ? 12_000 : 30_000; // longer than one publish_window (10 s)
  const relay = createRelay({ url: stack.webdis.url, heartbeatMs: 0 });
  const leader = await relay.start(`flood-victim-${hex(4)}`, { password: "bench-pw", code: "bench-code" });
  const base = makePlan(1024, 7);
  let rev = 0;
  /** Publishes until `count` samples or `untilMs`; each sample: [start time, ms to the ack]. */
  const victim = async (count: number, untilMs = Number.POSITIVE_INFINITY) => {
    const xs: [number, number][] = [];
    for (let i = 0; i < count && performance.now() < untilMs; i++) {
      const t0 = performance.now();
      await leader.publish({ ...base, rev: ++rev });
      xs.push([t0, performance.now() - t0]);
      await sleep(2);
    }
    return xs;
  };
  const record = (key: string, label: string, samples: [number, number][]) => {
    const xs = samples.map((x) => x[1]);
    sc.fig(`${key}_p50`, `${label} p50`, percentile(xs, 50), "ms");
    sc.fig(`${key}_p99`, `${label} p99`, percentile(xs, 99), "ms");
  };
  try {
    await victim(10); // warm-up
    record("idle", "victim publish, idle relay", await victim(n));

    const attacker = await stack.startStream("flood-attacker");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // Whole states of max_state bytes of sealed content (base64url; Lua checks the form only).
    const attack = new RawStream(attacker, MiB, MiB, true);
    let accepted = 0;
    let refused = 0;
    let stop = false;
    let firstRefusal = Number.POSITIVE_INFINITY;
    const loop = (async () => {
      while (!stop) {
        const { opId, args } = attack.next();
        const r = await post(agent, stack.webdis.port, publishBody(attacker, opId, args)).catch(() => ({
          status: 0,
          text: "",
        }));
        if (r.status === 200 && attack.ack(args.kind, publishAck(r.text))) accepted++;
        else {
          refused++;
          firstRefusal = Math.min(firstRefusal, performance.now());
        }
      }
    })();
    await sleep(200); // the flood is running
    const t0 = performance.now();
    const xs = await victim(Number.POSITIVE_INFINITY, t0 + floodMs);
    const seconds = (performance.now() - t0) / 1000;
    stop = true;
    await loop;
    agent.destroy();
    record("flood", "victim publish, one stream flooding 1 MiB states", xs);
    record(
      "throttled",
      "victim publish, flood after the attacker's first QUOTA",
      xs.filter(([at]) => at >= firstRefusal),
    );
    sc.fig("accepted", "attacker's 1 MiB states accepted", accepted, "");
    sc.fig("refused", "attacker's 1 MiB states refused (QUOTA)", refused, "");
    sc.fig("flood_s", "flood duration", seconds, "s");
    sc.ratio("p99_ratio", "victim p99, flood / idle", "flood_p99", "idle_p99");
    sc.ratio("throttled_ratio", "victim p99, throttled flood / idle", "throttled_p99", "idle_p99");
    sc.note(
      "the budget bounds the attacker's sustained rate (16 MiB per 10 s by default); its first burst still passes",
    );
  } finally {
    await leader.stop().catch(() => {});
  }
  return sc;
}
