/**
 * The before/after of a recalibration as the panel shows it: per layer the worst |z|, worst variance ratio,
 * flat share and dead channels of the original model (before) and of the recalibrated one (after) on the
 * same data, both post-BN histograms (pooled over channels, on the report's shared buckets), the change of
 * the graph outputs and the warning counts. Built from the verification result alone (no per-channel arrays).
 */
import { layerHistogram } from "../inspect/panelData";
import type { Report } from "../report";
import { STALE_RULES, type LayerSide, type OutputChangeJson, type RecalibrationJson } from "./recalibration";

/** A pooled histogram: bucket counts from bucket `first` (see the report's HistogramScheme). */
export interface BucketCounts {
  first: number;
  counts: number[];
}

/** One BN layer before and after. */
export interface BeforeAfterLayer {
  /** The layer's index in the recalibrated model's report (the panel's # column). */
  index: number;
  node: string;
  channels: number;
  /** False when the layer was left out (--layers) and kept its stored statistics. */
  recalibrated: boolean;
  before: LayerSide;
  after: LayerSide;
  /** Post-BN values, all channels pooled: with the original statistics (before) and the new ones (after). */
  postBefore: BucketCounts;
  postAfter: BucketCounts;
}

/** Warning counts of one report: stale-statistics findings and all findings, of severity warning or error. */
export interface WarningCounts {
  stale: number;
  all: number;
}

/** What the panel shows of a recalibration (the protocol's RecalibrationView). */
export interface BeforeAfter {
  /** The model that was recalibrated (path) and the file written. */
  original: string;
  out: string;
  data: string;
  samples: number;
  passes: number;
  converged: boolean;
  method: RecalibrationJson["method"];
  blend: number;
  tolerance: RecalibrationJson["tolerance"];
  recalibratedLayers: number;
  warnings: { before: WarningCounts; after: WarningCounts };
  outputs: OutputChangeJson[];
  notes: string[];
  layers: BeforeAfterLayer[];
}

function warningCounts(r: Report): WarningCounts {
  let stale = 0;
  for (const l of r.layers) for (const w of l.warnings) if (STALE_RULES.has(w.rule) && w.severity !== "info") stale++;
  return { stale, all: r.summary.warnings.error + r.summary.warnings.warning };
}

/** The panel's before/after of a recalibration result; layers follow the recalibrated model's report order. */
export function beforeAfter(r: RecalibrationJson): BeforeAfter {
  const beforeLayers = new Map(r.before.layers.map((l) => [l.node, l]));
  const sides = new Map(r.layers.map((l) => [l.node, l]));
  const layers: BeforeAfterLayer[] = [];
  for (const after of r.after.layers) {
    const before = beforeLayers.get(after.node);
    const side = sides.get(after.node);
    if (!before || !side) continue;
    layers.push({
      index: after.index,
      node: after.node,
      channels: after.channels,
      recalibrated: side.recalibrated,
      before: side.before,
      after: side.after,
      postBefore: layerHistogram(before.post.histogram),
      postAfter: layerHistogram(after.post.histogram),
    });
  }
  return {
    original: r.model,
    out: r.out,
    data: r.data,
    samples: r.samples,
    passes: r.passes.length,
    converged: r.converged,
    method: r.method,
    blend: r.blend,
    tolerance: r.tolerance,
    recalibratedLayers: r.layers.filter((l) => l.recalibrated).length,
    warnings: { before: warningCounts(r.before), after: warningCounts(r.after) },
    outputs: r.outputs,
    notes: r.notes,
    layers,
  };
}
