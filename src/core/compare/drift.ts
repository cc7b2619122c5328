/**
 * Drift measures between two data sets A (the baseline) and B, on BN Lens's fixed histogram buckets and
 * on float64 moments. Pure functions of counts and moments: no report types, so they are easy to test by hand.
 *
 * The distribution distance is the Jensen-Shannon distance with base-2 logarithms: the square root of
 * JSD(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½ (P + Q). It is symmetric, a metric, bounded in [0, 1]
 * (0: same bucket shares; 1: no bucket in common), and needs no smoothing of empty buckets (a bucket empty
 * on one side contributes ½ p log2 2 = p / 2), unlike the population stability index, which is infinite when
 * a bucket is empty on one side only. For small differences PSI ≈ 8 ln 2 · JSD, so the two rank alike.
 */

/** Bucket counts starting at bucket index `first` (as HistogramJson stores them). */
export interface BucketCounts {
  first: number;
  counts: readonly number[];
}

/** Jensen-Shannon divergence (bits) and the support size of two histograms on the same buckets. */
export interface JsResult {
  /** sqrt(JSD) in [0, 1], or null when either side has no values. */
  distance: number | null;
  /** Buckets non-empty on at least one side. */
  support: number;
  nA: number;
  nB: number;
}

function total(h: BucketCounts): number {
  let n = 0;
  for (const c of h.counts) n += c;
  return n;
}

/** Jensen-Shannon distance (base 2) between two histograms on the shared buckets; empty buckets need no smoothing. */
export function jsDistance(a: BucketCounts, b: BucketCounts): JsResult {
  const nA = total(a);
  const nB = total(b);
  const lo = Math.min(a.counts.length ? a.first : Infinity, b.counts.length ? b.first : Infinity);
  const hi = Math.max(a.first + a.counts.length, b.first + b.counts.length);
  let support = 0;
  let jsd = 0;
  for (let k = lo; k < hi; k++) {
    const ca = a.counts[k - a.first] ?? 0;
    const cb = b.counts[k - b.first] ?? 0;
    if (ca === 0 && cb === 0) continue;
    support++;
    if (nA === 0 || nB === 0) continue;
    const p = ca / nA;
    const q = cb / nB;
    const m = (p + q) / 2;
    // 0 · log 0 = 0: a bucket empty on one side adds only the other side's term.
    if (p > 0) jsd += 0.5 * p * Math.log2(p / m);
    if (q > 0) jsd += 0.5 * q * Math.log2(q / m);
  }
  if (nA === 0 || nB === 0) return { distance: null, support, nA, nB };
  // Rounding can leave a tiny negative sum or one a hair above 1.
  return { distance: Math.sqrt(Math.min(1, Math.max(0, jsd))), support, nA, nB };
}

/**
 * The Jensen-Shannon distance two independent samples of one distribution show on average, from their sizes
 * and the number of buckets they occupy: for small differences JSD ≈ Σ (p - q)² / (8 m ln 2), whose mean under
 * no drift is (K - 1)(1/nA + 1/nB) / (8 ln 2) (the two-sample chi-square statistic scaled). Values of one
 * feature map are correlated in space, so the true floor is higher; this is a lower bound.
 */
export function jsNoiseFloor(support: number, nA: number, nB: number): number | null {
  if (nA <= 0 || nB <= 0) return null;
  return Math.sqrt((Math.max(0, support - 1) * (1 / nA + 1 / nB)) / (8 * Math.LN2));
}

/**
 * Standardized mean difference (mean_B - mean_A) / std_A: how far B's mean moved, in A's standard deviations.
 * 0 when the means are equal (also when std_A is 0); null when std_A is 0 and the means differ, or data is missing.
 */
export function standardizedMeanDifference(meanA: number | null, varA: number | null, meanB: number | null): number | null {
  if (meanA === null || meanB === null || varA === null) return null;
  const d = meanB - meanA;
  if (d === 0) return 0;
  const s = Math.sqrt(varA);
  return s > 0 ? d / s : null;
}

/** var_B / var_A (1 when both are 0; null when only var_A is 0 or data is missing). Above 1: B is wider. */
export function varianceRatio(varA: number | null, varB: number | null): number | null {
  if (varA === null || varB === null) return null;
  if (varA === 0) return varB === 0 ? 1 : null;
  return varB / varA;
}

/** B's share minus A's (null when either is missing). */
export function shareChange(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : b - a;
}
