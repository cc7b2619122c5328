import type { SampleMomentsJson } from "../report";

/**
 * Per channel, the moments of per-sample statistics of one tensor: for each sample i its mean m_i and
 * population variance w_i over that sample's values (all spatial positions), and q_i = w_i + (m_i - K)²,
 * the sample's mean square around a fixed per-channel centre K (the layer's running mean, identical in
 * every shard). Means, M2 and the m/q co-moment are merged with Chan et al.'s pairwise update, so any
 * grouping of batches or shards gives the same numbers to float64 rounding.
 *
 * Every sample has the same number of values per channel, so the pooled variance is q̄ - (m̄ - K)²
 * = w̄ + (1/n)Σ(m_i - m̄)², and the spread of m and q across samples is what limits the precision of the
 * pooled mean and variance (values inside one sample are correlated; samples are taken as independent).
 */
export class SampleMoments {
  readonly n: Float64Array;
  readonly meanM: Float64Array;
  readonly meanW: Float64Array;
  readonly meanQ: Float64Array;
  readonly m2M: Float64Array;
  readonly m2W: Float64Array;
  readonly m2Q: Float64Array;
  /** Co-moment Σ(m_i - m̄)(q_i - q̄). */
  readonly cMQ: Float64Array;

  constructor(readonly center: Float64Array) {
    const C = center.length;
    this.n = new Float64Array(C);
    this.meanM = new Float64Array(C);
    this.meanW = new Float64Array(C);
    this.meanQ = new Float64Array(C);
    this.m2M = new Float64Array(C);
    this.m2W = new Float64Array(C);
    this.m2Q = new Float64Array(C);
    this.cMQ = new Float64Array(C);
  }

  get channels(): number {
    return this.center.length;
  }

  /** Adds one sample's mean and population variance in channel c. */
  add(c: number, mean: number, variance: number): void {
    if (!Number.isFinite(mean) || !Number.isFinite(variance)) return;
    const d = mean - this.center[c];
    this.mergeGroup(c, 1, mean, Math.max(0, variance), Math.max(0, variance) + d * d, 0, 0, 0, 0);
  }

  /** Chan's update of one channel with a group of n samples given by its means and (co-)moments. */
  mergeGroup(c: number, n: number, mM: number, mW: number, mQ: number, m2M: number, m2W: number, m2Q: number, cMQ: number): void {
    if (n <= 0) return;
    const na = this.n[c];
    if (na === 0) {
      this.n[c] = n;
      this.meanM[c] = mM;
      this.meanW[c] = mW;
      this.meanQ[c] = mQ;
      this.m2M[c] = m2M;
      this.m2W[c] = m2W;
      this.m2Q[c] = m2Q;
      this.cMQ[c] = cMQ;
      return;
    }
    const total = na + n;
    const f = (na * n) / total;
    const dM = mM - this.meanM[c];
    const dW = mW - this.meanW[c];
    const dQ = mQ - this.meanQ[c];
    this.m2M[c] += m2M + dM * dM * f;
    this.m2W[c] += m2W + dW * dW * f;
    this.m2Q[c] += m2Q + dQ * dQ * f;
    this.cMQ[c] += cMQ + dM * dQ * f;
    this.meanM[c] += (dM * n) / total;
    this.meanW[c] += (dW * n) / total;
    this.meanQ[c] += (dQ * n) / total;
    this.n[c] = total;
  }

  /** Adds another accumulator with the same centres (exact up to float64 rounding). */
  merge(other: SampleMoments): void {
    if (other.channels !== this.channels) throw new Error("channel count differs");
    for (let c = 0; c < this.channels; c++) {
      if (other.center[c] !== this.center[c]) throw new Error("per-sample moments with different centres");
      this.mergeGroup(
        c,
        other.n[c],
        other.meanM[c],
        other.meanW[c],
        other.meanQ[c],
        other.m2M[c],
        other.m2W[c],
        other.m2Q[c],
        other.cMQ[c],
      );
    }
  }

  /** Pooled (population) variance of channel c from the per-sample moments: w̄ + between-sample variance. */
  pooledVariance(c: number): number {
    return this.n[c] > 0 ? this.meanW[c] + this.m2M[c] / this.n[c] : NaN;
  }

  /**
   * Variance across samples of the per-sample influence of the pooled variance, ψ_i = w_i + (m_i - μ)²,
   * with divisor `n - ddof`: Var(q) - 4(μ-K)Cov(m,q) + 4(μ-K)²Var(m), μ the pooled mean.
   */
  psiVariance(c: number, ddof: number): number {
    const n = this.n[c];
    if (n - ddof <= 0) return NaN;
    const s = this.meanM[c] - this.center[c];
    return Math.max(0, (this.m2Q[c] - 4 * s * this.cMQ[c] + 4 * s * s * this.m2M[c]) / (n - ddof));
  }

  toJson(): SampleMomentsJson {
    const a = (x: Float64Array) => Array.from(x);
    return {
      center: a(this.center),
      n: a(this.n),
      mean: { m: a(this.meanM), w: a(this.meanW), q: a(this.meanQ) },
      m2: { m: a(this.m2M), w: a(this.m2W), q: a(this.m2Q) },
      cmq: a(this.cMQ),
    };
  }

  static fromJson(j: SampleMomentsJson): SampleMoments {
    const s = new SampleMoments(Float64Array.from(j.center));
    for (let c = 0; c < s.channels; c++) {
      s.n[c] = j.n[c];
      s.meanM[c] = j.mean.m[c];
      s.meanW[c] = j.mean.w[c];
      s.meanQ[c] = j.mean.q[c];
      s.m2M[c] = j.m2.m[c];
      s.m2W[c] = j.m2.w[c];
      s.m2Q[c] = j.m2.q[c];
      s.cMQ[c] = j.cmq[c];
    }
    return s;
  }
}
