import type { LayerReport, Thresholds } from "../report";
import { storedDead } from "./judge";
import { nearMagnitude } from "./uncertainty";

/**
 * Where a channel's interval stands against a rule's warning threshold, as the rules decide it:
 * `crossed` (the interval's near end is beyond the threshold: the rule fires), `undecided` (the estimate
 * crosses but the interval reaches back: an info "not decided" note), `within` (the estimate does not cross),
 * `skipped` (a channel the rule does not judge: gamma or running var ~ 0, or random data).
 */
export type IntervalVerdict = "crossed" | "undecided" | "within" | "skipped";

/** One channel's estimate of a rule's statistic, its interval (equal to the estimate without one) and verdict. */
export interface ChannelInterval {
  estimate: number;
  lo: number;
  hi: number;
  /** Whether the report had an interval (two or more samples). */
  hasInterval: boolean;
  verdict: IntervalVerdict;
}

/** Per-channel z and variance-ratio intervals of a BN layer with their verdicts, and counts by verdict. */
export interface LayerIntervals {
  z: (ChannelInterval | null)[];
  ratio: (ChannelInterval | null)[];
  counts: { z: Record<IntervalVerdict, number>; ratio: Record<IntervalVerdict, number> };
}

/**
 * The verdict of a magnitude rule (|z| ≥ threshold, ratio ≥ threshold): `magnitude` is the estimate's,
 * `near` the magnitude of the interval's end nearest to "fits" (what the judge decides on).
 */
export function verdictOf(magnitude: number, near: number, threshold: number): IntervalVerdict {
  if (near >= threshold) return "crossed";
  return magnitude >= threshold ? "undecided" : "within";
}

function emptyCounts(): Record<IntervalVerdict, number> {
  return { crossed: 0, undecided: 0, within: 0, skipped: 0 };
}

/**
 * z (signed, its interval signed: the rule judges |z| by the interval's end nearest to 0) and the folded
 * variance ratio (≥ 1, its interval folded the same way, judged by its lower end) per channel, with the
 * verdict the mean-shift and variance-ratio rules reach at their warning thresholds. `judged` false (random
 * data) marks every channel `skipped`, as the rules do not run then.
 */
export function layerIntervals(l: LayerReport, t: Thresholds, judged = true): LayerIntervals {
  const cmp = l.compare;
  const counts = { z: emptyCounts(), ratio: emptyCounts() };
  const out: LayerIntervals = { z: [], ratio: [], counts };
  if (!cmp) return out;
  for (let c = 0; c < l.channels; c++) {
    const dead = storedDead(l.gamma[c], l.running.var[c], t);
    const skip = !judged || dead.gamma || dead.runningVar;
    const z = cmp.z[c];
    if (z === null) out.z.push(null);
    else {
      const iv = cmp.zInterval[c];
      const [lo, hi] = iv ?? [z, z];
      const verdict = skip ? "skipped" : verdictOf(Math.abs(z), nearMagnitude(lo, hi), t.meanShift.warning);
      out.z.push({ estimate: z, lo, hi, hasInterval: iv !== null, verdict });
      counts.z[verdict]++;
    }
    const r = cmp.varRatio[c];
    if (r === null) out.ratio.push(null);
    else {
      const iv = cmp.varRatioInterval[c];
      const [lo, hi] = iv ?? [r, r];
      const verdict = skip ? "skipped" : verdictOf(r, lo, t.varianceRatio.warning);
      out.ratio.push({ estimate: r, lo, hi, hasInterval: iv !== null, verdict });
      counts.ratio[verdict]++;
    }
  }
  return out;
}

/** What an overview row shows of the intervals: the worst channels' and the counts by verdict. */
export interface RowIntervals {
  /** The interval of the channel with the worst |z| and of the one with the worst variance ratio. */
  z: ChannelInterval | null;
  ratio: ChannelInterval | null;
  counts: LayerIntervals["counts"];
}

/** The intervals of a layer's worst channels (as its summary names them) and its verdict counts. */
export function rowIntervals(l: LayerReport, t: Thresholds, judged = true): RowIntervals {
  const iv = layerIntervals(l, t, judged);
  return {
    z: l.summary.worstZ ? (iv.z[l.summary.worstZ.channel] ?? null) : null,
    ratio: l.summary.worstVarRatio ? (iv.ratio[l.summary.worstVarRatio.channel] ?? null) : null,
    counts: iv.counts,
  };
}
