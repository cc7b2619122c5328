import type { BatchStudyJson, BatchStudyLayerJson } from "../report";
import { normalQuantile } from "./distributions";
import type { SampleMoments } from "./sampleMoments";

/** How the study is computed, for the report, the CLI and the panel. */
export const BATCH_STUDY_METHOD =
  "A batch of b of the N samples drawn without replacement; with per-sample means m_i and variances w_i, population " +
  "mean μ = m̄, variance V = w̄ + σ_m² (σ_m² the population variance of the m_i) and f = (N - b)/(N - 1): " +
  "d = (batch mean - μ)/√V has mean 0 and Var d = f σ_m² / (b V) (exact); the batch variance V_B has " +
  "E V_B = w̄ + σ_m² (1 - f/b) (exact) and Var V_B ≈ f σ_ψ² / b, ψ_i = w_i + (m_i - μ)² (first order); " +
  "95% ranges are ±1.96 standard deviations (normal approximation), r = √(V_B / V).";

/** Spread of a random batch's renormalization terms for one channel and batch size. */
export interface BatchSpread {
  /** 95% of batches have |d| below this. */
  d95: number;
  /** 95% range of r = batch std / std. */
  rLow: number;
  rHigh: number;
  /** Exact variance of d and exact mean of V_B / V. */
  varD: number;
  meanRatio: number;
  /** First-order variance of V_B / V. */
  varRatio: number;
}

const Z95 = normalQuantile(0.975);

/** The spread of d and r over random batches of b samples of channel c; null for a constant channel. */
export function batchSpread(sm: SampleMoments, c: number, b: number): BatchSpread | null {
  const N = sm.n[c];
  if (N < 1 || b < 1) return null;
  const sigmaM2 = sm.m2M[c] / N;
  const V = sm.meanW[c] + sigmaM2;
  if (!(V > 0)) return null;
  const bb = Math.min(b, N);
  const f = N > 1 ? (N - bb) / (N - 1) : 0;
  const varD = (f * sigmaM2) / (bb * V);
  const meanRatio = (sm.meanW[c] + sigmaM2 * (1 - f / bb)) / V;
  const varRatio = (f * sm.psiVariance(c, 0)) / bb / (V * V);
  const sd = Math.sqrt(varRatio);
  return {
    d95: Z95 * Math.sqrt(varD),
    rLow: Math.sqrt(Math.max(0, meanRatio - Z95 * sd)),
    rHigh: Math.sqrt(meanRatio + Z95 * sd),
    varD,
    meanRatio,
    varRatio,
  };
}

/** Whether a spread stays inside the tolerance: |d| ≤ tol and 1 - tol ≤ r ≤ 1 + tol for 95% of batches. */
export function withinTolerance(s: BatchSpread, tol: number): boolean {
  return s.d95 <= tol && s.rLow >= 1 - tol && s.rHigh <= 1 + tol;
}

/**
 * Batch sizes 1, 2, 4, ... up to half the samples. Larger batches of this data are mostly the same samples
 * (at b = n every batch is the whole data and d = 0, r = 1), which says nothing about training batches.
 */
export function studySizes(n: number): number[] {
  const out: number[] = [];
  for (let b = 1; b <= n / 2; b *= 2) out.push(b);
  return out;
}

/** The study of one layer: worst channel per size, and the smallest size within tolerance in every channel. */
export function studyLayer(layer: string, sm: SampleMoments, tol: number, skip?: (c: number) => boolean): BatchStudyLayerJson {
  let n = Infinity;
  for (let c = 0; c < sm.channels; c++) if (!skip?.(c)) n = Math.min(n, sm.n[c]);
  const sizes = Number.isFinite(n) ? studySizes(n) : [];
  const d95: number[] = [];
  const rLow: number[] = [];
  const rHigh: number[] = [];
  const firstOk = new Array<number | null>(sm.channels).fill(null);
  sizes.forEach((b) => {
    let d = 0,
      lo = Infinity,
      hi = 0;
    for (let c = 0; c < sm.channels; c++) {
      if (skip?.(c)) continue;
      const s = batchSpread(sm, c, b);
      if (!s) continue;
      d = Math.max(d, s.d95);
      lo = Math.min(lo, s.rLow);
      hi = Math.max(hi, s.rHigh);
      if (firstOk[c] === null && withinTolerance(s, tol)) firstOk[c] = b;
    }
    d95.push(d);
    rLow.push(Number.isFinite(lo) ? lo : 1);
    rHigh.push(hi || 1);
  });
  // The layer needs the largest of its channels' smallest sufficient sizes (Infinity: none suffices).
  let need = -1;
  let worstChannel: number | null = null;
  for (let c = 0; c < sm.channels; c++) {
    if (skip?.(c) || !batchSpread(sm, c, 1)) continue;
    const b = firstOk[c] ?? Infinity;
    if (b > need) {
      need = b;
      worstChannel = c;
    }
  }
  const minBatch = need > 0 && Number.isFinite(need) ? need : null;
  return { layer, sizes, d95, rLow, rHigh, minBatch, worstChannel };
}

/** The batch-size study of every layer that has per-sample moments. */
export function batchStudy(
  layers: readonly { node: string; sm: SampleMoments | null; skip?: (c: number) => boolean }[],
  tol: number,
): BatchStudyJson | null {
  const studied = layers.filter((l) => l.sm);
  if (studied.length === 0) return null;
  const layerJson = studied.map((l) => studyLayer(l.node, l.sm!, tol, l.skip));
  const samples = Math.max(0, ...studied.map((l) => Math.max(0, ...Array.from(l.sm!.n))));
  return { tolerance: tol, samples, method: BATCH_STUDY_METHOD, layers: layerJson };
}
