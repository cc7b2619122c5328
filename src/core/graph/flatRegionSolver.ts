// The numeric flat-region solver: chains and the smooth functions without a closed form (GELU, SiLU, Mish).
// Kinks are found exactly (pulled back through the chain), the slope is sampled densely near every kink and
// geometrically further out, its extrema and sign changes are refined, and each boundary is bisected to
// machine precision.

import { mergeIntervals, slopeThrough, valueThrough, type Interval, type ScalarFn, type Side } from "./nonlinearities";

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

export function numericRegion(fns: readonly ScalarFn[], fraction: number): { maxSlope: number; intervals: Interval[] } {
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
