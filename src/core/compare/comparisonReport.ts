/**
 * The BN Lens comparison report: what `bn-lens compare --json` writes and the panel's comparison mode shows.
 * Two inspection reports of one model (A, the baseline, and B) on the same histogram buckets, layer by layer
 * in graph order. Versioned by its own `schemaVersion`; README "Comparison report format" documents it.
 * Per-channel arrays are indexed by channel; numbers that cannot be computed are null.
 */
import type { HistogramScheme, PrecisionJson, Report, Severity } from "../report";

export const COMPARISON_SCHEMA_VERSION = 1;

/** Identifiers of the comparison rules (README "Comparing two data sets"). */
export type CompareRuleId = "domain-shift" | "new-dead-channel" | "saturation-change";

/** Configurable thresholds of the comparison rules. */
export interface CompareThresholds {
  /** Jensen-Shannon distance of a channel's pre-BN distribution at which the channel counts as shifted. */
  jsDistance: { warning: number; error: number };
  /** A channel's distance must also be this many times its noise floor (what two samples of one distribution show). */
  noiseFactor: number;
  /** Absolute change of a channel's share of post-BN values in the flat region of the following nonlinearity. */
  flatShareChange: { warning: number; error: number };
}

/** A finding of the comparison rules. */
export interface CompareFindingJson {
  rule: CompareRuleId;
  severity: Severity;
  /** The layer's node name. */
  layer: string;
  /** The worst channel and all channels concerned, worst first. */
  channel?: number;
  channels?: number[];
  /** The measured value (of the layer or the worst channel) and the threshold it crossed. */
  value?: number;
  threshold?: number;
  /** Symptom, numbers, likely cause. */
  message: string;
}

/** Drift of one captured tensor (pre-BN or post-BN values) from A to B. */
export interface DriftJson {
  /** (mean_B - mean_A) / std_A per channel. */
  smd: (number | null)[];
  /** var_B / var_A per channel (above 1: B is wider). */
  varRatio: (number | null)[];
  /** Jensen-Shannon distance (base 2, in [0, 1]) of the channel's histograms. */
  js: (number | null)[];
  /** Per channel, the JS distance two samples of one distribution of these sizes show on average (a lower bound). */
  jsNoiseFloor: (number | null)[];
  /** JS distance of the layer's pooled histograms (all channels together). */
  pooledJs: number | null;
  /** The layer's drift score: the largest JS distance of its channels (the worst channel's). */
  score: number | null;
  /** The noise floor of that worst channel. */
  scoreNoiseFloor: number | null;
  /** The mean of the channels' JS distances (how broad the shift is). */
  meanJs: number | null;
}

/** What one side (A or B) measured in a layer: moments, flat shares, dead channels, pooled histograms. */
export interface SideLayerJson {
  count: number[];
  mean: (number | null)[];
  /** Population variance. */
  var: (number | null)[];
  /** Post-BN mean and variance per channel (BN layers only; null for fused models' activations). */
  postMean: (number | null)[] | null;
  postVar: (number | null)[] | null;
  /** Share of post-BN values in the flat region of the following nonlinearity, per channel and for the layer. */
  flatShare: (number | null)[];
  layerFlatShare: number | null;
  dead: number[];
  /** Pooled bucket counts of the pre-BN (or activation) and post-BN values (post null for fused models). */
  preHistogram: { first: number; counts: number[] };
  postHistogram: { first: number; counts: number[] } | null;
}

/** One channel among a layer's worst, by JS distance of its pre-BN distribution. */
export interface WorstChannelJson {
  channel: number;
  js: number;
  smd: number | null;
  varRatio: number | null;
}

/** One layer compared: a BN layer, or a Conv/Gemm/MatMul output when BN was fused away. */
export interface LayerComparisonJson {
  index: number;
  node: string;
  /** "bn" (pre-BN distribution compared) or "activation" (a fused model's Conv/Gemm/MatMul output). */
  kind: "bn" | "activation";
  /** The op of the compared tensor's producer ("Conv", ...), or null when unknown. */
  op: string | null;
  channels: number;
  /** The following nonlinearity ("Relu", ... or "none") and how its flat region is judged. */
  activation: string;
  saturationKind: "rectifier" | "saturating" | "none";
  /** Flat region in post-BN units (as in the inspection report), for drawing. */
  flatRegion: [number | null, number | null][];
  /** Stored parameters (BN layers only). */
  running: { mean: number[]; var: number[]; epsilon: number } | null;
  /** Drift of the pre-BN (or activation) values: the layer's score. */
  pre: DriftJson;
  /** Drift of the post-BN values (BN layers only). */
  post: DriftJson | null;
  a: SideLayerJson;
  b: SideLayerJson;
  /** B's flat share minus A's, per channel and for the layer. */
  flatShareChange: (number | null)[];
  layerFlatShareChange: number | null;
  /** Channels dead on B but not on A, and dead on A but not on B. */
  newDead: number[];
  revived: number[];
  /** Up to 5 channels with the largest pre-BN JS distance. */
  worst: WorstChannelJson[];
  /**
   * Channels whose pre-BN JS distance crosses the warning threshold and `noiseFactor` times their noise floor,
   * largest distance first; the layer drifts when there is one.
   */
  shiftedChannels: number[];
  drifting: boolean;
  findings: CompareFindingJson[];
  severity: Severity | null;
}

/** Where one side of the comparison came from. */
export interface ComparedSideJson {
  /** The report file, when one was read (absent for a run made for this comparison). */
  reportPath?: string;
  createdAt: string;
  data: Report["data"];
  samples: number;
  precision: PrecisionJson;
}

/** The whole comparison. */
export interface ComparisonReport {
  schemaVersion: typeof COMPARISON_SCHEMA_VERSION;
  kind: "bn-lens-comparison";
  generator: { name: "bn-lens"; version: string };
  createdAt: string;
  model: { path: string; name: string; sha256: string; bnCount: number; fusedAway: boolean };
  a: ComparedSideJson;
  b: ComparedSideJson;
  thresholds: CompareThresholds;
  histogram: Pick<HistogramScheme, "name" | "bucketsPerOctave" | "minExponent" | "maxExponent" | "bucketCount">;
  layers: LayerComparisonJson[];
  /** The first layer in graph order whose drift crosses the threshold ("the shift starts at layer k"), or null. */
  shiftStart: { index: number; node: string; score: number } | null;
  summary: {
    layers: number;
    drifting: number;
    findings: Record<Severity, number>;
  };
}
