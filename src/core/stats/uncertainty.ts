import { tQuantile } from "./distributions";
import type { SampleMoments } from "./sampleMoments";

/**
 * Confidence intervals from per-sample moments (see SampleMoments). Samples are the independent units:
 *
 * - mean: the pooled mean is the mean of the n per-sample means, so its standard error is s_m / √n with
 *   s_m² the between-sample variance of the per-sample means (divisor n - 1), and the interval is
 *   mean ± t_{n-1} · s_m / √n (Student's t: exact for normal per-sample means, conservative for few samples).
 * - variance: delta method. The pooled variance V̂ = q̄ - (m̄ - K)² is a smooth function of two sample means;
 *   its standard error is s_ψ / √n with ψ_i = w_i + (m_i - m̄)², and the interval is taken on the log scale,
 *   V̂ · exp(± t_{n-1} · s_ψ / (√n · V̂)), which keeps it positive and fits the ratio rules.
 *
 * The effective sample size of a channel is n, the number of samples (not the number of values).
 */

/** Half-width of the mean's interval in data units, or null with fewer than two samples. */
export function meanHalfWidth(sm: SampleMoments, c: number, confidence: number): number | null {
  const n = sm.n[c];
  if (n < 2) return null;
  const se = Math.sqrt(sm.m2M[c] / (n - 1) / n);
  return tQuantile(1 - (1 - confidence) / 2, n - 1) * se;
}

/** Half-width of log(variance)'s interval, or null with fewer than two samples or no variance. */
export function logVarianceHalfWidth(sm: SampleMoments, c: number, variance: number, confidence: number): number | null {
  const n = sm.n[c];
  if (n < 2 || !(variance > 0)) return null;
  const se = Math.sqrt(sm.psiVariance(c, 1) / n);
  return (tQuantile(1 - (1 - confidence) / 2, n - 1) * se) / variance;
}

/** The interval of a fold ratio max(R, 1/R) given the interval [lo, hi] of R. */
export function foldInterval(lo: number, hi: number): [number, number] {
  if (lo >= 1) return [lo, hi];
  if (hi <= 1) return [1 / hi, 1 / lo];
  return [1, Math.max(hi, 1 / lo)];
}

/** The end of a signed interval nearest to zero, as a magnitude (0 when the interval holds 0). */
export function nearMagnitude(lo: number, hi: number): number {
  return lo > 0 ? lo : hi < 0 ? -hi : 0;
}

/**
 * Samples that would shrink an interval of half-width `halfWidth` (from n samples) to `distance`, the gap
 * between the estimate and the threshold: n · (halfWidth / distance)², as half-widths scale with 1/√n.
 */
export function samplesToDecide(n: number, halfWidth: number, distance: number): number {
  if (!(distance > 0)) return Infinity;
  return Math.max(n + 1, Math.ceil(n * (halfWidth / distance) ** 2));
}
