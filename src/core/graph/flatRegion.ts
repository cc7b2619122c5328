// The flat (saturating) region of an element-wise nonlinearity or a chain of them: the inputs where the
// slope is a small fraction of the steepest slope, so that differences between inputs barely reach the
// output. BN Lens warns when post-BN values land there.
//
// Single functions with closed forms get exact boundaries. Chains and the smooth functions without a
// closed form (GELU, SiLU, Mish) go through one numeric engine: kinks are found exactly (pulled back
// through the chain), the slope is sampled densely near every kink and geometrically further out, its
// extrema and sign changes are refined, and each boundary is bisected to machine precision.

//
// The catalogue of nonlinearities is in nonlinearities.ts, the numeric solver in flatRegionSolver.ts and the
// descriptions in nonlinearityText.ts; this module picks closed form or solver and compiles membership tests.
// It re-exports the other three so callers import flat-region things from one place.

import { numericRegion } from "./flatRegionSolver";
import {
  asChain,
  channelCount,
  DEFAULT_SLOPE_FRACTION,
  mergeIntervals,
  resolveChain,
  slopeOf,
  type Nonlinearity,
  type Chain,
  type FlatRegion,
  type FlatRegionOptions,
  type Interval,
} from "./nonlinearities";
import { describeRegion } from "./nonlinearityText";

export * from "./nonlinearities";
export * from "./nonlinearityText";

/**
 * The flat region of an activation or chain: where |g'(x)| < fraction × sup|g'|, as sorted closed
 * intervals; at a kink a point is flat when either one-sided slope is below the threshold.
 */
export function flatRegion(chain: Chain | Nonlinearity, options: FlatRegionOptions = {}): FlatRegion {
  const fraction = options.fraction ?? DEFAULT_SLOPE_FRACTION;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`The slope fraction must be between 0 and 1 (exclusive), got ${fraction}.`);
  const fns = resolveChain(chain, options.channel ?? 0);
  let result: { maxSlope: number; intervals: Interval[] };
  if (fns.length === 0) result = { maxSlope: 1, intervals: [] };
  else if (fns.length === 1 && fns[0].exact && !options.numeric) result = fns[0].exact(fraction);
  else result = numericRegion(fns, fraction);
  const intervals = mergeIntervals(result.intervals);
  return {
    intervals,
    maxSlope: result.maxSlope,
    threshold: fraction * result.maxSlope,
    fraction,
    description: describeRegion(intervals),
  };
}

/** One flat region per channel (a single shared one when no parameter is per-channel); equal channels share work. */
export function flatRegionsByChannel(chain: Chain | Nonlinearity, options: Omit<FlatRegionOptions, "channel"> = {}): FlatRegion[] {
  const n = channelCount(chain);
  const memo = new Map<string, FlatRegion>();
  const out: FlatRegion[] = [];
  for (let c = 0; c < n; c++) {
    const key = asChain(chain)
      .map((a) => (a.op === "PRelu" ? slopeOf(a.slope, c) : ""))
      .join(",");
    let r = memo.get(key);
    if (!r) {
      r = flatRegion(chain, { ...options, channel: c });
      memo.set(key, r);
    }
    out.push(r);
  }
  return out;
}

/** A compiled membership test for a flat region, cheap enough for a per-element loop. */
export class FlatMembership {
  /** lo0, hi0, lo1, hi1, ... sorted. */
  readonly bounds: Float64Array;

  constructor(intervals: readonly Interval[]) {
    const merged = mergeIntervals(intervals);
    this.bounds = new Float64Array(merged.length * 2);
    merged.forEach(([lo, hi], i) => {
      this.bounds[2 * i] = lo;
      this.bounds[2 * i + 1] = hi;
    });
  }

  /** True when x lies in the region (NaN never does). */
  contains(x: number): boolean {
    const b = this.bounds;
    for (let i = 0; i < b.length; i += 2) {
      if (x < b[i]) return false;
      if (x <= b[i + 1]) return true;
    }
    return false;
  }

  /** How many of values[start], values[start + stride], ... before `end` lie in the region. */
  count(values: ArrayLike<number>, start = 0, end = values.length, stride = 1): number {
    const b = this.bounds;
    let n = 0;
    if (b.length === 2) {
      const lo = b[0];
      const hi = b[1];
      for (let i = start; i < end; i += stride) {
        const x = values[i];
        if (x >= lo && x <= hi) n++;
      }
      return n;
    }
    for (let i = start; i < end; i += stride) if (this.contains(values[i])) n++;
    return n;
  }
}

/** A membership test for a region (or its intervals). */
export function membership(region: FlatRegion | readonly Interval[]): FlatMembership {
  return new FlatMembership(Array.isArray(region) ? (region as readonly Interval[]) : (region as FlatRegion).intervals);
}
