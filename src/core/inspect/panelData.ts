import type { ActivationLayerReport, HistogramJson, LayerReport, Report, Thresholds } from "../report";
import { rowIntervals } from "../stats/channelIntervals";

/** The layer-level histogram (all channels pooled), trimmed to its non-zero buckets. */
export function layerHistogram(h: HistogramJson): { first: number; counts: number[] } {
  let lo = 0;
  let hi = h.total.length - 1;
  while (lo <= hi && h.total[lo] === 0) lo++;
  while (hi >= lo && h.total[hi] === 0) hi--;
  return { first: h.first + lo, counts: h.total.slice(lo, hi + 1) };
}

function extent(values: readonly (number | null)[], pick: (a: number, b: number) => number): number | null {
  let out: number | null = null;
  for (const v of values) if (v !== null) out = out === null ? v : pick(out, v);
  return out;
}

/** One layers-table row of a BN layer. */
export function bnRow(l: LayerReport, t?: Thresholds, judged = true) {
  return {
    kind: "bn" as const,
    index: l.index,
    node: l.node,
    op: l.producer?.op ?? "input",
    channels: l.channels,
    activation: { op: l.activation.op, description: l.activation.description, flatRegion: l.activation.flatRegion },
    pre: layerHistogram(l.pre.histogram),
    post: layerHistogram(l.post.histogram),
    min: extent(l.post.min, Math.min),
    max: extent(l.post.max, Math.max),
    saturation: { kind: l.saturation.kind, layerFraction: l.saturation.layerFraction },
    expectedFlat:
      l.saturation.kind === "none" || !l.expected?.flat.length ? null : l.expected.flat.reduce((a, b) => a + b, 0) / l.expected.flat.length,
    summary: l.summary,
    warnings: l.warnings,
    ...(t ? { intervals: rowIntervals(l, t, judged) } : {}),
  };
}

/** One layers-table row of an activation layer (BN fused away). */
export function activationRow(a: ActivationLayerReport) {
  return {
    kind: "activation" as const,
    index: a.index,
    node: a.node,
    op: a.op,
    channels: a.channels,
    activation: { op: a.activation.op, description: a.activation.description, flatRegion: a.activation.flatRegion },
    post: layerHistogram(a.stats.histogram),
    min: extent(a.stats.min, Math.min),
    max: extent(a.stats.max, Math.max),
    saturation: { kind: a.saturation.kind, layerFraction: a.saturation.layerFraction },
    expectedFlat: null,
    summary: null,
    warnings: a.warnings,
  };
}

/** The report without per-channel arrays, for the report view (src/protocol/webview.ts CompactReport). */
export function compactReport(r: Report) {
  return {
    createdAt: r.createdAt,
    model: r.model,
    data: r.data,
    samples: r.samples,
    run: r.run,
    thresholds: r.thresholds,
    histogram: r.histogram,
    rows: [...r.layers.map((l) => bnRow(l, r.thresholds, !r.data.synthetic)), ...r.activations.map(activationRow)],
    warnings: r.warnings,
    summary: r.summary,
    batchStudy: r.batchStudy ?? null,
    batchDependence: r.batchDependence ?? null,
  };
}
