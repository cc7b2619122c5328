// The catalogue of element-wise nonlinearities BN Lens recognises after a BN: their parameters, each one as a
// scalar function with its one-sided slopes (and, where one exists, its closed-form flat region), and chains
// of them. The numeric solver (flatRegionSolver.ts) handles what has no closed form.

import { normalCdf, normalPdf, sech2, sigmoid, softplus } from "./specialFunctions";

/** The fraction of the steepest slope below which an input counts as flat, unless told otherwise. */
export const DEFAULT_SLOPE_FRACTION = 0.02;
/** ONNX Selu default alpha (float32 value of the attribute default). */
export const SELU_ALPHA = 1.67326319217681884765625;
/** ONNX Selu default gamma (float32 value of the attribute default). */
export const SELU_GAMMA = 1.05070102214813232421875;

/** A scalar nonlinearity with its parameters; PRelu's slope may be one value per channel. */
export type Nonlinearity =
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
export type NonlinearityOp = Nonlinearity["op"];

/** Functions applied in order: chain[0] first (f_k ∘ ... ∘ f_1). */
export type Chain = readonly Nonlinearity[];

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

// The catalogue: value, one-sided slopes, kinks, and closed-form regions where they exist.

export interface ScalarFn {
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

function resolve(a: Nonlinearity, channel: number): ScalarFn {
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

export function slopeOf(slope: number | readonly number[], channel: number): number {
  if (typeof slope === "number") return slope;
  if (slope.length === 1) return slope[0];
  const s = slope[channel];
  if (s === undefined) throw new RangeError(`PRelu has ${slope.length} channel slopes; channel ${channel} does not exist.`);
  return s;
}

/** Why an activation's parameters are unusable (NaN or infinite where a number is needed), or undefined. */
export function activationProblem(a: Nonlinearity): string | undefined {
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

function checkActivation(a: Nonlinearity): void {
  const problem = activationProblem(a);
  if (problem) throw new RangeError(`${a.op}: ${problem}`);
}

/** The number of channels a chain distinguishes: PRelu's per-channel slope count, else 1. */
export function channelCount(chain: Chain | Nonlinearity): number {
  let n = 1;
  for (const a of asChain(chain)) {
    if (a.op === "PRelu" && typeof a.slope !== "number" && a.slope.length > 1) {
      if (n !== 1 && n !== a.slope.length) throw new RangeError(`PRelu slopes disagree on the channel count (${n} vs ${a.slope.length}).`);
      n = a.slope.length;
    }
  }
  return n;
}

export function asChain(chain: Chain | Nonlinearity): Chain {
  return Array.isArray(chain) ? (chain as Chain) : [chain as Nonlinearity];
}

export function resolveChain(chain: Chain | Nonlinearity, channel: number): ScalarFn[] {
  const list = asChain(chain).filter((a) => a.op !== "Identity");
  list.forEach(checkActivation);
  return list.map((a) => resolve(a, channel));
}

/** The chain's value at x (channel selects PRelu's per-channel slope). */
export function evaluateChain(chain: Chain | Nonlinearity, x: number, channel = 0): number {
  let y = x;
  for (const f of resolveChain(chain, channel)) y = f.value(y);
  return y;
}

/** The chain's one-sided derivative at x: side -1 from the left, +1 from the right. */
export function chainSlope(chain: Chain | Nonlinearity, x: number, side: Side = 1, channel = 0): number {
  return slopeThrough(resolveChain(chain, channel), x, side);
}

export function valueThrough(fns: readonly ScalarFn[], x: number): number {
  let y = x;
  for (const f of fns) y = f.value(y);
  return y;
}

/**
 * One-sided chain rule: moving x toward `side` moves y_i toward side·sign(∏ earlier slopes), so each
 * function's slope is taken from that side. A zero factor makes the product zero (all functions are
 * Lipschitz).
 */
export function slopeThrough(fns: readonly ScalarFn[], x: number, side: Side): number {
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
