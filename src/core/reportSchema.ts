/**
 * The full schema of a BN Lens report (src/core/report.ts), checked on every report read from disk: by
 * `bn-lens merge` and by the extension when it restores a saved report. Besides types and ranges it checks
 * that every per-channel array has one entry per channel and that histogram rows fit the bucket scheme.
 */
import { UserError } from "./errors";
import {
  REPORT_SCHEMA_VERSION,
  RULE_IDS,
  type ActivationJson,
  type ActivationLayerReport,
  type BatchDependenceJson,
  type BatchDependenceOutputJson,
  type BatchStudyJson,
  type BatchStudyLayerJson,
  type ExpectedJson,
  type SampleMomentsJson,
  type ShardJson,
  type ChannelStatsJson,
  type ComparisonJson,
  type HistogramJson,
  type HistogramScheme,
  type InputJson,
  type LayerReport,
  type LayerSummaryJson,
  type PrecisionJson,
  type Report,
  type SaturationJson,
  type Thresholds,
  type WarningJson,
} from "./report";
import { SchemaError, array, bool, check, expect, int, literal, nullable, num, object, record, str, type Check } from "./schema";

const count = int(0);
const counts = array(count, undefined, "an array of whole numbers of at least 0");
const maybeNum = nullable(num());
const strings = array(str, undefined, "an array of strings");
const severity = literal("error", "warning", "info");
const interval = array(nullable(num()), 2, "an interval [lo, hi] of two numbers or nulls");
const pair = { warning: num(), error: num() };

const warning = object<WarningJson>(
  "a warning object",
  {
    rule: literal(...RULE_IDS),
    severity,
    layer: str,
    channel: count,
    channels: counts,
    value: maybeNum,
    threshold: maybeNum,
    message: str,
  },
  ["layer", "channel", "channels", "value", "threshold"],
);
const warnings = array(warning, undefined, "an array of warnings");

const activation = object<ActivationJson>("the following nonlinearity (an object)", {
  op: str,
  description: str,
  nodes: strings,
  consumers: strings,
  flatRegion: object<ActivationJson["flatRegion"]>(
    "a flat region object",
    {
      intervals: array(interval, undefined, "an array of intervals"),
      perChannel: array(array(interval, undefined, "an array of intervals"), undefined, "an array of interval lists"),
      description: str,
      slopeFraction: num(0),
    },
    ["perChannel"],
  ),
});

const histogram = object<HistogramJson>("a histogram object", {
  first: count,
  total: counts,
  perChannel: array(counts, undefined, "an array of bucket counts per channel"),
});

const channelStats = object<ChannelStatsJson>("per-channel statistics (an object)", {
  count: counts,
  mean: array(maybeNum, undefined, "an array of numbers or nulls"),
  var: array(nullable(num(0)), undefined, "an array of numbers of at least 0 or nulls"),
  min: array(maybeNum, undefined, "an array of numbers or nulls"),
  max: array(maybeNum, undefined, "an array of numbers or nulls"),
  nonFinite: object<ChannelStatsJson["nonFinite"]>("non-finite counts (an object)", { nan: count, posInf: count, negInf: count }),
  histogram,
});

const saturation = object<SaturationJson>("saturation counts (an object)", {
  kind: literal("rectifier", "saturating", "none"),
  count: counts,
  countByInterval: array(counts, undefined, "an array of counts per channel"),
  fraction: array(nullable(num(0)), undefined, "an array of fractions or nulls"),
  layerFraction: nullable(num(0)),
});

const numbersOrNulls = array(maybeNum, undefined, "an array of numbers or nulls");
const numbers = array(num(), undefined, "an array of numbers");
const intervals = array(nullable(array(num(), 2, "an interval [lo, hi] of two numbers")), undefined, "an array of intervals or nulls");
const mwq = object<SampleMomentsJson["mean"]>("an object of m, w and q arrays", { m: numbers, w: numbers, q: numbers });
const perSample = nullable(
  object<SampleMomentsJson>("per-sample moments (an object)", { center: numbers, n: counts, mean: mwq, m2: mwq, cmq: numbers }),
);
const expected = object<ExpectedJson>("expected flat shares (an object)", {
  flat: numbers,
  off: numbers,
  saturated: numbers,
  method: str,
});
const batchStudy = nullable(
  object<BatchStudyJson>("a batch-size study object", {
    tolerance: num(0),
    samples: count,
    method: str,
    layers: array(
      object<BatchStudyLayerJson>("a batch-size study layer", {
        layer: str,
        sizes: counts,
        d95: numbers,
        rLow: numbers,
        rHigh: numbers,
        minBatch: nullable(count),
        worstChannel: nullable(count),
      }),
      undefined,
      "an array of batch-size study layers",
    ),
  }),
);
const numberInterval = nullable(array(num(), 2, "an interval [lo, hi] of two numbers"));
const batchDependence = object<BatchDependenceJson>(
  "a batch-dependence object",
  {
    batchSize: int(1),
    batchSizeFrom: literal("train-batch", "run-batch"),
    reshuffles: count,
    seed: count,
    samples: count,
    samplesTotal: count,
    layers: strings,
    confidence: num(0),
    method: str,
    outputs: array(
      object<BatchDependenceOutputJson>("a batch-dependence output", {
        output: str,
        samples: count,
        valuesPerSample: count,
        meanAbsChange: num(0),
        meanAbsChangeInterval: numberInterval,
        relativeL2Change: nullable(num(0)),
        relativeL2ChangeInterval: numberInterval,
        meanAbsReference: num(0),
      }),
      undefined,
      "an array of batch-dependence outputs",
    ),
    note: str,
  },
  ["note"],
);
const worst = nullable(object<{ channel: number; value: number }>("a worst-channel object", { channel: count, value: num() }));

const layerShape = object<LayerReport>("a BN layer object", {
  index: count,
  node: str,
  input: str,
  output: str,
  channels: count,
  rank: int(1, 64),
  epsilon: maybeNum,
  producer: nullable(object<{ op: string; node: string }>("a producer object", { op: str, node: str })),
  activation,
  gamma: numbersOrNulls,
  beta: numbersOrNulls,
  running: object<LayerReport["running"]>("running statistics (an object)", { mean: numbersOrNulls, var: numbersOrNulls }),
  pre: channelStats,
  post: channelStats,
  saturation,
  compare: object<ComparisonJson>("a comparison object", {
    z: numbersOrNulls,
    varRatio: numbersOrNulls,
    postMeanMinusBeta: numbersOrNulls,
    postStdOverGamma: numbersOrNulls,
    zInterval: intervals,
    varRatioInterval: intervals,
    effectiveSamples: counts,
  }),
  summary: object<LayerSummaryJson>("a layer summary object", {
    worstZ: worst,
    worstVarRatio: worst,
    worstSaturation: worst,
    deadChannels: counts,
    exceed: record(object<{ warning: number; error: number }>("an object of counts", { warning: count, error: count })),
    severity: nullable(severity),
  }),
  warnings,
  perSample,
  expected,
  sampling: nullable(
    object<NonNullable<LayerReport["sampling"]>>("a sampling object", {
      strides: array(int(1), undefined, "an array of strides"),
      fraction: num(0),
    }),
  ),
});

const activationShape = object<ActivationLayerReport>("an activation layer object", {
  index: count,
  node: str,
  op: str,
  output: str,
  channels: count,
  channelAxis: count,
  activation,
  stats: channelStats,
  saturation,
  warnings,
});

/** Per-channel arrays have one entry per channel; histogram rows share `first` and fit the scheme. */
function channelsMatch(C: number, buckets: number, at: string, stats: ChannelStatsJson): void {
  for (const k of ["count", "mean", "var", "min", "max"] as const) lengthIs(stats[k], C, `${at}.${k}`);
  const h = stats.histogram;
  // `--histograms layer` reports keep only the layer's histogram: perChannel is then empty (merge refuses them).
  if (h.perChannel.length !== 0) lengthIs(h.perChannel, C, `${at}.histogram.perChannel`);
  expect(
    h.first + h.total.length <= buckets,
    `${at}.histogram.total`,
    `at most ${buckets - h.first} buckets from bucket ${h.first}`,
    h.total,
  );
  h.perChannel.forEach((row, c) => lengthIs(row, h.total.length, `${at}.histogram.perChannel[${c}]`));
}

function lengthIs(a: readonly unknown[], n: number, at: string): void {
  expect(a.length === n, at, `an array of ${n} (one per channel)`, a);
}

function saturationMatches(C: number, at: string, s: SaturationJson): void {
  for (const k of ["count", "countByInterval", "fraction"] as const) lengthIs(s[k], C, `${at}.${k}`);
}

const layer: Check = check(layerShape.what, (v, f) => {
  layerShape(v, f);
  const l = v as LayerReport;
  const C = l.channels;
  for (const k of ["gamma", "beta"] as const) lengthIs(l[k], C, `${f}.${k}`);
  lengthIs(l.running.mean, C, `${f}.running.mean`);
  lengthIs(l.running.var, C, `${f}.running.var`);
  const perChannel = [
    "z",
    "varRatio",
    "postMeanMinusBeta",
    "postStdOverGamma",
    "zInterval",
    "varRatioInterval",
    "effectiveSamples",
  ] as const;
  for (const k of perChannel) lengthIs(l.compare[k], C, `${f}.compare.${k}`);
  saturationMatches(C, `${f}.saturation`, l.saturation);
  for (const k of ["flat", "off", "saturated"] as const) lengthIs(l.expected[k], C, `${f}.expected.${k}`);
  // Per-sample moments merge channel by channel: a short array would merge channels that do not exist.
  const ps = l.perSample;
  if (ps) {
    for (const k of ["center", "n", "cmq"] as const) lengthIs(ps[k], C, `${f}.perSample.${k}`);
    for (const m of ["mean", "m2"] as const) for (const k of ["m", "w", "q"] as const) lengthIs(ps[m][k], C, `${f}.perSample.${m}.${k}`);
  }
});

const activationLayer: Check = check(activationShape.what, (v, f) => {
  activationShape(v, f);
  const a = v as ActivationLayerReport;
  saturationMatches(a.channels, `${f}.saturation`, a.saturation);
});

/** The top-level fields a report has before its layers: what merge needs before it reads any layer. */
export const REPORT_HEAD_KEYS = [
  "schemaVersion",
  "id",
  "generator",
  "createdAt",
  "model",
  "data",
  "samples",
  "run",
  "thresholds",
  "histogram",
] as const;

/** A report's top-level fields before its layers (REPORT_HEAD_KEYS). */
export type ReportHead = Pick<Report, (typeof REPORT_HEAD_KEYS)[number]>;

/** A report's top-level fields after its layers and activations. */
export type ReportTail = Pick<Report, "warnings" | "batchStudy" | "batchDependence" | "summary">;

const headShape = object<ReportHead>("a JSON object", {
  schemaVersion: literal(REPORT_SCHEMA_VERSION),
  id: check("a run id (a string of hex digits)", (v, f) =>
    expect(typeof v === "string" && /^[0-9a-f]{8,64}$/.test(v), f, "a run id (8 to 64 hex digits)", v),
  ),
  generator: object<Report["generator"]>("a generator object", { name: literal("bn-lens"), version: str, onnxruntime: str }),
  createdAt: str,
  model: object<Report["model"]>("a model object", {
    path: str,
    name: str,
    sizeBytes: count,
    sha256: check("a sha256 (64 hex digits)", (v, f) =>
      expect(typeof v === "string" && /^[0-9a-f]{64}$/.test(v), f, "a sha256 (64 hex digits)", v),
    ),
    producer: str,
    irVersion: count,
    opset: count,
    nodeCount: count,
    inputs: array(
      object<InputJson>("an input object", {
        name: str,
        dtype: str,
        declared: nullable(
          array(
            check("a dim (a number, a name or null)", (d, f) =>
              expect(
                d === null || typeof d === "string" || (typeof d === "number" && Number.isSafeInteger(d)),
                f,
                "a dim (a number, a name or null)",
                d,
              ),
            ),
            undefined,
            "an array of dims",
          ),
        ),
        fed: counts,
      }),
      undefined,
      "an array of inputs",
    ),
    outputs: strings,
    bnCount: count,
    fusedAway: bool,
    statement: str,
    notes: strings,
  }),
  data: object<Report["data"]>("a data object", { kind: str, synthetic: bool, description: str, sources: strings }),
  samples: count,
  run: object<Report["run"]>(
    "a run object",
    {
      batchSize: int(1),
      seed: count,
      elapsedMs: num(0),
      runs: int(1),
      shards: array(str, undefined, "an array of run ids"),
      precision: object<PrecisionJson>("a precision object", {
        mode: literal("exact", "fast"),
        description: str,
        histogramSampling: num(0),
      }),
      trainBatch: nullable(int(1)),
      shard: object<ShardJson>("a shard object", { index: count, count: int(1), samplesTotal: count }),
    },
    ["shard"],
  ),
  thresholds: object<Thresholds>("a thresholds object", {
    slopeFraction: num(0),
    meanShift: object("a pair of thresholds", pair),
    varianceRatio: object("a pair of thresholds", pair),
    saturation: object("a pair of thresholds", pair),
    rectifierOff: object<{ warning: number }>("a threshold object", { warning: num() }),
    deadGamma: num(0),
    deadRunningVar: num(0),
    minCount: num(0),
    confidence: num(0),
    batchTolerance: num(0),
  }),
  histogram: object<HistogramScheme>("a histogram scheme object", {
    name: literal("log2-quarter-octave"),
    bucketsPerOctave: int(1),
    minExponent: int(-1074, 1024),
    maxExponent: int(-1074, 1024),
    bucketCount: int(1, 100_000),
    boundaries: array(num(), undefined, "an array of bucket boundaries"),
  }),
});

const tailShape = object<ReportTail>(
  "a JSON object",
  {
    warnings,
    batchStudy,
    batchDependence,
    summary: object<Report["summary"]>("a summary object", {
      layers: count,
      channels: count,
      warnings: object<Report["summary"]["warnings"]>("warning counts (an object)", { error: count, warning: count, info: count }),
    }),
  },
  ["batchDependence"],
);

const layersWhat = "an array of BN layers";
const activationsWhat = "an array of activation layers";

/** Turns a SchemaError into the sentence about `what` (a file name). */
function sentence<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof SchemaError) throw new UserError("data", `${what} is not a valid BN Lens report: ${e.message}.`);
    throw e;
  }
}

/**
 * Checks a report's head (its fields before the layers; `fields` may hold others too): that it is a BN Lens
 * report of this schema version, then every head field. Throws checkReport's sentences.
 */
export function checkReportHead(fields: Record<string, unknown>, what: string): ReportHead {
  const r = fields as Partial<Report> | null;
  if (!r || typeof r !== "object" || Array.isArray(r) || r.generator?.name !== "bn-lens") {
    throw new UserError(
      "data",
      `${what} is not a BN Lens report (no generator "bn-lens"); pass files written by "bn-lens inspect --json".`,
    );
  }
  if (r.schemaVersion !== REPORT_SCHEMA_VERSION) {
    throw new UserError(
      "data",
      `${what} has report schema version ${String(r.schemaVersion)}, and this BN Lens reads version ${REPORT_SCHEMA_VERSION}; re-run the inspection with this version.`,
    );
  }
  return sentence(what, () => {
    const head = headShape(fields, "");
    expect(
      head.histogram.boundaries.length === head.histogram.bucketCount - 1,
      "histogram.boundaries",
      `an array of ${head.histogram.bucketCount - 1} (bucketCount - 1)`,
      head.histogram.boundaries,
    );
    return head;
  });
}

/** Checks element `index` of a report's `layers` (its head gave `head`). */
export function checkReportLayer(value: unknown, index: number, head: ReportHead, what: string): LayerReport {
  return sentence(what, () => {
    const at = `layers[${index}]`;
    layer(value, at);
    const l = value as LayerReport;
    channelsMatch(l.channels, head.histogram.bucketCount, `${at}.pre`, l.pre);
    channelsMatch(l.channels, head.histogram.bucketCount, `${at}.post`, l.post);
    return l;
  });
}

/** Checks element `index` of a report's `activations`. */
export function checkReportActivation(value: unknown, index: number, head: ReportHead, what: string): ActivationLayerReport {
  return sentence(what, () => {
    const at = `activations[${index}]`;
    activationLayer(value, at);
    const a = value as ActivationLayerReport;
    channelsMatch(a.channels, head.histogram.bucketCount, `${at}.stats`, a.stats);
    return a;
  });
}

/**
 * The sentence for a report whose `layers` or `activations` is not an array (`value`), or is missing
 * (undefined): the field must come before the fields after it are checked.
 */
export function checkReportArray(key: "layers" | "activations", value: unknown, what: string): unknown[] {
  return sentence(what, () => {
    const expected = key === "layers" ? layersWhat : activationsWhat;
    if (value === undefined) throw new SchemaError(key, expected, undefined);
    expect(Array.isArray(value), key, expected, value);
    return value as unknown[];
  });
}

/** Checks a report's fields after its layers and activations (`fields` may hold others too). */
export function checkReportTail(fields: Record<string, unknown>, what: string): ReportTail {
  return sentence(what, () => tailShape(fields, ""));
}

/**
 * Checks that `value` is a complete BN Lens report of this schema version; `what` names where it came
 * from (a file name). Throws a UserError with one sentence naming the file, the field and what was expected.
 * The same checks, in the same order, as a report read piece by piece (head, each layer, each activation
 * layer, tail), so both give the same sentence.
 */
export function checkReport(value: unknown, what: string): Report {
  const fields = (typeof value === "object" && value !== null && !Array.isArray(value) ? value : null) as Record<string, unknown>;
  const head = checkReportHead(fields, what);
  checkReportArray("layers", fields.layers, what).forEach((l, i) => checkReportLayer(l, i, head, what));
  checkReportArray("activations", fields.activations, what).forEach((a, i) => checkReportActivation(a, i, head, what));
  checkReportTail(fields, what);
  return value as Report;
}
