/**
 * A report without its per-channel statistics: what the terminal table, SARIF, Model Explorer's node data
 * and the CI gate read. A merge that streams its layers keeps this much of each (a few numbers, the
 * findings and, for the table's "expected" column, the expected flat shares); a whole Report is one too.
 */
import type { ActivationLayerReport, ChannelStatsJson, ExpectedJson, LayerReport, Report, SaturationJson } from "../report";

/** What the summaries read of a BN layer. */
export type LayerOutline = Pick<LayerReport, "index" | "node" | "channels" | "activation" | "summary" | "warnings"> & {
  saturation: Pick<SaturationJson, "layerFraction">;
  expected: Pick<ExpectedJson, "flat">;
};

/** What the summaries read of an activation layer (a model without BN). */
export type ActivationOutline = Pick<ActivationLayerReport, "index" | "node" | "op" | "channels" | "activation" | "warnings"> & {
  saturation: Pick<SaturationJson, "layerFraction">;
  stats: Pick<ChannelStatsJson, "count" | "mean" | "var">;
};

/** A report with outlines for layers: every top-level field but the per-channel data. */
export type ReportOutline = Omit<Report, "layers" | "activations"> & { layers: LayerOutline[]; activations: ActivationOutline[] };

/** The outline of a BN layer (new small objects: the layer itself can be let go). */
export function layerOutline(l: LayerReport): LayerOutline {
  return {
    index: l.index,
    node: l.node,
    channels: l.channels,
    activation: l.activation,
    summary: l.summary,
    warnings: l.warnings,
    saturation: { layerFraction: l.saturation.layerFraction },
    expected: { flat: l.expected.flat },
  };
}

/** The outline of an activation layer. */
export function activationOutline(a: ActivationLayerReport): ActivationOutline {
  return {
    index: a.index,
    node: a.node,
    op: a.op,
    channels: a.channels,
    activation: a.activation,
    warnings: a.warnings,
    saturation: { layerFraction: a.saturation.layerFraction },
    stats: { count: a.stats.count, mean: a.stats.mean, var: a.stats.var },
  };
}
