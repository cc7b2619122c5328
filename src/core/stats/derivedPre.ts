import type { BnLayer } from "../graph/bnLayers";
import { ChannelStats, channelLayout, countFlat, type FlatIntervals } from "./accumulator";
import { BUCKET_COUNT, BUCKET_OF_TOP_BITS } from "./histogram";

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

/**
 * Adds a whole BN output y [N, C, ...] to `post` (moments, extremes, histogram, flat-region counts) and the
 * recovered input fround(x) to `pre` (histogram per value; moments and extremes through the map, which is
 * affine and monotone per channel, so they are exactly those of the recovered values up to float64 rounding).
 * One pass over y; moments per sample and channel, merged with Chan's update.
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
  const bits = new Uint32Array(y.buffer, y.byteOffset, y.length);
  const [postA, postB] = post.histHalves();
  const [preA, preB] = pre.histHalves();
  const slots = post.intervalSlots;
  // Two recovered inputs at a time, rounded to float32 through this pair and bucketed from its bits in the same
  // pass as their outputs, with a single flat interval (ReLU's) counted in it too: one pass over y instead of three.
  const pair = new Float32Array(2);
  const pairBits = new Uint32Array(pair.buffer);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const start = (o * channels + c) * inner;
      const end = start + inner;
      const hb = c * BUCKET_COUNT;
      const mu = inv.mean[c],
        be = inv.beta[c],
        sc = inv.scale[c];
      const { fl, single, flo, fhi } = flatOf(flat, c);
      let k = NaN,
        cnt = 0,
        s1 = 0,
        s2 = 0,
        mn = Infinity,
        mx = -Infinity,
        fc = 0;
      // Two values per step, each into its own histogram half; a pair holding a non-finite value (or whose
      // recovered inputs overflow float32), and the odd last value, go one at a time (no closure here:
      // captured locals would leave registers).
      for (let i = start; i < end; i += 2) {
        const isPair = i + 1 < end;
        const b0 = BUCKET_OF_TOP_BITS[bits[i] >>> 21];
        const b1 = isPair ? BUCKET_OF_TOP_BITS[bits[i + 1] >>> 21] : -1;
        const y0 = y[i],
          y1 = isPair ? y[i + 1] : 0;
        pair[0] = mu + (y0 - be) * sc;
        pair[1] = mu + (y1 - be) * sc;
        const x0 = BUCKET_OF_TOP_BITS[pairBits[0] >>> 21],
          x1 = BUCKET_OF_TOP_BITS[pairBits[1] >>> 21];
        if ((b0 | b1 | x0 | x1) < 0) {
          for (let j = i; j < (isPair ? i + 2 : i + 1); j++) {
            const v = y[j];
            const b = BUCKET_OF_TOP_BITS[bits[j] >>> 21];
            if (b < 0) {
              // Counted apart, never bucketed; the input of a non-finite output is non-finite, of the matching sign.
              if (v !== v) {
                post.nonFinite.nan++;
                pre.nonFinite.nan++;
              } else {
                post.nonFinite[v > 0 ? "posInf" : "negInf"]++;
                pre.nonFinite[v > 0 === sc > 0 ? "posInf" : "negInf"]++;
              }
              continue;
            }
            pair[0] = mu + (v - be) * sc;
            const bx = BUCKET_OF_TOP_BITS[pairBits[0] >>> 21];
            if (bx >= 0) preA[hb + bx]++;
            if (k !== k) k = v;
            const d = v - k;
            cnt++;
            s1 += d;
            s2 += d * d;
            if (v < mn) mn = v;
            if (v > mx) mx = v;
            fc += +(v >= flo) & +(v <= fhi);
            postA[hb + b]++;
          }
          continue;
        }
        if (k !== k) k = y0;
        const d0 = y0 - k,
          d1 = y1 - k;
        cnt += 2;
        s1 += d0 + d1;
        s2 += d0 * d0 + d1 * d1;
        if (y0 < mn) mn = y0;
        if (y0 > mx) mx = y0;
        if (y1 < mn) mn = y1;
        if (y1 > mx) mx = y1;
        fc += (+(y0 >= flo) & +(y0 <= fhi)) + (+(y1 >= flo) & +(y1 <= fhi));
        postA[hb + b0]++;
        postB[hb + b1]++;
        preA[hb + x0]++;
        preB[hb + x1]++;
      }
      if (single) {
        post.flatCount[c] += fc;
        post.flatByInterval[c * slots] += fc;
      } else if (fl && fl.lo.length) post.flatCount[c] += countFlat(y, start, end, fl, post.flatByInterval, c * slots);
      if (cnt === 0) continue;
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
}

/**
 * Fast mode, one batch of one BN layer measured on its output: adds sampled BN outputs y [N, C, ...] to
 * `post`'s histogram, extremes and flat-region counts, and the recovered inputs fround(x) to `pre`'s
 * histogram and extremes. Moments are not touched (they come from reductions over every value). The
 * mirror of addSampledHistograms, which starts from sampled inputs.
 */
export function addSampledOutputWithDerivedInput(
  pre: ChannelStats,
  post: ChannelStats,
  y: Float32Array,
  dims: readonly number[],
  inv: InverseAffine,
  flat?: readonly FlatIntervals[],
): void {
  const { outer, channels, inner } = channelLayout(dims, 1);
  if (channels !== post.channels) throw new Error(`expected ${post.channels} channels, got ${channels}`);
  const bits = new Uint32Array(y.buffer, y.byteOffset, y.length);
  const [preA, preB] = pre.histHalves();
  const [postA, postB] = post.histHalves();
  const slots = post.intervalSlots;
  // Two recovered inputs at a time, rounded to float32 through this pair and bucketed from its bits in the same
  // pass as their outputs (one pass per map instead of three: measured about 0.86x the time of separate passes).
  const pair = new Float32Array(2);
  const pairBits = new Uint32Array(pair.buffer);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const start = (o * channels + c) * inner;
      const end = start + inner;
      const mu = inv.mean[c],
        be = inv.beta[c],
        sc = inv.scale[c];
      const hb = c * BUCKET_COUNT;
      const { fl, single, flo, fhi } = flatOf(flat, c);
      let fc = 0;
      let mn = post.min[c],
        mx = post.max[c];
      let i = start;
      for (; i + 1 < end; i += 2) {
        const v0 = y[i],
          v1 = y[i + 1];
        pair[0] = mu + (v0 - be) * sc;
        pair[1] = mu + (v1 - be) * sc;
        if (v0 < mn) mn = v0;
        if (v0 > mx) mx = v0;
        if (v1 < mn) mn = v1;
        if (v1 > mx) mx = v1;
        fc += (+(v0 >= flo) & +(v0 <= fhi) & +(v0 - v0 === 0)) + (+(v1 >= flo) & +(v1 <= fhi) & +(v1 - v1 === 0));
        postA[hb + BUCKET_OF_TOP_BITS[bits[i] >>> 21]]++;
        postB[hb + BUCKET_OF_TOP_BITS[bits[i + 1] >>> 21]]++;
        preA[hb + BUCKET_OF_TOP_BITS[pairBits[0] >>> 21]]++;
        preB[hb + BUCKET_OF_TOP_BITS[pairBits[1] >>> 21]]++;
      }
      if (i < end) {
        const v0 = y[i];
        pair[0] = mu + (v0 - be) * sc;
        if (v0 < mn) mn = v0;
        if (v0 > mx) mx = v0;
        fc += +(v0 >= flo) & +(v0 <= fhi) & +(v0 - v0 === 0);
        postA[hb + BUCKET_OF_TOP_BITS[bits[i] >>> 21]]++;
        preA[hb + BUCKET_OF_TOP_BITS[pairBits[0] >>> 21]]++;
      }
      post.min[c] = mn;
      post.max[c] = mx;
      // fround is monotone and so is the map: the recovered extremes are the images of y's.
      if (inner) {
        const xLo = Math.fround(mu + ((sc > 0 ? mn : mx) - be) * sc);
        const xHi = Math.fround(mu + ((sc > 0 ? mx : mn) - be) * sc);
        if (xLo < pre.min[c]) pre.min[c] = xLo;
        if (xHi > pre.max[c]) pre.max[c] = xHi;
      }
      if (single) {
        post.flatCount[c] += fc;
        post.flatByInterval[c * slots] += fc;
      } else if (fl && fl.lo.length) post.flatCount[c] += countFlat(y, start, end, fl, post.flatByInterval, c * slots);
    }
  }
}
