import * as assert from "node:assert/strict";
import { activationFinder } from "../../src/core/inspect/activationJson";
import { Inspection } from "../../src/core/inspect/inspection";
import type { LayerReport } from "../../src/core/report";
import { ChannelStats } from "../../src/core/stats/accumulator";
import { normalQuantile, tQuantile } from "../../src/core/stats/distributions";
import { withDefaults } from "../../src/core/stats/judge";
import { SampleMoments } from "../../src/core/stats/sampleMoments";
import { logVarianceHalfWidth, meanHalfWidth } from "../../src/core/stats/uncertainty";
import type { HostTensor } from "../../src/core/tensor";
import { GraphBuilder } from "../helpers/onnxGraph";
import { seededNormals } from "../../src/core/random";

const normals = seededNormals;

/** n samples x 1 channel x L values: per-sample means N(mu, tau²), values around them N(0, sigma²). */
function draw(rnd: () => number, n: number, L: number, mu: number, tau: number, sigma: number): Float32Array {
  const x = new Float32Array(n * L);
  for (let i = 0; i < n; i++) {
    const m = mu + tau * rnd();
    for (let j = 0; j < L; j++) x[i * L + j] = m + sigma * rnd();
  }
  return x;
}

describe("distribution functions against tabulated values", () => {
  it("normal and t quantiles", () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959963985) < 1e-8);
    assert.ok(Math.abs(normalQuantile(0.05) + 1.644853627) < 1e-8);
    // Student's t 97.5% points (tables): df 1 12.706, 2 4.303, 3 3.182, 5 2.571, 15 2.131, 63 1.998.
    for (const [df, t] of [
      [1, 12.7062],
      [2, 4.3027],
      [3, 3.1824],
      [5, 2.5706],
      [15, 2.1314],
      [63, 1.9983],
    ])
      assert.ok(Math.abs(tQuantile(0.975, df) - t) / t < 2e-3, `df ${df}: ${tQuantile(0.975, df)} vs ${t}`);
  });
});

describe("confidence intervals from per-sample moments", () => {
  it("95% intervals of the mean and the variance cover the truth in 90-99% of 500 seeded draws", () => {
    const n = 64,
      L = 50,
      mu = 0.7,
      tau = 0.8,
      sigma = 0.6;
    const trueVar = tau * tau + sigma * sigma;
    let meanCover = 0,
      varCover = 0;
    const draws = 500;
    for (let k = 0; k < draws; k++) {
      const x = draw(normals(1000 + k), n, L, mu, tau, sigma);
      const s = new ChannelStats(1);
      s.perSample = new SampleMoments(Float64Array.of(0.2));
      // Two batches, to exercise merging too.
      s.add(x.subarray(0, 24 * L), [24, 1, L], 1);
      s.add(x.subarray(24 * L), [n - 24, 1, L], 1);
      const h = meanHalfWidth(s.perSample, 0, 0.95)!;
      if (Math.abs(s.mean[0] - mu) <= h) meanCover++;
      const v = s.variance(0)!;
      const hl = logVarianceHalfWidth(s.perSample, 0, v, 0.95)!;
      if (Math.abs(Math.log(v) - Math.log(trueVar)) <= hl) varCover++;
    }
    const rate = (c: number) => c / draws;
    console.log(`      coverage over ${draws} draws: mean ${rate(meanCover)}, variance ${rate(varCover)}`);
    assert.ok(rate(meanCover) >= 0.9 && rate(meanCover) <= 0.99, `mean coverage ${rate(meanCover)}`);
    assert.ok(rate(varCover) >= 0.9 && rate(varCover) <= 0.99, `variance coverage ${rate(varCover)}`);
  });

  it("per-sample moments equal float64 ones computed by hand and merge exactly in any grouping", () => {
    const x = draw(normals(5), 10, 7, 3, 1, 0.5);
    const K = 2.5;
    const whole = new ChannelStats(1);
    whole.perSample = new SampleMoments(Float64Array.of(K));
    whole.add(x, [10, 1, 7], 1);
    const parts = [new ChannelStats(1), new ChannelStats(1), new ChannelStats(1)];
    parts.forEach((p) => (p.perSample = new SampleMoments(Float64Array.of(K))));
    parts[0].add(x.subarray(0, 21), [3, 1, 7], 1);
    parts[1].add(x.subarray(21, 28), [1, 1, 7], 1);
    parts[2].add(x.subarray(28), [6, 1, 7], 1);
    parts[2].merge(parts[0]);
    parts[2].merge(parts[1]);
    const m: number[] = [],
      w: number[] = [];
    for (let i = 0; i < 10; i++) {
      const v = Array.from(x.subarray(i * 7, i * 7 + 7));
      const mi = v.reduce((a, b) => a + b, 0) / 7;
      m.push(mi);
      w.push(v.reduce((a, b) => a + (b - mi) ** 2, 0) / 7);
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const q = m.map((mi, i) => w[i] + (mi - K) ** 2);
    const mm = mean(m),
      qm = mean(q);
    const expect = {
      m2M: m.reduce((s, v) => s + (v - mm) ** 2, 0),
      cMQ: m.reduce((s, v, i) => s + (v - mm) * (q[i] - qm), 0),
    };
    for (const sm of [whole.perSample!, parts[2].perSample!]) {
      assert.equal(sm.n[0], 10);
      assert.ok(Math.abs(sm.meanM[0] - mm) < 1e-12);
      assert.ok(Math.abs(sm.meanW[0] - mean(w)) < 1e-12);
      assert.ok(Math.abs(sm.m2M[0] - expect.m2M) < 1e-11);
      assert.ok(Math.abs(sm.cMQ[0] - expect.cMQ) < 1e-11);
      // Pooled variance from per-sample moments = the variance over all values.
      assert.ok(Math.abs(sm.pooledVariance(0) - whole.variance(0)!) < 1e-12);
    }
  });
});

describe("findings follow the intervals: 16 samples vs 1,024 of a known shift", () => {
  // One BN channel with running mean 0 and var 1; the data's per-sample means are N(1.3, 0.5), values around
  // them N(0, 0.2): true z = 1.3, true variance 1 (no variance finding).
  function layer(n: number, seed: number): LayerReport {
    const g = new GraphBuilder(13);
    g.node("BatchNormalization", ["x", g.init("s", [1]), g.init("b", [0]), g.init("m", [0]), g.init("v", [1])], "y", { epsilon: 0 }, "bn");
    g.node("Relu", ["y"], "out");
    const inspection = new Inspection(g.model(["out"]), withDefaults(), activationFinder());
    const L = 64;
    const x = draw(normals(seed), n, L, 1.3, Math.sqrt(0.8), Math.sqrt(0.2));
    const tensors: Record<string, HostTensor> = {
      x: { dtype: "float32", dims: [n, 1, L], data: x },
      y: { dtype: "float32", dims: [n, 1, L], data: x },
    };
    inspection.addBatch((name) => tensors[name], n);
    return inspection.layerReports()[0];
  }

  it("16 samples: not decided, with the number of samples that would decide; that many decide; 1,024 samples: a finding whose interval holds 1.3", () => {
    const small = layer(16, 7);
    const iv = small.compare.zInterval[0]!;
    assert.ok(iv[0] < 1 && iv[1] > 1, `16-sample interval ${iv} straddles the threshold`);
    assert.equal(small.compare.effectiveSamples[0], 16);
    assert.ok(!small.warnings.some((w) => w.rule === "mean-shift" && w.severity !== "info"));
    const open = small.warnings.find((w) => w.rule === "mean-shift" && w.severity === "info");
    assert.ok(open, "an undecided note");
    const need = Number(/about (\d+) samples would decide/.exec(open.message)?.[1]);
    assert.ok(need > 16 && need < 1024, open.message);
    // Half-widths shrink as 1/√n: with the predicted number of samples (twice over, for sampling noise) it decides.
    const enough = layer(2 * need, 4);
    assert.ok(
      enough.warnings.some((w) => w.rule === "mean-shift" && w.severity === "warning"),
      `with ${2 * need} samples`,
    );

    const big = layer(1024, 5);
    const w = big.warnings.find((x) => x.rule === "mean-shift");
    assert.equal(w?.severity, "warning");
    const ivBig = big.compare.zInterval[0]!;
    assert.ok(ivBig[0] > 1 && ivBig[0] <= 1.3 && ivBig[1] >= 1.3, `1,024-sample interval ${ivBig}`);
    assert.ok(w!.message.includes("95% CI") && w!.message.includes("1024 samples"), w!.message);
    assert.ok(!big.warnings.some((x) => x.rule === "variance-ratio" && x.severity !== "info"));
  });
});
