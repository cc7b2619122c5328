import { UserError } from "../errors";
import { findActivationProbes, findBnLayers, type ActivationProbe, type BnLayer, type SubgraphBn } from "../graph/bnLayers";
import { invalidParameters } from "../graph/bnParameters";
import type { OnnxModel } from "../onnx/model";
import type { ExternalReader } from "../onnx/tensorData";
import type { ActivationJson, ActivationLayerReport, IntervalJson, LayerReport, Thresholds, WarningJson } from "../report";
import { toFloat32, type HostTensor } from "../tensor";
import { ChannelStats, channelLayout, variance, type ChannelStatsState, type FlatIntervals } from "../stats/accumulator";
import {
  addOutputWithDerivedInput,
  addSampledHistograms,
  addSampledOutputWithDerivedInput,
  inverseAffine,
  type InverseAffine,
} from "../stats/derivedPre";
import { judgeLayer } from "../stats/judge";
import { SampleMoments } from "../stats/sampleMoments";
import type { FastPlan } from "./fastPlan";

/** One BN layer's accumulated statistics in transferable form (Inspection.layerStates). */
export interface LayerState {
  layer: number;
  rank: number | undefined;
  lastDims: number[] | undefined;
  pre: ChannelStatsState;
  post: ChannelStatsState;
}

/** What the rules need to know about the run besides the statistics. */
export interface JudgeContext {
  /** The data is random: rules that compare observed with stored statistics are not judged. */
  synthetic?: boolean;
}

/** The nonlinearity after a tensor, as the inspection needs it. */
export interface ActivationInfo {
  json: ActivationJson;
}

/** Finds what follows a tensor (src/core/graph/activation.ts in production; injectable for tests). */
export type ActivationFinder = (model: OnnxModel, tensor: string, slopeFraction: number) => ActivationJson;

/** Converts JSON intervals (null = infinite) into the accumulator's typed form. */
export function toFlatIntervals(intervals: readonly IntervalJson[]): FlatIntervals {
  return {
    lo: Float64Array.from(intervals, (iv) => iv[0] ?? -Infinity),
    hi: Float64Array.from(intervals, (iv) => iv[1] ?? Infinity),
  };
}

/** The intervals of channel c: PRelu's own when given per channel, else the shared list. */
export function channelIntervals(activation: ActivationJson): (c: number) => IntervalJson[] {
  const per = activation.flatRegion.perChannel;
  return (c) => (per ? (per[c] ?? []) : activation.flatRegion.intervals);
}

function intervalSlots(activation: ActivationJson, channels: number): number {
  const at = channelIntervals(activation);
  let m = 0;
  for (let c = 0; c < channels; c++) m = Math.max(m, at(c).length);
  return m;
}

function flatList(activation: ActivationJson, channels: number): FlatIntervals[] {
  if (!activation.flatRegion.perChannel) return [toFlatIntervals(activation.flatRegion.intervals)];
  const at = channelIntervals(activation);
  return Array.from({ length: channels }, (_, c) => toFlatIntervals(at(c)));
}

interface BnState {
  layer: BnLayer;
  activation: ActivationJson;
  flat: FlatIntervals[];
  pre: ChannelStats;
  post: ChannelStats;
  rank: number | undefined;
  lastDims?: number[];
  /** post = a·pre + b, per channel (what BatchNormalization computes at inference). */
  affine: { a: Float64Array; b: Float64Array };
  /** Set when statistics come from a spatial sample (fast mode). */
  sampling?: { strides: number[]; fraction: number };
  /** Set when exact batches capture only the BN output and recover the input from it (derivedPre.ts). */
  inverse?: InverseAffine;
  /** Set by noteDims: on the first batch some channel's output was far less centred than its input. */
  outputOffCentre?: boolean;
}

interface ProbeState {
  probe: ActivationProbe;
  activation: ActivationJson;
  stats: ChannelStats | undefined;
  flat: FlatIntervals[] | undefined;
  axis: number | undefined;
}

/**
 * One inspection's accumulated state. It knows which tensors to capture, folds each batch's captured
 * tensors into float64 statistics, and turns them into report layers. Pure: the runtime feeds it.
 */
export class Inspection {
  readonly layers: BnLayer[];
  readonly probes: ActivationProbe[];
  private readonly bn: BnState[];
  private readonly probeStates: ProbeState[];
  samples = 0;

  constructor(
    readonly model: OnnxModel,
    readonly thresholds: Thresholds,
    findActivation: ActivationFinder,
    readExternal?: ExternalReader,
    /** Capture every BN input itself instead of recovering it from the output (tests checking the true inputs). */
    captureInputs = false,
  ) {
    this.layers = findBnLayers(model, readExternal);
    this.bn = this.layers.map((layer) => {
      const activation = findActivation(model, layer.output, thresholds.slopeFraction);
      const slots = intervalSlots(activation, layer.channels);
      const pre = new ChannelStats(layer.channels);
      pre.perSample = new SampleMoments(Float64Array.from(layer.runningMean));
      return {
        layer,
        activation,
        flat: flatList(activation, layer.channels),
        pre,
        post: new ChannelStats(layer.channels, slots),
        rank: layer.rank,
        affine: bnAffine(layer),
        // A fed input costs nothing to capture; every other BN input is recovered from the output when that is well-conditioned.
        inverse: captureInputs || model.inputs.some((i) => i.name === layer.input) ? undefined : inverseAffine(layer),
      };
    });
    this.probes = this.layers.length === 0 ? findActivationProbes(model) : [];
    this.probeStates = this.probes.map((probe) => ({
      probe,
      activation: findActivation(model, probe.output, thresholds.slopeFraction),
      stats: undefined,
      flat: undefined,
      axis: undefined,
    }));
  }

  /** What an exact batch of layer i reads: its output, and its input unless that is recovered from the output. */
  tensorsOf(layer: number): string[] {
    const s = this.bn[layer];
    return s.inverse ? [s.layer.output] : [s.layer.input, s.layer.output];
  }

  /** The accumulated statistics of some layers, to be folded on by another thread and handed back (`loadLayers`). */
  layerStates(layers: readonly number[]): LayerState[] {
    return layers.map((i) => {
      const s = this.bn[i];
      return { layer: i, rank: s.rank, lastDims: s.lastDims, pre: s.pre.state(), post: s.post.state() };
    });
  }

  /** Replaces the statistics of the layers given with states from `layerStates` (of an inspection of the same model). */
  loadLayers(states: readonly LayerState[]): void {
    for (const st of states) {
      const s = this.bn[st.layer];
      s.rank = st.rank;
      s.lastDims = st.lastDims;
      s.pre.load(st.pre);
      s.post.load(st.post);
    }
  }

  /** Tensors the model must expose as outputs on every batch. */
  captureNames(): string[] {
    const names = new Set<string>();
    for (const s of this.bn) {
      if (!s.inverse) names.add(s.layer.input);
      names.add(s.layer.output);
    }
    for (const p of this.probes) names.add(p.output);
    return [...names];
  }

  /**
   * Folds one batch into the statistics. `get` returns a captured tensor (or a fed input) by name.
   * The batch size is taken from the tensors themselves.
   */
  addBatch(get: (name: string) => HostTensor | undefined, batchSize: number, folds: (layer: number) => boolean = () => true): void {
    for (const [i, s] of this.bn.entries()) {
      // Layers folded elsewhere (another thread, see src/runtime/foldThread.ts) are skipped here.
      if (!folds(i)) continue;
      const post = need(get, s.layer.output);
      checkChannels(s.layer.name, post, s.layer.channels);
      s.rank = post.dims.length;
      s.lastDims = post.dims;
      if (s.inverse) {
        addOutputWithDerivedInput(s.pre, s.post, toFloat32(post), post.dims, s.inverse, s.flat);
        continue;
      }
      const pre = need(get, s.layer.input);
      checkChannels(s.layer.name, pre, s.layer.channels);
      s.pre.add(toFloat32(pre), pre.dims, 1);
      s.post.add(toFloat32(post), post.dims, 1, s.flat);
    }
    for (const p of this.probeStates) {
      const t = need(get, p.probe.output);
      const axis = p.probe.channelAxis < 0 ? t.dims.length - 1 : Math.min(p.probe.channelAxis, t.dims.length - 1);
      if (!p.stats) {
        const channels = t.dims[axis] ?? 1;
        p.axis = axis;
        p.stats = new ChannelStats(channels, intervalSlots(p.activation, channels));
        p.flat = flatList(p.activation, channels);
      }
      p.stats.add(toFloat32(t), t.dims, p.axis!, p.flat);
    }
    this.samples += batchSize;
  }

  /**
   * Folds one batch of a fast run (see fastPlan.ts): moments from reductions over every value; histograms,
   * saturation and extremes from the spatial sample. Returns false, adding nothing, when the batch holds
   * non-finite values (they show in the reductions): the caller then measures that batch exactly, so they
   * are counted.
   */
  addFastBatch(plan: FastPlan, get: (name: string) => HostTensor | undefined, batchSize: number): boolean {
    const floats = (name: string | undefined) => (name ? toFloat32(need(get, name)) : undefined);
    const reduced = plan.layers.map((p) => ({ mean: floats(p.mean), meanSquare: floats(p.meanSquare) }));
    for (const r of reduced) {
      for (const v of [r.mean, r.meanSquare]) {
        if (v) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
      }
    }
    // The plan's dims hold for every batch of a run (inputs keep their sample dims); should a sample come back
    // of another size, this batch is measured exactly instead.
    for (const p of plan.layers) {
      if (p.whole) continue;
      const got = need(get, p.sample).dims.slice(2);
      if (got.some((d, k) => d !== Math.floor((p.sampleDims![k + 1] - 1) / p.strides[k]) + 1)) return false;
    }
    plan.layers.forEach((p, li) => {
      const t = need(get, p.sample);
      if (p.whole) return this.addWhole(p.layer, t, p.of);
      const dims = [t.dims[0], ...p.sampleDims!];
      this.foldSample(p.layer, p.of, toFloat32(t), t.dims, reduced[li].mean!, reduced[li].meanSquare!, dims, p.strides);
    });
    this.samples += batchSize;
    return true;
  }

  /**
   * Folds a batch captured whole (a fast run's first batch, measured exactly to learn the feature maps'
   * sizes) the way a fast batch is folded, so every sample weighs the same: moments over every value
   * (computed here in float64), histograms, saturation and extremes from the plan's strided positions.
   */
  addFastFromWhole(plan: FastPlan, get: (name: string) => HostTensor | undefined, batchSize: number): void {
    for (const p of plan.layers) {
      const s = this.bn[p.layer];
      const x = p.of === "output" ? need(get, s.layer.output) : this.inputOf(s, get);
      if (p.whole) {
        this.addWhole(p.layer, x, p.of);
        continue;
      }
      const data = toFloat32(x);
      const { outer, channels, inner } = channelLayout(x.dims, 1);
      const means = new Float32Array(outer * channels);
      const meanSquares = new Float32Array(outer * channels);
      for (let m = 0; m < outer * channels; m++) {
        let s1 = 0,
          s2 = 0;
        for (let i = m * inner; i < (m + 1) * inner; i++) {
          s1 += data[i];
          s2 += data[i] * data[i];
        }
        means[m] = s1 / inner;
        meanSquares[m] = s2 / inner;
      }
      const { values, dims } = strided(data, x.dims, p.strides);
      this.foldSample(p.layer, p.of, values, dims, means, meanSquares, x.dims, p.strides);
    }
    this.samples += batchSize;
  }

  /** A layer's whole input x, or its whole output y (the input then recovered through the inverse map). */
  private addWhole(layer: number, t: HostTensor, of: "input" | "output"): void {
    const s = this.bn[layer];
    checkChannels(s.layer.name, t, s.layer.channels);
    s.rank = t.dims.length;
    const data = toFloat32(t);
    if (of === "output") return addOutputWithDerivedInput(s.pre, s.post, data, t.dims, this.inverseOf(s), s.flat);
    s.pre.add(data, t.dims, 1);
    s.post.add(data, t.dims, 1, s.flat, s.affine);
  }

  private inverseOf(s: BnState): InverseAffine {
    if (!s.inverse) throw new Error(`layer ${s.layer.name} has no well-conditioned inverse map`);
    return s.inverse;
  }

  /**
   * Whether fast mode measures layer i on its output: its input is recovered from the output (exact mode does the
   * same), and, for a sampled layer, the first batch (measured exactly, see noteDims) showed no channel whose output
   * mean dwarfs its spread more than the input's does. A sampled layer's variances come from float32 per-sample means
   * of t and t² (E[t²] - E[t]² cancels when |mean| ≫ std), so it is measured on whichever of its tensors is better
   * centred; a layer captured whole has its moments summed in float64 here, which does not cancel.
   */
  measuresOutput(layer: number, whole = false): boolean {
    const s = this.bn[layer];
    return s.inverse !== undefined && (whole || !s.outputOffCentre);
  }

  /**
   * One layer's sample (values [N, C, ...sampled] of its input or its output) with per-map means and mean
   * squares over every value.
   */
  private foldSample(
    layer: number,
    of: "input" | "output",
    data: Float32Array,
    sampleDims: readonly number[],
    means: Float32Array,
    meanSquares: Float32Array,
    fullDims: readonly number[],
    strides: number[],
  ): void {
    const s = this.bn[layer];
    if (sampleDims.length < 2 || sampleDims[1] !== s.layer.channels)
      checkChannels(s.layer.name, { dtype: "float32", dims: [...sampleDims], data }, s.layer.channels);
    s.rank = fullDims.length;
    const mapSize = fullDims.slice(2).reduce((a, b) => a * b, 1);
    const inv = of === "output" ? this.inverseOf(s) : undefined;
    if (inv) addSampledOutputWithDerivedInput(s.pre, s.post, data, sampleDims, inv, s.flat);
    else addSampledHistograms(s.pre, s.post, data, sampleDims, s.affine, s.flat);
    const perMap = data.length / means.length;
    const C = s.layer.channels;
    const { a, b } = s.affine;
    for (let i = 0; i < means.length; i++) {
      const c = i % C;
      const mu = means[i];
      // E[t²] - mean² from float32 sums cancels when the mean dwarfs the spread; use the sample's variance then.
      let v = meanSquares[i] - mu * mu;
      if (!(v >= 1e-3 * meanSquares[i])) v = variance(data, i * perMap, (i + 1) * perMap);
      if (inv) {
        // The input's moments through the inverse map x = mean + (y - beta)·scale (affine, so exact in float64).
        const sc = inv.scale[c];
        const preMean = inv.mean[c] + (mu - inv.beta[c]) * sc;
        const preVar = v * sc * sc;
        s.pre.mergeMoments(c, mapSize, preMean, preVar * mapSize);
        s.pre.perSample?.add(c, preMean, preVar);
        s.post.mergeMoments(c, mapSize, mu, v * mapSize);
        continue;
      }
      s.pre.mergeMoments(c, mapSize, mu, v * mapSize);
      s.pre.perSample?.add(c, mu, v);
      s.post.mergeMoments(c, mapSize, a[c] * mu + b[c], a[c] * a[c] * v * mapSize);
    }
    s.sampling = { strides, fraction: perMap / mapSize };
  }

  /** Records each BN input's dims from a batch's captured tensors (they plan the fast capture). */
  noteDims(get: (name: string) => HostTensor | undefined): void {
    // BN keeps its input's shape.
    for (const s of this.bn) {
      const t = need(get, s.inverse ? s.layer.output : s.layer.input);
      s.lastDims = t.dims;
      if (s.inverse) s.outputOffCentre = offCentre(toFloat32(t), t.dims, s.inverse);
    }
  }

  /** A BN input of an exact batch: captured, or recovered from the output (float32, as onnxruntime held it). */
  private inputOf(s: BnState, get: (name: string) => HostTensor | undefined): HostTensor {
    if (!s.inverse) return need(get, s.layer.input);
    const y = need(get, s.layer.output);
    const data = toFloat32(y);
    const { outer, channels, inner } = channelLayout(y.dims, 1);
    const x = new Float32Array(data.length);
    const { mean, beta, scale } = s.inverse;
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < channels; c++)
        for (let i = (o * channels + c) * inner, end = i + inner; i < end; i++) x[i] = mean[c] + (data[i] - beta[c]) * scale[c];
    return { dtype: "float32", dims: [...y.dims], data: x };
  }

  /** The dims each BN input had in the last batch measured whole. */
  inputDims(): number[][] {
    return this.bn.map((s) => s.lastDims ?? []);
  }

  /** Per BN layer, for the report's precision line: its sampling, and the pre-BN values its histograms and moments hold. */
  coverage(): { sampling: BnState["sampling"]; histogrammed: number; counted: number }[] {
    return this.bn.map((s) => {
      let histogrammed = 0,
        counted = 0;
      for (let c = 0; c < s.layer.channels; c++) {
        histogrammed += s.pre.histogramCount(c);
        counted += s.pre.count[c];
      }
      return { sampling: s.sampling, histogrammed, counted };
    });
  }

  /** Report entries for every BN layer, judged with the inspection's thresholds. */
  layerReports(context: JudgeContext = {}): LayerReport[] {
    return this.bn.map((s) =>
      bnLayerReport(s.layer, s.activation, s.pre, s.post, s.rank ?? 0, this.thresholds, s.sampling ?? null, context),
    );
  }

  /** Report entries for Conv/Gemm/MatMul outputs when the model has no BN. */
  activationReports(): ActivationLayerReport[] {
    return this.probeStates.filter((p) => p.stats).map((p) => probeReport(p.probe, p.activation, p.stats!, p.axis!, this.thresholds));
  }
}

/**
 * Below this variance / mean square, fast mode's E[t²] - E[t]² from float32 sums loses more than about 1e-4
 * relative (and falls back to the sample's variance at 1e-3, see foldSample): a tenfold margin.
 */
const CENTRED = 1e-2;

/**
 * Whether some channel of the BN output y [N, C, ...] has variance / mean square below CENTRED while its
 * recovered input x = mean + (y - beta)·scale does better (float64 over the whole tensor).
 */
function offCentre(y: Float32Array, dims: readonly number[], inv: InverseAffine): boolean {
  const { outer, channels, inner } = channelLayout(dims, 1);
  for (let c = 0; c < channels; c++) {
    let n = 0,
      s1 = 0,
      s2 = 0;
    for (let o = 0; o < outer; o++)
      for (let i = (o * channels + c) * inner, end = i + inner; i < end; i++) {
        const v = y[i];
        if (v - v !== 0) continue;
        n++;
        s1 += v;
        s2 += v * v;
      }
    if (n === 0) continue;
    const mean = s1 / n;
    const variance = Math.max(0, s2 / n - mean * mean);
    const ratioY = variance / (variance + mean * mean);
    if (!(ratioY < CENTRED)) continue;
    const xMean = inv.mean[c] + (mean - inv.beta[c]) * inv.scale[c];
    const xVar = variance * inv.scale[c] * inv.scale[c];
    if (xVar / (xVar + xMean * xMean) > ratioY) return true;
  }
  return false;
}

/** The positions 0, s, 2s, ... along each spatial axis of an [N, C, ...] tensor (what MaxPool 1, stride s keeps). */
export function strided(data: Float32Array, dims: readonly number[], strides: readonly number[]): { values: Float32Array; dims: number[] } {
  const spatial = dims.slice(2);
  const kept = spatial.map((d, k) => Math.floor((d - 1) / strides[k]) + 1);
  const outDims = [dims[0], dims[1], ...kept];
  const values = new Float32Array(outDims.reduce((a, b) => a * b, 1));
  const maps = dims[0] * dims[1];
  const inner = spatial.reduce((a, b) => a * b, 1);
  const keptInner = kept.reduce((a, b) => a * b, 1);
  // Row-major offsets of the kept positions inside one map.
  const offsets = new Int32Array(keptInner);
  for (let j = 0; j < keptInner; j++) {
    let rem = j,
      off = 0,
      scale = 1;
    for (let k = spatial.length - 1; k >= 0; k--) {
      const idx = rem % kept[k];
      rem = Math.floor(rem / kept[k]);
      off += idx * strides[k] * scale;
      scale *= spatial[k];
    }
    offsets[j] = off;
  }
  for (let m = 0; m < maps; m++) for (let j = 0; j < keptInner; j++) values[m * keptInner + j] = data[m * inner + offsets[j]];
  return { values, dims: outDims };
}

/** BatchNormalization at inference as y = a·x + b per channel. */
export function bnAffine(layer: Pick<BnLayer, "gamma" | "beta" | "runningMean" | "runningVar" | "epsilon">): {
  a: Float64Array;
  b: Float64Array;
} {
  const C = layer.gamma.length;
  const a = new Float64Array(C);
  const b = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = layer.gamma[c] / Math.sqrt(layer.runningVar[c] + layer.epsilon);
    b[c] = layer.beta[c] - a[c] * layer.runningMean[c];
  }
  return { a, b };
}

function need(get: (name: string) => HostTensor | undefined, name: string): HostTensor {
  const t = get(name);
  if (!t) throw new Error(`tensor ${name} was not captured`);
  if (t.dtype === "string") throw new UserError("model", `Tensor "${name}" holds strings; BN Lens can only measure numeric tensors.`);
  return t;
}

function checkChannels(layer: string, t: HostTensor, channels: number): void {
  if (t.dims.length < 2 || t.dims[1] !== channels) {
    throw new UserError(
      "model",
      `BatchNormalization node "${layer}" has ${channels} channels but its input has shape [${t.dims.join(", ")}]; the model is inconsistent.`,
    );
  }
}

/** Builds (or rebuilds, for merge) one BN layer's report entry from its accumulators. */
export function bnLayerReport(
  layer: Pick<
    BnLayer,
    | "index"
    | "name"
    | "input"
    | "output"
    | "channels"
    | "epsilon"
    | "gamma"
    | "beta"
    | "runningMean"
    | "runningVar"
    | "producer"
    | "trainingMode"
  >,
  activation: ActivationJson,
  pre: ChannelStats,
  post: ChannelStats,
  rank: number,
  thresholds: Thresholds,
  sampling: LayerReport["sampling"] = null,
  context: JudgeContext = {},
): LayerReport {
  const judged = judgeLayer(
    { layer: layer.name, activation, intervals: channelIntervals(activation), post, pre, bn: { ...layer }, ...context },
    thresholds,
  );
  return {
    index: layer.index,
    node: layer.name,
    input: layer.input,
    output: layer.output,
    channels: layer.channels,
    rank,
    epsilon: layer.epsilon,
    producer: layer.producer,
    activation,
    gamma: Array.from(layer.gamma),
    beta: Array.from(layer.beta),
    running: { mean: Array.from(layer.runningMean), var: Array.from(layer.runningVar) },
    pre: pre.toJson(),
    post: post.toJson(),
    saturation: judged.saturation,
    compare: judged.compare!,
    summary: judged.summary,
    warnings: withInvalidParameters(layer, judged.warnings, pre),
    sampling,
    perSample: pre.perSample?.toJson() ?? null,
    expected: judged.expected!,
  };
}

/** Builds one activation-probe report entry. */
export function probeReport(
  probe: Pick<ActivationProbe, "index" | "name" | "op" | "output">,
  activation: ActivationJson,
  stats: ChannelStats,
  channelAxis: number,
  thresholds: Thresholds,
): ActivationLayerReport {
  const judged = judgeLayer({ layer: probe.name, activation, intervals: channelIntervals(activation), post: stats }, thresholds);
  return {
    index: probe.index,
    node: probe.name,
    op: probe.op,
    output: probe.output,
    channels: stats.channels,
    channelAxis,
    activation,
    stats: stats.toJson(),
    saturation: judged.saturation,
    warnings: judged.warnings,
  };
}

/**
 * The model-level sentence and findings: what BN layers exist and what follows them; when there are
 * none in the main graph, whether BN sits in subgraphs (If/Loop/Scan bodies, not measured) or was fused away.
 */
export function modelStatement(
  layers: readonly { activation: ActivationJson }[],
  probes: number,
  subgraphBn: readonly SubgraphBn[] = [],
): { statement: string; warnings: WarningJson[] } {
  const shown = subgraphBn
    .slice(0, 4)
    .map((s) => `"${s.node}" in ${s.parentOp} "${s.parent}"`)
    .join(", ");
  const where = `${shown}${subgraphBn.length > 4 ? ", …" : ""}`;
  if (layers.length === 0) {
    if (subgraphBn.length) {
      const message =
        `The model has no BatchNormalization node in its main graph, but ${subgraphBn.length} inside the subgraphs of If/Loop/Scan nodes (${where}), which BN Lens does not measure; ` +
        `BN Lens shows activation statistics of the main graph's ${probes} Conv/Gemm/MatMul outputs instead.`;
      return { statement: message, warnings: [{ rule: "bn-in-subgraph", severity: "warning", message }] };
    }
    const message =
      `No BatchNormalization nodes: BN was probably folded into the preceding Conv/Gemm at export (PyTorch does this by default in eval mode), so there are no running statistics to check. ` +
      `BN Lens shows per-layer activation statistics of the model's ${probes} Conv/Gemm/MatMul outputs instead.`;
    return { statement: message, warnings: [{ rule: "bn-fused", severity: "info", message }] };
  }
  const byOp = new Map<string, number>();
  for (const l of layers) byOp.set(l.activation.op, (byOp.get(l.activation.op) ?? 0) + 1);
  const parts = [...byOp.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => (op === "none" ? `${n} not followed by a recognised nonlinearity` : `${n} followed by ${op}`));
  let statement = `${layers.length} BatchNormalization layer${layers.length === 1 ? "" : "s"}: ${parts.join(", ")}.`;
  const warnings: WarningJson[] = [];
  if (subgraphBn.length) {
    const more = `${subgraphBn.length} more BatchNormalization node${subgraphBn.length === 1 ? " sits" : "s sit"} inside the subgraphs of If/Loop/Scan nodes (${where}), which BN Lens does not measure.`;
    statement += ` ${more}`;
    warnings.push({ rule: "bn-in-subgraph", severity: "warning", message: more });
  }
  return { statement, warnings };
}

/**
 * Puts the invalid-parameters finding first and, when no NaN or Inf reached the layer's input, says that
 * its non-finite outputs come from the stored parameters, not from the data.
 */
function withInvalidParameters(layer: Parameters<typeof invalidParameters>[0], warnings: WarningJson[], pre: ChannelStats): WarningJson[] {
  const invalid = invalidParameters(layer);
  if (!invalid) return warnings;
  const preClean = pre.nonFinite.nan + pre.nonFinite.posInf + pre.nonFinite.negInf === 0;
  const rest = warnings.map((w) =>
    w.rule === "non-finite" && preClean
      ? {
          ...w,
          message: w.message.replace(
            / Likely cause: .*$/,
            " Cause: the model stores invalid BN parameters in this layer (see invalid-parameters).",
          ),
        }
      : w,
  );
  return [invalid, ...rest];
}

/**
 * NaN that an earlier layer's invalid parameters produced reaches every later layer: their non-finite
 * findings name that layer as the likely cause instead of the input data.
 */
export function blameUpstreamInvalid(layers: LayerReport[]): LayerReport[] {
  let culprit: string | undefined;
  return layers.map((l) => {
    const here = culprit;
    culprit = nextCulprit(l, culprit);
    return blameLayer(l, here);
  });
}

/** The first layer storing invalid parameters, once `l` is read after `culprit` (the one so far, if any). */
export function nextCulprit(l: LayerReport, culprit: string | undefined): string | undefined {
  return culprit ?? (l.warnings.some((w) => w.rule === "invalid-parameters") ? l.node : undefined);
}

/** Layer `l` with its non-finite findings blamed on `culprit`, a layer upstream storing invalid parameters. */
export function blameLayer(l: LayerReport, culprit: string | undefined): LayerReport {
  if (!culprit) return l;
  return {
    ...l,
    warnings: l.warnings.map((w) =>
      w.rule === "non-finite"
        ? {
            ...w,
            message: w.message.replace(
              / Likely cause: NaN or Inf in the input data, or an overflow upstream\.$/,
              ` Likely cause: the invalid BN parameters stored upstream in layer "${culprit}" (see invalid-parameters).`,
            ),
          }
        : w,
    ),
  };
}
