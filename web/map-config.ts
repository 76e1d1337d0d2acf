/**
 * The optional tile server from relay-config.json, checked (zod):
 *
 *   "map": { "tileUrl": "https://tiles.example/{z}/{x}/{y}.png", "attribution": "© Example", "maxZoom": 19 }
 *
 * The URL must be http(s) with {z}, {x} and {y} and name one host: no {s}
 * subdomains, since the page's CSP img-src opens exactly that one origin
 * (src/server/tile-origin.ts, the same rule for the server and `up --tile-url`). A bad `map` is ignored and
 * said in `notice` (the page shows it on the map; nothing goes to the console):
 * the map still works offline.
 */
import { z } from "zod";
import { tileUrlProblem } from "../src/server/tile-origin.ts";

export interface TileSource {
  tileUrl: string;
  attribution?: string | undefined;
  maxZoom?: number | undefined;
}

const TileUrl = z
  .string()
  .trim()
  .max(2000)
  .superRefine((u, ctx) => {
    const problem = tileUrlProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const MapConfigSchema = z.object({
  tileUrl: TileUrl,
  attribution: z.string().max(500).optional(),
  maxZoom: z.number().int().min(0).max(24).optional(),
});

/** `raw` is relay-config.json's `map` (undefined when absent). */
export function parseMapConfig(raw: unknown): { map?: TileSource; notice?: string } {
  if (raw === undefined || raw === null) return {};
  const r = MapConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i?.path.length ? `map.${i.path.join(".")}` : "map";
    return { notice: `The tile server in relay-config.json is not used: ${where} ${i?.message ?? "is not valid"}.` };
  }
  const map: TileSource = { tileUrl: r.data.tileUrl };
  if (r.data.attribution !== undefined) map.attribution = r.data.attribution;
  if (r.data.maxZoom !== undefined) map.maxZoom = r.data.maxZoom;
  return { map };
}
