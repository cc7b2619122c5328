/**
 * The BN Lens report: what `bn-lens inspect --json` writes, what `merge` reads, what the panel shows.
 * Versioned by `schemaVersion`; README "Report format" documents every field.
 * Per-channel arrays are indexed by channel. Numbers that cannot be computed (no data) are null.
 */
export const REPORT_SCHEMA_VERSION = 2;

/** Severity of a finding, as shown in the Problems panel. */
export type Severity = "error" | "warning" | "info";

/** A closed interval of the real line; null stands for -Infinity (lo) or +Infinity (hi). */
export type IntervalJson = [number | null, number | null];

/** Values that are not finite, counted apart and never folded into the statistics. */
export interface NonFiniteCounts {
  nan: number;
  posInf: number;
  negInf: number;
}

/**
 * Histogram on BN Lens's fixed logarithmic buckets (see HistogramScheme): per channel and the layer total.
 * `counts[k]` is the count of bucket `first + k`; every row of `perChannel` starts at the same `first`.
 */
export interface HistogramJson {
  first: number;
  total: number[];
  perChannel: number[][];
}

/** Per-channel statistics of one captured tensor (pre-BN or post-BN values). */
export interface ChannelStatsJson {
  /** Finite values seen per channel (all samples x all spatial positions). */
  count: number[];
  mean: (number | null)[];
  /** Population variance: sum of squared deviations divided by count (not count - 1). */
  var: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  nonFinite: NonFiniteCounts;
  histogram: HistogramJson;
}

/** The nonlinearity found after a layer and its flat (saturating) region. */
export interface ActivationJson {
  /** "Relu", "Clip", "Sigmoid", "HardSwish", "Silu", "Relu→Clip", ... or "none". */
  op: string;
  description: string;
  nodes: string[];
  /** What else reads the tensor (or what reads it when op is "none"). */
  consumers: string[];
  /** Flat region in post-BN units: where the slope is below `slopeFraction` of its maximum. */
  flatRegion: {
    intervals: IntervalJson[];
    /** Per-channel intervals when they differ by channel (PRelu). */
    perChannel?: IntervalJson[][];
    description: string;
    slopeFraction: number;
  };
}

/** Saturation of the following nonlinearity, measured on post-BN values. */
export interface SaturationJson {
  /**
   * How the flat region is judged: "rectifier" when its low side is the function's normal off state
   * (ReLU, ReLU6's lower side, HardSwish, GELU...), "saturating" when every flat part is saturation
   * (sigmoid, tanh, hard sigmoid, clip with a negative lower bound), "none" without a flat region.
   */
  kind: "rectifier" | "saturating" | "none";
  /** Post-BN values in the flat region, per channel. */
  count: number[];
  /** Per channel, the count in each interval of activation.flatRegion (same order). */
  countByInterval: number[][];
  /** count / finite values, per channel (null without data). */
  fraction: (number | null)[];
  /** Share of all finite post-BN values of the layer in the flat region. */
  layerFraction: number | null;
}

/** Observed statistics compared with what the layer stores. */
export interface ComparisonJson {
  /** (observed mean - running mean) / sqrt(running var + eps), per channel. */
  z: (number | null)[];
  /** max(observed var / running var, running var / observed var), per channel. */
  varRatio: (number | null)[];
  /** Observed post-BN mean minus beta, per channel (equals gamma * z). */
  postMeanMinusBeta: (number | null)[];
  /** Observed post-BN std divided by |gamma| (1 when the statistics fit), per channel. */
  postStdOverGamma: (number | null)[];
  /**
   * Confidence interval of z per channel (level `thresholds.confidence`), from the between-sample variance of
   * per-sample means (src/core/stats/uncertainty.ts); null with fewer than two samples.
   */
  zInterval: ([number, number] | null)[];
  /** Confidence interval of varRatio per channel (delta method on the log scale); null as for zInterval. */
  varRatioInterval: ([number, number] | null)[];
  /** Effective sample size per channel: the number of samples (independent units) behind the intervals. */
  effectiveSamples: number[];
}

/**
 * Per-channel moments of per-sample statistics of the pre-BN values (src/core/stats/sampleMoments.ts):
 * sample i has mean m_i, population variance w_i and q_i = w_i + (m_i - center)², center = running mean.
 */
export interface SampleMomentsJson {
  center: number[];
  /** Samples per channel. */
  n: number[];
  /** Means over samples of m, w and q. */
  mean: { m: number[]; w: number[]; q: number[] };
  /** Sums of squared deviations over samples of m, w and q. */
  m2: { m: number[]; w: number[]; q: number[] };
  /** Co-moment Σ(m_i - m̄)(q_i - q̄). */
  cmq: number[];
}

/** What the stored parameters imply, before any data: post-BN values N(beta, gamma²) (normal approximation). */
export interface ExpectedJson {
  /** Expected share of post-BN values in the flat region, per channel. */
  flat: number[];
  /** The part of `flat` on a rectifier's off side (0 for saturating functions). */
  off: number[];
  /** The part of `flat` that is saturation. */
  saturated: number[];
  method: string;
}

/** A finding of the rule list. */
export interface WarningJson {
  rule: RuleId;
  severity: Severity;
  /** The layer's node name; absent for model-level findings. */
  layer?: string;
  /** The worst channel, when the finding is about channels. */
  channel?: number;
  /** All channels concerned, worst first. */
  channels?: number[];
  /** The measured value of the worst channel and the threshold it crossed. */
  value?: number;
  threshold?: number;
  /** One or two sentences: symptom, numbers, likely cause. */
  message: string;
}

/** Identifiers of the rules in the rule list (README "Warnings"). */
export const RULE_IDS = [
  "mean-shift",
  "variance-ratio",
  "saturation",
  "rectifier-off",
  "dead-channel",
  "non-finite",
  "low-count",
  "training-mode",
  "bn-fused",
  "invalid-parameters",
  "bn-in-subgraph",
  "random-data",
  "expected-flat",
  "batch-size",
] as const;

/** One rule of the rule list. */
export type RuleId = (typeof RULE_IDS)[number];

/** A per-layer digest for the overview. */
export interface LayerSummaryJson {
  worstZ: { channel: number; value: number } | null;
  worstVarRatio: { channel: number; value: number } | null;
  worstSaturation: { channel: number; value: number } | null;
  deadChannels: number[];
  /** For each rule, how many channels cross its warning and error thresholds. */
  exceed: Partial<Record<RuleId, { warning: number; error: number }>>;
  /** Highest severity among the layer's warnings, or null. */
  severity: Severity | null;
}

/** One BatchNormalization layer, in graph order. */
export interface LayerReport {
  index: number;
  node: string;
  /** BN input (pre-BN) and output (post-BN) tensor names. */
  input: string;
  output: string;
  channels: number;
  /** Rank of the BN input: 2 (BatchNorm1d after Gemm/MatMul), 3, 4 or 5. */
  rank: number;
  epsilon: number;
  producer: { op: string; node: string } | null;
  activation: ActivationJson;
  gamma: number[];
  beta: number[];
  running: { mean: number[]; var: number[] };
  pre: ChannelStatsJson;
  post: ChannelStatsJson;
  saturation: SaturationJson;
  compare: ComparisonJson;
  summary: LayerSummaryJson;
  warnings: WarningJson[];
  /**
   * Set when the statistics of this layer come from a systematic spatial sample (fast mode): every
   * strides[k]-th position along spatial axis k, `fraction` of all positions. Histograms, saturation,
   * minimum and maximum come from the sample; mean and variance from every value. Null when every value was measured.
   */
  sampling: { strides: number[]; fraction: number } | null;
  /** Per-sample moments of the pre-BN values (null when unavailable). */
  perSample: SampleMomentsJson | null;
  /** Flat-region shares the stored gamma and beta imply (data-free). */
  expected: ExpectedJson;
}

/** When BN was fused away: statistics of a Conv/Gemm/MatMul output. */
export interface ActivationLayerReport {
  index: number;
  node: string;
  op: string;
  output: string;
  channels: number;
  /** Which axis of the output is the channel axis (1 for Conv/Gemm, last for MatMul). */
  channelAxis: number;
  activation: ActivationJson;
  stats: ChannelStatsJson;
  saturation: SaturationJson;
  warnings: WarningJson[];
}

/** The fixed logarithmic buckets every histogram uses (see src/core/stats/histogram.ts). */
export interface HistogramScheme {
  name: "log2-quarter-octave";
  bucketsPerOctave: number;
  minExponent: number;
  maxExponent: number;
  bucketCount: number;
  /** boundaries[i] separates bucket i from bucket i+1 (bucketCount - 1 numbers, increasing). */
  boundaries: number[];
}

/** Configurable thresholds of the rule list. */
export interface Thresholds {
  /** Flat region: slope below this fraction of the function's maximum slope. */
  slopeFraction: number;
  meanShift: { warning: number; error: number };
  varianceRatio: { warning: number; error: number };
  /** Share of post-BN values in the flat region of a saturating nonlinearity (sigmoid, tanh, clip...). */
  saturation: { warning: number; error: number };
  /** Share of values in the off side of a rectifier (ReLU-like) that marks a channel as nearly off. */
  rectifierOff: { warning: number };
  /** |gamma| at or below this marks a dead channel. */
  deadGamma: number;
  /** running var at or below this marks a dead channel. */
  deadRunningVar: number;
  /** Fewer finite values per channel than this makes statistics unreliable (info). */
  minCount: number;
  /** Level of the confidence intervals; mean-shift and variance-ratio fire when the interval's near end crosses. */
  confidence: number;
  /** Batch-size study: a batch's d = (batch mean - mean)/std must stay within ±tol and r = batch std/std within 1 ± tol. */
  batchTolerance: number;
}

/** The batch-size study of one BN layer (src/core/stats/batchStudy.ts). */
export interface BatchStudyLayerJson {
  layer: string;
  /** Batch sizes studied: 1, 2, 4, ... up to half the number of samples. */
  sizes: number[];
  /** For each size, the worst channel's 95% ranges of d and r over random batches (without replacement). */
  d95: number[];
  rLow: number[];
  rHigh: number[];
  /** Smallest studied size whose 95% ranges stay within the tolerance in every channel; null if none. */
  minBatch: number | null;
  /** Channel that needs the largest batch. */
  worstChannel: number | null;
}

/** Batch-size study over all layers. */
export interface BatchStudyJson {
  tolerance: number;
  samples: number;
  method: string;
  layers: BatchStudyLayerJson[];
}

/** How much one graph output changes when its sample shares a batch with different samples (training-mode BN). */
export interface BatchDependenceOutputJson {
  output: string;
  /** Samples measured (the independent units of the intervals). */
  samples: number;
  valuesPerSample: number;
  /** Mean over samples, values and reshuffles of |output in a random batch - output under population statistics|. */
  meanAbsChange: number;
  meanAbsChangeInterval: [number, number] | null;
  /** sqrt(sum of squared changes / sum of squared population outputs); null when the outputs are all 0. */
  relativeL2Change: number | null;
  relativeL2ChangeInterval: [number, number] | null;
  /** Mean |output| under population statistics, for scale. */
  meanAbsReference: number;
}

/** The measured dependence of the outputs on batch composition, for BN exported with training_mode=1. */
export interface BatchDependenceJson {
  /** The batch size of the random batches: --train-batch if given, else the run's batch size. */
  batchSize: number;
  batchSizeFrom: "train-batch" | "run-batch";
  /** Random batches each sample was run in. */
  reshuffles: number;
  seed: number;
  /** Samples measured (the first ones of the data, at most 256) and in the data. */
  samples: number;
  samplesTotal: number;
  /** The training-mode BN nodes. */
  layers: string[];
  confidence: number;
  method: string;
  outputs: BatchDependenceOutputJson[];
  /** Why nothing was measured (then outputs is empty), e.g. a batch that holds every sample. */
  note?: string;
}

/** A real model input and the shape BN Lens fed. */
export interface InputJson {
  name: string;
  dtype: string;
  declared: (number | string | null)[] | null;
  /** Per-sample dims actually fed (without the batch dim). */
  fed: number[];
}

/** Which shard of the data a report covers. */
export interface ShardJson {
  index: number;
  count: number;
  /** Samples of the whole data (after --samples), of which this shard took those with k mod count = index. */
  samplesTotal: number;
}

/** How statistics were computed; `exact` means float64 over every captured value. */
export interface PrecisionJson {
  mode: "exact" | "fast";
  description: string;
  /** Fraction of spatial positions that entered the histograms (1 when all did). */
  histogramSampling: number;
}

/** The whole report. */
export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  /**
   * The run's identity: the first 32 hex digits of sha256 over the model's sha256, the data (kind,
   * description, sources), the seed and the sample count. Two runs of the same model on the same data
   * have the same id, so `merge` can refuse a shard given twice. A merged report's id is derived from its shards'.
   */
  id: string;
  generator: { name: "bn-lens"; version: string; onnxruntime: string };
  createdAt: string;
  model: {
    path: string;
    name: string;
    sizeBytes: number;
    sha256: string;
    producer: string;
    irVersion: number;
    opset: number;
    nodeCount: number;
    inputs: InputJson[];
    outputs: string[];
    bnCount: number;
    /** True when the model has no BatchNormalization node. */
    fusedAway: boolean;
    /** A sentence that says what BN Lens found. */
    statement: string;
    /** Changes BN Lens made to run it (dynamic batch, opset upgrade...). */
    notes: string[];
  };
  /**
   * `kind`: "random" (seeded random inputs), "random-domain" (random inputs that are the model's own input
   * distribution, as in the demo), "npy", "npz", "onnx-test-data", "images", or kinds joined by "+" after merge.
   * `synthetic`: true when any data is random: the data-comparing rules are then not judged (README "Warnings").
   */
  data: { kind: string; synthetic: boolean; description: string; sources: string[] };
  /** Number of samples the statistics cover. */
  samples: number;
  run: {
    batchSize: number;
    seed: number;
    elapsedMs: number;
    /** How many runs were merged into this report (1 for a plain inspect). */
    runs: number;
    /** Ids of the single runs this report covers ([id] for a plain inspect); merge refuses overlaps. */
    shards: string[];
    precision: PrecisionJson;
    /** The training batch size the user gave (--train-batch, bnLens.trainBatchSize), or null. */
    trainBatch: number | null;
    /** Set on a shard's report (`inspect --shard index/count`): samples k with k mod count = index, of samplesTotal. */
    shard?: ShardJson;
  };
  thresholds: Thresholds;
  histogram: HistogramScheme;
  layers: LayerReport[];
  activations: ActivationLayerReport[];
  /** Model-level findings; layer findings live in layers[i].warnings. */
  warnings: WarningJson[];
  /** How a random batch's statistics spread around the population's, per layer (null without per-sample moments). */
  batchStudy: BatchStudyJson | null;
  /** Only for models with training_mode=1 BN run on data: how much outputs depend on batch composition. */
  batchDependence?: BatchDependenceJson;
  summary: {
    layers: number;
    channels: number;
    warnings: Record<Severity, number>;
  };
}
