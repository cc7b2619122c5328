// AssemblyScript, compiled to WebAssembly (with SIMD) by scripts/build.mjs (see ../foldKernel.ts, which lays out the
// memory and turns what this writes into statistics). Not TypeScript for tsc: load/store/reinterpret, v128 and the
// i32/u32/f32/f64/usize types are AssemblyScript's.
//
// One pass over `runs` consecutive runs of float32 BN outputs y (one run = one sample's values of one channel,
// `inner` long; run j is channel (firstRun + j) % channels), per value: the bucket of y and of the mapped value
// x = fround(mean + (y - beta)·scale) (the recovered BN input), both counted; per run: the count, shift k (the first
// finite value), the shifted sums Σ(y - k) and Σ(y - k)², the extremes and the count inside the channel's single flat
// interval [flo, fhi] (of y, or with `flatOfMapped` of x: fast mode's sampled BN inputs, whose outputs are the mapped
// values). Four values at a time in SIMD lanes (x computed in float64, then rounded to float32); a group of four
// holding a non-finite y, or an x that overflows float32, and a run's last values go one at a time.
//
// params: f64[5·channels] (mean, beta, scale, flo, fhi); records: f64[7·runs] (count, k, s1, s2, min, max, flat);
// hist: u32[2·channels·259] (counts of y, then of x); lut: i16[2048] (bucket of the top 11 bits);
// nonFinite: f64[6] (y: NaN, +inf, -inf; x: NaN, +inf, -inf).

const BUCKETS: usize = 259;
const EXPONENT: i32 = 0x7f800000;

function bucket(lut: usize, bits: u32): i32 {
  return <i32>load<i16>(lut + ((<usize>(bits >>> 21)) << 1));
}

function count(at: usize): void {
  store<u32>(at, load<u32>(at) + 1);
}

function countNonFinite(nonFinite: usize, slot: usize): void {
  store<f64>(nonFinite + (slot << 3), load<f64>(nonFinite + (slot << 3)) + 1);
}

/** The next float32 above f (f itself for NaN and +inf). */
function nextUp(f: f32): f32 {
  if (f != f || f == Infinity) return f;
  if (f == 0) return reinterpret<f32>(<u32>1);
  const bits = reinterpret<u32>(f);
  return reinterpret<f32>(f > 0 ? bits + 1 : bits - 1);
}

/** The smallest float32 at or above t: for float32 v, v >= t exactly when v >= ceilF32(t). */
function ceilF32(t: f64): f32 {
  const f = <f32>t;
  return <f64>f < t ? nextUp(f) : f;
}

/** The largest float32 at or below t: for float32 v, v <= t exactly when v <= floorF32(t). */
function floorF32(t: f64): f32 {
  const f = <f32>t;
  return <f64>f > t ? -nextUp(-f) : f;
}

// Per-run results of the one-at-a-time path, which the SIMD lanes are added to.
let cnt: i32 = 0,
  fc: i32 = 0,
  s1: f64 = 0,
  s2: f64 = 0,
  mn: f64 = Infinity,
  mx: f64 = -Infinity;

/** Values [from, to) of one run, one at a time, with the same results as the lanes. */
function oneByOne(
  y: usize,
  from: usize,
  to: usize,
  k: f64,
  mu: f64,
  be: f64,
  sc: f64,
  flo: f64,
  fhi: f64,
  yH: usize,
  xH: usize,
  lut: usize,
  nonFinite: usize,
  flatOfMapped: i32,
): void {
  for (let q = from; q < to; q++) {
    const u = load<u32>(y + (q << 2));
    const v = <f64>reinterpret<f32>(u);
    const b = bucket(lut, u);
    if (b < 0) {
      // Counted apart, never bucketed; the input of a non-finite output is non-finite, of the matching sign.
      if (v != v) {
        countNonFinite(nonFinite, 0);
        countNonFinite(nonFinite, 3);
      } else {
        countNonFinite(nonFinite, v > 0 ? 1 : 2);
        countNonFinite(nonFinite, v > 0 == sc > 0 ? 4 : 5);
      }
      continue;
    }
    const mv = <f32>(mu + (v - be) * sc);
    const bx = bucket(lut, reinterpret<u32>(mv));
    if (bx >= 0) count(xH + ((<usize>bx) << 2));
    const d = v - k;
    cnt++;
    s1 += d;
    s2 += d * d;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
    // A mapped value that overflows float32 is infinite, never flat.
    const fv: f64 = flatOfMapped ? <f64>mv : v;
    fc += (<i32>(fv >= flo)) & (<i32>(fv <= fhi)) & (<i32>(fv - fv == 0));
    count(yH + ((<usize>b) << 2));
  }
}

export function foldRuns(
  y: usize,
  firstRun: i32,
  runs: i32,
  channels: i32,
  inner: i32,
  params: usize,
  records: usize,
  hist: usize,
  lut: usize,
  nonFinite: usize,
  flatOfMapped: i32,
): void {
  const exponent = i32x4.splat(EXPONENT);
  for (let j = 0; j < runs; j++) {
    const c = (firstRun + j) % channels;
    const start: usize = <usize>j * <usize>inner;
    const end: usize = start + <usize>inner;
    const yH = hist + ((<usize>c * BUCKETS) << 2),
      xH = hist + ((<usize>(channels + c) * BUCKETS) << 2);
    const p = params + ((<usize>c * 5) << 3);
    const mu = load<f64>(p),
      be = load<f64>(p, 8),
      sc = load<f64>(p, 16),
      flo = load<f64>(p, 24),
      fhi = load<f64>(p, 32);
    // The shift: the run's first finite value.
    let k: f64 = NaN;
    for (let q = start; q < end; q++) {
      const v = <f64>load<f32>(y + (q << 2));
      if (v - v == 0) {
        k = v;
        break;
      }
    }
    cnt = 0;
    fc = 0;
    s1 = 0;
    s2 = 0;
    mn = Infinity;
    mx = -Infinity;
    const kv = f64x2.splat(k),
      muv = f64x2.splat(mu),
      bev = f64x2.splat(be),
      scv = f64x2.splat(sc),
      flov = f32x4.splat(ceilF32(flo)),
      fhiv = f32x4.splat(floorF32(fhi));
    let s1lo = f64x2.splat(0),
      s1hi = f64x2.splat(0),
      s2lo = f64x2.splat(0),
      s2hi = f64x2.splat(0),
      mnv = f32x4.splat(Infinity),
      mxv = f32x4.splat(-Infinity),
      fcv = i32x4.splat(0);
    let lanes: i32 = 0;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const v = v128.load(y + (i << 2));
      const lo = f64x2.promote_low_f32x4(v),
        hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      const x = v128.shuffle<f32>(
        f32x4.demote_f64x2_zero(f64x2.add(muv, f64x2.mul(f64x2.sub(lo, bev), scv))),
        f32x4.demote_f64x2_zero(f64x2.add(muv, f64x2.mul(f64x2.sub(hi, bev), scv))),
        0,
        1,
        4,
        5,
      );
      // A non-finite y, or an x beyond float32: this group one value at a time.
      const special = v128.or(i32x4.eq(v128.and(v, exponent), exponent), i32x4.eq(v128.and(x, exponent), exponent));
      if (v128.any_true(special)) {
        oneByOne(y, i, i + 4, k, mu, be, sc, flo, fhi, yH, xH, lut, nonFinite, flatOfMapped);
        continue;
      }
      lanes += 4;
      const dlo = f64x2.sub(lo, kv),
        dhi = f64x2.sub(hi, kv);
      s1lo = f64x2.add(s1lo, dlo);
      s1hi = f64x2.add(s1hi, dhi);
      s2lo = f64x2.add(s2lo, f64x2.mul(dlo, dlo));
      s2hi = f64x2.add(s2hi, f64x2.mul(dhi, dhi));
      mnv = f32x4.min(mnv, v);
      mxv = f32x4.max(mxv, v);
      const f = flatOfMapped ? x : v;
      fcv = i32x4.sub(fcv, v128.and(f32x4.ge(f, flov), f32x4.le(f, fhiv)));
      const ty = i32x4.shr_u(v, 21),
        tx = i32x4.shr_u(x, 21);
      count(yH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(ty, 0)) << 1))) << 2));
      count(yH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(ty, 1)) << 1))) << 2));
      count(yH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(ty, 2)) << 1))) << 2));
      count(yH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(ty, 3)) << 1))) << 2));
      count(xH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(tx, 0)) << 1))) << 2));
      count(xH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(tx, 1)) << 1))) << 2));
      count(xH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(tx, 2)) << 1))) << 2));
      count(xH + ((<usize>load<i16>(lut + ((<usize>i32x4.extract_lane(tx, 3)) << 1))) << 2));
    }
    oneByOne(y, i, end, k, mu, be, sc, flo, fhi, yH, xH, lut, nonFinite, flatOfMapped);
    if (lanes) {
      cnt += lanes;
      s1 += f64x2.extract_lane(s1lo, 0) + f64x2.extract_lane(s1lo, 1) + (f64x2.extract_lane(s1hi, 0) + f64x2.extract_lane(s1hi, 1));
      s2 += f64x2.extract_lane(s2lo, 0) + f64x2.extract_lane(s2lo, 1) + (f64x2.extract_lane(s2hi, 0) + f64x2.extract_lane(s2hi, 1));
      // The smallest and largest of the four lanes.
      const m2 = f32x4.min(mnv, v128.shuffle<f32>(mnv, mnv, 2, 3, 0, 1)),
        M2 = f32x4.max(mxv, v128.shuffle<f32>(mxv, mxv, 2, 3, 0, 1));
      const m = f32x4.min(m2, v128.shuffle<f32>(m2, m2, 1, 0, 3, 2)),
        M = f32x4.max(M2, v128.shuffle<f32>(M2, M2, 1, 0, 3, 2));
      const a = <f64>f32x4.extract_lane(m, 0),
        b = <f64>f32x4.extract_lane(M, 0);
      if (a < mn) mn = a;
      if (b > mx) mx = b;
      fc += i32x4.extract_lane(fcv, 0) + i32x4.extract_lane(fcv, 1) + i32x4.extract_lane(fcv, 2) + i32x4.extract_lane(fcv, 3);
    }
    const r = records + ((<usize>j * 7) << 3);
    store<f64>(r, <f64>cnt);
    store<f64>(r, k, 8);
    store<f64>(r, s1, 16);
    store<f64>(r, s2, 24);
    store<f64>(r, mn, 32);
    store<f64>(r, mx, 40);
    store<f64>(r, <f64>fc, 48);
  }
}
