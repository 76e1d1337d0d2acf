/** `mission-relay status`: the table (or JSON) of src/server/status.ts, exit 1 when something is down. */
import { resolve } from "node:path";
import {
  collectStatus,
  DEFAULT_DESCRIPTION,
  DescriptionError,
  formatStatus,
  loadDescription,
} from "../server/status.ts";
import { writeLine } from "./common.ts";

export async function status(o: { file?: string; json?: boolean }): Promise<number> {
  const file = resolve(o.file ?? DEFAULT_DESCRIPTION);
  let targets: ReturnType<typeof loadDescription>["targets"];
  try {
    ({ targets } = loadDescription(file));
  } catch (e) {
    if (e instanceof DescriptionError) {
      process.stderr.write(`mission-relay: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const s = await collectStatus(targets);
  if (o.json) await writeLine(JSON.stringify(s, null, 2));
  else await writeLine(formatStatus(s).trimEnd());
  // What is down goes to stderr in both modes, so a script's stdout stays one JSON value.
  for (const p of s.problems) process.stderr.write(`mission-relay: ${p}\n`);
  return s.ok ? 0 : 1;
}
