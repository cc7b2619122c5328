// Descriptions of nonlinearities and their flat regions for people: names, parameters and bounds.

import {
  mergeIntervals,
  SELU_ALPHA,
  SELU_GAMMA,
  slopeOf,
  type Nonlinearity,
  type NonlinearityOp,
  type Chain,
  type Interval,
} from "./nonlinearities";

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

const NAMES: Record<NonlinearityOp, string> = {
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
export function describeActivation(a: Nonlinearity): string {
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
