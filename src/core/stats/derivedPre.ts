import type { BnLayer } from "../graph/bnLayers";
import { ChannelStats, channelLayout, countFlat, type FlatIntervals } from "./accumulator";
import { foldRuns, type RunParams } from "./foldKernel";

/**
 * Exact mode reads only each BN layer's output y and recovers its input through the inverse of the layer's
 * inference map, x = mean + (y - beta)·scale with scale = sqrt(var + eps) / gamma, computed in float64.
 * Capturing the input as well would keep onnxruntime from folding BN into the Conv before it and doubles
 * the values copied out of every run (measured on the face detector: 3.6x plain inference in onnxruntime
 * alone with both, 2.3x with the output only).
 *
 * y carries float32 rounding of a few ulp of |y|, so a recovered x is off by about 2^-22·|y|/|a| (a =
 * gamma/sqrt(var + eps)), i.e. by 2^-22·(|beta/gamma| + |y - beta|/|gamma|) of the running std. That is
 * negligible when |beta| ≤ MAX_BETA_OVER_GAMMA·|gamma|; other layers (gamma near 0, dead channels, training
 * mode) are captured directly.
 */
export const MAX_BETA_OVER_GAMMA = 1000;

/**
 * Channel c's flat intervals, and the single one (ReLU's) that hot loops count inline; with none or several,
 * [flo, fhi] is empty and counts nothing (countFlat takes those afterwards).
 */
function flatOf(flat: readonly FlatIntervals[] | undefined, c: number) {
  const fl = flat ? flat[flat.length === 1 ? 0 : c] : undefined;
  const single = fl !== undefined && fl.lo.length === 1;
  return { fl, single, flo: single ? fl.lo[0] : Infinity, fhi: single ? fl.hi[0] : -Infinity };
}

/** Per channel: x = mean[c] + (y - beta[c])·scale[c]. */
export interface InverseAffine {
  mean: Float64Array;
  beta: Float64Array;
  scale: Float64Array;
}

/** The inverse map of a BN layer, or undefined when its input must be captured directly (see above). */
export function inverseAffine(
  layer: Pick<BnLayer, "gamma" | "beta" | "runningMean" | "runningVar" | "epsilon" | "trainingMode">,
): InverseAffine | undefined {
  if (layer.trainingMode) return undefined;
  const C = layer.gamma.length;
  const scale = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const g = layer.gamma[c];
    const sd = Math.sqrt(layer.runningVar[c] + layer.epsilon);
    if (!(Math.abs(g) > 0) || !(Math.abs(layer.beta[c]) <= MAX_BETA_OVER_GAMMA * Math.abs(g)) || !Number.isFinite(sd) || !(sd > 0))
      return undefined;
    scale[c] = sd / g;
    if (!Number.isFinite(scale[c]) || !Number.isFinite(layer.runningMean[c])) return undefined;
  }
  return { mean: Float64Array.from(layer.runningMean), beta: Float64Array.from(layer.beta), scale };
}

/** The kernel's per-channel parameters for a layer: its inverse map and single flat interval (see flatOf). */
function runParams(
  inv: Pick<InverseAffine, "mean" | "beta" | "scale">,
  flat: readonly FlatIntervals[] | undefined,
  channels: number,
): RunParams {
  const flo = new Float64Array(channels),
    fhi = new Float64Array(channels);
  for (let c = 0; c < channels; c++) ({ flo: flo[c], fhi: fhi[c] } = flatOf(flat, c));
  return { mean: inv.mean, beta: inv.beta, scale: inv.scale, flo, fhi };
}

/**
 * Adds a whole BN output y [N, C, ...] to `post` (moments, extremes, histogram, flat-region counts) and the
 * recovered input fround(x) to `pre` (histogram per value; moments and extremes through the map, which is
 * affine and monotone per channel, so they are exactly those of the recovered values up to float64 rounding).
 * One pass over y (foldKernel.ts); moments per sample and channel, merged with Chan's update.
 */
export function addOutputWithDerivedInput(
  pre: ChannelStats,
  post: ChannelStats,
  y: Float32Array,
  dims: readonly number[],
  inv: InverseAffine,
  flat?: readonly FlatIntervals[],
): void {
  const { outer, channels, inner } = channelLayout(dims, 1);
  if (channels !== post.channels) throw new Error(`expected ${post.channels} channels, got ${channels}`);
  const { records, nonFinite } = foldRuns(y, channels, inner, runParams(inv, flat, channels), post.histHalves()[0], pre.histHalves()[0]);
  post.nonFinite.nan += nonFinite[0];
  post.nonFinite.posInf += nonFinite[1];
  post.nonFinite.negInf += nonFinite[2];
  pre.nonFinite.nan += nonFinite[3];
  pre.nonFinite.posInf += nonFinite[4];
  pre.nonFinite.negInf += nonFinite[5];
  const slots = post.intervalSlots;
  for (let r = 0; r < outer * channels; r++) {
    const c = r % channels;
    const cnt = records[7 * r],
      k = records[7 * r + 1],
      s1 = records[7 * r + 2],
      s2 = records[7 * r + 3],
      mn = records[7 * r + 4],
      mx = records[7 * r + 5],
      fc = records[7 * r + 6];
    const { fl, single } = flatOf(flat, c);
    if (single) {
      post.flatCount[c] += fc;
      post.flatByInterval[c * slots] += fc;
    } else if (fl && fl.lo.length) post.flatCount[c] += countFlat(y, r * inner, (r + 1) * inner, fl, post.flatByInterval, c * slots);
    if (cnt === 0) continue;
    const mu = inv.mean[c],
      be = inv.beta[c],
      sc = inv.scale[c];
    const m = s1 / cnt;
    const m2 = Math.max(0, s2 - s1 * m);
    post.mergeMoments(c, cnt, k + m, m2);
    const preMean = mu + (k + m - be) * sc;
    pre.mergeMoments(c, cnt, preMean, m2 * sc * sc);
    // This run is one sample's values of channel c: its moments feed the per-sample statistics (intervals).
    pre.perSample?.add(c, preMean, (m2 * sc * sc) / cnt);
    if (mn < post.min[c]) post.min[c] = mn;
    if (mx > post.max[c]) post.max[c] = mx;
    // fround is monotone, so the extremes of the recovered float32 values are the images of y's.
    const xLo = Math.fround(mu + ((sc > 0 ? mn : mx) - be) * sc);
    const xHi = Math.fround(mu + ((sc > 0 ? mx : mn) - be) * sc);
    if (xLo < pre.min[c]) pre.min[c] = xLo;
    if (xHi > pre.max[c]) pre.max[c] = xHi;
  }
}

/**
 * Fast mode's pass over one batch of a layer's spatial sample t [N, C, ...], the BN output or the BN input: the
 * buckets and extremes of t go to `own`; those of the other side of BN, fround(mean + (t - beta)·scale), to `other`
 * (extremes as the images of t's: the map is monotone per channel, and so is fround); the flat-region counts to the
 * post-BN side, counted on t when t is the BN output, else on the mapped values. Moments are not touched (they come
 * from reductions over every value). A fast batch holds only finite values (addFastBatch checks its reductions).
 */
function addSampledPass(
  own: ChannelStats,
  other: ChannelStats,
  t: Float32Array,
  dims: readonly number[],
  map: Pick<InverseAffine, "mean" | "beta" | "scale">,
  flat: readonly FlatIntervals[] | undefined,
  tIsOutput: boolean,
): void {
  const { outer, channels, inner } = channelLayout(dims, 1);
  if (channels !== own.channels) throw new Error(`expected ${own.channels} channels, got ${channels}`);
  const { records } = foldRuns(t, channels, inner, runParams(map, flat, channels), own.histHalves()[0], other.histHalves()[0], {
    flatOfMapped: !tIsOutput,
  });
  const post = tIsOutput ? own : other;
  const slots = post.intervalSlots;
  let row: Float32Array | undefined;
  for (let r = 0; r < outer * channels; r++) {
    const c = r % channels;
    const rmn = records[7 * r + 4],
      rmx = records[7 * r + 5];
    const mn = rmn < own.min[c] ? rmn : own.min[c],
      mx = rmx > own.max[c] ? rmx : own.max[c];
    own.min[c] = mn;
    own.max[c] = mx;
    const mu = map.mean[c],
      be = map.beta[c],
      sc = map.scale[c];
    if (inner) {
      const lo = Math.fround(mu + ((sc >= 0 ? mn : mx) - be) * sc);
      const hi = Math.fround(mu + ((sc >= 0 ? mx : mn) - be) * sc);
      if (lo < other.min[c]) other.min[c] = lo;
      if (hi > other.max[c]) other.max[c] = hi;
    }
    const { fl, single } = flatOf(flat, c);
    if (single) {
      post.flatCount[c] += records[7 * r + 6];
      post.flatByInterval[c * slots] += records[7 * r + 6];
    } else if (fl && fl.lo.length) {
      // Several flat intervals (a clip's two ends) are counted here, on the post-BN values of this run.
      let values = t.subarray(r * inner, (r + 1) * inner);
      if (!tIsOutput) {
        row ??= new Float32Array(inner);
        for (let i = 0; i < inner; i++) row[i] = mu + (values[i] - be) * sc;
        values = row;
      }
      post.flatCount[c] += countFlat(values, 0, inner, fl, post.flatByInterval, c * slots);
    }
  }
}

/**
 * Fast mode, one batch of one BN layer measured on its output: adds sampled BN outputs y [N, C, ...] to
 * `post`'s histogram, extremes and flat-region counts, and the recovered inputs fround(x) to `pre`'s
 * histogram and extremes (see addSampledPass).
 */
export function addSampledOutputWithDerivedInput(
  pre: ChannelStats,
  post: ChannelStats,
  y: Float32Array,
  dims: readonly number[],
  inv: InverseAffine,
  flat?: readonly FlatIntervals[],
): void {
  addSampledPass(post, pre, y, dims, inv, flat, true);
}

/**
 * Fast mode, one batch of one BN layer measured on its input: adds sampled pre-BN values x [N, C, ...] to `pre`'s
 * histogram and extremes, and their post-BN values fround(a·x + b) (the map b + (x - 0)·a, the same float64 number)
 * to `post`'s histogram, extremes and flat-region counts (see addSampledPass).
 */
export function addSampledHistograms(
  pre: ChannelStats,
  post: ChannelStats,
  x: Float32Array,
  dims: readonly number[],
  affine: { a: Float64Array; b: Float64Array },
  flat?: readonly FlatIntervals[],
): void {
  addSampledPass(pre, post, x, dims, { mean: affine.b, beta: new Float64Array(affine.a.length), scale: affine.a }, flat, false);
}
