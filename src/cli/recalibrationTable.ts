/** The CLI's text for a recalibration: passes, the before/after table per layer, output change. */
import type { RecalibrationJson } from "../core/recalibrate/recalibration";
import type { Report } from "../core/report";

function fmt(x: number | null, digits = 3): string {
  if (x === null) return "-";
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

function pct(x: number | null): string {
  return x === null ? "-" : `${(x * 100).toFixed(1)}%`;
}

function range(values: readonly number[]): string {
  if (values.length === 0) return "-";
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return lo === hi ? fmt(lo) : `${fmt(lo)}..${fmt(hi)}`;
}

/** The CLI's text for a recalibration. */
export function formatRecalibration(r: RecalibrationJson): string {
  const lines: string[] = [];
  const rec = r.layers.filter((l) => l.recalibrated).length;
  lines.push(`Recalibrated ${rec} of ${r.layers.length} BatchNormalization layers of ${r.model} on ${r.samples} samples (${r.data}).`);
  lines.push(
    `Method: ${r.method === "passes" ? "full passes, each candidate from the previous pass's measurement" : "one run on all the data as one batch (each BN normalising with its own input's statistics), then exact passes to verify"}.`,
  );
  lines.push(
    `Passes: ${r.passes.length} (${r.passes.map((p) => `max |z| ${fmt(p.worstZ)}, var ratio ${fmt(p.worstVarRatio, 4)}`).join("; ")}); ` +
      (r.converged
        ? `converged: every recalibrated channel within |z| <= ${r.tolerance.z} and variance ratio <= ${r.tolerance.varRatio}.`
        : `NOT converged within ${r.passes.length} passes.`),
  );
  lines.push("");
  const head =
    "   #  BN layer                  ch  running mean (old -> new)        running var (old -> new)       max |z| before -> after   var ratio before -> after   flat before -> after  dead";
  lines.push(head);
  r.layers.forEach((l, i) => {
    const name = l.node.length > 24 ? l.node.slice(0, 23) + "…" : l.node;
    const mean = l.recalibrated ? `${range(l.old.mean)} -> ${range(l.new.mean)}` : "(kept)";
    const v = l.recalibrated ? `${range(l.old.var)} -> ${range(l.new.var)}` : "(kept)";
    lines.push(
      `${String(i).padStart(4)}  ${name.padEnd(24)} ${String(l.channels).padStart(3)}  ${mean.padEnd(31)}  ${v.padEnd(30)}  ` +
        `${`${fmt(l.before.worstZ)} -> ${fmt(l.after.worstZ)}`.padEnd(24)}  ${`${fmt(l.before.worstVarRatio)} -> ${fmt(l.after.worstVarRatio)}`.padEnd(26)}  ` +
        `${`${pct(l.before.flatShare)} -> ${pct(l.after.flatShare)}`.padEnd(20)}  ${l.before.deadChannels} -> ${l.after.deadChannels}`,
    );
  });
  lines.push("");
  const count = (rep: Report, rules: string[]) =>
    rep.layers.reduce((n, l) => n + l.warnings.filter((w) => rules.includes(w.rule)).length, 0);
  const stale = ["mean-shift", "variance-ratio"];
  lines.push(
    `Stale-statistics warnings (mean-shift, variance-ratio): ${count(r.before, stale)} before, ${count(r.after, stale)} after; ` +
      `all warnings: ${r.before.summary.warnings.error + r.before.summary.warnings.warning} before, ${r.after.summary.warnings.error + r.after.summary.warnings.warning} after (errors and warnings).`,
  );
  lines.push("");
  lines.push("Model outputs, new against original, over the data:");
  for (const o of r.outputs) {
    lines.push(
      `  ${o.output}: mean |change| ${fmt(o.meanAbsChange)}, relative L2 change ${o.relativeL2Change === null ? "-" : pct(o.relativeL2Change)} (${o.values} values)`,
    );
  }
  for (const n of r.notes) lines.push("", n);
  lines.push("", `Wrote ${r.out}${r.externalData ? ` and its statistics data ${r.externalData}` : ""}.`);
  return lines.join("\n");
}
