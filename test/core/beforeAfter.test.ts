// The panel's before/after of a recalibration (core/recalibrate/beforeAfter.ts) on reports built from values
// spelled out here: layers matched by name whatever the order, histograms holding exactly the values fed
// (counted by hand, bucket edges from the closed-form bucket ranges), warning counts as planted.
import * as assert from "node:assert/strict";
import { beforeAfter } from "../../src/core/recalibrate/beforeAfter";
import { layerSide, type RecalibrationJson } from "../../src/core/recalibrate/recalibration";
import type { Report } from "../../src/core/report";
import { bucketRange } from "../../src/core/stats/histogram";
import { tinyReport } from "../helpers/tinyReport";

/** ±1 alternating: mean 0, population variance 1, as the tiny reports' stored statistics say. */
const fits = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1));
/** 3 ± 1: the mean is 3 stored standard deviations away from the stored 0. */
const shifted = (n: number) => fits(n).map((v) => v + 3);

function result(before: Report, after: Report): RecalibrationJson {
  return {
    schemaVersion: 1,
    kind: "bn-lens-recalibration",
    generator: { name: "bn-lens", version: "test" },
    model: "/models/tiny.onnx",
    out: "/models/tiny.recalibrated.onnx",
    externalData: null,
    data: "hand-made values",
    samples: 1,
    blend: 1,
    tolerance: { z: 0.01, varRatio: 1.01 },
    converged: true,
    method: "one-batch solve",
    passes: [
      { pass: 1, worstZ: 3, worstVarRatio: 1, worstLayer: "bn0", elapsedMs: 1 },
      { pass: 2, worstZ: 0, worstVarRatio: 1, worstLayer: null, elapsedMs: 1 },
    ],
    toInference: [],
    changes: [],
    layers: after.layers.flatMap((a) => {
      const b = before.layers.find((x) => x.node === a.node);
      if (!b) return [];
      return {
        node: a.node,
        channels: a.channels,
        recalibrated: a.node !== "bn1",
        old: { mean: [0, 0], var: [1, 1] },
        new: { mean: [3, 0], var: [1, 1] },
        before: layerSide(b),
        after: layerSide(a),
      };
    }),
    outputs: [{ output: "y", values: 4000, meanAbsChange: 0.5, relativeL2Change: 0.25 }],
    notes: [],
    before,
    after,
  };
}

describe("recalibration before/after for the panel", () => {
  const n = 1000;
  const before = tinyReport([{ channels: [shifted(n), fits(n)], relu: true }, { channels: [fits(n), fits(n)] }]);
  const after = tinyReport([{ channels: [fits(n), fits(n)], relu: true }, { channels: [fits(n), fits(n)] }]);
  // The before report lists its layers in another order: matching is by node name.
  const reordered: Report = { ...before, layers: [...before.layers].reverse() };
  const v = beforeAfter(result(reordered, after));

  it("follows the new model's layers and pairs each with the same layer of the original", () => {
    assert.deepEqual(
      v.layers.map((l) => [l.index, l.node, l.recalibrated]),
      [
        [0, "bn0", true],
        [1, "bn1", false],
      ],
    );
    assert.equal(v.recalibratedLayers, 1);
    // bn0's channel 0: stored mean 0, var 1; observed mean 3 -> |z| = 3 before, 0 after.
    assert.equal(v.layers[0].before.worstZ, 3);
    assert.equal(v.layers[0].after.worstZ, 0);
    assert.equal(v.passes, 2);
  });

  it("carries both post-BN histograms with every value, in the buckets the values fall in", () => {
    const bn0 = v.layers[0];
    const sum = (c: readonly number[]) => c.reduce((a, b) => a + b, 0);
    assert.equal(sum(bn0.postBefore.counts), 2 * n);
    assert.equal(sum(bn0.postAfter.counts), 2 * n);
    // Before: values -1, 1 (channel 1) and 2, 4 (channel 0); after: -1 and 1 only. The trimmed histogram
    // starts at the bucket holding the smallest value and ends at the one holding the largest.
    // Positive buckets are [lo, hi), negative ones their mirror (lo, hi] (core/stats/histogram.ts).
    const holds = (b: number, x: number) => {
      const [lo, hi] = bucketRange(b);
      return x > 0 ? lo <= x && x < hi : lo < x && x <= hi;
    };
    const last = (h: { first: number; counts: number[] }) => h.first + h.counts.length - 1;
    for (const [h, lo, hi] of [
      [bn0.postBefore, -1, 4],
      [bn0.postAfter, -1, 1],
    ] as const) {
      assert.ok(holds(h.first, lo), `first bucket holds ${lo}`);
      assert.ok(holds(last(h), hi), `last bucket holds ${hi}`);
      assert.ok(h.counts[0] > 0 && h.counts[h.counts.length - 1] > 0);
    }
    // Half of channel 0 (n/2 values) is 4 before: the bucket holding 4 has exactly n/2.
    const at4 = bn0.postBefore.counts.find((_, k) => holds(bn0.postBefore.first + k, 4));
    assert.equal(at4, n / 2);
  });

  it("counts the stale-statistics findings before and after, and keeps the outputs' change", () => {
    assert.ok(v.warnings.before.stale >= 1, JSON.stringify(before.layers[0].warnings.map((w) => w.rule)));
    assert.equal(
      v.warnings.before.stale,
      before.layers[0].warnings.filter((w) => (w.rule === "mean-shift" || w.rule === "variance-ratio") && w.severity !== "info").length,
    );
    assert.equal(v.warnings.after.stale, 0);
    assert.deepEqual(v.outputs, [{ output: "y", values: 4000, meanAbsChange: 0.5, relativeL2Change: 0.25 }]);
    assert.equal(v.original, "/models/tiny.onnx");
  });

  it("has nothing for layers missing from the original report", () => {
    const only = beforeAfter(result({ ...before, layers: before.layers.slice(0, 1) }, after));
    assert.deepEqual(
      only.layers.map((l) => l.node),
      ["bn0"],
    );
  });
});
