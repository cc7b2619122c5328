import type { Severity } from "../core/report";
import type { ReportOutline } from "../core/inspect/reportOutline";
import type { ModelDescription } from "../core/inspect/modelDescription";
import { pooled } from "../core/stats/accumulator";
import { describeBatchDependence, relativeChangeText } from "../core/stats/batchDependence";
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
export function formatReport(report: ReportOutline, options: { width?: number; maxWarnings?: number } = {}): string {
  const lines: string[] = [];
  const m = report.model;
  lines.push(
    `BN Lens ${report.generator.version}: ${m.name} (opset ${m.opset}, ${m.nodeCount} nodes${m.producer ? `, ${m.producer}` : ""})`,
  );
  lines.push(m.statement);
  lines.push(`Data: ${report.data.description}`);
  const shard = report.run.shard;
  if (shard)
    lines.push(
      `Shard ${shard.index}/${shard.count}: samples k with k mod ${shard.count} = ${shard.index}, ${report.samples} of ${shard.samplesTotal}.`,
    );
  lines.push(
    `Samples: ${report.samples}, batch ${report.run.batchSize}, ${(report.run.elapsedMs / 1000).toFixed(1)} s${report.run.runs > 1 ? `, merged from ${report.run.runs} runs` : ""}; statistics: ${
      report.run.precision.mode === "fast"
        ? `fast (histograms, saturation, min and max from a ${(report.run.precision.histogramSampling * 100).toFixed(1)}% spatial sample; mean and variance from every value)`
        : "exact"
    }.`,
  );
  for (const n of m.notes) lines.push(`Note: ${n}`);
  if (report.data.synthetic) {
    lines.push("");
    lines.push("Random inputs: this run checks that the model runs and what its stored parameters imply, not whether its BN statistics");
    lines.push("fit real data, so stale statistics are not judged. Run on data: bn-lens inspect MODEL --data PATH.");
  }
  lines.push("");
  const nameWidth = Math.max(
    12,
    Math.min(32, Math.max(0, ...report.layers.map((l) => l.node.length), ...report.activations.map((a) => a.node.length))),
  );
  if (report.layers.length) {
    lines.push(
      `${pad("#", 4, true)}  ${pad("BN layer", nameWidth)}  ${pad("ch", 5, true)}  ${pad("then", 10)}  ${pad("max |z|", 12, true)}  ${pad("max var ratio", 14, true)}  ${pad("in flat", 7, true)}  ${pad("expected", 8, true)}  ${pad("dead", 4, true)}  !`,
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
          pad(l.activation.op === "none" ? "–" : pct(mean(l.expected.flat)), 8, true),
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
    lines.push("where the following nonlinearity is flat; expected: the share gamma and beta imply (post-BN N(beta, gamma²),");
    lines.push("normal approximation, mean over channels); dead: dead channels; !: E error, W warning, i info.");
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

function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** The batch-size study as a compact table: per layer, the worst channel's 95% ranges of d and r at a few sizes. */
export function formatBatchStudy(report: ReportOutline, sizes = [1, 2, 4, 8, 16, 32, 64]): string {
  const study = report.batchStudy;
  if (!study) return "Batch-size study: not available (no per-sample statistics in this report).";
  const lines: string[] = [];
  const tol = study.tolerance;
  const train = report.run.trainBatch;
  lines.push(
    `Batch-size study over ${study.samples} samples: for random batches of b samples, 95% of batches have |d| below the first figure and r`,
  );
  lines.push(
    `between the other two (d = (batch mean - mean)/std, r = batch std/std; worst channel); "need" is the smallest b keeping |d| ≤ ${fmt(tol)}`,
  );
  lines.push(`and |r - 1| ≤ ${fmt(tol)}${train !== null ? `; training batch ${train}` : ""}.`);
  if (report.data.synthetic) lines.push("The data is random: these figures describe random inputs, not your training data.");
  const shown = sizes.filter((b) => study.layers.some((l) => l.sizes.includes(b)));
  const w = Math.max(12, Math.min(32, Math.max(0, ...study.layers.map((l) => l.layer.length))));
  lines.push("");
  lines.push(`${pad("BN layer", w)}  ${shown.map((b) => pad(`b=${b}`, 18, true)).join("")}  ${pad("need", 6, true)}`);
  for (const l of study.layers) {
    const cells = shown.map((b) => {
      const k = l.sizes.indexOf(b);
      return pad(k < 0 ? "–" : `${fmt(l.d95[k])} ${fmt(l.rLow[k])}–${fmt(l.rHigh[k])}`, 18, true);
    });
    const need = l.minBatch === null ? `>${l.sizes[l.sizes.length - 1] ?? 0}` : String(l.minBatch);
    lines.push(
      `${pad(l.layer, w)}  ${cells.join("")}  ${pad(need, 6, true)}${train !== null && (l.minBatch === null || train < l.minBatch) ? "  !" : ""}`,
    );
  }
  lines.push("", ...formatBatchDependence(report));
  return lines.join("\n");
}

/** The training-mode measurement: one sentence, then per output mean |change| and relative L2 change with intervals. */
function formatBatchDependence(report: ReportOutline): string[] {
  const d = report.batchDependence;
  const training = report.layers.filter((l) => l.warnings.some((w) => w.rule === "training-mode")).length;
  if (!d) {
    if (!training) return ["No BN layer is exported with training_mode=1, so the outputs do not depend on which samples share a batch."];
    return [
      `${training} BN layer${training === 1 ? " is" : "s are"} exported with training_mode=1, but how much the outputs depend on the batch was not measured: ${report.data.synthetic ? "random inputs say nothing about your data; run on data" : "a merged or sharded report does not carry it; run on the whole data"}.`,
    ];
  }
  const lines = [describeBatchDependence(d)];
  if (!d.outputs.length) return lines;
  const level = `${Math.round(d.confidence * 100)}% CI`;
  const w = Math.max(8, Math.min(32, Math.max(...d.outputs.map((o) => o.output.length))));
  lines.push("");
  lines.push(`${pad("output", w)}  ${pad(`mean |change| (${level})`, 30)}  ${pad(`relative L2 change (${level})`, 30)}  mean |output|`);
  for (const o of d.outputs) {
    const iv = o.meanAbsChangeInterval;
    lines.push(
      `${pad(o.output, w)}  ${pad(`${fmt(o.meanAbsChange)}${iv ? ` (${fmt(iv[0])}–${fmt(iv[1])})` : ""}`, 30)}  ${pad(relativeChangeText(o), 30)}  ${fmt(o.meanAbsReference)}`,
    );
  }
  return lines;
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
export function formatModelDescription(o: ModelDescription): string {
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
  // Findings that need no data (invalid stored parameters); the model-level ones are the statement above.
  const stored = o.warnings.filter((w) => w.layer !== undefined);
  if (stored.length) {
    lines.push("", `Stored parameters: ${stored.length} layer${stored.length === 1 ? "" : "s"} with invalid values.`);
    for (const w of stored) lines.push(`  ${w.severity.padEnd(7)} ${w.layer} [${w.rule}] ${w.message}`);
  }
  return lines.join("\n");
}
