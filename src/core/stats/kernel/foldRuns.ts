// AssemblyScript, compiled to WebAssembly by scripts/build.mjs (see ../foldKernel.ts, which lays out the memory
// and turns what this writes into statistics). Not TypeScript for tsc: load/store/reinterpret and the i32/u32/
// f32/f64/usize types are AssemblyScript's.
//
// One pass over `runs` consecutive runs of float32 BN outputs y (one run = one sample's values of one channel,
// `inner` long; run j is channel (firstRun + j) % channels), per value: the bucket of y and of the recovered input
// x = fround(mean + (y - beta)·scale), both counted; per run: the count, shift k (the first finite value), the
// shifted sums of y and y², the extremes and the count inside the channel's single flat interval [flo, fhi] (of y,
// or with `flatOfMapped` of the mapped values: fast mode's sampled BN inputs, whose outputs are the mapped values).
// It is the same arithmetic in the same order as the JavaScript loop it replaced (two values per step; a pair holding a non-finite value, whose recovered inputs overflow float32, or the odd
// last value, one at a time), so its sums are the same float64 numbers.
//
// params: f64[5·channels] (mean, beta, scale, flo, fhi); records: f64[7·runs] (count, k, s1, s2, min, max, flat);
// hist: u32[2·channels·259] (counts of y, then of x); lut: i16[2048] (bucket of the top 11 bits);
// nonFinite: f64[6] (y: NaN, +inf, -inf; x: NaN, +inf, -inf).

const BUCKETS: usize = 259;

function bucket(lut: usize, bits: u32): i32 {
  return <i32>load<i16>(lut + ((<usize>(bits >>> 21)) << 1));
}

function count(at: usize): void {
  store<u32>(at, load<u32>(at) + 1);
}

function countNonFinite(nonFinite: usize, slot: usize): void {
  store<f64>(nonFinite + (slot << 3), load<f64>(nonFinite + (slot << 3)) + 1);
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
  // One count per bucket of y and one of x: in WebAssembly, two halves per histogram (which break the chains of
  // increments to one bucket in JavaScript) measured no faster, and would double what the caller adds up.
  const yH = hist,
    xH = hist + <usize>channels * BUCKETS * 4;
  for (let j = 0; j < runs; j++) {
    const c = (firstRun + j) % channels;
    const start: usize = <usize>j * <usize>inner;
    const end: usize = start + <usize>inner;
    const hb: usize = (<usize>c * BUCKETS) << 2;
    const p = params + ((<usize>c * 5) << 3);
    const mu = load<f64>(p),
      be = load<f64>(p, 8),
      sc = load<f64>(p, 16),
      flo = load<f64>(p, 24),
      fhi = load<f64>(p, 32);
    let k: f64 = NaN,
      cnt: f64 = 0,
      s1: f64 = 0,
      s2: f64 = 0,
      mn: f64 = Infinity,
      mx: f64 = -Infinity,
      fc: f64 = 0;
    for (let i = start; i < end; i += 2) {
      const isPair = i + 1 < end;
      const u0 = load<u32>(y + (i << 2));
      // The odd last value: all ones is a NaN's bits, so it takes the one-at-a-time path.
      const u1: u32 = isPair ? load<u32>(y + (i << 2), 4) : 0xffffffff;
      const b0 = bucket(lut, u0),
        b1 = bucket(lut, u1);
      const y0 = <f64>reinterpret<f32>(u0);
      const y1: f64 = isPair ? <f64>reinterpret<f32>(u1) : 0;
      const m0 = <f32>(mu + (y0 - be) * sc),
        m1 = <f32>(mu + (y1 - be) * sc);
      const x0 = bucket(lut, reinterpret<u32>(m0)),
        x1 = bucket(lut, reinterpret<u32>(m1));
      if ((b0 | b1 | x0 | x1) < 0) {
        const last = isPair ? i + 2 : i + 1;
        for (let q = i; q < last; q++) {
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
          if (bx >= 0) count(xH + hb + ((<usize>bx) << 2));
          if (k != k) k = v;
          const d = v - k;
          cnt++;
          s1 += d;
          s2 += d * d;
          if (v < mn) mn = v;
          if (v > mx) mx = v;
          // A mapped value that overflows float32 is infinite, never flat.
          const fv: f64 = flatOfMapped ? <f64>mv : v;
          fc += <f64>((<i32>(fv >= flo)) & (<i32>(fv <= fhi)) & (<i32>(fv - fv == 0)));
          count(yH + hb + ((<usize>b) << 2));
        }
        continue;
      }
      if (k != k) k = y0;
      const d0 = y0 - k,
        d1 = y1 - k;
      cnt += 2;
      s1 += d0 + d1;
      s2 += d0 * d0 + d1 * d1;
      if (y0 < mn) mn = y0;
      if (y0 > mx) mx = y0;
      if (y1 < mn) mn = y1;
      if (y1 > mx) mx = y1;
      const f0: f64 = flatOfMapped ? <f64>m0 : y0,
        f1: f64 = flatOfMapped ? <f64>m1 : y1;
      fc += <f64>(((<i32>(f0 >= flo)) & (<i32>(f0 <= fhi))) + ((<i32>(f1 >= flo)) & (<i32>(f1 <= fhi))));
      count(yH + hb + ((<usize>b0) << 2));
      count(yH + hb + ((<usize>b1) << 2));
      count(xH + hb + ((<usize>x0) << 2));
      count(xH + hb + ((<usize>x1) << 2));
    }
    const r = records + ((<usize>j * 7) << 3);
    store<f64>(r, cnt);
    store<f64>(r, k, 8);
    store<f64>(r, s1, 16);
    store<f64>(r, s2, 24);
    store<f64>(r, mn, 32);
    store<f64>(r, mx, 40);
    store<f64>(r, fc, 48);
  }
}
