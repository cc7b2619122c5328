/**
 * Exact mode's recovered BN inputs (src/core/stats/derivedPre.ts) against float64 statistics computed here,
 * value by value, from the true inputs x and the outputs y = fround(a·x + b): moments, extremes, buckets
 * (found from each value's magnitude with logarithms, not the bit table) and flat-region counts.
 */
import * as assert from "node:assert/strict";
import { ChannelStats } from "../../src/core/stats/accumulator";
import {
  addOutputWithDerivedInput,
  addSampledHistograms,
  addSampledOutputWithDerivedInput,
  inverseAffine,
  MAX_BETA_OVER_GAMMA,
} from "../../src/core/stats/derivedPre";
import { BUCKET_COUNT, ZERO_BUCKET } from "../../src/core/stats/histogram";
import { foldRuns, type RunParams } from "../../src/core/stats/foldKernel";

/** The bucket of a finite value from its magnitude (README "histograms"), in float64. */
function bucketByLog(v: number): number {
  const m = Math.abs(v);
  if (m < 2 ** -16) return ZERO_BUCKET;
  if (m >= 2 ** 16) return v > 0 ? BUCKET_COUNT - 1 : 0;
  const e = Math.floor(Math.log2(m));
  const k = (e + 16) * 4 + Math.floor((m / 2 ** e - 1) * 4);
  return v > 0 ? ZERO_BUCKET + 1 + k : ZERO_BUCKET - 1 - k;
}

/** One channel's histogram of finite values, bucketed by magnitude (bucketByLog). */
function hist(vs: number[]): number[] {
  const h = new Array<number>(BUCKET_COUNT).fill(0);
  for (const v of vs) h[bucketByLog(v)]++;
  return h;
}

const N = 3,
  C = 3,
  S = 37; // odd, so each map ends with an unpaired value
const layer = {
  gamma: Float64Array.from([1.5, -0.25, 0.8]),
  beta: Float64Array.from([0.1, 2, -0.3]),
  runningMean: Float64Array.from([5, -3, 0.02]),
  runningVar: Float64Array.from([4, 0.09, 1e-3]),
  epsilon: 1e-5,
  trainingMode: false,
};
const a = Array.from({ length: C }, (_, c) => layer.gamma[c] / Math.sqrt(layer.runningVar[c] + layer.epsilon));
const b = Array.from({ length: C }, (_, c) => layer.beta[c] - a[c] * layer.runningMean[c]);

function tensors(): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(N * C * S);
  let s = 7;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const c = Math.floor(i / S) % C;
    // Around each channel's running mean, shifted by one running std so the statistics are not the stored ones.
    x[i] = layer.runningMean[c] + Math.sqrt(layer.runningVar[c]) * (1 + 3 * (s / 2147483648 - 0.5));
  }
  const y = x.map((v, i) => a[Math.floor(i / S) % C] * v + b[Math.floor(i / S) % C]);
  return { x, y };
}

function channel(values: Float32Array, c: number, keep = (v: number) => Number.isFinite(v)): number[] {
  const out: number[] = [];
  for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) out.push(values[(n * C + c) * S + i]);
  return out.filter(keep);
}

function moments(v: number[]) {
  const mean = v.reduce((p, q) => p + q, 0) / v.length;
  return { mean, variance: v.reduce((p, q) => p + (q - mean) ** 2, 0) / v.length };
}

describe("exact mode: BN input recovered from the BN output", () => {
  it("gives the output's statistics exactly and the input's to float32 rounding of the output", () => {
    const { x, y } = tensors();
    const inv = inverseAffine(layer)!;
    const pre = new ChannelStats(C);
    const post = new ChannelStats(C, 1);
    const relu = [{ lo: Float64Array.from([-Infinity]), hi: Float64Array.from([0]) }];
    addOutputWithDerivedInput(pre, post, y, [N, C, S], inv, relu);
    for (let c = 0; c < C; c++) {
      const ys = channel(y, c);
      const xs = channel(x, c);
      const my = moments(ys),
        mx = moments(xs);
      assert.equal(post.count[c], N * S);
      assert.ok(Math.abs(post.mean[c] - my.mean) <= 1e-12 * Math.max(1, Math.abs(my.mean)));
      assert.ok(Math.abs(post.variance(c)! - my.variance) <= 1e-10 * my.variance);
      assert.equal(post.min[c], Math.min(...ys));
      assert.equal(post.max[c], Math.max(...ys));
      assert.equal(post.flatCount[c], ys.filter((v) => v <= 0).length);
      // y holds x to float32 rounding: the recovered input's moments and extremes agree to about 1e-6 relative.
      const sd = Math.sqrt(mx.variance);
      assert.ok(Math.abs(pre.mean[c] - mx.mean) <= 1e-5 * sd, `channel ${c} mean ${pre.mean[c]} vs ${mx.mean}`);
      assert.ok(Math.abs(pre.variance(c)! / mx.variance - 1) <= 1e-5, `channel ${c} variance`);
      assert.ok(Math.abs(pre.min[c] - Math.min(...xs)) <= 1e-5 * sd);
      assert.ok(Math.abs(pre.max[c] - Math.max(...xs)) <= 1e-5 * sd);
      assert.deepEqual(Array.from(post.hist.subarray(c * BUCKET_COUNT, (c + 1) * BUCKET_COUNT)), hist(ys));
      // The recovered values as float32, bucketed independently: every one in the pre histogram.
      const recovered = ys.map((v) =>
        Math.fround(layer.runningMean[c] + (v - layer.beta[c]) * (Math.sqrt(layer.runningVar[c] + layer.epsilon) / layer.gamma[c])),
      );
      assert.deepEqual(Array.from(pre.hist.subarray(c * BUCKET_COUNT, (c + 1) * BUCKET_COUNT)), hist(recovered));
    }
  });

  it("counts NaN and infinities apart on both sides, the input's infinities with the sign of gamma", () => {
    const { y } = tensors();
    y[0] = NaN; // channel 0, first of a pair
    y[S + 4] = Infinity; // channel 1 (gamma < 0): input -Infinity
    y[2 * S + S - 1] = -Infinity; // channel 2, the unpaired last value
    const pre = new ChannelStats(C);
    const post = new ChannelStats(C);
    addOutputWithDerivedInput(pre, post, y, [N, C, S], inverseAffine(layer)!);
    assert.deepEqual(post.nonFinite, { nan: 1, posInf: 1, negInf: 1 });
    assert.deepEqual(pre.nonFinite, { nan: 1, posInf: 0, negInf: 2 });
    for (let c = 0; c < C; c++) {
      assert.equal(post.count[c], channel(y, c).length);
      assert.equal(pre.count[c], post.count[c]);
      assert.equal(post.histogramCount(c), post.count[c]);
      assert.equal(pre.histogramCount(c), pre.count[c]);
      const m = moments(channel(y, c));
      assert.ok(Math.abs(post.mean[c] - m.mean) <= 1e-12 * Math.max(1, Math.abs(m.mean)));
    }
  });

  it("fast mode: buckets a sampled output and its recovered input, takes their extremes, counts the flat region, leaves moments alone", () => {
    const { x, y } = tensors();
    const inv = inverseAffine(layer)!;
    const pre = new ChannelStats(C);
    const post = new ChannelStats(C, 1);
    const relu = [{ lo: Float64Array.from([-Infinity]), hi: Float64Array.from([0]) }];
    // Two calls (two batches) fold into the same accumulators.
    addSampledOutputWithDerivedInput(pre, post, y.subarray(0, C * S), [1, C, S], inv, relu);
    addSampledOutputWithDerivedInput(pre, post, y.subarray(C * S), [N - 1, C, S], inv, relu);
    for (let c = 0; c < C; c++) {
      const ys = channel(y, c);
      const xs = channel(x, c);
      assert.equal(post.count[c], 0);
      assert.equal(pre.count[c], 0);
      assert.equal(post.min[c], Math.min(...ys));
      assert.equal(post.max[c], Math.max(...ys));
      assert.equal(post.flatCount[c], ys.filter((v) => v <= 0).length);
      assert.deepEqual(Array.from(post.hist.subarray(c * BUCKET_COUNT, (c + 1) * BUCKET_COUNT)), hist(ys));
      // The input recovered in float64 from each output by the closed form, rounded to float32.
      const sc = Math.sqrt(layer.runningVar[c] + layer.epsilon) / layer.gamma[c];
      const recovered = ys.map((v) => Math.fround(layer.runningMean[c] + (v - layer.beta[c]) * sc));
      assert.deepEqual(Array.from(pre.hist.subarray(c * BUCKET_COUNT, (c + 1) * BUCKET_COUNT)), hist(recovered));
      assert.equal(pre.min[c], Math.min(...recovered));
      assert.equal(pre.max[c], Math.max(...recovered));
      // ...which is the true input to float32 rounding of the output.
      const sd = Math.sqrt(moments(xs).variance);
      assert.ok(Math.abs(pre.min[c] - Math.min(...xs)) <= 1e-5 * sd);
      assert.ok(Math.abs(pre.max[c] - Math.max(...xs)) <= 1e-5 * sd);
    }
  });

  it("captures the input directly where recovering it is ill-conditioned", () => {
    assert.ok(inverseAffine(layer));
    assert.equal(inverseAffine({ ...layer, gamma: Float64Array.from([1.5, 0, 0.8]) }), undefined);
    const beta = Float64Array.from([0.1, 2, -0.8 * MAX_BETA_OVER_GAMMA * 1.01]);
    assert.equal(inverseAffine({ ...layer, beta }), undefined);
    assert.equal(inverseAffine({ ...layer, trainingMode: true }), undefined);
  });
});

describe("the WebAssembly pass over BN outputs (foldKernel.ts)", () => {
  /** Brute force in float64, value by value: counts, plain sums, extremes, buckets by logarithm, flat counts. */
  function oracle(y: Float32Array, channels: number, inner: number, p: RunParams) {
    const runs = y.length / inner;
    const yh = new Float64Array(channels * BUCKET_COUNT),
      xh = new Float64Array(channels * BUCKET_COUNT);
    const perRun = [];
    const nonFinite = [0, 0, 0, 0, 0, 0];
    for (let r = 0; r < runs; r++) {
      const c = r % channels;
      const vs: number[] = [];
      for (let i = r * inner; i < (r + 1) * inner; i++) {
        const v = y[i];
        if (!Number.isFinite(v)) {
          if (Number.isNaN(v)) {
            nonFinite[0]++;
            nonFinite[3]++;
          } else {
            nonFinite[v > 0 ? 1 : 2]++;
            nonFinite[v > 0 === p.scale[c] > 0 ? 4 : 5]++;
          }
          continue;
        }
        vs.push(v);
        yh[c * BUCKET_COUNT + bucketByLog(v)]++;
        const x = Math.fround(p.mean[c] + (v - p.beta[c]) * p.scale[c]);
        if (Number.isFinite(x)) xh[c * BUCKET_COUNT + bucketByLog(x)]++;
      }
      const sum = vs.reduce((a, b) => a + b, 0);
      perRun.push({
        count: vs.length,
        sum,
        sumSq: vs.reduce((a, b) => a + b * b, 0),
        min: Math.min(...vs),
        max: Math.max(...vs),
        flat: vs.filter((v) => v >= p.flo[c] && v <= p.fhi[c]).length,
      });
    }
    return { yh, xh, perRun, nonFinite };
  }

  it("equals brute force across chunk boundaries, channel counts that change between passes, and non-finite values", () => {
    let s = 11;
    const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    // Chunks of 50 values hold 1 to 16 runs; channel counts go up and down so the count region is re-laid.
    for (const [N, C, S, chunk] of [
      [2, 3, 17, 50],
      [3, 7, 4, 50],
      [1, 2, 101, 50],
      [4, 5, 9, 1 << 20],
      [2, 3, 17, 16],
    ]) {
      const y = Float32Array.from({ length: N * C * S }, () => (rand() - 0.3) * 2 ** Math.floor(rand() * 40 - 20));
      // Channel 0's values: float32 neighbours of its flat interval's ends.
      const near = [0.7, 1.1].flatMap((t) => {
        const f = Math.fround(t);
        const bits = new Uint32Array(Float32Array.of(f).buffer)[0];
        return [f, new Float32Array(Uint32Array.of(bits - 1).buffer)[0], new Float32Array(Uint32Array.of(bits + 1).buffer)[0]];
      });
      // At 8 to 13, two groups of four the SIMD lanes take whole (where the runs are long enough).
      if (S >= 16) y.set(near, 8);
      y[3] = NaN;
      y[y.length - 1] = Infinity;
      y[S] = -Infinity;
      const p: RunParams = {
        mean: Float64Array.from({ length: C }, () => rand() * 4 - 2),
        beta: Float64Array.from({ length: C }, () => rand() - 0.5),
        // A map whose inputs overflow float32 on large outputs, in one channel.
        scale: Float64Array.from({ length: C }, (_, c) => (c === 1 ? 1e35 : (rand() - 0.5) * 8)),
        // Ends float32 cannot hold, one rounding down (0.7) and one up (1.1), met by values at and beside them below.
        flo: Float64Array.from({ length: C }, (_, c) => (c % 2 ? -Infinity : 0.7)),
        fhi: Float64Array.from({ length: C }, (_, c) => (c % 2 ? 0 : 1.1)),
      };
      const yh = new Float64Array(C * BUCKET_COUNT),
        xh = new Float64Array(C * BUCKET_COUNT);
      const got = foldRuns(y, C, S, p, yh, xh, { chunkValues: chunk });
      const want = oracle(y, C, S, p);
      assert.deepEqual(Array.from(yh), Array.from(want.yh), `${N}x${C}x${S} y buckets`);
      assert.deepEqual(Array.from(xh), Array.from(want.xh), `${N}x${C}x${S} x buckets`);
      assert.deepEqual(Array.from(got.nonFinite), want.nonFinite);
      want.perRun.forEach((w, r) => {
        const [count, k, s1, s2, min, max, flat] = got.records.subarray(7 * r, 7 * r + 7);
        assert.equal(count, w.count);
        assert.equal(min, w.min);
        assert.equal(max, w.max);
        assert.equal(flat, w.flat);
        // Shifted sums: Σ(y - k) and Σ(y - k)² give back the plain ones.
        const tol = 1e-12 * Math.max(1, Math.abs(w.sumSq));
        assert.ok(Math.abs(s1 + count * k - w.sum) <= 1e-12 * Math.max(1, Math.abs(w.sum), count * Math.abs(k)), `run ${r} sum`);
        assert.ok(Math.abs(s2 + 2 * k * s1 + count * k * k - w.sumSq) <= tol + 1e-12 * count * k * k, `run ${r} sum of squares`);
      });
    }
  });
});

describe("fast mode's sampled BN inputs (addSampledHistograms)", () => {
  it("buckets x and fround(a·x + b), takes both extremes and counts the flat region of the outputs, one or two intervals", () => {
    const { x } = tensors();
    const affine = { a: Float64Array.from(a), b: Float64Array.from(b) };
    // Channel 0 and 2: ReLU's (-inf, 0]; channel 1: two intervals (a clip's two flat ends).
    const flat = [
      { lo: Float64Array.from([-Infinity]), hi: Float64Array.from([0]) },
      { lo: Float64Array.from([-Infinity, 1.9]), hi: Float64Array.from([1.6, Infinity]) },
      { lo: Float64Array.from([-Infinity]), hi: Float64Array.from([0]) },
    ];
    const pre = new ChannelStats(C);
    const post = new ChannelStats(C, 2);
    addSampledHistograms(pre, post, x.subarray(0, C * S), [1, C, S], affine, flat);
    addSampledHistograms(pre, post, x.subarray(C * S), [N - 1, C, S], affine, flat);
    for (let c = 0; c < C; c++) {
      const xs = channel(x, c);
      const ys = xs.map((v) => Math.fround(a[c] * v + b[c]));
      assert.equal(pre.count[c], 0);
      assert.deepEqual(Array.from(pre.hist.subarray(c * BUCKET_COUNT, (c + 1) * BUCKET_COUNT)), hist(xs));
      assert.deepEqual(Array.from(post.hist.subarray(c * BUCKET_COUNT, (c + 1) * BUCKET_COUNT)), hist(ys));
      assert.equal(pre.min[c], Math.min(...xs));
      assert.equal(pre.max[c], Math.max(...xs));
      assert.equal(post.min[c], Math.min(...ys));
      assert.equal(post.max[c], Math.max(...ys));
      const inside = (j: number) => ys.filter((v) => v >= flat[c].lo[j] && v <= flat[c].hi[j]).length;
      assert.equal(post.flatCount[c], flat[c].lo.length === 1 ? inside(0) : inside(0) + inside(1));
      assert.equal(post.flatByInterval[c * 2], inside(0));
      if (c === 1) assert.equal(post.flatByInterval[c * 2 + 1], inside(1));
    }
    // The test data puts channel 1's outputs on both sides of its intervals' gap.
    assert.ok(post.flatByInterval[2] > 0 && post.flatByInterval[3] > 0, `channel 1 flat counts ${post.flatByInterval.subarray(2, 4)}`);
  });
});
