/**
 * The bench's result model: every figure carries its unit, every ratio names
 * the two figures it divides, every target says whether this run met it.
 */

export interface Figure {
  key: string;
  label: string;
  value: number | null;
  unit: string;
  note?: string;
}

export interface Ratio {
  key: string;
  label: string;
  /** numerator / denominator, both figure keys of the same scenario */
  of: [string, string];
  value: number | null;
  unit: "x" | "%";
}

export interface Target {
  key: string;
  label: string;
  goal: string;
  value: number | null;
  unit: string;
  /** null: not measured in this run (skipped or failed) */
  met: boolean | null;
  note?: string;
}

export interface ScenarioResult {
  id: number;
  title: string;
  figures: Figure[];
  ratios: Ratio[];
  targets: Target[];
  notes: string[];
  seconds: number;
  error?: string;
}

export class Scenario {
  readonly result: ScenarioResult;
  constructor(id: number, title: string) {
    this.result = { id, title, figures: [], ratios: [], targets: [], notes: [], seconds: 0 };
  }
  fig(key: string, label: string, value: number | null, unit: string, note?: string): number | null {
    const f: Figure = { key, label, value: value === null || Number.isFinite(value) ? value : null, unit };
    if (note) f.note = note;
    this.result.figures.push(f);
    return f.value;
  }
  get(key: string): number | null {
    return this.result.figures.find((f) => f.key === key)?.value ?? null;
  }
  ratio(key: string, label: string, num: string, den: string, unit: "x" | "%" = "x"): number | null {
    const a = this.get(num);
    const b = this.get(den);
    let value: number | null = null;
    if (a !== null && b !== null && b !== 0) value = unit === "%" ? (100 * a) / b : a / b;
    this.result.ratios.push({ key, label, of: [num, den], value, unit });
    return value;
  }
  target(
    key: string,
    label: string,
    goal: string,
    value: number | null,
    unit: string,
    met: boolean | null,
    note?: string,
  ) {
    const t: Target = { key, label, goal, value, unit, met: value === null && met !== false ? null : met };
    if (note) t.note = note;
    this.result.targets.push(t);
  }
  note(text: string) {
    this.result.notes.push(text);
  }
}

export function fmt(v: number | null, unit = ""): string {
  if (v === null) return "n/a";
  const abs = Math.abs(v);
  let s: string;
  if (abs >= 100_000) s = Math.round(v).toLocaleString("en-US");
  else if (abs >= 100) s = v.toFixed(0);
  else if (abs >= 10) s = v.toFixed(1);
  else if (abs >= 1) s = v.toFixed(2);
  else if (abs === 0) s = "0";
  else s = v.toPrecision(2);
  return unit ? `${s} ${unit}` : s;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s);

export function table(results: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push("");
    out.push(`== ${r.id}. ${r.title}  (${r.seconds.toFixed(1)} s)${r.error ? `  ERROR: ${r.error}` : ""}`);
    const w = Math.max(20, ...r.figures.map((f) => f.label.length), ...r.ratios.map((x) => x.label.length));
    for (const f of r.figures)
      out.push(`  ${pad(f.label, w)}  ${lpad(fmt(f.value), 12)} ${f.unit}${f.note ? `   (${f.note})` : ""}`);
    for (const x of r.ratios)
      out.push(`  ${pad(x.label, w)}  ${lpad(fmt(x.value), 12)} ${x.unit}   [${x.of[0]} / ${x.of[1]}]`);
    for (const t of r.targets) {
      const mark = t.met === null ? "n/a " : t.met ? "MET " : "MISS";
      out.push(`  [${mark}] ${t.label}: ${fmt(t.value, t.unit)} (goal ${t.goal})${t.note ? ` - ${t.note}` : ""}`);
    }
    for (const n of r.notes) out.push(`  note: ${n}`);
  }
  return out.join("\n");
}

export function targetSummary(results: ScenarioResult[]): string {
  const lines = ["", "== Targets"];
  for (const r of results)
    for (const t of r.targets) {
      const mark = t.met === null ? "n/a " : t.met ? "MET " : "MISS";
      lines.push(`  [${mark}] ${t.label}: ${fmt(t.value, t.unit)} (goal ${t.goal})`);
    }
  return lines.join("\n");
}
