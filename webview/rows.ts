// What the overview table does with LayerRows: severity, sorting, filtering, badges and plain-words
// explanations of each rule. Pure, unit-tested in plain Node.
import type { LayerRow } from "../src/protocol/webview";
import type { RuleId, Severity, WarningJson } from "../src/core/report";

/** Sort keys of the overview. */
export type SortKey = "order" | "z" | "varRatio" | "saturation" | "severity";
export type SortDir = "asc" | "desc";
/** Severity filter: every row, rows with an error, with a warning or worse, with any finding, with none. */
export type SeverityFilter = "all" | "error" | "warning" | "any" | "ok";

export const SORT_LABELS: Record<SortKey, string> = {
  order: "graph order",
  z: "worst |z|",
  varRatio: "variance ratio",
  saturation: "flat share",
  severity: "severity",
};

export const FILTER_LABELS: Record<SeverityFilter, string> = {
  all: "All layers",
  error: "Errors only",
  warning: "Warnings and errors",
  any: "Any finding",
  ok: "No findings",
};

const RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

/** A stable key of a row (BN layers and activation layers have separate index spaces). */
export function rowKey(r: Pick<LayerRow, "kind" | "index">): string {
  return `${r.kind}:${r.index}`;
}

/** The highest severity among a row's findings, or null. */
export function rowSeverity(r: LayerRow): Severity | null {
  if (r.summary) return r.summary.severity;
  return worstSeverity(r.warnings);
}

/** The highest severity of a list of findings, or null. */
export function worstSeverity(ws: readonly WarningJson[]): Severity | null {
  let best: Severity | null = null;
  for (const w of ws) if (best === null || RANK[w.severity] > RANK[best]) best = w.severity;
  return best;
}

/** The value a sort key orders by; null sorts last whichever the direction. */
export function sortValue(r: LayerRow, key: SortKey): number | null {
  switch (key) {
    case "order":
      return (r.kind === "bn" ? 0 : 1e9) + r.index;
    case "z":
      return r.summary?.worstZ ? Math.abs(r.summary.worstZ.value) : null;
    case "varRatio":
      return r.summary?.worstVarRatio?.value ?? null;
    case "saturation":
      return r.saturation.layerFraction;
    case "severity": {
      const s = rowSeverity(r);
      return s === null ? 0 : RANK[s];
    }
  }
}

/** The natural direction of a key: graph order ascending, everything else worst first. */
export function defaultDir(key: SortKey): SortDir {
  return key === "order" ? "asc" : "desc";
}

/** Sorts rows (a new array); ties keep graph order. */
export function sortRows(rows: readonly LayerRow[], key: SortKey, dir: SortDir): LayerRow[] {
  const sign = dir === "asc" ? 1 : -1;
  const keyed = rows.map((r) => ({ r, v: sortValue(r, key), o: sortValue(r, "order") as number }));
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) {
      if (a.v !== b.v) return a.v === null ? 1 : -1;
    } else if (a.v !== b.v) return sign * (a.v - b.v);
    return a.o - b.o;
  });
  return keyed.map((k) => k.r);
}

/** Whether a row passes the severity filter and the name search (case-insensitive substring). */
export function rowMatches(r: LayerRow, filter: SeverityFilter, search: string): boolean {
  const s = rowSeverity(r);
  const pass =
    filter === "all"
      ? true
      : filter === "error"
        ? s === "error"
        : filter === "warning"
          ? s === "error" || s === "warning"
          : filter === "any"
            ? s !== null
            : s === null;
  if (!pass) return false;
  const q = search.trim().toLowerCase();
  return q === "" || r.node.toLowerCase().includes(q) || r.activation.op.toLowerCase().includes(q);
}

/** Sorted and filtered rows, as the table shows them. */
export function visibleRows(
  rows: readonly LayerRow[],
  o: { sort: SortKey; dir: SortDir; filter: SeverityFilter; search: string },
): LayerRow[] {
  return sortRows(
    rows.filter((r) => rowMatches(r, o.filter, o.search)),
    o.sort,
    o.dir,
  );
}

/** Short badge label and plain explanation of each rule. */
export const RULES: Record<RuleId, { badge: string; title: string; explain: string }> = {
  "mean-shift": {
    badge: "stale mean",
    title: "Running mean does not match the data",
    explain:
      "BN subtracts the mean it stored during training (the running mean). When the data you ran has a different mean, " +
      "every value after BN is shifted, and the layers that follow see inputs they were not trained on. " +
      "z counts how many stored standard deviations the observed mean is from the stored one; at 1σ or more the statistics look stale " +
      "(different preprocessing, a domain shift, or statistics not updated after fine-tuning).",
  },
  "variance-ratio": {
    badge: "stale variance",
    title: "Running variance does not match the data",
    explain:
      "BN divides by the standard deviation it stored during training. When the data's variance differs, values after BN are " +
      "squeezed or stretched. The ratio compares observed and stored variance (whichever is larger over the smaller); from 2× the " +
      "stored statistics look stale (exactly 2× counts).",
  },
  saturation: {
    badge: "saturated",
    title: "The nonlinearity after BN is saturated",
    explain:
      "Many post-BN values fall where the following function (sigmoid, tanh, clip…) is flat: there its output barely changes and " +
      "gradients vanish, so the channel carries little information. Usually gamma/beta are too large or the inputs are shifted.",
  },
  "rectifier-off": {
    badge: "mostly off",
    title: "The rectifier after BN is almost always off",
    explain:
      "For ReLU-like functions the flat side is their normal 'off' state, and about half the values there is healthy. A channel that is " +
      "off for nearly every value passes almost nothing: beta may be pushed far negative, or the inputs differ from training.",
  },
  "dead-channel": {
    badge: "dead channels",
    title: "Dead channels",
    explain:
      "A dead channel outputs a constant: gamma is about 0, the stored variance is about 0, or every value lands in the flat part of the " +
      "nonlinearity. It can be pruned, or it points to a training problem.",
  },
  "non-finite": {
    badge: "NaN/Inf",
    title: "Values that are not finite",
    explain:
      "NaN or infinite values appeared. They are counted apart and never enter the statistics; they usually mean an overflow upstream.",
  },
  "low-count": {
    badge: "few values",
    title: "Too few values for reliable statistics",
    explain: "Some channels saw very few values, so their means and variances are uncertain. Run on more samples.",
  },
  "training-mode": {
    badge: "training mode",
    title: "Exported in training mode",
    explain:
      "At inference this BN normalises each batch with the batch's own statistics, not the stored ones, so results depend on the batch.",
  },
  "invalid-parameters": {
    badge: "invalid BN",
    title: "The model stores invalid BN parameters",
    explain:
      "A variance below 0, an epsilon below 0, or a NaN or infinite mean, variance, gamma or beta is stored in the model itself. BN then " +
      "outputs NaN or nonsense whatever the data; the model file is damaged or was exported from a broken checkpoint.",
  },
  "bn-in-subgraph": {
    badge: "BN in subgraph",
    title: "BatchNormalization inside a subgraph",
    explain:
      "Some BN nodes sit inside the body of an If, Loop or Scan node. BN Lens measures BN in the main graph only, so those layers are not measured.",
  },
  "bn-fused": {
    badge: "BN fused",
    title: "BatchNormalization was fused away",
    explain:
      "BN was folded into the preceding convolution at export, so there are no running statistics to compare; BN Lens shows activation statistics instead.",
  },
  "random-data": {
    badge: "random inputs",
    title: "The run used random inputs",
    explain:
      "Random inputs check that the model runs and show what its stored parameters imply; they say nothing about whether its BN " +
      "statistics fit real data, so the rules that compare observed with stored statistics were not judged. Run on data to check them.",
  },
  "expected-flat": {
    badge: "flat by training",
    title: "Training left channels mostly in the flat region",
    explain:
      "From gamma and beta alone (post-BN values N(beta, gamma²) under the stored statistics, a normal approximation), these " +
      "channels were expected to sit mostly in the flat part of the following nonlinearity, whatever the data.",
  },
  "batch-size": {
    badge: "small batch",
    title: "Training batches too small for stable batch statistics",
    explain:
      "During training BN normalises with each batch's own mean and std. With few samples per batch these stray from the population's " +
      "(batch renormalization's d and r); the study shows, per batch size, the range 95% of random batches stay within.",
  },
};

/** The dead-channel explanation for layers without BN (fused away): no gamma, no running variance. */
export const FUSED_DEAD_EXPLAIN =
  "A dead channel outputs a constant: every value it produced on this data lands in the flat part of the nonlinearity that follows " +
  "(for ReLU: it is never positive). It can be pruned, or it points to a training problem.";

/** The explanation of a rule for a layer, in the words of that kind of layer. */
export function ruleExplain(rule: RuleId, kind: LayerRow["kind"]): string | undefined {
  if (kind === "activation" && rule === "dead-channel") return FUSED_DEAD_EXPLAIN;
  return RULES[rule]?.explain;
}

/** A badge's label: per-channel rules say how many channels they concern, so "mostly off" never reads as the layer's share. */
function badgeLabel(w: WarningJson): string {
  const base = RULES[w.rule]?.badge ?? w.rule;
  const n = w.channels?.length;
  if (n === undefined) return base;
  if (w.rule === "rectifier-off") return `${n} ch mostly off`;
  if (w.rule === "dead-channel") return `${n} dead ch`;
  return base;
}

/** One badge per rule a row's findings name, worst severity first. */
export function badges(ws: readonly WarningJson[]): { rule: RuleId; label: string; severity: Severity; message: string }[] {
  const byRule = new Map<RuleId, WarningJson>();
  for (const w of ws) {
    const seen = byRule.get(w.rule);
    if (!seen || RANK[w.severity] > RANK[seen.severity]) byRule.set(w.rule, w);
  }
  return [...byRule.values()]
    .sort((a, b) => RANK[b.severity] - RANK[a.severity])
    .map((w) => ({ rule: w.rule, label: badgeLabel(w), severity: w.severity, message: w.message }));
}

/** Whether a figure crosses a rule's warning or error threshold: the CSS class that colours it. */
export function level(v: number | null | undefined, t: { warning: number; error?: number }): "" | "warn" | "err" {
  if (v === null || v === undefined) return "";
  if (t.error !== undefined && v >= t.error) return "err";
  return v >= t.warning ? "warn" : "";
}

/** How the flat-share column reads for a row: "off" for rectifiers, "saturated" otherwise. */
export function flatWord(kind: LayerRow["saturation"]["kind"]): string {
  return kind === "rectifier" ? "off" : kind === "saturating" ? "saturated" : "";
}

/**
 * A row's dead channels: the judged list of BN layers, the dead-channel finding's channels of layers
 * without BN (so the column, the summary answer and the badge always agree).
 */
export function deadChannels(r: LayerRow): number[] {
  if (r.summary) return r.summary.deadChannels;
  const w = r.warnings.find((x) => x.rule === "dead-channel");
  return w ? [...(w.channels ?? (w.channel !== undefined ? [w.channel] : []))] : [];
}

/** The layers that answer the three questions the panel is for, in graph order. */
export interface Answers {
  /** False when no row has stored statistics (BN fused away). */
  hasStored: boolean;
  stale: LayerRow[];
  dead: { row: LayerRow; channels: number }[];
  saturated: LayerRow[];
  mostlyOff: LayerRow[];
}

/** Which layers have stale statistics, dead channels, a saturated or mostly-off nonlinearity. */
export function answers(rows: readonly LayerRow[]): Answers {
  const ordered = sortRows(rows, "order", "asc");
  // Info findings of these rules are "not decided" notes (the interval still reaches the threshold), not answers.
  const has = (r: LayerRow, ...rules: RuleId[]) => r.warnings.some((w) => rules.includes(w.rule) && w.severity !== "info");
  return {
    hasStored: ordered.some((r) => r.kind === "bn"),
    stale: ordered.filter((r) => has(r, "mean-shift", "variance-ratio")),
    dead: ordered.map((row) => ({ row, channels: deadChannels(row).length })).filter((d) => d.channels > 0),
    saturated: ordered.filter((r) => has(r, "saturation")),
    mostlyOff: ordered.filter((r) => has(r, "rectifier-off")),
  };
}
