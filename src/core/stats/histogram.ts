import type { HistogramScheme } from "../report";

/**
 * BN Lens's histogram buckets: fixed, logarithmic, the same for every tensor, layer, batch, run and model.
 *
 * A finite value x falls in a bucket chosen from its float32 bits: sign, binary exponent and the top two
 * mantissa bits, i.e. four buckets per octave (each 1/4 of an octave wide: [1, 1.25), [1.25, 1.5), ...
 * times 2^e). Magnitudes below 2^-16 share one zero bucket; magnitudes of 2^16 and more share one
 * overflow bucket per sign. Because the edges never depend on the data, histograms of different batches,
 * runs, and of the pre/post pair of a layer add bucket by bucket exactly (merging is integer addition),
 * and pre-BN and post-BN histograms can be drawn on the same axis. TensorBoard stores histograms on
 * exponential buckets for the same reason. NaN and ±Infinity are counted apart, never bucketed.
 *
 * Layout (259 buckets): 0 = (-inf, -2^16]; 1..128 = negative, large to small magnitude;
 * 129 = (-2^-16, 2^-16); 130..257 = positive, small to large; 258 = [2^16, +inf).
 * Positive buckets are [lo, hi), negative ones (-hi, -lo], mirroring each other.
 */
export const BUCKETS_PER_OCTAVE = 4;
export const MIN_EXPONENT = -16;
export const MAX_EXPONENT = 16;
const OCTAVES = MAX_EXPONENT - MIN_EXPONENT;
const PER_SIGN = OCTAVES * BUCKETS_PER_OCTAVE;
/** Index of the zero bucket. */
export const ZERO_BUCKET = PER_SIGN + 1;
export const BUCKET_COUNT = 2 * PER_SIGN + 3;
/** Marks non-finite values in the lookup table. */
export const NON_FINITE = -1;

/**
 * Maps the top 11 bits of a float32 (sign, 8 exponent bits, 2 mantissa bits) to a bucket index,
 * so bucketing one value is a shift and a table read.
 */
export const BUCKET_OF_TOP_BITS: Int16Array = (() => {
  const lut = new Int16Array(2048);
  for (let top = 0; top < 2048; top++) {
    const negative = (top >>> 10) & 1;
    const biased = (top >>> 2) & 0xff;
    const mant = top & 3;
    let bucket: number;
    if (biased === 0xff) bucket = NON_FINITE;
    else {
      const e = biased - 127;
      if (e < MIN_EXPONENT) bucket = ZERO_BUCKET;
      else if (e >= MAX_EXPONENT) bucket = negative ? 0 : BUCKET_COUNT - 1;
      else {
        const k = (e - MIN_EXPONENT) * BUCKETS_PER_OCTAVE + mant;
        bucket = negative ? PER_SIGN - k : ZERO_BUCKET + 1 + k;
      }
    }
    lut[top] = bucket;
  }
  return lut;
})();

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bucket of one number (rounded to float32 first, as BN Lens captures float32 activations). */
export function bucketOf(x: number): number {
  f32[0] = x;
  return BUCKET_OF_TOP_BITS[u32[0] >>> 21];
}

/** The lower edge of positive bucket offset k (0..PER_SIGN-1) from the zero bucket. */
function positiveLower(k: number): number {
  const e = MIN_EXPONENT + Math.floor(k / BUCKETS_PER_OCTAVE);
  return 2 ** e * (1 + (k % BUCKETS_PER_OCTAVE) / BUCKETS_PER_OCTAVE);
}

/** The value range [lo, hi] of a bucket (infinite for overflow buckets). */
export function bucketRange(bucket: number): [number, number] {
  if (bucket === ZERO_BUCKET) return [-(2 ** MIN_EXPONENT), 2 ** MIN_EXPONENT];
  if (bucket === 0) return [-Infinity, -(2 ** MAX_EXPONENT)];
  if (bucket === BUCKET_COUNT - 1) return [2 ** MAX_EXPONENT, Infinity];
  if (bucket > ZERO_BUCKET) {
    const k = bucket - ZERO_BUCKET - 1;
    return [positiveLower(k), k + 1 < PER_SIGN ? positiveLower(k + 1) : 2 ** MAX_EXPONENT];
  }
  const [lo, hi] = bucketRange(2 * ZERO_BUCKET - bucket);
  return [-hi, -lo];
}

/** The scheme as written into reports. */
export function histogramScheme(): HistogramScheme {
  const boundaries: number[] = [];
  for (let b = 0; b < BUCKET_COUNT - 1; b++) boundaries.push(bucketRange(b)[1]);
  return {
    name: "log2-quarter-octave",
    bucketsPerOctave: BUCKETS_PER_OCTAVE,
    minExponent: MIN_EXPONENT,
    maxExponent: MAX_EXPONENT,
    bucketCount: BUCKET_COUNT,
    boundaries,
  };
}

/**
 * Re-bins bucket counts onto `bins` equal-width display bins over [lo, hi], spreading each bucket's
 * count uniformly over its range (what TensorBoard does to draw exponential buckets). For display only:
 * the stored buckets stay exact. Overflow buckets land in the outermost bins.
 */
export function rebinLinear(counts: ArrayLike<number>, first: number, lo: number, hi: number, bins: number): Float64Array {
  const out = new Float64Array(bins);
  const width = (hi - lo) / bins;
  if (!(width > 0)) return out;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k];
    if (!c) continue;
    let [a, b] = bucketRange(first + k);
    if (!Number.isFinite(a)) a = Math.min(b, lo);
    if (!Number.isFinite(b)) b = Math.max(a, hi);
    if (b <= lo) {
      out[0] += c;
      continue;
    }
    if (a >= hi) {
      out[bins - 1] += c;
      continue;
    }
    const span = b - a;
    const i0 = Math.max(0, Math.floor((a - lo) / width));
    const i1 = Math.min(bins - 1, Math.floor((b - lo) / width));
    for (let i = i0; i <= i1; i++) {
      const binLo = lo + i * width;
      const overlap = Math.min(b, binLo + width) - Math.max(a, binLo);
      if (overlap > 0) out[i] += (c * overlap) / span;
    }
    // Mass outside [lo, hi] goes to the edge bins so totals are kept.
    if (a < lo) out[0] += (c * (lo - a)) / span;
    if (b > hi) out[bins - 1] += (c * (b - hi)) / span;
  }
  return out;
}
