#!/usr/bin/env node
/** list-streams: the live streams, as a table for people or JSON for scripts. */
import { parseArgs } from "node:util";
import { createRelay } from "../node.ts";
import { clientConfig, DOORS_HELP, runMain, UsageError } from "./common.ts";

const HELP = `Usage: list-streams [--json] [--cursor NAME] [--count N] [--all] [--url URL]

Lists live streams in name order, one page at a time (every shard's, merged).
  --json         one JSON object: {"streams":[{name,seq,created,updated}],"cursor":...}
  --cursor NAME  start after this name (the "cursor" of the previous page)
  --count N      streams per page, 1-100 (default 50)
  --all          follow the cursor to the end
  --url URL      Webdis URL (default $RELAY_URL, $RELAY_CONFIG or http://127.0.0.1:7379)

${DOORS_HELP}
`;

function age(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

await runMain("list-streams", async () => {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        json: { type: "boolean" },
        cursor: { type: "string" },
        count: { type: "string" },
        all: { type: "boolean" },
        url: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  }
  try {
    parsed = parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const count = values.count === undefined ? 50 : Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 100)
    throw new UsageError("--count must be an integer from 1 to 100");
  const relay = createRelay({ ...clientConfig({ url: values.url }), heartbeatMs: 0 });
  let page = await relay.list({ cursor: values.cursor ?? null, count });
  const streams = [...page.streams];
  while (values.all && page.cursor) {
    page = await relay.list({ cursor: page.cursor, count });
    streams.push(...page.streams);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ streams, cursor: page.cursor })}\n`);
    return 0;
  }
  if (streams.length === 0) {
    process.stdout.write("No live streams.\n");
    return 0;
  }
  const rows = streams.map((s) => [s.name, String(s.seq), age(s.updated), new Date(s.created).toISOString()]);
  const head = ["NAME", "SEQ", "UPDATED", "STARTED"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c + " ".repeat((widths[i] ?? 0) - [...c].length))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${[fmt(head), ...rows.map(fmt)].join("\n")}\n`);
  if (page.cursor && !values.all)
    process.stdout.write(`(more: list-streams --cursor ${JSON.stringify(page.cursor)})\n`);
  return 0;
});
