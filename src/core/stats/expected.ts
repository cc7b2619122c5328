import type { ExpectedJson, IntervalJson, SaturationJson } from "../report";
import { normalCdf } from "./distributions";

/** How `expected` is computed, for the report and the panel. */
export const EXPECTED_METHOD =
  "Normal approximation: under its stored statistics a channel's post-BN values were N(beta, gamma²) in training; shares are that distribution's mass in the flat region.";

/** Mass of N(mean, std²) in the closed interval [lo, hi] (null = infinite); a point mass when std is 0. */
export function normalMass(mean: number, std: number, iv: IntervalJson): number {
  const lo = iv[0] ?? -Infinity;
  const hi = iv[1] ?? Infinity;
  if (!(std > 0)) return mean >= lo && mean <= hi ? 1 : 0;
  return Math.max(0, normalCdf((hi - mean) / std) - normalCdf((lo - mean) / std));
}

/**
 * Per channel, the share of post-BN values training expected in the following nonlinearity's flat region,
 * split into the rectifier's off side (intervals open to -∞ when the kind is "rectifier") and saturation.
 */
export function expectedFlat(
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  intervals: (c: number) => readonly IntervalJson[],
  kind: SaturationJson["kind"],
): ExpectedJson {
  const flat: number[] = [];
  const off: number[] = [];
  const saturated: number[] = [];
  for (let c = 0; c < gamma.length; c++) {
    let o = 0,
      s = 0;
    for (const iv of intervals(c)) {
      const m = normalMass(beta[c], Math.abs(gamma[c]), iv);
      if (kind === "rectifier" && iv[0] === null) o += m;
      else s += m;
    }
    flat.push(Math.min(1, o + s));
    off.push(o);
    saturated.push(s);
  }
  return { flat, off, saturated, method: EXPECTED_METHOD };
}
