import * as assert from "node:assert/strict";
import { ChannelStats } from "../../src/core/stats/accumulator";
import { batchSpread, studyLayer } from "../../src/core/stats/batchStudy";
import { SampleMoments } from "../../src/core/stats/sampleMoments";
import { seededUniform } from "../../src/core/random";

const rng = seededUniform;

/** N samples x 1 channel x L values with per-sample offsets, as float32. */
function data(seed: number, N: number, L: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(N * L);
  for (let i = 0; i < N; i++) {
    const off = (r() - 0.5) * 2;
    const spread = 0.3 + r();
    for (let j = 0; j < L; j++) x[i * L + j] = off + spread * (r() - 0.5) * 3;
  }
  return x;
}

function moments(x: Float32Array, N: number, L: number, center = 0): SampleMoments {
  const s = new ChannelStats(1);
  s.perSample = new SampleMoments(Float64Array.of(center));
  s.add(x, [N, 1, L], 1);
  return s.perSample;
}

/** d and V_B/V of one batch (indices into the samples), in float64 over the batch's values. */
function batchTerms(x: Float32Array, L: number, batch: number[], mu: number, V: number): { d: number; ratio: number } {
  const v: number[] = [];
  for (const i of batch) for (let j = 0; j < L; j++) v.push(x[i * L + j]);
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const vb = v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
  return { d: (m - mu) / Math.sqrt(V), ratio: vb / V };
}

function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, acc: number[]) => {
    if (acc.length === k) return void out.push([...acc]);
    for (let i = start; i < n; i++) rec(i + 1, [...acc, i]);
  };
  rec(0, []);
  return out;
}

function population(x: Float32Array): { mu: number; V: number } {
  const v = Array.from(x);
  const mu = v.reduce((a, b) => a + b, 0) / v.length;
  return { mu, V: v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length };
}

describe("batch-size study: closed forms", () => {
  it("equal brute-force enumeration of every batch on tiny data: Var d and E[V_B/V] exactly, Var(V_B/V) to first order", () => {
    const N = 8,
      L = 5;
    const x = data(11, N, L);
    const sm = moments(x, N, L, 0.3);
    const { mu, V } = population(x);
    for (const b of [1, 2, 3, 4, 8]) {
      const all = combinations(N, b).map((batch) => batchTerms(x, L, batch, mu, V));
      const meanD = all.reduce((s, t) => s + t.d, 0) / all.length;
      const varD = all.reduce((s, t) => s + t.d ** 2, 0) / all.length;
      const meanR = all.reduce((s, t) => s + t.ratio, 0) / all.length;
      const varR = all.reduce((s, t) => s + (t.ratio - meanR) ** 2, 0) / all.length;
      const s = batchSpread(sm, 0, b)!;
      assert.ok(Math.abs(meanD) < 1e-9, `b=${b}: mean d ${meanD}`);
      assert.ok(Math.abs(s.varD - varD) < 1e-9 * Math.max(1, varD), `b=${b}: Var d ${s.varD} vs ${varD}`);
      assert.ok(Math.abs(s.meanRatio - meanR) < 1e-9, `b=${b}: E ratio ${s.meanRatio} vs ${meanR}`);
      // First order in 1/b: within 35% of the enumerated variance for b ≥ 2 (exactly 0 at b = N).
      if (b === N) assert.equal(s.varRatio, 0);
      else if (b >= 2) assert.ok(Math.abs(s.varRatio - varR) <= 0.35 * varR, `b=${b}: Var ratio ${s.varRatio} vs ${varR}`);
    }
  });

  it("predict Monte Carlo on larger data: 95% ranges of d and r hold about 95% of 4,000 random batches", () => {
    const N = 400,
      L = 16;
    const x = data(12, N, L);
    const sm = moments(x, N, L);
    const { mu, V } = population(x);
    const r = rng(99);
    for (const b of [8, 32]) {
      const s = batchSpread(sm, 0, b)!;
      let inD = 0,
        inR = 0;
      const trials = 4000;
      for (let k = 0; k < trials; k++) {
        // A batch without replacement: partial Fisher-Yates.
        const idx = Array.from({ length: N }, (_, i) => i);
        for (let i = 0; i < b; i++) {
          const j = i + Math.floor(r() * (N - i));
          [idx[i], idx[j]] = [idx[j], idx[i]];
        }
        const t = batchTerms(x, L, idx.slice(0, b), mu, V);
        if (Math.abs(t.d) <= s.d95) inD++;
        const rr = Math.sqrt(t.ratio);
        if (rr >= s.rLow && rr <= s.rHigh) inR++;
      }
      console.log(
        `      b=${b}: |d| ≤ ${s.d95.toFixed(3)} in ${inD / trials}, r in ${s.rLow.toFixed(3)}–${s.rHigh.toFixed(3)} in ${inR / trials}`,
      );
      assert.ok(inD / trials > 0.93 && inD / trials < 0.97, `b=${b}: d ${inD / trials}`);
      assert.ok(inR / trials > 0.92 && inR / trials < 0.975, `b=${b}: r ${inR / trials}`);
    }
  });

  it("merges across shards exactly, and the layer needs the smallest size within tolerance in every channel", () => {
    const N = 64,
      L = 9;
    const x = data(13, N, L);
    const whole = moments(x, N, L, 0.1);
    const a = moments(x.subarray(0, 20 * L), 20, L, 0.1);
    a.merge(moments(x.subarray(20 * L), N - 20, L, 0.1));
    for (const b of [1, 4, 16]) {
      const s1 = batchSpread(whole, 0, b)!;
      const s2 = batchSpread(a, 0, b)!;
      assert.ok(Math.abs(s1.d95 - s2.d95) < 1e-12 && Math.abs(s1.rHigh - s2.rHigh) < 1e-12 && Math.abs(s1.rLow - s2.rLow) < 1e-12);
    }
    const study = studyLayer("bn", whole, 0.1);
    assert.deepEqual(study.sizes, [1, 2, 4, 8, 16, 32]);
    const first = study.sizes.find((b) => {
      const s = batchSpread(whole, 0, b)!;
      return s.d95 <= 0.1 && s.rLow >= 0.9 && s.rHigh <= 1.1;
    });
    assert.equal(study.minBatch, first ?? null);
    assert.ok(
      study.d95.every((d, i) => i === 0 || d <= study.d95[i - 1]),
      "d's range shrinks with the batch",
    );
  });
});
