/**
 * JSON text the way QGroundControl writes it (Qt's QJsonDocument, Indented):
 * four spaces per level, keys of every object in sorted order (a QJsonObject
 * keeps them sorted), `"key": value`, empty arrays and objects opened and
 * closed on two lines, a newline at the end. Exporting what we imported then
 * gives the same bytes for the fields QGroundControl writes.
 *
 * Numbers: both Qt and JavaScript write the shortest text that reads back as
 * the same double; they differ only in when they switch to an exponent. Qt's
 * 'g' style uses one below 1e-4 with a two-digit exponent ("1e-05"), which is
 * mirrored here; huge numbers (>= 1e21), never seen in a plan, stay as
 * JavaScript writes them. NaN and infinities become null, as in Qt.
 */

export function qtNumber(n: number): string {
  if (!Number.isFinite(n)) return "null";
  if (n !== 0 && Math.abs(n) < 1e-4) {
    const [mant, exp] = n.toExponential().split("e") as [string, string];
    const sign = exp.startsWith("-") ? "-" : "+";
    const digits = exp.replace(/^[+-]/, "").padStart(2, "0");
    return `${mant}e${sign}${digits}`;
  }
  return Object.is(n, -0) ? "0" : String(n);
}

export function qtJson(value: unknown): string {
  return `${write(value, "")}\n`;
}

function write(v: unknown, indent: string): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number") return qtNumber(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return JSON.stringify(v);
  const inner = `${indent}    `;
  if (Array.isArray(v)) {
    if (v.length === 0) return `[\n${indent}]`;
    return `[\n${v.map((x) => inner + write(x, inner)).join(",\n")}\n${indent}]`;
  }
  if (typeof v === "object") {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    if (keys.length === 0) return `{\n${indent}}`;
    const rows = keys.map((k) => `${inner}${JSON.stringify(k)}: ${write((v as Record<string, unknown>)[k], inner)}`);
    return `{\n${rows.join(",\n")}\n${indent}}`;
  }
  return "null";
}
