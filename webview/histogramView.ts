// Turning BN Lens's stored histograms (fixed quarter-octave log buckets, see src/core/stats/histogram.ts)
// into what the charts draw: display ranges, equal-width bins, symmetric-log bars, axis ticks.
// Pure, unit-tested in plain Node.
import { bucketRange, rebinLinear } from "../src/core/stats/histogram";
import type { IntervalJson } from "../src/core/report";

/** A layer-level histogram: counts of buckets first, first+1, ... */
export interface Hist {
  first: number;
  counts: readonly number[];
}

/** Sum of the counts. */
export function total(h: Hist): number {
  let t = 0;
  for (const c of h.counts) t += c;
  return t;
}

/** A finite stand-in for an overflow bucket's infinite edge. */
function finiteRange(b: number): [number, number] {
  const [lo, hi] = bucketRange(b);
  return [Number.isFinite(lo) ? lo : hi * 2, Number.isFinite(hi) ? hi : lo * 2];
}

/**
 * The value range holding the central `1 - 2 * tail` of the values, to bucket resolution (a quarter octave):
 * the lower edge of the bucket where the low tail ends and the upper edge of the one where the high tail starts.
 * One outlier therefore does not squash the chart. Null when the histogram is empty.
 */
export function quantileRange(h: Hist, tail = 0.001): [number, number] | null {
  const n = total(h);
  if (n === 0) return null;
  let acc = 0;
  let i0 = 0;
  for (; i0 < h.counts.length; i0++) {
    acc += h.counts[i0];
    if (acc > tail * n) break;
  }
  acc = 0;
  let i1 = h.counts.length - 1;
  for (; i1 >= 0; i1--) {
    acc += h.counts[i1];
    if (acc > tail * n) break;
  }
  const lo = finiteRange(h.first + i0)[0];
  const hi = finiteRange(h.first + Math.max(i0, i1))[1];
  return [lo, hi];
}

/** The union of several ranges, padded 4% on each side; a degenerate range is widened around its value. */
export function unionRange(ranges: readonly ([number, number] | null)[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of ranges)
    if (r) {
      lo = Math.min(lo, r[0]);
      hi = Math.max(hi, r[1]);
    }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [-1, 1];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) {
    const d = Math.max(Math.abs(lo) * 0.1, 1e-3);
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

/** Shares of all values per equal-width display bin over [lo, hi] (each bucket spread over its range). */
export function linearShares(h: Hist, lo: number, hi: number, bins: number): Float64Array {
  const out = rebinLinear(h.counts, h.first, lo, hi, bins);
  const n = total(h);
  if (n > 0) for (let i = 0; i < bins; i++) out[i] /= n;
  return out;
}

/** Symmetric-log axis: linear within ±c, logarithmic outside. */
export interface SymlogAxis {
  c: number;
  to(x: number): number;
  from(u: number): number;
}

export function symlog(c: number): SymlogAxis {
  return {
    c,
    to: (x) => Math.sign(x) * Math.log2(1 + Math.abs(x) / c),
    from: (u) => Math.sign(u) * c * (2 ** Math.abs(u) - 1),
  };
}

/**
 * The linear threshold of a symmetric-log axis for some histograms: the power of two at or below the 5th
 * percentile of |x| over all of them (at least 2^-16, BN Lens's zero bucket), so nearly all values are on
 * the log part, where each stored bucket is one equal-width bar.
 */
export function symlogThreshold(hs: readonly Hist[]): number {
  const mags = new Map<number, number>(); // bucket-magnitude lower edge -> count
  let n = 0;
  for (const h of hs) {
    h.counts.forEach((c, k) => {
      if (!c) return;
      const [lo, hi] = finiteRange(h.first + k);
      const mag = lo <= 0 && hi >= 0 ? 0 : Math.min(Math.abs(lo), Math.abs(hi));
      mags.set(mag, (mags.get(mag) ?? 0) + c);
      n += c;
    });
  }
  if (n === 0) return 1;
  let acc = 0;
  for (const mag of [...mags.keys()].sort((a, b) => a - b)) {
    acc += mags.get(mag)!;
    if (acc >= 0.05 * n) return mag > 0 ? Math.max(2 ** -16, 2 ** Math.floor(Math.log2(mag))) : 2 ** -16;
  }
  return 1;
}

/** A bar of a symmetric-log histogram, in value units, with its share of all values. */
export interface Bar {
  lo: number;
  hi: number;
  share: number;
}

/** The stored buckets as bars; buckets inside (-c, c) are pooled into one bar there. */
export function symlogBars(h: Hist, c: number): Bar[] {
  const n = total(h);
  const bars: Bar[] = [];
  if (n === 0) return bars;
  let pooled = 0;
  h.counts.forEach((cnt, k) => {
    if (!cnt) return;
    const [lo, hi] = finiteRange(h.first + k);
    if (lo >= -c && hi <= c) pooled += cnt;
    else bars.push({ lo, hi, share: cnt / n });
  });
  if (pooled) bars.push({ lo: -c, hi: c, share: pooled / n });
  return bars.sort((a, b) => a.lo - b.lo);
}

/** About `target` round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Ticks of a symmetric-log axis over [lo, hi] (value units): 0 and ±powers of ten, thinned to fit. */
export function symlogTicks(lo: number, hi: number, axis: SymlogAxis, max = 9): number[] {
  const ticks: number[] = [];
  if (lo <= 0 && hi >= 0) ticks.push(0);
  for (let e = -6; e <= 6; e++) {
    const v = 10 ** e;
    if (v < axis.c) continue;
    if (v <= hi) ticks.push(v);
    if (-v >= lo) ticks.push(-v);
  }
  ticks.sort((a, b) => a - b);
  if (ticks.length <= max) return ticks;
  // Keep 0 and every k-th power on each side.
  const k = Math.ceil(ticks.length / max);
  return ticks.filter((t, i) => t === 0 || i % k === 0);
}

/** The flat intervals clipped to [lo, hi], as finite [a, b] pairs (null edges are infinite). */
export function clipIntervals(intervals: readonly IntervalJson[], lo: number, hi: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [a0, b0] of intervals) {
    const a = Math.max(a0 ?? -Infinity, lo);
    const b = Math.min(b0 ?? Infinity, hi);
    if (b > a) out.push([a, b]);
  }
  return out;
}
