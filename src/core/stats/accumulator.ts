import type { ChannelStatsJson, HistogramJson, NonFiniteCounts } from "../report";
import { BUCKET_COUNT, BUCKET_OF_TOP_BITS } from "./histogram";
import { SampleMoments } from "./sampleMoments";

/**
 * Closed intervals [lo[i], hi[i]] (±Infinity allowed) in which a value counts as saturated,
 * sorted and disjoint. An empty list means the nonlinearity has no flat region.
 */
export interface FlatIntervals {
  lo: Float64Array;
  hi: Float64Array;
}

/** Splits dims into (outer, channels, inner) around the channel axis. */
export function channelLayout(dims: readonly number[], axis: number): { outer: number; channels: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= dims[i];
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i];
  return { outer, channels: dims[axis], inner };
}

/** ChannelStats's accumulated state in transferable form (see ChannelStats.state). */
export interface ChannelStatsState {
  channels: number;
  intervalSlots: number;
  arrays: Record<"count" | "mean" | "m2" | "min" | "max" | "histA" | "histB" | "flatCount" | "flatByInterval", Float64Array>;
  histBUsed: boolean;
  nonFinite: NonFiniteCounts;
  perSample: Record<"center" | "n" | "meanM" | "meanW" | "meanQ" | "m2M" | "m2W" | "m2Q" | "cMQ", Float64Array> | null;
}

/**
 * Streaming per-channel statistics of one tensor, accumulated in float64.
 *
 * Mean and variance are kept as (count, mean, M2) and combined with Chan et al.'s pairwise update, so
 * adding batches in any grouping — or merging reports of separate runs — gives the same numbers to
 * float64 rounding. Within a batch each channel is summed around a shift (its first finite value), which
 * keeps the variance free of cancellation even when the mean is far from zero.
 * Variance is the population variance: M2 / count.
 */
export class ChannelStats {
  readonly count: Float64Array;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  // channels x BUCKET_COUNT bucket counts, kept in two halves that hot loops fill alternately (two
  // independent increment chains run faster than one); `hist` folds them.
  private readonly histA: Float64Array;
  private readonly histB: Float64Array;
  private histBUsed = false;
  /** Values inside the flat region, per channel (only when flat intervals are given to add()). */
  readonly flatCount: Float64Array;
  /** channels x intervalSlots: values inside each flat interval. */
  readonly flatByInterval: Float64Array;
  readonly nonFinite: NonFiniteCounts = { nan: 0, posInf: 0, negInf: 0 };
  /**
   * When set, add() also folds each sample's mean and variance per channel into it (tensors whose channel axis
   * is 1, so that the outer dim is the sample). Only plain adds (no affine map) feed it.
   */
  perSample: SampleMoments | null = null;

  /** `intervalSlots`: the most flat intervals any channel has (0 when flat regions are not counted). */
  constructor(
    readonly channels: number,
    readonly intervalSlots = 0,
  ) {
    this.count = new Float64Array(channels);
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
    this.min = new Float64Array(channels).fill(Infinity);
    this.max = new Float64Array(channels).fill(-Infinity);
    this.histA = new Float64Array(channels * BUCKET_COUNT);
    this.histB = new Float64Array(channels * BUCKET_COUNT);
    this.flatCount = new Float64Array(channels);
    this.flatByInterval = new Float64Array(channels * intervalSlots);
  }

  /**
   * Everything accumulated, as plain typed arrays and numbers (structured-cloneable), so another thread can go
   * on folding batches into a copy and hand it back (src/runtime/foldThread.ts); `load` takes it back in.
   */
  state(): ChannelStatsState {
    const ps = this.perSample;
    return {
      channels: this.channels,
      intervalSlots: this.intervalSlots,
      arrays: {
        count: this.count,
        mean: this.mean,
        m2: this.m2,
        min: this.min,
        max: this.max,
        histA: this.histA,
        histB: this.histB,
        flatCount: this.flatCount,
        flatByInterval: this.flatByInterval,
      },
      histBUsed: this.histBUsed,
      nonFinite: { ...this.nonFinite },
      perSample: ps
        ? {
            center: ps.center,
            n: ps.n,
            meanM: ps.meanM,
            meanW: ps.meanW,
            meanQ: ps.meanQ,
            m2M: ps.m2M,
            m2W: ps.m2W,
            m2Q: ps.m2Q,
            cMQ: ps.cMQ,
          }
        : null,
    };
  }

  /** Replaces everything accumulated with a state of the same shape (from `state()`). */
  load(state: ChannelStatsState): void {
    if (state.channels !== this.channels || state.intervalSlots !== this.intervalSlots)
      throw new Error(`statistics of ${state.channels} channels cannot replace ${this.channels}`);
    const own = this.state().arrays;
    for (const key of Object.keys(own) as (keyof ChannelStatsState["arrays"])[]) own[key].set(state.arrays[key]);
    this.histBUsed = state.histBUsed;
    Object.assign(this.nonFinite, state.nonFinite);
    if (state.perSample) {
      this.perSample ??= new SampleMoments(Float64Array.from(state.perSample.center));
      const ps = this.perSample as unknown as Record<string, Float64Array>;
      for (const [key, values] of Object.entries(state.perSample)) ps[key].set(values);
    } else this.perSample = null;
  }

  /** channels x BUCKET_COUNT bucket counts. */
  get hist(): Float64Array {
    if (this.histBUsed) {
      for (let i = 0; i < this.histA.length; i++) this.histA[i] += this.histB[i];
      this.histB.fill(0);
      this.histBUsed = false;
    }
    return this.histA;
  }

  /** The two halves of the histogram, for hot loops that fill them alternately. */
  histHalves(): [Float64Array, Float64Array] {
    this.histBUsed = true;
    return [this.histA, this.histB];
  }

  /** Merges one group of values of channel c, given as count, mean and M2 (Chan's update). */
  mergeMoments(c: number, n: number, mean: number, m2: number): void {
    if (n <= 0) return;
    const na = this.count[c];
    if (na === 0) {
      this.count[c] = n;
      this.mean[c] = mean;
      this.m2[c] = m2;
      return;
    }
    const total = na + n;
    const delta = mean - this.mean[c];
    this.mean[c] += (delta * n) / total;
    this.m2[c] += m2 + (delta * delta * na * n) / total;
    this.count[c] = total;
  }

  /**
   * Adds a whole float32 tensor whose channel axis is `axis`. `flat`, when given, holds the flat
   * intervals per channel (one entry shared by all channels, or one per channel). With `affine`, the values
   * added are a[c]·x + b[c] rounded to float32 (a BN layer's own map turns pre-BN into post-BN values).
   */
  add(
    data: Float32Array,
    dims: readonly number[],
    axis: number,
    flat?: readonly FlatIntervals[],
    affine?: { a: Float64Array; b: Float64Array },
  ): void {
    const { outer, channels, inner } = channelLayout(dims, axis);
    if (channels !== this.channels) throw new Error(`expected ${this.channels} channels, got ${channels}`);
    if (affine && inner === 1 && channels > 1) {
      // Channel-last layouts are small ([N, C]); transform a copy and take the plain path.
      const y = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) y[i] = affine.a[i % channels] * data[i] + affine.b[i % channels];
      return this.add(y, dims, axis, flat);
    }
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    // Per-batch sums per channel around a shift, folded into the running moments at the end.
    const n = new Float64Array(channels);
    const s1 = new Float64Array(channels);
    const s2 = new Float64Array(channels);
    const shift = new Float64Array(channels).fill(NaN);
    const flatOf = (c: number) => (flat ? flat[flat.length === 1 ? 0 : c] : undefined);
    const row = affine ? new Float32Array(inner) : undefined;
    const rowBits = row ? new Uint32Array(row.buffer) : undefined;
    const ps = axis === 1 && !affine ? this.perSample : null;
    // One run of addRun is one sample's values of channel c: its moments are the change of the batch sums.
    const sampleRun = (c: number, run: () => void) => {
      if (!ps) return run();
      const n0 = n[c],
        a0 = s1[c],
        b0 = s2[c];
      run();
      const dn = n[c] - n0;
      if (dn === 0) return;
      const m = (s1[c] - a0) / dn;
      ps.add(c, shift[c] + m, Math.max(0, (s2[c] - b0) / dn - m * m));
    };
    if (inner === 1 && channels > 1) {
      // Channel is the last axis (e.g. [N, C] or MatMul outputs): walk rows.
      for (let o = 0; o < outer; o++) {
        const base = o * channels;
        for (let c = 0; c < channels; c++)
          sampleRun(c, () => this.addRun(c, data, bits, base + c, base + c + 1, n, s1, s2, shift, flatOf(c)));
      }
    } else {
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) {
          const start = (o * channels + c) * inner;
          if (row && rowBits && affine) {
            const ac = affine.a[c],
              bc = affine.b[c];
            for (let i = 0; i < inner; i++) row[i] = ac * data[start + i] + bc;
            this.addRun(c, row, rowBits, 0, inner, n, s1, s2, shift, flatOf(c));
          } else sampleRun(c, () => this.addRun(c, data, bits, start, start + inner, n, s1, s2, shift, flatOf(c)));
        }
      }
    }
    for (let c = 0; c < channels; c++) {
      if (n[c] === 0) continue;
      const m = s1[c] / n[c];
      this.mergeMoments(c, n[c], shift[c] + m, Math.max(0, s2[c] - s1[c] * m));
    }
  }

  /** Values that entered the histogram of channel c (the moment count, unless the layer was sampled). */
  histogramCount(c: number): number {
    let t = 0;
    for (let b = 0; b < BUCKET_COUNT; b++) t += this.hist[c * BUCKET_COUNT + b];
    return t;
  }

  private addRun(
    c: number,
    data: Float32Array,
    bits: Uint32Array,
    start: number,
    end: number,
    n: Float64Array,
    s1: Float64Array,
    s2: Float64Array,
    shift: Float64Array,
    flat: FlatIntervals | undefined,
  ): void {
    const [hA, hB] = this.histHalves();
    const hb = c * BUCKET_COUNT;
    let k = shift[c];
    let cnt = 0,
      a = 0,
      b = 0,
      mn = this.min[c],
      mx = this.max[c];
    const nonFinite = (x: number) => {
      if (x !== x) this.nonFinite.nan++;
      else if (x > 0) this.nonFinite.posInf++;
      else this.nonFinite.negInf++;
    };
    // Two values per step, each into its own histogram half; a non-finite value or the odd last one
    // takes the one-at-a-time path.
    for (let i = start; i < end; i += 2) {
      const pair = i + 1 < end;
      const b0 = BUCKET_OF_TOP_BITS[bits[i] >>> 21];
      const b1 = pair ? BUCKET_OF_TOP_BITS[bits[i + 1] >>> 21] : -1;
      const x0 = data[i];
      const x1 = pair ? data[i + 1] : NaN;
      if ((b0 | b1) < 0) {
        for (let j = i; j < (pair ? i + 2 : i + 1); j++) {
          const x = data[j];
          const bucket = BUCKET_OF_TOP_BITS[bits[j] >>> 21];
          if (bucket < 0) {
            nonFinite(x);
            continue;
          }
          if (k !== k) k = x;
          const d = x - k;
          cnt++;
          a += d;
          b += d * d;
          if (x < mn) mn = x;
          if (x > mx) mx = x;
          hA[hb + bucket]++;
        }
        continue;
      }
      if (k !== k) k = x0;
      const d0 = x0 - k;
      const d1 = x1 - k;
      cnt += 2;
      a += d0 + d1;
      b += d0 * d0 + d1 * d1;
      if (x0 < mn) mn = x0;
      if (x0 > mx) mx = x0;
      if (x1 < mn) mn = x1;
      if (x1 > mx) mx = x1;
      hA[hb + b0]++;
      hB[hb + b1]++;
    }
    let inFlat = 0;
    if (flat && flat.lo.length > 0) {
      if (flat.lo.length > this.intervalSlots) throw new Error("more flat intervals than slots");
      inFlat = countFlat(data, start, end, flat, this.flatByInterval, c * this.intervalSlots);
    }
    shift[c] = k;
    n[c] += cnt;
    s1[c] += a;
    s2[c] += b;
    this.min[c] = mn;
    this.max[c] = mx;
    this.flatCount[c] += inFlat;
  }

  /** Adds another accumulator of the same channels (exact up to float64 rounding). */
  merge(other: ChannelStats): void {
    if (other.channels !== this.channels || other.intervalSlots !== this.intervalSlots) throw new Error("channel count differs");
    for (let i = 0; i < this.flatByInterval.length; i++) this.flatByInterval[i] += other.flatByInterval[i];
    for (let c = 0; c < this.channels; c++) {
      this.mergeMoments(c, other.count[c], other.mean[c], other.m2[c]);
      if (other.min[c] < this.min[c]) this.min[c] = other.min[c];
      if (other.max[c] > this.max[c]) this.max[c] = other.max[c];
      this.flatCount[c] += other.flatCount[c];
    }
    for (let i = 0; i < this.hist.length; i++) this.hist[i] += other.hist[i];
    if (this.perSample && other.perSample) this.perSample.merge(other.perSample);
    this.nonFinite.nan += other.nonFinite.nan;
    this.nonFinite.posInf += other.nonFinite.posInf;
    this.nonFinite.negInf += other.nonFinite.negInf;
  }

  /** Population variance of channel c, or null without data. */
  variance(c: number): number | null {
    return this.count[c] > 0 ? this.m2[c] / this.count[c] : null;
  }

  toJson(): ChannelStatsJson {
    const C = this.channels;
    const has = (c: number) => this.count[c] > 0;
    return {
      count: Array.from(this.count),
      mean: Array.from({ length: C }, (_, c) => (has(c) ? this.mean[c] : null)),
      var: Array.from({ length: C }, (_, c) => this.variance(c)),
      min: Array.from({ length: C }, (_, c) => (has(c) ? this.min[c] : null)),
      max: Array.from({ length: C }, (_, c) => (has(c) ? this.max[c] : null)),
      nonFinite: { ...this.nonFinite },
      histogram: histogramToJson(this.hist, C),
    };
  }

  /** Rebuilds an accumulator from a report's statistics (for merge). */
  static fromJson(json: ChannelStatsJson, byInterval?: readonly (readonly number[])[]): ChannelStats {
    const C = json.count.length;
    const slots = byInterval ? Math.max(0, ...byInterval.map((r) => r.length)) : 0;
    const s = new ChannelStats(C, slots);
    for (let c = 0; c < C; c++) {
      const n = json.count[c];
      if (n > 0) {
        s.count[c] = n;
        s.mean[c] = json.mean[c] ?? 0;
        s.m2[c] = (json.var[c] ?? 0) * n;
        s.min[c] = json.min[c] ?? Infinity;
        s.max[c] = json.max[c] ?? -Infinity;
      }
      const row = byInterval?.[c] ?? [];
      row.forEach((v, j) => (s.flatByInterval[c * slots + j] = v));
      s.flatCount[c] = row.reduce((a, b) => a + b, 0);
    }
    const h = json.histogram;
    h.perChannel.forEach((row, c) => row.forEach((v, k) => (s.hist[c * BUCKET_COUNT + h.first + k] = v)));
    Object.assign(s.nonFinite, json.nonFinite);
    return s;
  }
}

/** Dense rows over the smallest bucket range that holds every non-zero count of the layer. */
export function histogramToJson(hist: Float64Array, channels: number): HistogramJson {
  let first = BUCKET_COUNT;
  let last = -1;
  for (let c = 0; c < channels; c++) {
    for (let b = 0; b < BUCKET_COUNT; b++) {
      if (hist[c * BUCKET_COUNT + b] !== 0) {
        if (b < first) first = b;
        if (b > last) last = b;
      }
    }
  }
  if (last < 0) return { first: 0, total: [], perChannel: Array.from({ length: channels }, () => []) };
  const total = new Array<number>(last - first + 1).fill(0);
  const perChannel: number[][] = [];
  for (let c = 0; c < channels; c++) {
    const row = Array.from(hist.subarray(c * BUCKET_COUNT + first, c * BUCKET_COUNT + last + 1));
    row.forEach((v, k) => (total[k] += v));
    perChannel.push(row);
  }
  return { first, total, perChannel };
}

/** Mean and population variance of all channels pooled together, from per-channel statistics. */
export function pooled(stats: Pick<ChannelStatsJson, "count" | "mean" | "var">): { n: number; mean: number; variance: number } {
  const s = new ChannelStats(1);
  stats.count.forEach((n, c) => s.mergeMoments(0, n, stats.mean[c] ?? 0, (stats.var[c] ?? 0) * n));
  return { n: s.count[0], mean: s.mean[0], variance: s.variance(0) ?? 0 };
}

/** Population variance of values[start, end) (two passes, float64). */
export function variance(values: Float32Array, start: number, end: number): number {
  let m = 0;
  for (let i = start; i < end; i++) m += values[i];
  m /= end - start;
  let v = 0;
  for (let i = start; i < end; i++) v += (values[i] - m) ** 2;
  return v / (end - start);
}

/**
 * Counts finite values of v[start, end) inside the flat intervals, adding each interval's count to
 * out[offset + j]; returns the total. One and two intervals (ReLU, sigmoid) get their own tight loops.
 */
export function countFlat(v: Float32Array, start: number, end: number, fl: FlatIntervals, out: Float64Array, offset: number): number {
  const n = fl.lo.length;
  // Branch-free counting: about half the values of a ReLU layer are flat, so a branch would mispredict
  // constantly. x - x === 0 holds only for finite x: infinities are counted apart, never as flat.
  if (n === 1) {
    const lo = fl.lo[0],
      hi = fl.hi[0];
    let c0 = 0;
    for (let i = start; i < end; i++) {
      const x = v[i];
      c0 += +(x >= lo) & +(x <= hi) & +(x - x === 0);
    }
    out[offset] += c0;
    return c0;
  }
  if (n === 2) {
    const lo0 = fl.lo[0],
      hi0 = fl.hi[0],
      lo1 = fl.lo[1],
      hi1 = fl.hi[1];
    let c0 = 0,
      c1 = 0;
    for (let i = start; i < end; i++) {
      const x = v[i];
      const finite = +(x - x === 0);
      c0 += +(x >= lo0) & +(x <= hi0) & finite;
      c1 += +(x >= lo1) & +(x <= hi1) & finite;
    }
    out[offset] += c0;
    out[offset + 1] += c1;
    return c0 + c1;
  }
  let total = 0;
  for (let i = start; i < end; i++) {
    const x = v[i];
    if (x - x !== 0) continue;
    for (let j = 0; j < n; j++) {
      if (x >= fl.lo[j] && x <= fl.hi[j]) {
        out[offset + j]++;
        total++;
        break;
      }
    }
  }
  return total;
}
