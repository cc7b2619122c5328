import type { ComparisonReport, LayerComparisonJson } from "../core/compare/comparisonReport";
import type { Severity } from "../core/report";
import { fmt } from "../core/stats/judge";

function pad(s: string, n: number, right = false): string {
  if (s.length > n) s = s.slice(0, n - 1) + "…";
  return right ? s.padStart(n) : s.padEnd(n);
}

function pct(x: number | null): string {
  return x === null ? "–" : `${(x * 100).toFixed(1)}%`;
}

function signed(x: number | null, digits = 1): string {
  if (x === null) return "n/a";
  const s = Math.abs(x) >= 100 ? x.toExponential(1) : x.toFixed(digits);
  return x >= 0 ? `+${s}` : s;
}

const mark: Record<Severity, string> = { error: "E", warning: "W", info: "i" };

function worstCell(l: LayerComparisonJson): string {
  return l.worst
    .slice(0, 2)
    .map((w) => `c${w.channel} ${w.js.toFixed(2)} ${signed(w.smd)}σ ×${w.varRatio === null ? "n/a" : fmt(w.varRatio)}`)
    .join(", ");
}

/** The readable per-layer comparison table, the shift's start and the findings, as the CLI prints them. */
export function formatComparison(c: ComparisonReport, options: { maxFindings?: number } = {}): string {
  const lines: string[] = [];
  const t = c.thresholds;
  const what = c.model.fusedAway ? "Conv/Gemm/MatMul outputs (BN was fused away)" : `${c.model.bnCount} BN layers`;
  lines.push(`BN Lens ${c.generator.version}: comparing two data sets on ${c.model.name} (${what})`);
  lines.push(`A (baseline): ${c.a.data.description}; ${c.a.samples} samples, statistics ${c.a.precision.mode}`);
  lines.push(`B:            ${c.b.data.description}; ${c.b.samples} samples, statistics ${c.b.precision.mode}`);
  lines.push("");
  const nameWidth = Math.max(12, Math.min(32, Math.max(0, ...c.layers.map((l) => l.node.length))));
  const kind = c.model.fusedAway ? "layer" : "BN layer";
  lines.push(
    `${pad("#", 4, true)}  ${pad(kind, nameWidth)}  ${pad("ch", 5, true)}  ${pad("drift", 6, true)}  ${pad("noise", 6, true)}  ${pad("mean", 6, true)}  ${pad("shifted", 7, true)}  ${pad("worst channels: JS SMD var B/A", 42)}  ${pad("flat A→B", 13, true)}  ${pad("dead+", 5, true)}  !`,
  );
  for (const l of c.layers) {
    const start = c.shiftStart?.index === l.index ? "  ← shift starts" : "";
    const flat = l.layerFlatShareChange === null ? "–" : `${pct(l.a.layerFlatShare)}→${pct(l.b.layerFlatShare)}`;
    lines.push(
      [
        pad(String(l.index), 4, true),
        pad(l.node, nameWidth),
        pad(String(l.channels), 5, true),
        pad(l.pre.score === null ? "–" : l.pre.score.toFixed(3), 6, true),
        pad(l.pre.scoreNoiseFloor === null ? "–" : l.pre.scoreNoiseFloor.toFixed(3), 6, true),
        pad(l.pre.meanJs === null ? "–" : l.pre.meanJs.toFixed(3), 6, true),
        pad(String(l.shiftedChannels.length), 7, true),
        pad(worstCell(l), 42),
        pad(flat, 13, true),
        pad(String(l.newDead.length), 5, true),
        (l.severity ? mark[l.severity] : "") + start,
      ].join("  "),
    );
  }
  lines.push("");
  lines.push(
    `drift: the largest Jensen-Shannon distance (base 2; 0 same, 1 disjoint) of a channel's ${c.model.fusedAway ? "" : "pre-BN "}histograms on A and B; ` +
      "noise: that channel's noise floor (what two samples of one distribution of these sizes show); mean: mean distance over channels; " +
      `shifted: channels at ${fmt(t.jsDistance.warning)} or more (error ${fmt(t.jsDistance.error)}) and ${fmt(t.noiseFactor)}× their noise floor, a layer with one drifts; ` +
      "SMD: (mean_B − mean_A) / std_A; var B/A: variance ratio; flat: share of post-BN values in the following nonlinearity's flat region; dead+: channels dead on B only.",
  );
  lines.push("");
  if (c.shiftStart) {
    const l = c.layers.find((x) => x.index === c.shiftStart!.index)!;
    lines.push(
      `The shift starts at layer ${l.index} (${l.node}): ${l.shiftedChannels.length} of ${l.channels} channels shifted, worst JS ${fmt(l.pre.score)}; ` +
        `${c.summary.drifting} of ${c.summary.layers} layers drift.`,
    );
  } else {
    const worst = c.layers.reduce<LayerComparisonJson | null>((w, l) => ((l.pre.score ?? -1) > (w?.pre.score ?? -1) ? l : w), null);
    lines.push(
      `No drift: no channel of any layer crosses ${fmt(t.jsDistance.warning)} and ${fmt(t.noiseFactor)}× its noise floor${worst && worst.pre.score !== null ? ` (largest distance: ${fmt(worst.pre.score)} at layer ${worst.index}, ${worst.node})` : ""}.`,
    );
  }
  const findings = c.layers.flatMap((l) => l.findings);
  const f = c.summary.findings;
  lines.push(`Findings: ${f.error} error${f.error === 1 ? "" : "s"}, ${f.warning} warning${f.warning === 1 ? "" : "s"}, ${f.info} info.`);
  const max = options.maxFindings ?? 20;
  const order: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  const sorted = [...findings].sort((x, y) => order[x.severity] - order[y.severity]);
  for (const w of sorted.slice(0, max)) lines.push(`  ${pad(w.severity, 7)} ${w.layer} [${w.rule}] ${w.message}`);
  if (sorted.length > max) lines.push(`  … and ${sorted.length - max} more (all of them are in the JSON comparison).`);
  return lines.join("\n");
}
