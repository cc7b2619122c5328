/**
 * How much a model's outputs depend on which samples share a batch, for BN exported with training_mode=1
 * (which normalises with each batch's own statistics at inference). The measurement (src/runtime/
 * batchDependence.ts) runs every sample in K random batches of the training batch size and compares each
 * output with the sample's output under the population statistics (all measured samples as one batch, so
 * every training-mode BN normalises with the mean and variance of its input over the whole data).
 *
 * Per graph output, over the n samples (the independent units, as for the confidence intervals):
 * - mean absolute change: a_i = mean over values and reshuffles of |y_i(batch) - y_i(population)|; the
 *   estimate is ā with interval ā ± t_{n-1} · s_a / √n.
 * - relative L2 change: R = √(Σ_i D_i / Σ_i P_i), D_i = mean over reshuffles of ||y_i(batch) - y_i(pop)||²,
 *   P_i = ||y_i(pop)||². ρ = R² is a ratio of two sample means; by the delta method its standard error is
 *   s_e / (√n · P̄) with e_i = D_i - ρ P_i, and R's interval is R ± t_{n-1} · se(ρ) / (2R) (cut at 0).
 * Samples that share a batch are not quite independent, so the intervals are approximate.
 */
import type { BatchDependenceJson, BatchDependenceOutputJson } from "../report";
import { tQuantile } from "./distributions";
import { seededUniform } from "../random";

/** One batch of a reshuffle: its samples, of which the first `counted` are measured in it. */
export interface PlannedBatch {
  samples: number[];
  counted: number;
}

/**
 * K reshuffles of n samples into batches of b (1 ≤ b < n): each a uniform random permutation cut into
 * batches, so every sample is measured once per reshuffle with b - 1 partners drawn at random. When b does
 * not divide n the last batch is filled up with samples from the start of the permutation, which are not
 * measured again there: every measured batch has exactly b samples.
 */
export function reshuffledBatches(n: number, b: number, k: number, seed: number): PlannedBatch[][] {
  if (!(b >= 1 && b < n)) throw new RangeError(`batch size ${b} must be at least 1 and below the ${n} samples`);
  const rnd = seededUniform(seed);
  const out: PlannedBatch[][] = [];
  for (let r = 0; r < k; r++) {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const batches: PlannedBatch[] = [];
    for (let s = 0; s < n; s += b) {
      const counted = Math.min(b, n - s);
      batches.push({ samples: [...perm.slice(s, s + counted), ...perm.slice(0, b - counted)], counted });
    }
    out.push(batches);
  }
  return out;
}

/** Accumulates, per graph output and sample, the change of the output between batch and population statistics. */
export class BatchDependenceAccumulator {
  private readonly abs: Float64Array[];
  private readonly d2: Float64Array[];
  private readonly ref2: Float64Array[];
  private readonly refAbs: Float64Array[];
  private readonly times: Uint32Array[];
  private readonly values: number[];

  constructor(
    readonly outputs: readonly string[],
    readonly samples: number,
  ) {
    const zeros = () => outputs.map(() => new Float64Array(samples));
    this.abs = zeros();
    this.d2 = zeros();
    this.ref2 = zeros();
    this.refAbs = zeros();
    this.times = outputs.map(() => new Uint32Array(samples));
    this.values = outputs.map(() => 0);
  }

  /** Sets sample i's output under population statistics (L values). */
  reference(k: number, i: number, y: ArrayLike<number>): void {
    let s2 = 0,
      sa = 0;
    for (let j = 0; j < y.length; j++) {
      s2 += y[j] * y[j];
      sa += Math.abs(y[j]);
    }
    this.ref2[k][i] = s2;
    this.refAbs[k][i] = sa / Math.max(1, y.length);
    this.values[k] = y.length;
  }

  /** Adds sample i's output `y` in one random batch, against its reference `ref` (same length). */
  add(k: number, i: number, y: ArrayLike<number>, ref: ArrayLike<number>): void {
    let sa = 0,
      s2 = 0;
    for (let j = 0; j < y.length; j++) {
      const d = y[j] - ref[j];
      sa += Math.abs(d);
      s2 += d * d;
    }
    this.abs[k][i] += sa / Math.max(1, y.length);
    this.d2[k][i] += s2;
    this.times[k][i]++;
  }

  /** Per output: the estimates with their intervals at `confidence` (see the module comment). */
  summary(confidence: number): BatchDependenceOutputJson[] {
    return this.outputs.map((output, k) => {
      const idx = [...this.times[k].keys()].filter((i) => this.times[k][i] > 0);
      const n = idx.length;
      const a = idx.map((i) => this.abs[k][i] / this.times[k][i]);
      const D = idx.map((i) => this.d2[k][i] / this.times[k][i]);
      const P = idx.map((i) => this.ref2[k][i]);
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
      const sd = (v: number[]) => {
        const m = mean(v);
        return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, v.length - 1));
      };
      const t = n >= 2 ? tQuantile(1 - (1 - confidence) / 2, n - 1) : NaN;
      const aBar = mean(a);
      const ha = n >= 2 ? (t * sd(a)) / Math.sqrt(n) : null;
      const pBar = mean(P);
      let rel: number | null = null;
      let relInterval: [number, number] | null = null;
      if (pBar > 0) {
        const rho = mean(D) / pBar;
        rel = Math.sqrt(rho);
        if (n >= 2) {
          const se = sd(D.map((d, j) => d - rho * P[j])) / (Math.sqrt(n) * pBar);
          const h = rel > 0 ? (t * se) / (2 * rel) : Math.sqrt(t * se);
          relInterval = [Math.max(0, rel - h), rel + h];
        }
      }
      return {
        output,
        samples: n,
        valuesPerSample: this.values[k],
        meanAbsChange: aBar,
        meanAbsChangeInterval: ha === null ? null : [Math.max(0, aBar - ha), aBar + ha],
        relativeL2Change: rel,
        relativeL2ChangeInterval: relInterval,
        meanAbsReference: mean(idx.map((i) => this.refAbs[k][i])),
      };
    });
  }
}

/** The whole measurement's JSON from its settings and the accumulated changes. */
export function batchDependenceJson(
  acc: BatchDependenceAccumulator,
  o: {
    batchSize: number;
    batchSizeFrom: BatchDependenceJson["batchSizeFrom"];
    reshuffles: number;
    seed: number;
    samplesTotal: number;
    layers: string[];
  },
  confidence: number,
): BatchDependenceJson {
  return {
    batchSize: o.batchSize,
    batchSizeFrom: o.batchSizeFrom,
    reshuffles: o.reshuffles,
    seed: o.seed,
    samples: acc.samples,
    samplesTotal: o.samplesTotal,
    layers: o.layers,
    confidence,
    method:
      `Each of ${acc.samples} samples run in ${o.reshuffles} random batches of ${o.batchSize} (training-mode BN normalising with each batch's statistics), ` +
      "compared with its output under the population statistics (all those samples as one batch); mean |change| and relative L2 change per output, " +
      `${Math.round(confidence * 100)}% intervals over samples (Student's t; delta method for the L2 ratio).`,
    outputs: acc.summary(confidence),
  };
}

/** A percentage with up to three significant digits. */
function pct(x: number): string {
  const v = x * 100;
  return `${v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2)}%`;
}

/** Relative L2 change as a percentage with its interval, e.g. "4.52% (3.90% to 5.14%)". */
export function relativeChangeText(o: BatchDependenceOutputJson): string {
  if (o.relativeL2Change === null) return "–";
  const iv = o.relativeL2ChangeInterval;
  return `${pct(o.relativeL2Change)}${iv ? ` (${pct(iv[0])} to ${pct(iv[1])})` : ""}`;
}

/**
 * One sentence for the panel and the CLI: the output that changes most (relative L2), with its interval,
 * at which batch size and over how many samples.
 */
export function describeBatchDependence(d: BatchDependenceJson): string {
  if (d.note || d.outputs.length === 0)
    return `Training-mode BN: outputs' dependence on the batch not measured. ${d.note ?? "No float output to compare."}`;
  const worst = [...d.outputs].sort((a, b) => (b.relativeL2Change ?? 0) - (a.relativeL2Change ?? 0))[0];
  const from = d.batchSizeFrom === "train-batch" ? "the training batch size" : "the run's batch size (no training batch size given)";
  return (
    `Training-mode BN (${d.layers.length} layer${d.layers.length === 1 ? "" : "s"}) makes the outputs depend on which samples share a batch: ` +
    `in random batches of ${d.batchSize} (${from}) output ${worst.output} moves by ${worst.relativeL2Change === null ? "–" : pct(worst.relativeL2Change)} of its size (relative L2` +
    `${worst.relativeL2ChangeInterval ? `, ${Math.round(d.confidence * 100)}% CI ${pct(worst.relativeL2ChangeInterval[0])} to ${pct(worst.relativeL2ChangeInterval[1])}` : ""}) ` +
    `from its output under population statistics; ${d.samples} samples, each in ${d.reshuffles} random batches.`
  );
}
