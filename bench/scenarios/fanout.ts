import type { Ctx } from "../lib/ctx.ts";
import { Scenario } from "../lib/report.ts";
export async function fanout(_ctx: Ctx): Promise<Scenario> {
  return new Scenario(3, "todo");
}
