import type { ChannelStatsJson, HistogramJson, NonFiniteCounts } from "../report";
import { BUCKET_COUNT, BUCKET_OF_TOP_BITS } from "./histogram";

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
  /** channels x BUCKET_COUNT bucket counts. */
  readonly hist: Float64Array;
  /** Values inside the flat region, per channel (only when flat intervals are given to add()). */
  readonly flatCount: Float64Array;
  /** channels x intervalSlots: values inside each flat interval. */
  readonly flatByInterval: Float64Array;
  readonly nonFinite: NonFiniteCounts = { nan: 0, posInf: 0, negInf: 0 };

  /** `intervalSlots`: the most flat intervals any channel has (0 when flat regions are not counted). */
  constructor(readonly channels: number, readonly intervalSlots = 0) {
    this.count = new Float64Array(channels);
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
    this.min = new Float64Array(channels).fill(Infinity);
    this.max = new Float64Array(channels).fill(-Infinity);
    this.hist = new Float64Array(channels * BUCKET_COUNT);
    this.flatCount = new Float64Array(channels);
    this.flatByInterval = new Float64Array(channels * intervalSlots);
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
  add(data: Float32Array, dims: readonly number[], axis: number, flat?: readonly FlatIntervals[], affine?: { a: Float64Array; b: Float64Array }): void {
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
    if (inner === 1 && channels > 1) {
      // Channel is the last axis (e.g. [N, C] or MatMul outputs): walk rows.
      for (let o = 0; o < outer; o++) {
        const base = o * channels;
        for (let c = 0; c < channels; c++) this.addRun(c, data, bits, base + c, base + c + 1, n, s1, s2, shift, flatOf(c));
      }
    } else {
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) {
          const start = (o * channels + c) * inner;
          if (row && rowBits && affine) {
            const ac = affine.a[c], bc = affine.b[c];
            for (let i = 0; i < inner; i++) row[i] = ac * data[start + i] + bc;
            this.addRun(c, row, rowBits, 0, inner, n, s1, s2, shift, flatOf(c));
          } else this.addRun(c, data, bits, start, start + inner, n, s1, s2, shift, flatOf(c));
        }
      }
    }
    for (let c = 0; c < channels; c++) {
      if (n[c] === 0) continue;
      const m = s1[c] / n[c];
      this.mergeMoments(c, n[c], shift[c] + m, Math.max(0, s2[c] - s1[c] * m));
    }
  }

  /**
   * Adds a spatial sample of a tensor [N, C, ...] (fast mode). Histograms, flat-region counts and extremes
   * take the sampled values; moments take each sample-and-channel map's mean (`means`, [N, C]) and, when
   * given, root sum of squares (`l2`), both computed over all `mapSize` positions by onnxruntime in float32.
   * The map's variance is E[x²] − mean²; where that would cancel badly (variance under 1e-3 of E[x²]) or
   * without `l2`, it is estimated from the sample instead. With `affine`, values and moments are mapped first.
   */
  addSampled(
    data: Float32Array, dims: readonly number[], means: Float32Array, mapSize: number,
    flat?: readonly FlatIntervals[], affine?: { a: Float64Array; b: Float64Array }, l2?: Float32Array,
  ): void {
    const { outer, channels, inner } = channelLayout(dims, 1);
    if (channels !== this.channels) throw new Error(`expected ${this.channels} channels, got ${channels}`);
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    const n = new Float64Array(channels);
    const s1 = new Float64Array(channels);
    const s2 = new Float64Array(channels);
    const shift = new Float64Array(channels);
    const row = affine ? new Float32Array(inner) : undefined;
    const rowBits = row ? new Uint32Array(row.buffer) : undefined;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const start = (o * channels + c) * inner;
        n[c] = 0; s1[c] = 0; s2[c] = 0; shift[c] = NaN;
        const f = flat ? flat[flat.length === 1 ? 0 : c] : undefined;
        if (row && rowBits && affine) {
          const ac = affine.a[c], bc = affine.b[c];
          for (let i = 0; i < inner; i++) row[i] = ac * data[start + i] + bc;
          this.addRun(c, row, rowBits, 0, inner, n, s1, s2, shift, f);
        } else this.addRun(c, data, bits, start, start + inner, n, s1, s2, shift, f);
        if (n[c] === 0) continue;
        const m = s1[c] / n[c];
        const mu = means[o * channels + c];
        let withinVar = Math.max(0, s2[c] - s1[c] * m) / n[c];
        if (l2) {
          const ex2 = (l2[o * channels + c] * l2[o * channels + c]) / mapSize;
          const v = ex2 - mu * mu;
          if (v >= 1e-3 * ex2) withinVar = affine ? affine.a[c] * affine.a[c] * v : v;
        }
        const mean = affine ? affine.a[c] * mu + affine.b[c] : mu;
        this.mergeMoments(c, mapSize, mean, withinVar * mapSize);
      }
    }
  }

  /** Values that entered the histogram of channel c (the moment count, unless the layer was sampled). */
  histogramCount(c: number): number {
    let t = 0;
    for (let b = 0; b < BUCKET_COUNT; b++) t += this.hist[c * BUCKET_COUNT + b];
    return t;
  }

  private addRun(
    c: number, data: Float32Array, bits: Uint32Array, start: number, end: number,
    n: Float64Array, s1: Float64Array, s2: Float64Array, shift: Float64Array, flat: FlatIntervals | undefined,
  ): void {
    const hist = this.hist;
    const hb = c * BUCKET_COUNT;
    let k = shift[c];
    let cnt = 0, a = 0, b = 0, mn = this.min[c], mx = this.max[c], inFlat = 0;
    const fl = flat && flat.lo.length > 0 ? flat : undefined;
    const byInterval = this.flatByInterval;
    const slot = c * this.intervalSlots;
    if (fl && fl.lo.length > this.intervalSlots) throw new Error("more flat intervals than slots");
    for (let i = start; i < end; i++) {
      const bucket = BUCKET_OF_TOP_BITS[bits[i] >>> 21];
      const x = data[i];
      if (bucket < 0) {
        if (x !== x) this.nonFinite.nan++;
        else if (x > 0) this.nonFinite.posInf++;
        else this.nonFinite.negInf++;
        continue;
      }
      if (k !== k) k = x;
      const d = x - k;
      cnt++;
      a += d;
      b += d * d;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
      hist[hb + bucket]++;
      if (fl) {
        for (let j = 0; j < fl.lo.length; j++) {
          if (x >= fl.lo[j] && x <= fl.hi[j]) { inFlat++; byInterval[slot + j]++; break; }
        }
      }
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
