import type { Report, Severity } from "../core/report";
import type { ModelOverview } from "../core/inspect/overview";
import { pooled } from "../core/stats/accumulator";
import { fmt } from "../core/stats/judge";

function pad(s: string, n: number, right = false): string {
  if (s.length > n) s = s.slice(0, n - 1) + "…";
  return right ? s.padStart(n) : s.padEnd(n);
}

function pct(x: number | null): string {
  return x === null ? "–" : `${(x * 100).toFixed(1)}%`;
}

const mark: Record<Severity, string> = { error: "E", warning: "W", info: "i" };

/** The readable per-layer table and the warnings, as the CLI prints them. */
export function formatReport(report: Report, options: { width?: number; maxWarnings?: number } = {}): string {
  const lines: string[] = [];
  const m = report.model;
  lines.push(
    `BN Lens ${report.generator.version}: ${m.name} (opset ${m.opset}, ${m.nodeCount} nodes${m.producer ? `, ${m.producer}` : ""})`,
  );
  lines.push(m.statement);
  lines.push(`Data: ${report.data.description}`);
  lines.push(
    `Samples: ${report.samples}, batch ${report.run.batchSize}, ${(report.run.elapsedMs / 1000).toFixed(1)} s${report.run.runs > 1 ? `, merged from ${report.run.runs} runs` : ""}; statistics: ${report.run.precision.mode}.`,
  );
  for (const n of m.notes) lines.push(`Note: ${n}`);
  lines.push("");
  const nameWidth = Math.max(
    12,
    Math.min(32, Math.max(0, ...report.layers.map((l) => l.node.length), ...report.activations.map((a) => a.node.length))),
  );
  if (report.layers.length) {
    lines.push(
      `${pad("#", 4, true)}  ${pad("BN layer", nameWidth)}  ${pad("ch", 5, true)}  ${pad("then", 10)}  ${pad("max |z|", 12, true)}  ${pad("max var ratio", 14, true)}  ${pad("in flat", 7, true)}  ${pad("dead", 4, true)}  !`,
    );
    for (const l of report.layers) {
      const z = l.summary.worstZ;
      const r = l.summary.worstVarRatio;
      lines.push(
        [
          pad(String(l.index), 4, true),
          pad(l.node, nameWidth),
          pad(String(l.channels), 5, true),
          pad(l.activation.op, 10),
          pad(z ? `${fmt(Math.abs(z.value))} c${z.channel}` : "–", 12, true),
          pad(r ? `${fmt(r.value)} c${r.channel}` : "–", 14, true),
          pad(pct(l.saturation.layerFraction), 7, true),
          pad(String(l.summary.deadChannels.length), 4, true),
          l.summary.severity ? mark[l.summary.severity] : "",
        ].join("  "),
      );
    }
  } else if (report.activations.length) {
    lines.push(
      `${pad("#", 4, true)}  ${pad("layer", nameWidth)}  ${pad("op", 13)}  ${pad("ch", 5, true)}  ${pad("then", 10)}  ${pad("mean", 9, true)}  ${pad("std", 9, true)}  ${pad("in flat", 7, true)}  !`,
    );
    for (const a of report.activations) {
      const { n, mean: sum, variance } = pooled(a.stats);
      const sev = a.warnings.reduce<Severity | null>(
        (s, w) =>
          w.severity === "error" || (w.severity === "warning" && s !== "error") ? w.severity : (s ?? (w.severity === "info" ? "info" : s)),
        null,
      );
      lines.push(
        [
          pad(String(a.index), 4, true),
          pad(a.node, nameWidth),
          pad(a.op, 13),
          pad(String(a.channels), 5, true),
          pad(a.activation.op, 10),
          pad(n ? fmt(sum) : "–", 9, true),
          pad(n ? fmt(Math.sqrt(variance)) : "–", 9, true),
          pad(pct(a.saturation.layerFraction), 7, true),
          sev ? mark[sev] : "",
        ].join("  "),
      );
    }
  }
  if (report.layers.length) {
    lines.push("");
    lines.push("max |z|: largest shift of the observed pre-BN mean from the running mean, in running std (channel);");
    lines.push("max var ratio: largest factor between observed and running variance; in flat: share of post-BN values");
    lines.push("where the following nonlinearity is flat; dead: dead channels; !: E error, W warning, i info.");
  }
  const all = [...report.warnings, ...report.layers.flatMap((l) => l.warnings), ...report.activations.flatMap((a) => a.warnings)];
  const s = report.summary.warnings;
  lines.push("");
  lines.push(
    all.length
      ? `Warnings: ${s.error} error${s.error === 1 ? "" : "s"}, ${s.warning} warning${s.warning === 1 ? "" : "s"}, ${s.info} info.`
      : "No warnings.",
  );
  const order: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  const sorted = all
    .map((w, i) => ({ w, i }))
    .sort((a, b) => order[a.w.severity] - order[b.w.severity] || a.i - b.i)
    .map((x) => x.w);
  const max = options.maxWarnings ?? 50;
  for (const w of sorted.slice(0, max)) {
    lines.push(`  ${w.severity.padEnd(7)} ${w.layer ? `${w.layer} ` : ""}[${w.rule}] ${w.message}`);
  }
  if (sorted.length > max) lines.push(`  … ${sorted.length - max} more in the JSON report.`);
  return lines.join("\n");
}

function range(values: readonly number[]): string {
  if (values.length === 0) return "–";
  let lo = Infinity,
    hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === hi ? fmt(lo) : `${fmt(lo)} … ${fmt(hi)}`;
}

/** What `bn-lens describe` prints: the model's stored BN parameters, without running it. */
export function formatOverview(o: ModelOverview): string {
  const m = o.model;
  const lines = [
    `${m.name} (opset ${m.opset}, ${m.nodeCount} nodes${m.producer ? `, ${m.producer}` : ""}, ${(m.sizeBytes / 1024).toFixed(0)} KiB)`,
    m.statement,
    `Inputs: ${m.inputs.map((i) => `${i.name} ${i.dtype} [${(i.dims ?? ["?"]).map((d) => d ?? "?").join(" x ")}]`).join(", ")}`,
    "",
  ];
  if (o.layers.length) {
    const w = Math.max(12, Math.min(32, Math.max(...o.layers.map((l) => l.node.length))));
    lines.push(
      `${pad("#", 4, true)}  ${pad("BN layer", w)}  ${pad("ch", 5, true)}  ${pad("after", 8)}  ${pad("then", 10)}  ${pad("gamma", 19)}  ${pad("beta", 19)}  ${pad("running mean", 19)}  ${pad("running var", 19)}  eps`,
    );
    for (const l of o.layers) {
      lines.push(
        [
          pad(String(l.index), 4, true),
          pad(l.node, w),
          pad(String(l.channels), 5, true),
          pad(l.producer?.op ?? "input", 8),
          pad(l.activation.op, 10),
          pad(range(l.gamma), 19),
          pad(range(l.beta), 19),
          pad(range(l.running.mean), 19),
          pad(range(l.running.var), 19),
          fmt(l.epsilon),
        ].join("  "),
      );
    }
  } else {
    for (const p of o.probes) lines.push(`  ${p.node} (${p.op}) → ${p.activation}`);
  }
  return lines.join("\n");
}
