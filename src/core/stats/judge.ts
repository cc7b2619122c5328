import type {
  ActivationJson,
  ComparisonJson,
  ExpectedJson,
  LayerSummaryJson,
  RuleId,
  SaturationJson,
  Severity,
  Thresholds,
  WarningJson,
} from "../report";
import type { ChannelStats } from "./accumulator";
import { expectedFlat } from "./expected";
import { foldInterval, logVarianceHalfWidth, meanHalfWidth, nearMagnitude, samplesToDecide } from "./uncertainty";

/** Default thresholds of the rule list (README "Warnings" explains each). */
export const DEFAULT_THRESHOLDS: Thresholds = {
  slopeFraction: 0.02,
  meanShift: { warning: 1, error: 3 },
  varianceRatio: { warning: 2, error: 10 },
  saturation: { warning: 0.25, error: 0.75 },
  rectifierOff: { warning: 0.95 },
  deadGamma: 1e-6,
  deadRunningVar: 1e-8,
  minCount: 100,
  confidence: 0.95,
  batchTolerance: 0.1,
};

/**
 * The dead-channel rule on what a layer stores (|gamma| or running variance at or below its threshold): one
 * predicate for the report and for the model view before any run.
 */
export function storedDead(
  gamma: number,
  runningVar: number,
  t: Pick<Thresholds, "deadGamma" | "deadRunningVar">,
): { gamma: boolean; runningVar: boolean } {
  return { gamma: Math.abs(gamma) <= t.deadGamma, runningVar: runningVar <= t.deadRunningVar };
}

/** What a stale-statistics finding adds for a training-mode node, which never reads its stored statistics. */
const TRAINING_NOTE =
  "This node runs in training mode (training_mode=1) and normalises with each batch's own statistics, so the stored ones do not affect its outputs now; they will once the model is exported in eval mode.";

/** Fills missing fields of partial user thresholds from the defaults. */
export function withDefaults(partial?: Partial<Thresholds>): Thresholds {
  const d = DEFAULT_THRESHOLDS;
  return {
    slopeFraction: partial?.slopeFraction ?? d.slopeFraction,
    meanShift: { ...d.meanShift, ...partial?.meanShift },
    varianceRatio: { ...d.varianceRatio, ...partial?.varianceRatio },
    saturation: { ...d.saturation, ...partial?.saturation },
    rectifierOff: { ...d.rectifierOff, ...partial?.rectifierOff },
    deadGamma: partial?.deadGamma ?? d.deadGamma,
    deadRunningVar: partial?.deadRunningVar ?? d.deadRunningVar,
    minCount: partial?.minCount ?? d.minCount,
    confidence: partial?.confidence ?? d.confidence,
    batchTolerance: partial?.batchTolerance ?? d.batchTolerance,
  };
}

/** Formats a number for a message: 3 significant digits, no exponent for ordinary magnitudes. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "n/a";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "-∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
  return Number(x.toPrecision(3)).toString();
}

function pct(x: number): string {
  const p = x * 100;
  return `${p >= 99.95 && p < 100 ? "99.9" : p < 0.05 && p > 0 ? "0.1" : p.toFixed(1).replace(/\.0$/, "")}%`;
}

// The low side of these functions is their normal "off" state, not saturation.
const RECTIFIERS = new Set([
  "Relu",
  "LeakyRelu",
  "PRelu",
  "Elu",
  "Selu",
  "Celu",
  "Softplus",
  "HardSwish",
  "Gelu",
  "Silu",
  "Mish",
  "ThresholdedRelu",
]);

/** Decides how a flat region is judged (see SaturationJson.kind). */
export function saturationKind(activation: ActivationJson): SaturationJson["kind"] {
  if (
    activation.op === "none" ||
    (activation.flatRegion.intervals.length === 0 && !activation.flatRegion.perChannel?.some((r) => r.length))
  )
    return "none";
  const first = activation.op.split("→")[0];
  if (RECTIFIERS.has(first)) return "rectifier";
  // Clip(0, hi) is ReLU6-like: its lower side is "off"; Clip with a negative lower bound saturates.
  if (first === "Clip") {
    const lowEdge = activation.flatRegion.intervals.find((iv) => iv[0] === null)?.[1];
    return lowEdge !== undefined && lowEdge !== null && lowEdge >= 0 ? "rectifier" : "saturating";
  }
  return "saturating";
}

/** Everything the judge needs about one observed layer. */
export interface JudgeInput {
  layer: string;
  /** The nonlinearity's short name for messages ("ReLU", "Sigmoid"...). */
  activation: ActivationJson;
  /** Intervals per channel (the layer's shared list repeated, or PRelu's own). */
  intervals: (c: number) => readonly [number | null, number | null][];
  post: ChannelStats;
  pre?: ChannelStats;
  bn?: {
    gamma: Float64Array;
    beta: Float64Array;
    runningMean: Float64Array;
    runningVar: Float64Array;
    epsilon: number;
    trainingMode: boolean;
  };
  /** Random data: the rules comparing observed with stored statistics are not judged. */
  synthetic?: boolean;
}

/** Result of judging one layer. */
export interface Judgement {
  saturation: SaturationJson;
  compare: ComparisonJson | null;
  /** What gamma and beta imply (BN layers only). */
  expected: ExpectedJson | null;
  summary: LayerSummaryJson;
  warnings: WarningJson[];
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Applies the rule list to one layer. */
export function judgeLayer(input: JudgeInput, t: Thresholds): Judgement {
  const { post, pre, bn, layer } = input;
  const C = post.channels;
  const kind = saturationKind(input.activation);
  const slots = post.intervalSlots;
  const countByInterval: number[][] = [];
  const fraction: (number | null)[] = [];
  let flatTotal = 0;
  let countTotal = 0;
  // Shares are of the values that were tested against the flat region: all of them, or the sample in fast mode.
  const tested = Array.from({ length: C }, (_, c) => post.histogramCount(c));
  for (let c = 0; c < C; c++) {
    countByInterval.push(Array.from(post.flatByInterval.subarray(c * slots, c * slots + input.intervals(c).length)));
    fraction.push(tested[c] > 0 ? post.flatCount[c] / tested[c] : null);
    flatTotal += post.flatCount[c];
    countTotal += tested[c];
  }
  const saturation: SaturationJson = {
    kind,
    count: Array.from(post.flatCount),
    countByInterval,
    fraction,
    layerFraction: countTotal > 0 && kind !== "none" ? flatTotal / countTotal : null,
  };

  const warnings: WarningJson[] = [];
  const exceed: LayerSummaryJson["exceed"] = {};
  const dead = new Map<number, string[]>();
  // Channels whose stored parameters make z and r meaningless (gamma ≈ 0 or running var ≈ 0).
  const paramDead = new Set<number>();
  const markDead = (c: number, why: string, byParams = false) => {
    dead.set(c, [...(dead.get(c) ?? []), why]);
    if (byParams) paramDead.add(c);
  };

  const synthetic = input.synthetic === true;
  const level = `${Math.round(t.confidence * 100)}%`;
  const sm = pre?.perSample ?? null;
  let compare: ComparisonJson | null = null;
  // Per channel, the end of each interval nearest to "fits" (what a rule decides on) and the half-widths.
  const zNear: (number | null)[] = [];
  const rNear: (number | null)[] = [];
  const zHalf: (number | null)[] = [];
  const rLogHalf: (number | null)[] = [];
  if (bn && pre) {
    compare = {
      z: [],
      varRatio: [],
      postMeanMinusBeta: [],
      postStdOverGamma: [],
      zInterval: [],
      varRatioInterval: [],
      effectiveSamples: [],
    };
    for (let c = 0; c < C; c++) {
      const has = pre.count[c] > 0;
      const mean = pre.mean[c];
      const v = pre.variance(c) ?? NaN;
      const scale = Math.sqrt(bn.runningVar[c] + bn.epsilon);
      const z = (mean - bn.runningMean[c]) / scale;
      const r = Math.max(v / bn.runningVar[c], bn.runningVar[c] / v);
      compare.z.push(has ? finiteOrNull(z) : null);
      compare.varRatio.push(has ? finiteOrNull(r) : null);
      const postVar = post.variance(c);
      compare.postMeanMinusBeta.push(post.count[c] > 0 ? post.mean[c] - bn.beta[c] : null);
      compare.postStdOverGamma.push(postVar !== null && bn.gamma[c] !== 0 ? Math.sqrt(postVar) / Math.abs(bn.gamma[c]) : null);
      compare.effectiveSamples.push(sm ? sm.n[c] : 0);
      const hm = sm && has ? meanHalfWidth(sm, c, t.confidence) : null;
      // An interval whose ends overflow (extreme but valid moments) is no interval: JSON would write its ends as null.
      const hzRaw = hm !== null && Number.isFinite(z) ? hm / scale : null;
      const hz = hzRaw !== null && Number.isFinite(z - hzRaw) && Number.isFinite(z + hzRaw) ? hzRaw : null;
      zHalf.push(hz);
      compare.zInterval.push(hz !== null ? [z - hz, z + hz] : null);
      zNear.push(hz !== null ? nearMagnitude(z - hz, z + hz) : has && Number.isFinite(z) ? Math.abs(z) : null);
      const hl = sm && has ? logVarianceHalfWidth(sm, c, v, t.confidence) : null;
      rLogHalf.push(hl !== null && Number.isFinite(r) ? hl : null);
      const R = v / bn.runningVar[c];
      const iv = hl !== null && Number.isFinite(r) && bn.runningVar[c] > 0 ? foldInterval(R * Math.exp(-hl), R * Math.exp(hl)) : null;
      if (iv && Number.isFinite(iv[0]) && Number.isFinite(iv[1])) {
        compare.varRatioInterval.push(iv);
        rNear.push(iv[0]);
      } else {
        compare.varRatioInterval.push(null);
        rNear.push(has && Number.isFinite(r) ? r : null);
      }
      const stored = storedDead(bn.gamma[c], bn.runningVar[c], t);
      if (stored.gamma) markDead(c, `gamma ${fmt(bn.gamma[c])}`, true);
      if (stored.runningVar) markDead(c, `running var ${fmt(bn.runningVar[c])}`, true);
    }
  }
  const expected = bn ? expectedFlat(bn.gamma, bn.beta, input.intervals, kind) : null;
  if (kind !== "none" && !synthetic) {
    for (let c = 0; c < C; c++) if (tested[c] > 0 && post.flatCount[c] === tested[c]) markDead(c, "never outside the flat region");
  }

  // Rules over channels: each yields one warning per layer naming the worst channel and how many cross.
  // `decide`, when given, holds what the thresholds apply to (an interval's near end); `values` what is shown.
  const channelRule = (
    rule: RuleId,
    values: (number | null)[],
    levels: { warning: number; error?: number },
    message: (worst: number, value: number, nWarn: number, threshold: number) => string,
    skip?: (c: number) => boolean,
    decide: (number | null)[] = values,
  ) => {
    const hits: { c: number; v: number; d: number }[] = [];
    let nErr = 0;
    decide.forEach((d, c) => {
      const v = values[c];
      if (d === null || v === null || skip?.(c) || !(d >= levels.warning)) return;
      hits.push({ c, v, d });
      if (levels.error !== undefined && d >= levels.error) nErr++;
    });
    exceed[rule] = { warning: hits.length, error: nErr };
    if (hits.length === 0) return;
    hits.sort((a, b) => b.v - a.v);
    const severity: Severity = nErr > 0 ? "error" : "warning";
    const threshold = nErr > 0 && levels.error !== undefined ? levels.error : levels.warning;
    warnings.push({
      rule,
      severity,
      layer,
      channel: hits[0].c,
      channels: hits.map((h) => h.c),
      value: hits[0].v,
      threshold,
      message: message(hits[0].c, hits[0].v, hits.length, levels.warning),
    });
  };
  const of = (n: number) => `${n} of ${C} channel${C === 1 ? "" : "s"}`;
  const actName = input.activation.op;
  const samplesNote = (c: number) => {
    const n = compare?.effectiveSamples[c] ?? 0;
    return n >= 2 ? `, ${n} samples` : n === 1 ? ", 1 sample: no interval" : "";
  };
  const zText = (c: number) => {
    const iv = compare!.zInterval[c];
    return `z = ${fmt(compare!.z[c])}${iv ? ` (${level} CI ${fmt(iv[0])} to ${fmt(iv[1])}${samplesNote(c)})` : samplesNote(c) ? ` (${samplesNote(c).slice(2)})` : ""}`;
  };
  const rText = (c: number) => {
    const iv = compare!.varRatioInterval[c];
    return `ratio ${fmt(compare!.varRatio[c])}${iv ? ` (${level} CI ${fmt(iv[0])} to ${fmt(iv[1])}${samplesNote(c)})` : ""}`;
  };
  /**
   * Channels whose estimate crosses a threshold while the interval still reaches below it: one info finding
   * that says how many samples would decide.
   */
  const undecided = (
    rule: RuleId,
    point: (number | null)[],
    near: (number | null)[],
    half: (number | null)[],
    threshold: number,
    distance: (value: number) => number,
    describe: (c: number) => string,
  ) => {
    const open: { c: number; need: number }[] = [];
    point.forEach((v, c) => {
      const h = half[c];
      const d = near[c];
      if (v === null || d === null || h === null || paramDead.has(c) || !(v >= threshold) || d >= threshold) return;
      open.push({ c, need: samplesToDecide(compare!.effectiveSamples[c], h, distance(v)) });
    });
    if (open.length === 0) return;
    open.sort((a, b) => a.need - b.need);
    const w = open[0];
    const need = Number.isFinite(w.need) ? `about ${w.need} samples would decide` : "more samples would decide";
    warnings.push({
      rule,
      severity: "info",
      layer,
      channel: w.c,
      channels: open.map((o) => o.c),
      value: point[w.c]!,
      threshold,
      message: `Not decided in ${of(open.length)}: the estimate crosses ${fmt(threshold)} but its ${level} interval reaches below it (closest channel ${w.c}: ${describe(w.c)}); ${need} (the data has ${compare!.effectiveSamples[w.c]}).`,
    });
  };
  // Fused layers (no BN) are described in their own words: no "post-BN" values where there is no BN.
  const after = bn ? "after this BN" : "after this layer";
  const values = bn ? "post-BN values" : "output values";

  if (compare && bn && pre && !synthetic) {
    const absZ = compare.z.map((z) => (z === null ? null : Math.abs(z)));
    channelRule(
      "mean-shift",
      absZ,
      t.meanShift,
      (c, _v, n, th) =>
        `Running mean looks stale in ${of(n)}: the observed pre-BN mean is ${fmt(th)} or more running std away from the stored running mean (worst channel ${c}: ${zText(c)}, running mean ${fmt(bn.runningMean[c])}, observed ${fmt(pre.mean[c])}). ${bn.trainingMode ? TRAINING_NOTE : "Likely cause: this data differs from the training data (domain shift or different preprocessing) or the statistics were not updated after fine-tuning."}`,
      (c) => paramDead.has(c),
      zNear,
    );
    undecided("mean-shift", absZ, zNear, zHalf, t.meanShift.warning, (v) => v - t.meanShift.warning, zText);
    channelRule(
      "variance-ratio",
      compare.varRatio,
      t.varianceRatio,
      (c, v, n, th) =>
        `Running variance does not match the data in ${of(n)}: observed and stored variance differ by a factor of ${fmt(th)} or more (worst channel ${c}: observed ${fmt(pre.variance(c))}, running ${fmt(bn.runningVar[c])}, ${rText(c)}). ${bn.trainingMode ? TRAINING_NOTE : `Likely cause: stale statistics or a domain shift; post-BN values are scaled ${fmt(Math.sqrt(v))}x ${(pre.variance(c) ?? 0) > bn.runningVar[c] ? "wider" : "narrower"} than training expected.`}`,
      (c) => paramDead.has(c),
      rNear,
    );
    undecided(
      "variance-ratio",
      compare.varRatio,
      rNear,
      rLogHalf,
      t.varianceRatio.warning,
      (v) => Math.log(v) - Math.log(t.varianceRatio.warning),
      rText,
    );
  }
  const expectedNote = (c: number, part: "off" | "saturated", observed: number) =>
    expected
      ? ` (expected ${pct(expected[part][c])} ${part === "off" ? "off" : "saturated"} from gamma and beta, observed ${pct(observed)})`
      : "";
  if (kind !== "none" && !synthetic) {
    const intervalFraction = (
      c: number,
      pick: (iv: readonly [number | null, number | null], j: number, all: number) => boolean,
    ): number | null => {
      if (tested[c] === 0) return null;
      const ivs = input.intervals(c);
      let s = 0;
      ivs.forEach((iv, j) => {
        if (pick(iv, j, ivs.length)) s += countByInterval[c][j] ?? 0;
      });
      return s / tested[c];
    };
    const isOff = (iv: readonly [number | null, number | null]) => kind === "rectifier" && iv[0] === null;
    const satValues = Array.from({ length: C }, (_, c) => intervalFraction(c, (iv) => !isOff(iv)));
    const region = input.activation.flatRegion.description;
    channelRule(
      "saturation",
      satValues,
      t.saturation,
      (c, v, n, th) =>
        `${actName} ${after} is saturated in ${of(n)}: ${pct(th)} or more of ${values} fall where its slope is under ${pct(t.slopeFraction)} of the maximum (${region}); worst channel ${c}: ${pct(v)}${expectedNote(c, "saturated", v)}. Gradients vanish there and outputs are nearly constant; likely cause: ${bn ? "post-BN values too large (gamma/beta)" : "large weights or biases"} or shifted inputs.`,
      (c) => paramDead.has(c),
    );
    if (kind === "rectifier") {
      const offValues = Array.from({ length: C }, (_, c) => intervalFraction(c, (iv) => isOff(iv)));
      channelRule(
        "rectifier-off",
        offValues,
        t.rectifierOff,
        (c, v, n, th) =>
          `${actName} ${after} is almost always off in ${of(n)}: ${pct(th)} or more of ${values} are in its flat low side (${region}); worst channel ${c}: ${pct(v)}${expectedNote(c, "off", v)}. These channels pass little information; likely cause: ${bn ? "beta pushed far negative" : "a bias pushed far negative"} or inputs that differ from training data.`,
        (c) => dead.has(c),
      );
    }
  }
  if (expected && kind !== "none") {
    // Data-free: what training itself left mostly off or saturated, from gamma and beta alone.
    const region = input.activation.flatRegion.description;
    const off = kind === "rectifier" ? expected.off : expected.off.map(() => 0);
    const hits = Array.from({ length: C }, (_, c) => c).filter(
      (c) => !paramDead.has(c) && (off[c] >= t.rectifierOff.warning || expected.saturated[c] >= t.saturation.warning),
    );
    if (hits.length) {
      hits.sort((a, b) => Math.max(expected.flat[b]) - Math.max(expected.flat[a]));
      const w = hits[0];
      const isOffHit = off[w] >= t.rectifierOff.warning;
      warnings.push({
        rule: "expected-flat",
        severity: "info",
        layer,
        channel: w,
        channels: hits,
        value: isOffHit ? off[w] : expected.saturated[w],
        threshold: isOffHit ? t.rectifierOff.warning : t.saturation.warning,
        message: `From its stored parameters alone, training left ${of(hits.length)} mostly in the flat region of ${actName} (${region}): worst channel ${w}, gamma ${fmt(bn!.gamma[w])}, beta ${fmt(bn!.beta[w])}, expected ${pct(isOffHit ? off[w] : expected.saturated[w])} ${isOffHit ? "off" : "saturated"} (post-BN values N(beta, gamma²), a normal approximation; thresholds: ${pct(t.rectifierOff.warning)} off, ${pct(t.saturation.warning)} saturated). Such channels carry little signal whatever the data.`,
      });
    }
    exceed["expected-flat"] = { warning: hits.length, error: 0 };
  }
  if (dead.size > 0) {
    const channels = [...dead.keys()].sort((a, b) => a - b);
    const shown = channels
      .slice(0, 8)
      .map((c) => `${c} (${dead.get(c)!.join(", ")})`)
      .join("; ");
    warnings.push({
      rule: "dead-channel",
      severity: "warning",
      layer,
      channel: channels[0],
      channels,
      message: bn
        ? `${of(channels.length)} ${channels.length === 1 ? "is" : "are"} dead: ${shown}${channels.length > 8 ? "; …" : ""}. A dead channel passes a constant (gamma ≈ 0), had no variance in training (running var ≈ 0)${synthetic ? "" : `, or never leaves the flat region of ${actName} on this data`}; it can be pruned or points to a training problem.`
        : // Without BN there is no gamma or running variance: the only way to be dead is the flat region.
          `${of(channels.length)} ${channels.length === 1 ? "is" : "are"} dead: ${channels.slice(0, 8).join(", ")}${channels.length > 8 ? ", …" : ""}. Every value of ${channels.length === 1 ? "this channel" : "these channels"} on this data lands where ${actName} is flat, so ${actName} passes a constant; ${channels.length === 1 ? "it" : "they"} can be pruned or point to a training problem.`,
    });
  }
  exceed["dead-channel"] = { warning: dead.size, error: 0 };

  const nf = (s: ChannelStats | undefined) => (s ? s.nonFinite.nan + s.nonFinite.posInf + s.nonFinite.negInf : 0);
  const nonFinite = nf(pre) + nf(post);
  if (nonFinite > 0) {
    const part = (label: string, s?: ChannelStats) =>
      s && nf(s) > 0 ? `${label}: ${s.nonFinite.nan} NaN, ${s.nonFinite.posInf} +Inf, ${s.nonFinite.negInf} -Inf` : "";
    warnings.push({
      rule: "non-finite",
      severity: "error",
      layer,
      value: nonFinite,
      message: `Non-finite values reached this layer (${[part("pre-BN", pre), part("post-BN", post)].filter(Boolean).join("; ")}); they are counted here and left out of the statistics. Likely cause: NaN or Inf in the input data, or an overflow upstream.`,
    });
  }
  let minCount = Infinity;
  for (let c = 0; c < C; c++) minCount = Math.min(minCount, post.count[c]);
  if (Number.isFinite(minCount) && minCount < t.minCount) {
    warnings.push({
      rule: "low-count",
      severity: "info",
      layer,
      value: minCount,
      threshold: t.minCount,
      message: `Statistics of this layer rest on only ${minCount} value${minCount === 1 ? "" : "s"} per channel (fewer than ${t.minCount}); feed more samples for reliable numbers.`,
    });
  }
  if (bn?.trainingMode) {
    warnings.push({
      rule: "training-mode",
      severity: "warning",
      layer,
      message:
        "This BatchNormalization node was exported with training_mode=1: at inference it normalises with each batch's own statistics, not the running ones, so results depend on the batch. Re-export the model in eval mode.",
    });
  }

  const worst = (values: (number | null)[] | undefined, skip?: (c: number) => boolean) => {
    let best: { channel: number; value: number } | null = null;
    values?.forEach((v, c) => {
      if (v === null || skip?.(c)) return;
      if (!best || Math.abs(v) > Math.abs(best.value)) best = { channel: c, value: v };
    });
    return best;
  };
  const rank: Record<Severity, number> = { error: 3, warning: 2, info: 1 };
  const severity = warnings.reduce<Severity | null>((s, w) => (!s || rank[w.severity] > rank[s] ? w.severity : s), null);
  const summary: LayerSummaryJson = {
    worstZ: worst(compare?.z, (c) => paramDead.has(c)),
    worstVarRatio: worst(compare?.varRatio, (c) => paramDead.has(c)),
    worstSaturation: kind === "none" ? null : worst(fraction),
    deadChannels: [...dead.keys()].sort((a, b) => a - b),
    exceed,
    severity,
  };
  return { saturation, compare, expected, summary, warnings };
}
