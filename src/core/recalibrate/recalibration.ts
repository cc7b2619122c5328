/**
 * The pure part of recalibration: which layers, what their statistics become, when the iteration has
 * converged, and the result a user reads (per layer before/after, passes, output change).
 */
import { UserError } from "../errors";
import type { BnLayer } from "../graph/bnLayers";
import type { OnnxModel } from "../onnx/model";
import type { LayerReport, Report } from "../report";

/** Convergence tolerance: every channel's |z| and variance ratio against its own input (issue #12). */
export const TOLERANCE = { z: 0.01, varRatio: 1.01 };
/** The rules a recalibration fixes: stale running statistics. */
export const STALE_RULES: ReadonlySet<string> = new Set(["mean-shift", "variance-ratio"]);
/** Measurement passes at most (the first measures the model as it is). */
export const DEFAULT_MAX_PASSES = 8;
/**
 * Fewer values per channel than this and BN Lens refuses: the relative standard error of a variance
 * estimated from n values is about sqrt(2/n) (14% at 100), the same bound as the low-count rule.
 */
export const DEFAULT_MIN_COUNT = 100;

/** One layer's statistics for the new model, and how far the candidate measured in the last pass was from them. */
export interface LayerTarget {
  layer: number;
  node: string;
  mean: Float64Array;
  var: Float64Array;
}

/** Turns a glob (`*`, `?`) into an anchored regular expression. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

/** The layers named by `patterns` (names or globs; all layers when absent). A pattern that matches nothing is a usage error. */
export function selectLayers(layers: readonly BnLayer[], patterns: readonly string[] | undefined): BnLayer[] {
  if (!patterns || patterns.length === 0) return [...layers];
  const chosen = new Set<BnLayer>();
  for (const p of patterns) {
    const re = globToRegExp(p);
    const hits = layers.filter((l) => l.name === p || re.test(l.name));
    if (hits.length === 0) {
      const some = layers
        .slice(0, 5)
        .map((l) => `"${l.name}"`)
        .join(", ");
      throw new UserError(
        "usage",
        `--layers "${p}" matches no BatchNormalization layer of this model (its ${layers.length} layers are named like ${some}${layers.length > 5 ? ", ..." : ""}).`,
      );
    }
    for (const h of hits) chosen.add(h);
  }
  return layers.filter((l) => chosen.has(l));
}

/** Observed pre-BN population statistics of one layer from a report, as float64 arrays. */
export function observed(layer: LayerReport): { mean: Float64Array; var: Float64Array; count: number[] } {
  const mean = new Float64Array(layer.channels);
  const v = new Float64Array(layer.channels);
  for (let c = 0; c < layer.channels; c++) {
    const m = layer.pre.mean[c];
    const s = layer.pre.var[c];
    if (m === null || s === null) {
      throw new UserError(
        "data",
        `Channel ${c} of BN layer "${layer.node}" saw no finite values on this data, so its statistics cannot be re-estimated.`,
      );
    }
    mean[c] = m;
    v[c] = s;
  }
  return { mean, var: v, count: layer.pre.count };
}

/** new = blend * observed + (1 - blend) * original, per channel. */
export function blendStats(
  obs: { mean: Float64Array; var: Float64Array },
  original: { mean: Float64Array; var: Float64Array },
  blend: number,
): { mean: Float64Array; var: Float64Array } {
  const n = obs.mean.length;
  const mean = new Float64Array(n);
  const v = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    mean[c] = blend === 1 ? obs.mean[c] : blend * obs.mean[c] + (1 - blend) * original.mean[c];
    v[c] = blend === 1 ? obs.var[c] : blend * obs.var[c] + (1 - blend) * original.var[c];
  }
  return { mean, var: v };
}

/** Worst |z| and variance ratio of stored statistics against a target, as the report computes them. */
export interface Deviation {
  worstZ: { channel: number; value: number } | null;
  worstVarRatio: { channel: number; value: number } | null;
}

/**
 * |z| = |target mean - stored mean| / sqrt(stored var + eps) and r = max(t/s, s/t) for the variance, per
 * channel, as in the report. Channels whose target and stored variance are both zero (a constant input)
 * have ratio 1. `roundMean`/`roundVar` give what the tensor's dtype can store: a difference no larger
 * than that rounding is not counted (float16 statistics cannot be closer).
 */
export function deviation(
  stored: { mean: Float64Array; var: Float64Array },
  target: { mean: Float64Array; var: Float64Array },
  epsilon: number,
  round: (x: number) => number = (x) => x,
): Deviation {
  let worstZ: Deviation["worstZ"] = null;
  let worstR: Deviation["worstVarRatio"] = null;
  for (let c = 0; c < stored.mean.length; c++) {
    const sd = Math.sqrt(stored.var[c] + epsilon);
    const dm = Math.abs(target.mean[c] - stored.mean[c]);
    const slackM = Math.abs(round(target.mean[c]) - target.mean[c]);
    const z = Math.max(0, dm - slackM) / sd;
    const t = target.var[c];
    const s = stored.var[c];
    const slackV = Math.abs(round(t) - t);
    let r: number;
    if (Math.abs(t - s) <= slackV) r = 1;
    else if (t === 0 || s === 0) r = Infinity;
    else r = Math.max(t / s, s / t);
    if (!worstZ || z > worstZ.value) worstZ = { channel: c, value: z };
    if (!worstR || r > worstR.value) worstR = { channel: c, value: r };
  }
  return { worstZ, worstVarRatio: worstR };
}

/** True when a deviation is within TOLERANCE. */
export function withinTolerance(d: Deviation): boolean {
  return (d.worstZ?.value ?? 0) <= TOLERANCE.z && (d.worstVarRatio?.value ?? 1) <= TOLERANCE.varRatio;
}

/** Checks that every selected channel saw enough values; refuses with the reason otherwise. */
export function checkCounts(report: Report, selected: ReadonlySet<string>, minCount: number): void {
  let worst: { node: string; channel: number; count: number; layer: LayerReport } | undefined;
  for (const l of report.layers) {
    if (!selected.has(l.node)) continue;
    l.pre.count.forEach((n, c) => {
      if (!worst || n < worst.count) worst = { node: l.node, channel: c, count: n, layer: l };
    });
  }
  if (worst && worst.count < minCount) {
    const perSample = report.samples > 0 ? Math.round(worst.count / report.samples) : 0;
    throw new UserError(
      "data",
      `The data gives only ${worst.count} values per channel at BN layer "${worst.node}" (${report.samples} samples × ${perSample} positions); ` +
        `re-estimating statistics needs at least ${minCount} per channel, because a variance estimated from n values is off by about sqrt(2/n) ` +
        `(${Math.round(Math.sqrt(2 / Math.max(worst.count, 1)) * 100)}% here); give more samples (or lower --min-count, or leave that layer out with --layers).`,
    );
  }
}

/** One layer before and after, as the CLI and the panel show it. */
export interface RecalLayerJson {
  node: string;
  channels: number;
  /** Whether its statistics were re-estimated (false: outside --layers, kept as stored). */
  recalibrated: boolean;
  old: { mean: number[]; var: number[] };
  new: { mean: number[]; var: number[] };
  before: LayerSide;
  after: LayerSide;
}

/** Summary numbers of a layer in one report. */
export interface LayerSide {
  worstZ: number | null;
  worstVarRatio: number | null;
  /** Share of post-BN values in the following nonlinearity's flat region (null when there is none). */
  flatShare: number | null;
  deadChannels: number;
  warnings: string[];
}

/** Change of one graph output between the original and the new model over the data. */
export interface OutputChangeJson {
  output: string;
  values: number;
  /** mean |new - old| over every value. */
  meanAbsChange: number;
  /** ||new - old||_2 / ||old||_2 over every value (null when the original output is all zeros). */
  relativeL2Change: number | null;
}

/** One measurement pass. */
export interface PassJson {
  pass: number;
  worstZ: number;
  worstVarRatio: number;
  /** The layer with the largest |z| in this pass. */
  worstLayer: string | null;
  elapsedMs: number;
}

/** What `bn-lens recalibrate` produced (the --json file). */
export interface RecalibrationJson {
  schemaVersion: 1;
  kind: "bn-lens-recalibration";
  generator: { name: "bn-lens"; version: string };
  model: string;
  out: string;
  /** The new external data file, when statistics were written to one. */
  externalData: string | null;
  data: string;
  samples: number;
  blend: number;
  tolerance: { z: number; varRatio: number };
  converged: boolean;
  /**
   * "one-batch solve": pass 2's candidate came from one run on all the data as one batch, every BN
   * normalising with its input's statistics; "passes": each candidate from the previous pass alone.
   */
  method: "one-batch solve" | "passes";
  passes: PassJson[];
  /** BN nodes written in inference mode that were exported with training_mode=1. */
  toInference: string[];
  changes: { node: string; slot: "mean" | "var"; from: string; to: string; how: string; dtype: string; storage: string }[];
  layers: RecalLayerJson[];
  outputs: OutputChangeJson[];
  /** Sentences the user should read (not converged, training mode changed, ...). */
  notes: string[];
  before: Report;
  after: Report;
}

/** A layer's side of the before/after table, from a report. */
export function layerSide(l: LayerReport): LayerSide {
  const flat = l.saturation.kind === "none" ? null : l.saturation.layerFraction;
  return {
    worstZ: l.summary.worstZ ? Math.abs(l.summary.worstZ.value) : null,
    worstVarRatio: l.summary.worstVarRatio?.value ?? null,
    flatShare: flat,
    deadChannels: l.summary.deadChannels.length,
    warnings: l.warnings.map((w) => w.rule),
  };
}

/**
 * Each layer's BN depth: how many BN layers lie on the longest path from a graph input to its input.
 * Graph nodes are in topological order (the ONNX spec requires it).
 */
export function bnDepths(model: OnnxModel, layers: readonly BnLayer[]): Map<string, number> {
  const bn = new Map(layers.map((l) => [l.node, l]));
  const level = new Map<string, number>();
  const depths = new Map<string, number>();
  for (const node of model.graph.node) {
    const layer = bn.get(node);
    let d = 0;
    for (const i of layer ? [node.input[0]] : node.input) d = Math.max(d, level.get(i) ?? 0);
    if (layer) {
      depths.set(layer.name, d);
      d += 1;
    }
    for (const o of node.output) if (o) level.set(o, d);
  }
  return depths;
}
