import type { Ctx } from "../lib/ctx.ts";
import { Scenario } from "../lib/report.ts";
export async function clientSize(_ctx: Ctx): Promise<Scenario> {
  return new Scenario(6, "todo");
}
