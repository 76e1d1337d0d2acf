/**
 * One door for plan files: `importPlanFile` tells the format by name and
 * content (a QGroundControl .plan, a QGC WPL 110 waypoints text, or this
 * page's own JSON) and reads it; `EXPORTS` lists what a plan can be saved as.
 * A file that is refused returns an error in words and changes nothing.
 */
import { type Plan, parsePlanJson } from "../plan.ts";
import { toGeoJson } from "./geojson.ts";
import { toKml } from "./kml.ts";
import { type ImportResult, jsonErrorLine, parseQgcPlan, toQgcPlan } from "./qgc-plan.ts";
import { parseWpl, toWpl, type Written } from "./wpl.ts";

export type { ImportResult } from "./qgc-plan.ts";

/** What the file picker offers. */
export const IMPORT_ACCEPT = ".plan,.waypoints,.txt,.json,application/json,text/plain";

export type FileFormat = "qgc-plan" | "wpl" | "json";

export function detectFormat(fileName: string, text: string): FileFormat {
  const head = text.replace(/^\uFEFF/, "").trimStart();
  if (head.startsWith("QGC WPL")) return "wpl";
  if (/\.(waypoints|txt)$/i.test(fileName) && !head.startsWith("{")) return "wpl";
  if (/\.plan$/i.test(fileName)) return "qgc-plan";
  if (head.startsWith("{") && /"fileType"\s*:\s*"Plan"/.test(head.slice(0, 4096))) return "qgc-plan";
  return "json";
}

/** The file name without its extensions ("ridge.plan.json" -> "ridge"), as a title. */
export function titleFromName(fileName: string): string {
  return fileName.replace(/\.(plan|waypoints|txt|json)$/i, "").replace(/\.plan$/i, "");
}

export function importPlanFile(fileName: string, text: string): ImportResult & { format?: FileFormat } {
  const body = text.replace(/^\uFEFF/, "");
  const format = detectFormat(fileName, body);
  if (format === "wpl") return { ...parseWpl(body, titleFromName(fileName)), format };
  if (format === "qgc-plan") return { ...parseQgcPlan(body, titleFromName(fileName)), format };
  try {
    JSON.parse(body);
  } catch (e) {
    return {
      ok: false,
      error: `The file is not a plan this page reads: not JSON${jsonErrorLine(body, e)}, not a QGroundControl .plan and not a "QGC WPL 110" waypoints file.`,
    };
  }
  return { ...parsePlanJson(body), format };
}

export interface ExportFormat {
  id: FileFormat | "geojson" | "kml";
  /** Button text. */
  label: string;
  extension: string;
  mime: string;
  write(plan: Plan): Written;
}

export const EXPORTS: ExportFormat[] = [
  {
    id: "qgc-plan",
    label: "QGroundControl .plan",
    extension: ".plan",
    mime: "application/json",
    write: (p) => ({
      text: toQgcPlan(p),
      warnings:
        p.title || p.notes ? ["A .plan has no place for the title and notes; they stay in this page's JSON."] : [],
    }),
  },
  { id: "wpl", label: "Waypoints (WPL)", extension: ".waypoints", mime: "text/plain", write: toWpl },
  {
    id: "geojson",
    label: "GeoJSON",
    extension: ".geojson",
    mime: "application/geo+json",
    write: (p) => ({ text: toGeoJson(p), warnings: [] }),
  },
  {
    id: "kml",
    label: "KML",
    extension: ".kml",
    mime: "application/vnd.google-earth.kml+xml",
    write: (p) => ({ text: toKml(p), warnings: [] }),
  },
];
