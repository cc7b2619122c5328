import * as assert from "node:assert/strict";
import { ChannelStats, pooled } from "../../src/core/stats/accumulator";
import { BUCKET_COUNT, ZERO_BUCKET, bucketOf, bucketRange, histogramScheme, rebinLinear } from "../../src/core/stats/histogram";

/** A deterministic stream of awkward values: large offsets, tiny spreads, exact zeros, negatives. */
function values(n: number, seed: number, offset: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    out[i] = i % 97 === 0 ? 0 : offset + scale * (u - 0.5) * 2;
  }
  return out;
}

/** Float64 statistics of one channel of an [N, C, S] tensor, the textbook two-pass way. */
function reference(data: Float32Array, N: number, C: number, S: number, c: number) {
  const v: number[] = [];
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v.push(data[(n * C + c) * S + s]);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { count: v.length, mean, variance, min: Math.min(...v), max: Math.max(...v), values: v };
}

describe("histogram buckets", () => {
  it("puts values in quarter-octave buckets by their float32 bits", () => {
    // 1.0 is the first bucket of octave 0: [1, 1.25); 1.3 is in [1.25, 1.5); -1.3 mirrors it.
    const b1 = bucketOf(1);
    assert.deepEqual(bucketRange(b1), [1, 1.25]);
    assert.deepEqual(bucketRange(bucketOf(1.3)), [1.25, 1.5]);
    assert.deepEqual(bucketRange(bucketOf(1.75)), [1.75, 2]);
    assert.deepEqual(bucketRange(bucketOf(2)), [2, 2.5]);
    assert.deepEqual(bucketRange(bucketOf(-1.3)), [-1.5, -1.25]);
    assert.equal(bucketOf(-1.3), 2 * ZERO_BUCKET - bucketOf(1.3));
    assert.deepEqual(bucketRange(bucketOf(0.1)), [0.09375, 0.109375]);
    assert.equal(bucketOf(0), ZERO_BUCKET);
    assert.equal(bucketOf(-0), ZERO_BUCKET);
    assert.equal(bucketOf(1e-6), ZERO_BUCKET);
    assert.equal(bucketOf(2 ** -16), ZERO_BUCKET + 1);
    assert.equal(bucketOf(70000), BUCKET_COUNT - 1);
    assert.equal(bucketOf(-70000), 0);
    assert.equal(bucketOf(NaN), -1);
    assert.equal(bucketOf(Infinity), -1);
  });

  it("has increasing boundaries and every finite float lands inside its bucket's range", () => {
    const { boundaries, bucketCount } = histogramScheme();
    assert.equal(bucketCount, 259);
    for (let i = 1; i < boundaries.length; i++) assert.ok(boundaries[i] > boundaries[i - 1]);
    for (const x of [0.3, -0.3, 5.29, -5.29, 1234.5, -0.000123, 3.1e-5, 65535, -2.5]) {
      const [lo, hi] = bucketRange(bucketOf(x));
      assert.ok(x >= lo && x <= hi, `${x} in [${lo}, ${hi}]`);
    }
  });

  it("re-binning for display keeps the total count", () => {
    const counts = [5, 0, 7, 3];
    const first = bucketOf(0.5);
    const bins = rebinLinear(counts, first, 0, 2, 20);
    assert.ok(Math.abs(bins.reduce((a, b) => a + b, 0) - 15) < 1e-9);
  });
});

describe("channel statistics (float64, mergeable)", () => {
  const N = 6,
    C = 3,
    S = 50;
  const data = new Float32Array(N * C * S);
  const offsets = [1000, -3, 0.001];
  const scales = [0.01, 2, 0.0005];
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) data.set(values(S, 17 + n * 7 + c, offsets[c], scales[c]), (n * C + c) * S);

  it("matches a two-pass float64 computation, even with a mean 10^5 times the spread", () => {
    const s = new ChannelStats(C);
    s.add(data, [N, C, S], 1);
    for (let c = 0; c < C; c++) {
      const r = reference(data, N, C, S, c);
      assert.equal(s.count[c], r.count);
      assert.ok(Math.abs(s.mean[c] - r.mean) <= 1e-12 * Math.abs(r.mean) + 1e-15);
      assert.ok(Math.abs(s.variance(c)! - r.variance) <= 1e-9 * r.variance, `var c${c}: ${s.variance(c)} vs ${r.variance}`);
      assert.equal(s.min[c], r.min);
      assert.equal(s.max[c], r.max);
      let histTotal = 0;
      for (let b = 0; b < BUCKET_COUNT; b++) histTotal += s.hist[c * BUCKET_COUNT + b];
      assert.equal(histTotal, r.count);
      // Every value's bucket was counted once.
      const expected = new Map<number, number>();
      for (const v of r.values) expected.set(bucketOf(v), (expected.get(bucketOf(v)) ?? 0) + 1);
      for (const [b, k] of expected) assert.equal(s.hist[c * BUCKET_COUNT + b], k);
    }
  });

  it("gives the same numbers whether fed in one batch, in batches, or merged from shards", () => {
    const whole = new ChannelStats(C);
    whole.add(data, [N, C, S], 1);
    const batched = new ChannelStats(C);
    for (let n = 0; n < N; n++) batched.add(data.subarray(n * C * S, (n + 1) * C * S), [1, C, S], 1);
    const a = new ChannelStats(C);
    const b = new ChannelStats(C);
    a.add(data.subarray(0, 2 * C * S), [2, C, S], 1);
    b.add(data.subarray(2 * C * S), [N - 2, C, S], 1);
    a.merge(ChannelStats.fromJson(b.toJson()));
    for (const other of [batched, a]) {
      for (let c = 0; c < C; c++) {
        assert.equal(other.count[c], whole.count[c]);
        assert.ok(Math.abs(other.mean[c] - whole.mean[c]) <= 1e-12 * Math.max(1, Math.abs(whole.mean[c])));
        assert.ok(Math.abs(other.variance(c)! - whole.variance(c)!) <= 1e-9 * whole.variance(c)!);
      }
      assert.deepEqual(Array.from(other.hist), Array.from(whole.hist));
      assert.deepEqual(Array.from(other.min), Array.from(whole.min));
    }
  });

  it("counts NaN and infinities apart and leaves them out of the statistics", () => {
    const t = Float32Array.from([1, NaN, 2, Infinity, 3, -Infinity, NaN, 4]);
    const s = new ChannelStats(1);
    s.add(t, [8, 1], 1);
    assert.deepEqual(s.nonFinite, { nan: 2, posInf: 1, negInf: 1 });
    assert.equal(s.count[0], 4);
    assert.equal(s.mean[0], 2.5);
    assert.equal(s.variance(0), 1.25);
  });

  it("counts values in flat intervals per interval, closed at the ends", () => {
    // Clip(0, 6): flat where x <= 0 or x >= 6.
    const t = Float32Array.from([-1, 0, 0.5, 5.99, 6, 7, 3, -0]);
    const s = new ChannelStats(1, 2);
    s.add(t, [1, 1, 8], 1, [{ lo: Float64Array.of(-Infinity, 6), hi: Float64Array.of(0, Infinity) }]);
    assert.equal(s.flatCount[0], 5);
    assert.deepEqual(Array.from(s.flatByInterval), [3, 2]);
  });

  it("affine mode equals feeding the mapped values", () => {
    const a = Float64Array.of(2, -0.5, 0);
    const b = Float64Array.of(1, 3, -2);
    const mapped = new Float32Array(data.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let s = 0; s < S; s++) {
          const i = (n * C + c) * S + s;
          mapped[i] = a[c] * data[i] + b[c];
        }
    const direct = new ChannelStats(C);
    direct.add(mapped, [N, C, S], 1);
    const viaAffine = new ChannelStats(C);
    viaAffine.add(data, [N, C, S], 1, undefined, { a, b });
    assert.deepEqual(viaAffine.toJson(), direct.toJson());
  });

  it("pools channels into one mean and variance", () => {
    const s = new ChannelStats(C);
    s.add(data, [N, C, S], 1);
    const all: number[] = [];
    for (let c = 0; c < C; c++) all.push(...reference(data, N, C, S, c).values);
    const mean = all.reduce((x, y) => x + y, 0) / all.length;
    const variance = all.reduce((x, y) => x + (y - mean) ** 2, 0) / all.length;
    const p = pooled(s.toJson());
    assert.equal(p.n, all.length);
    assert.ok(Math.abs(p.mean - mean) < 1e-9 * Math.abs(mean));
    assert.ok(Math.abs(p.variance - variance) < 1e-9 * variance);
  });
});
