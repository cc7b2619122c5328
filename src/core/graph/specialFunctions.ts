// Scalar special functions the activation catalogue needs and Math lacks, accurate to a few ulp in
// float64 so that flat-region boundaries can be solved to ~1e-12.

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const ONE_OVER_SQRT_2PI = 0.3989422804014327;
const SQRT_HALF = 0.7071067811865476;

/**
 * erf for |x| < 2 by the series erf(x) = 2/√π e^(-x²) Σ 2^n x^(2n+1) / (1·3···(2n+1)), whose terms are all
 * positive (no cancellation, unlike the Taylor series).
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc for x ≥ 2 by its continued fraction (100 terms reach full precision from x ≈ 1.5 on), evaluated backwards: e^(-x²)/√π / (x + ½/(x + 1/(x + 3/2/(x + ...)))). */
function erfcFraction(x: number): number {
  let frac = 0;
  for (let k = 100; k >= 1; k--) frac = k / 2 / (x + frac);
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / (x + frac);
}

/** The error function. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 2) return x < 0 ? -erfSeries(a) : erfSeries(a);
  const r = 1 - erfcFraction(a);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x), accurate in the tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 2) return erfcFraction(x);
  if (x > -2) return 1 - erf(x);
  return 2 - erfcFraction(-x);
}

/** The standard normal CDF Φ(x), accurate in the left tail. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT_HALF);
}

/** The standard normal density φ(x). */
export function normalPdf(x: number): number {
  return ONE_OVER_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** The logistic sigmoid 1/(1+e^-x), without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** ln(1 + e^x), without overflow or loss of precision in either tail. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** 1/cosh²(x) = 1 - tanh²(x), without cancellation for large |x|. */
export function sech2(x: number): number {
  const c = Math.cosh(x);
  return 1 / (c * c);
}
