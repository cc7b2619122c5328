// The flat (saturating) region of an element-wise nonlinearity or a chain of them: the inputs where the
// slope is a small fraction of the steepest slope, so that differences between inputs barely reach the
// output. BN Lens warns when post-BN values land there.
//
// Single functions with closed forms get exact boundaries. Chains and the smooth functions without a
// closed form (GELU, SiLU, Mish) go through one numeric engine: kinks are found exactly (pulled back
// through the chain), the slope is sampled densely near every kink and geometrically further out, its
// extrema and sign changes are refined, and each boundary is bisected to machine precision.

import { normalCdf, normalPdf, sech2, sigmoid, softplus } from "./specialFunctions";

/** The fraction of the steepest slope below which an input counts as flat, unless told otherwise. */
export const DEFAULT_SLOPE_FRACTION = 0.02;
/** ONNX Selu default alpha (float32 value of the attribute default). */
export const SELU_ALPHA = 1.67326319217681884765625;
/** ONNX Selu default gamma (float32 value of the attribute default). */
export const SELU_GAMMA = 1.05070102214813232421875;

/** A scalar nonlinearity with its parameters; PRelu's slope may be one value per channel. */
export type Activation =
  | { op: "Identity" }
  | { op: "Relu" }
  | { op: "LeakyRelu"; alpha: number }
  | { op: "PRelu"; slope: number | readonly number[] }
  | { op: "Clip"; min: number; max: number }
  | { op: "Sigmoid" }
  | { op: "HardSigmoid"; alpha: number; beta: number }
  | { op: "Tanh" }
  | { op: "HardSwish" }
  | { op: "Elu"; alpha: number }
  | { op: "Selu"; alpha: number; gamma: number }
  | { op: "Celu"; alpha: number }
  | { op: "Softplus" }
  | { op: "Softsign" }
  | { op: "Gelu"; approximate: "none" | "tanh" }
  | { op: "Silu" }
  | { op: "Mish" };

/** The name of a catalogued nonlinearity. */
export type ActivationOp = Activation["op"];

/** Functions applied in order: chain[0] first (f_k ∘ ... ∘ f_1). */
export type Chain = readonly Activation[];

/** A closed interval [lo, hi] of inputs; lo may be -Infinity and hi +Infinity. */
export type Interval = readonly [lo: number, hi: number];

/** Which one-sided derivative: from the left (-1) or from the right (+1). */
export type Side = -1 | 1;

/** The flat region of a function: where |slope| < fraction × the steepest |slope|. */
export interface FlatRegion {
  /** Sorted, disjoint closed intervals. */
  intervals: Interval[];
  /** The supremum of |slope| over all inputs (0 for a constant function, whose region is everything). */
  maxSlope: number;
  /** fraction × maxSlope: inputs whose |slope| is below it are flat. */
  threshold: number;
  fraction: number;
  /** One line for people: "x ≤ 0", "|x| ≥ 5.288", "x ≤ -3 or -1.59 ≤ x ≤ -1.41", "none", "everywhere". */
  description: string;
}

/** Options of flatRegion. */
export interface FlatRegionOptions {
  /** Flat means |slope| < fraction × max |slope|; 0 < fraction < 1, default 0.02. */
  fraction?: number;
  /** Which channel's parameters to use when PRelu has per-channel slopes (default 0). */
  channel?: number;
  /** Skip the closed forms and use the numeric engine (for cross-checks). */
  numeric?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// The catalogue: value, one-sided slopes, kinks, and closed-form regions where they exist.

interface ScalarFn {
  value(x: number): number;
  /** One-sided derivative; equal sides away from kinks. */
  slope(x: number, side: Side): number;
  /** Points where the derivative may jump (or where the function changes formula). */
  kinks: readonly number[];
  /** A length over which the slope changes; sets how far out the numeric engine looks. */
  scale: number;
  /** Exact supremum of |slope| and flat intervals, when a closed form exists. */
  exact?(fraction: number): { maxSlope: number; intervals: Interval[] };
}

/** Slopes left and right of a single kink at 0 (Relu, LeakyRelu, PRelu, Elu family). */
function twoSidedRegion(left: Interval[], right: Interval[]): Interval[] {
  return mergeIntervals([...left, ...right]);
}

function piecewiseLinear(slopeBelow: number, slopeAbove: number, kink: number) {
  return (fraction: number) => {
    const maxSlope = Math.max(Math.abs(slopeBelow), Math.abs(slopeAbove));
    const t = fraction * maxSlope;
    if (maxSlope === 0) return { maxSlope, intervals: [[-Infinity, Infinity] as Interval] };
    return {
      maxSlope,
      intervals: twoSidedRegion(Math.abs(slopeBelow) < t ? [[-Infinity, kink]] : [], Math.abs(slopeAbove) < t ? [[kink, Infinity]] : []),
    };
  };
}

/** Boundary x* > 0 with sech²(x*) = f, i.e. tanh(x*) = √(1-f), computed without cancellation. */
function tanhBoundary(f: number): number {
  const s = Math.sqrt(1 - f);
  // atanh(s) = ½ ln((1+s)/(1-s)), and 1-s = f/(1+s) exactly in real arithmetic.
  return 0.5 * Math.log(((1 + s) * (1 + s)) / f);
}

/** Region of an exponential-left / linear-right function: slope c·e^(x/s) below 0, `above` over 0. */
function expLeft(c: number, s: number, above: number) {
  return (fraction: number) => {
    const maxSlope = Math.max(Math.abs(c), Math.abs(above));
    if (maxSlope === 0) return { maxSlope, intervals: [[-Infinity, Infinity] as Interval] };
    const t = fraction * maxSlope;
    const left: Interval[] = [];
    if (Math.abs(c) <= t) left.push([-Infinity, 0]);
    else left.push([-Infinity, s * Math.log(t / Math.abs(c))]);
    const right: Interval[] = Math.abs(above) < t ? [[0, Infinity]] : [];
    return { maxSlope, intervals: twoSidedRegion(left, right) };
  };
}

function leaky(a: number): ScalarFn {
  return {
    value: (x) => (x >= 0 ? x : a * x),
    slope: (x, side) => (x > 0 || (x === 0 && side > 0) ? 1 : a),
    kinks: [0],
    scale: 1,
    exact: piecewiseLinear(a, 1, 0),
  };
}

function clip(lo: number, hi: number): ScalarFn {
  if (!(lo < hi)) {
    // min(max(x, lo), hi) with lo ≥ hi is the constant hi.
    return { value: () => hi, slope: () => 0, kinks: [], scale: 1, exact: () => ({ maxSlope: 0, intervals: [[-Infinity, Infinity]] }) };
  }
  const kinks = [lo, hi].filter(Number.isFinite);
  return {
    value: (x) => Math.min(Math.max(x, lo), hi),
    slope: (x, side) => ((x > lo && x < hi) || (x === lo && side > 0) || (x === hi && side < 0) ? 1 : 0),
    kinks,
    scale: Math.max(1, ...kinks.map(Math.abs)),
    exact: () => {
      const intervals: Interval[] = [];
      if (lo > -Infinity) intervals.push([-Infinity, lo]);
      if (hi < Infinity) intervals.push([hi, Infinity]);
      return { maxSlope: 1, intervals };
    },
  };
}

function hardSigmoid(alpha: number, beta: number): ScalarFn {
  if (alpha === 0) {
    const v = Math.min(Math.max(beta, 0), 1);
    return { value: () => v, slope: () => 0, kinks: [], scale: 1, exact: () => ({ maxSlope: 0, intervals: [[-Infinity, Infinity]] }) };
  }
  const k0 = -beta / alpha;
  const k1 = (1 - beta) / alpha;
  const lo = Math.min(k0, k1);
  const hi = Math.max(k0, k1);
  return {
    value: (x) => Math.min(Math.max(alpha * x + beta, 0), 1),
    slope: (x, side) => ((x > lo && x < hi) || (x === lo && side > 0) || (x === hi && side < 0) ? alpha : 0),
    kinks: [lo, hi],
    scale: Math.max(1, Math.abs(lo), Math.abs(hi)),
    exact: () => ({
      maxSlope: Math.abs(alpha),
      intervals: [
        [-Infinity, lo],
        [hi, Infinity],
      ],
    }),
  };
}

const HARD_SWISH: ScalarFn = {
  value: (x) => x * Math.min(Math.max(x / 6 + 0.5, 0), 1),
  slope: (x, side) => {
    if (x < -3 || (x === -3 && side < 0)) return 0;
    if (x > 3 || (x === 3 && side > 0)) return 1;
    return x / 3 + 0.5;
  },
  kinks: [-3, 3],
  scale: 3,
  exact: (fraction) => {
    // Slope 0 below -3, x/3 + ½ on (-3, 3) (from -½ to 3/2), 1 above 3; the maximum is 3/2 at 3⁻.
    const maxSlope = 1.5;
    const t = fraction * maxSlope;
    const parts: Interval[] = [[-Infinity, -3]];
    const a = Math.max(-3, -1.5 - 3 * t);
    const b = Math.min(3, -1.5 + 3 * t);
    if (a < b) parts.push([a, b]);
    if (1 < t) parts.push([3, Infinity]);
    return { maxSlope, intervals: mergeIntervals(parts) };
  },
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_C = 0.044715;

function resolve(a: Activation, channel: number): ScalarFn {
  switch (a.op) {
    case "Identity":
      return { value: (x) => x, slope: () => 1, kinks: [], scale: 1, exact: () => ({ maxSlope: 1, intervals: [] }) };
    case "Relu":
      return leaky(0);
    case "LeakyRelu":
      return leaky(a.alpha);
    case "PRelu":
      return leaky(slopeOf(a.slope, channel));
    case "Clip":
      return clip(a.min, a.max);
    case "Sigmoid":
      return {
        value: sigmoid,
        slope: (x) => sigmoid(x) * sigmoid(-x),
        kinks: [],
        scale: 1,
        exact: (f) => {
          // σ' = σ(1-σ) ≤ ¼; σ'(x) = f/4 ⇔ tanh(x/2) = ±√(1-f).
          const b = 2 * tanhBoundary(f);
          return {
            maxSlope: 0.25,
            intervals: [
              [-Infinity, -b],
              [b, Infinity],
            ],
          };
        },
      };
    case "HardSigmoid":
      return hardSigmoid(a.alpha, a.beta);
    case "Tanh":
      return {
        value: Math.tanh,
        slope: sech2,
        kinks: [],
        scale: 1,
        exact: (f) => {
          const b = tanhBoundary(f);
          return {
            maxSlope: 1,
            intervals: [
              [-Infinity, -b],
              [b, Infinity],
            ],
          };
        },
      };
    case "HardSwish":
      return HARD_SWISH;
    case "Elu": {
      const al = a.alpha;
      return {
        value: (x) => (x > 0 ? x : al * Math.expm1(x)),
        slope: (x, side) => (x > 0 || (x === 0 && side > 0) ? 1 : al * Math.exp(x)),
        kinks: [0],
        scale: 1,
        exact: expLeft(al, 1, 1),
      };
    }
    case "Selu": {
      const { alpha: al, gamma: g } = a;
      return {
        value: (x) => g * (x > 0 ? x : al * Math.expm1(x)),
        slope: (x, side) => g * (x > 0 || (x === 0 && side > 0) ? 1 : al * Math.exp(x)),
        kinks: [0],
        scale: 1,
        exact: expLeft(g * al, 1, g),
      };
    }
    case "Celu": {
      const al = a.alpha;
      return {
        value: (x) => Math.max(0, x) + Math.min(0, al * Math.expm1(x / al)),
        slope: (x, side) => (x > 0 || (x === 0 && side > 0) ? 1 : Math.exp(x / al)),
        kinks: [0],
        scale: Math.abs(al),
        exact: expLeft(1, al, 1),
      };
    }
    case "Softplus":
      return {
        value: softplus,
        slope: sigmoid,
        kinks: [],
        scale: 1,
        // σ(x) < f ⇔ x < logit(f); the slope tends to 1 on the right.
        exact: (f) => ({ maxSlope: 1, intervals: [[-Infinity, Math.log(f / (1 - f))]] }),
      };
    case "Softsign":
      return {
        value: (x) => x / (1 + Math.abs(x)),
        slope: (x) => 1 / ((1 + Math.abs(x)) * (1 + Math.abs(x))),
        kinks: [0],
        scale: 1,
        exact: (f) => {
          const b = 1 / Math.sqrt(f) - 1;
          return {
            maxSlope: 1,
            intervals: [
              [-Infinity, -b],
              [b, Infinity],
            ],
          };
        },
      };
    case "Gelu":
      if (a.approximate === "tanh") {
        // ½x(1 + tanh u) = x·σ(2u), u = √(2/π)(x + 0.044715x³): the σ form keeps the left tail accurate.
        return {
          value: (x) => x * sigmoid(2 * SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x)),
          slope: (x) => {
            const v = 2 * SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x);
            const dv = 2 * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_C * x * x);
            const s = sigmoid(v);
            return s + x * s * sigmoid(-v) * dv;
          },
          kinks: [],
          scale: 1,
        };
      }
      return { value: (x) => x * normalCdf(x), slope: (x) => normalCdf(x) + x * normalPdf(x), kinks: [], scale: 1 };
    case "Silu":
      return { value: (x) => x * sigmoid(x), slope: (x) => sigmoid(x) * (1 + x * sigmoid(-x)), kinks: [], scale: 1 };
    case "Mish":
      return {
        value: (x) => x * Math.tanh(softplus(x)),
        slope: (x) => {
          const sp = softplus(x);
          return Math.tanh(sp) + x * sech2(sp) * sigmoid(x);
        },
        kinks: [],
        scale: 1,
      };
  }
}

function slopeOf(slope: number | readonly number[], channel: number): number {
  if (typeof slope === "number") return slope;
  if (slope.length === 1) return slope[0];
  const s = slope[channel];
  if (s === undefined) throw new RangeError(`PRelu has ${slope.length} channel slopes; channel ${channel} does not exist.`);
  return s;
}

/** Why an activation's parameters are unusable (NaN or infinite where a number is needed), or undefined. */
export function activationProblem(a: Activation): string | undefined {
  const finite = (v: number, name: string) => (Number.isFinite(v) ? undefined : `${name} must be a finite number, got ${v}`);
  switch (a.op) {
    case "LeakyRelu":
    case "Elu":
      return finite(a.alpha, "alpha");
    case "PRelu":
      for (const s of typeof a.slope === "number" ? [a.slope] : a.slope) {
        const p = finite(s, "slope");
        if (p) return p;
      }
      return undefined;
    case "Clip":
      return Number.isNaN(a.min) || Number.isNaN(a.max) ? "bounds must not be NaN" : undefined;
    case "HardSigmoid":
      return finite(a.alpha, "alpha") ?? finite(a.beta, "beta");
    case "Selu":
      return finite(a.alpha, "alpha") ?? finite(a.gamma, "gamma");
    case "Celu":
      return finite(a.alpha, "alpha") ?? (a.alpha > 0 ? undefined : `alpha must be > 0, got ${a.alpha}`);
    default:
      return undefined;
  }
}

function checkActivation(a: Activation): void {
  const problem = activationProblem(a);
  if (problem) throw new RangeError(`${a.op}: ${problem}`);
}

/** The number of channels a chain distinguishes: PRelu's per-channel slope count, else 1. */
export function channelCount(chain: Chain | Activation): number {
  let n = 1;
  for (const a of asChain(chain)) {
    if (a.op === "PRelu" && typeof a.slope !== "number" && a.slope.length > 1) {
      if (n !== 1 && n !== a.slope.length) throw new RangeError(`PRelu slopes disagree on the channel count (${n} vs ${a.slope.length}).`);
      n = a.slope.length;
    }
  }
  return n;
}

function asChain(chain: Chain | Activation): Chain {
  return Array.isArray(chain) ? (chain as Chain) : [chain as Activation];
}

function resolveChain(chain: Chain | Activation, channel: number): ScalarFn[] {
  const list = asChain(chain).filter((a) => a.op !== "Identity");
  list.forEach(checkActivation);
  return list.map((a) => resolve(a, channel));
}

/** The chain's value at x (channel selects PRelu's per-channel slope). */
export function evaluateChain(chain: Chain | Activation, x: number, channel = 0): number {
  let y = x;
  for (const f of resolveChain(chain, channel)) y = f.value(y);
  return y;
}

/** The chain's one-sided derivative at x: side -1 from the left, +1 from the right. */
export function chainSlope(chain: Chain | Activation, x: number, side: Side = 1, channel = 0): number {
  return slopeThrough(resolveChain(chain, channel), x, side);
}

function valueThrough(fns: readonly ScalarFn[], x: number): number {
  let y = x;
  for (const f of fns) y = f.value(y);
  return y;
}

/**
 * One-sided chain rule: moving x toward `side` moves y_i toward side·sign(∏ earlier slopes), so each
 * function's slope is taken from that side. A zero factor makes the product zero (all functions are
 * Lipschitz).
 */
function slopeThrough(fns: readonly ScalarFn[], x: number, side: Side): number {
  let y = x;
  let d = 1;
  let dir: Side = side;
  for (const f of fns) {
    const s = f.slope(y, dir);
    if (s === 0) return 0;
    d *= s;
    if (s < 0) dir = -dir as Side;
    y = f.value(y);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------------
// Flat regions.

/**
 * The flat region of an activation or chain: where |g'(x)| < fraction × sup|g'|, as sorted closed
 * intervals; at a kink a point is flat when either one-sided slope is below the threshold.
 */
export function flatRegion(chain: Chain | Activation, options: FlatRegionOptions = {}): FlatRegion {
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
export function flatRegionsByChannel(chain: Chain | Activation, options: Omit<FlatRegionOptions, "channel"> = {}): FlatRegion[] {
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

/** Sorts closed intervals and merges those that overlap or touch; drops empty ones. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const list = intervals.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of list) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The numeric engine.

/** Far enough out that every catalogued slope has reached its limit (scaled by the chain's parameters). */
const REACH = 1e4;
/** Sample spacing next to an anchor, growing geometrically away from it. */
const FIRST_STEP = 1 / 512;
const STEP_GROWTH = 1.02;
/** Flat means |slope| < t·(1 - SLACK): equal slopes stay non-flat despite rounding in long products. */
const SLACK = 1e-13;

/** Sorted sample points between anchors: dense next to each anchor, geometric away from it. */
function sampleGrid(anchors: number[]): number[] {
  const a = [...new Set(anchors)].sort((p, q) => p - q);
  const pts: number[] = [];
  for (let i = 0; i < a.length; i++) {
    pts.push(a[i]);
    if (i === a.length - 1) break;
    const u = a[i];
    const v = a[i + 1];
    const mid = u + (v - u) / 2;
    const fromU: number[] = [];
    const fromV: number[] = [];
    let step = Math.min(FIRST_STEP, (v - u) / 8);
    for (let d = step; u + d < mid; step *= STEP_GROWTH, d += step) fromU.push(u + d);
    step = Math.min(FIRST_STEP, (v - u) / 8);
    for (let d = step; v - d > mid; step *= STEP_GROWTH, d += step) fromV.push(v - d);
    pts.push(...fromU);
    if (mid > u && mid < v) pts.push(mid);
    pts.push(...fromV.reverse());
  }
  return pts;
}

/** Bisects a predicate that is `atLo` at lo and !atLo at hi down to adjacent doubles; returns the switch point. */
function bisect(lo: number, hi: number, pred: (x: number) => boolean, atLo: boolean): number {
  for (let i = 0; i < 2200; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (pred(mid) === atLo) lo = mid;
    else hi = mid;
  }
  return lo + (hi - lo) / 2;
}

/** Golden-section search for the minimum of f on [lo, hi]. */
function goldenMin(f: (x: number) => number, lo: number, hi: number): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < 120 && b - a > 1e-15 * Math.max(1, Math.abs(a)); i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - r * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + r * (b - a);
      fd = f(d);
    }
  }
  return fc < fd ? c : d;
}

/**
 * All x with h(x) = c, h the composition of `fns`: sign changes on a grid around the anchors, refined by
 * bisection and one Newton step (exact on linear pieces), plus the ends of runs where h ≡ c.
 */
function preimages(fns: readonly ScalarFn[], c: number, anchors: number[], reach: number): number[] {
  const h = (x: number) => valueThrough(fns, x) - c;
  // Tails that still approach c at `reach` (e.g. a Clip bound far out) push the search further.
  const ends: number[] = [];
  for (const s of [-1, 1]) {
    let r = reach;
    for (let k = 0; k < 64; k++) {
      const v1 = h(s * r);
      const v2 = h(2 * s * r);
      r *= 2;
      if (v1 === 0 || v1 * v2 <= 0 || Math.abs(v2) >= Math.abs(v1)) break;
    }
    ends.push(s * r);
  }
  const xs = sampleGrid([...anchors, 0, ...ends]);
  const vs = xs.map(h);
  const roots: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (vs[i] === 0) {
      const prevZero = i === 0 || vs[i - 1] === 0;
      const nextZero = i === xs.length - 1 || vs[i + 1] === 0;
      if (!(prevZero && nextZero)) roots.push(xs[i]);
      continue;
    }
    if (i + 1 < xs.length && vs[i + 1] !== 0 && vs[i] * vs[i + 1] < 0) {
      let x = bisect(xs[i], xs[i + 1], (z) => Math.sign(h(z)) === Math.sign(vs[i]), true);
      const d = slopeThrough(fns, x, 1);
      if (d !== 0) {
        const xn = x - h(x) / d;
        if (Math.abs(h(xn)) <= Math.abs(h(x))) x = xn;
      }
      roots.push(x);
    }
  }
  return roots;
}

interface Sample {
  x: number;
  left: number;
  right: number;
}

function numericRegion(fns: readonly ScalarFn[], fraction: number): { maxSlope: number; intervals: Interval[] } {
  // Kinks of the chain: each function's kinks pulled back through the functions before it.
  let scale = Math.max(1, ...fns.map((f) => f.scale));
  let kinks: number[] = [...fns[0].kinks];
  for (let i = 1; i < fns.length; i++) {
    const prefix = fns.slice(0, i);
    const reach = REACH * Math.max(scale, ...kinks.map(Math.abs));
    for (const c of fns[i].kinks) kinks.push(...preimages(prefix, c, kinks, reach));
  }
  kinks = [...new Set(kinks)].sort((a, b) => a - b);
  const kinkSet = new Set(kinks);
  scale = Math.max(scale, ...kinks.map(Math.abs));
  const reach = REACH * scale;

  const slope = (x: number, side: Side) => slopeThrough(fns, x, side);
  const samples: Sample[] = sampleGrid([...kinks, 0, -reach, reach]).map((x) => {
    const right = slope(x, 1);
    return { x, left: kinkSet.has(x) ? slope(x, -1) : right, right };
  });

  // Refine between samples: a sign change of the slope hides a zero (a flat band however narrow), and a
  // local extremum of |slope| may dip below the threshold or set the maximum between samples.
  const extra: Sample[] = [];
  const abs = (x: number) => Math.abs(slope(x, 1));
  for (let i = 0; i + 1 < samples.length; i++) {
    const a = samples[i].right;
    const b = samples[i + 1].left;
    if (a !== 0 && b !== 0 && Math.sign(a) !== Math.sign(b)) {
      const z = bisect(samples[i].x, samples[i + 1].x, (x) => Math.sign(slope(x, 1)) === Math.sign(a), true);
      const v = slope(z, 1);
      extra.push({ x: z, left: v, right: v });
    }
  }
  for (let i = 1; i + 1 < samples.length; i++) {
    const s = samples[i];
    if (kinkSet.has(s.x)) continue;
    const m = Math.abs(s.right);
    const p = Math.abs(samples[i - 1].right);
    const q = Math.abs(samples[i + 1].left);
    const lo = samples[i - 1].x;
    const hi = samples[i + 1].x;
    let z: number | undefined;
    if (m < p && m < q) z = goldenMin(abs, lo, hi);
    else if (m > p && m > q) z = goldenMin((x) => -abs(x), lo, hi);
    if (z !== undefined && z > lo && z < hi && z !== s.x) {
      const v = slope(z, 1);
      extra.push({ x: z, left: v, right: v });
    }
  }
  const all = [...samples, ...extra].sort((u, v) => u.x - v.x);

  let maxSlope = 0;
  for (const s of all) maxSlope = Math.max(maxSlope, Math.abs(s.left), Math.abs(s.right));
  if (!Number.isFinite(maxSlope)) throw new RangeError("The chain's slope is unbounded; no flat region can be defined.");
  if (maxSlope === 0) return { maxSlope, intervals: [[-Infinity, Infinity]] };
  const t = fraction * maxSlope * (1 - SLACK);
  const flat = (v: number) => Math.abs(v) < t;

  const parts: Interval[] = [];
  for (let i = 0; i + 1 < all.length; i++) {
    const p = all[i].x;
    const q = all[i + 1].x;
    const fp = flat(all[i].right);
    const fq = flat(all[i + 1].left);
    if (fp && fq) parts.push([p, q]);
    else if (fp) parts.push([p, bisect(p, q, (x) => flat(slope(x, 1)), true)]);
    else if (fq) parts.push([bisect(p, q, (x) => flat(slope(x, 1)), false), q]);
  }
  const first = all[0].x;
  const last = all[all.length - 1].x;
  const merged = mergeIntervals(parts)
    .map(([lo, hi]): Interval => [lo === first ? -Infinity : lo, hi === last ? Infinity : hi])
    // A band thinner than rounding can only come from |slope| grazing the threshold: not a region.
    .filter(([lo, hi]) => !Number.isFinite(hi - lo) || hi - lo > 1e-12 * Math.max(1, Math.abs(lo), Math.abs(hi)));
  return { maxSlope, intervals: merged };
}

// ---------------------------------------------------------------------------------------------------
// Membership and descriptions.

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

/** A number for people: 4 significant digits, no trailing zeros, "-" for negatives, ∞ for infinities. */
export function formatBound(v: number): string {
  if (v === Infinity) return "∞";
  if (v === -Infinity) return "-∞";
  if (Math.abs(v) < 1e-12) return "0";
  const s = String(Number(v.toPrecision(4)));
  return s;
}

/** "x ≤ 0", "|x| ≥ 5.288", "x ≤ -3 or -1.59 ≤ x ≤ -1.41", "everywhere", "none". */
export function describeRegion(intervals: readonly Interval[]): string {
  const list = mergeIntervals(intervals);
  if (list.length === 0) return "none";
  if (list.length === 1 && list[0][0] === -Infinity && list[0][1] === Infinity) return "everywhere";
  if (list.length === 2 && list[0][0] === -Infinity && list[1][1] === Infinity) {
    const a = -list[0][1];
    const b = list[1][0];
    if (a > 0 && Math.abs(a - b) <= 1e-9 * Math.max(a, b)) return `|x| ≥ ${formatBound(b)}`;
  }
  return list
    .map(([lo, hi]) => {
      if (lo === -Infinity) return `x ≤ ${formatBound(hi)}`;
      if (hi === Infinity) return `x ≥ ${formatBound(lo)}`;
      return `${formatBound(lo)} ≤ x ≤ ${formatBound(hi)}`;
    })
    .join(" or ");
}

const NAMES: Record<ActivationOp, string> = {
  Identity: "Identity",
  Relu: "ReLU",
  LeakyRelu: "LeakyReLU",
  PRelu: "PReLU",
  Clip: "Clip",
  Sigmoid: "Sigmoid",
  HardSigmoid: "HardSigmoid",
  Tanh: "Tanh",
  HardSwish: "HardSwish",
  Elu: "ELU",
  Selu: "SELU",
  Celu: "CELU",
  Softplus: "Softplus",
  Softsign: "Softsign",
  Gelu: "GELU",
  Silu: "SiLU",
  Mish: "Mish",
};

/** "ReLU", "ReLU6 (Clip 0…6)", "LeakyReLU (α=0.1)", "PReLU (64 channel slopes, -0.02…0.31)", "GELU (tanh approximation)". */
export function describeActivation(a: Activation): string {
  const f = formatBound;
  switch (a.op) {
    case "LeakyRelu":
      return `LeakyReLU (α=${f(a.alpha)})`;
    case "PRelu": {
      if (typeof a.slope === "number" || a.slope.length === 1) return `PReLU (slope ${f(slopeOf(a.slope, 0))})`;
      let lo = Infinity;
      let hi = -Infinity;
      for (const s of a.slope) {
        lo = Math.min(lo, s);
        hi = Math.max(hi, s);
      }
      return `PReLU (${a.slope.length} channel slopes, ${f(lo)}…${f(hi)})`;
    }
    case "Clip":
      if (a.min === 0 && a.max === 6) return "ReLU6 (Clip 0…6)";
      return `Clip ${f(a.min)}…${f(a.max)}`;
    case "HardSigmoid":
      return `HardSigmoid (α=${f(a.alpha)}, β=${f(a.beta)})`;
    case "Elu":
      return `ELU (α=${f(a.alpha)})`;
    case "Selu":
      return a.alpha === SELU_ALPHA && a.gamma === SELU_GAMMA ? "SELU" : `SELU (α=${f(a.alpha)}, γ=${f(a.gamma)})`;
    case "Celu":
      return `CELU (α=${f(a.alpha)})`;
    case "Gelu":
      return a.approximate === "tanh" ? "GELU (tanh approximation)" : "GELU";
    default:
      return NAMES[a.op];
  }
}

/** "Relu", "Relu→Clip": the op names of a chain. */
export function chainOpName(chain: Chain): string {
  return chain.map((a) => a.op).join("→");
}

/** "ReLU → ReLU6 (Clip 0…6)". */
export function describeChain(chain: Chain): string {
  return chain.map(describeActivation).join(" → ");
}
