import * as assert from "node:assert/strict";
import { compareReports, checkComparison } from "../../src/core/compare/compareReports";
import { jsDistance, jsNoiseFloor, shareChange, standardizedMeanDifference, varianceRatio } from "../../src/core/compare/drift";
import { bucketOf } from "../../src/core/stats/histogram";
import { throwsUser } from "../helpers/userError";
import { rep, tinyReport } from "../helpers/tinyReport";

// Hand values used below (base-2 logarithms): log2(4/3) = 0.41503749927884376, log2(2/3) = -0.5849625007211562.
const LOG2_4_3 = 0.41503749927884376;
const LOG2_2_3 = -0.5849625007211562;
const LOG2_3_2 = 0.5849625007211562;

const close = (actual: number | null, expected: number, tol = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);

const options = { generatorVersion: "test", createdAt: "2026-01-01T00:00:00.000Z" };

describe("drift measures", () => {
  it("Jensen-Shannon distance: disjoint histograms are at distance 1, identical ones at exactly 0", () => {
    assert.equal(jsDistance({ first: 5, counts: [3, 0] }, { first: 5, counts: [0, 7] }).distance, 1);
    const h = { first: 40, counts: [3, 0, 17, 1, 0, 0, 9] };
    assert.equal(jsDistance(h, { first: 40, counts: [...h.counts] }).distance, 0);
    // Same shares at other totals are the same distribution.
    assert.equal(jsDistance(h, { first: 40, counts: h.counts.map((c) => c * 10) }).distance, 0);
  });

  it("Jensen-Shannon distance by hand: p = (1/2, 1/2), q = (1, 0), on offset bucket ranges and with empty buckets", () => {
    // m = (3/4, 1/4): JSD = 1/2 (1/2 log2(2/3) + 1/2 log2 2) + 1/2 log2(4/3) = 0.3112781244591328 bits.
    const jsd = 0.5 * (0.5 * LOG2_2_3 + 0.5) + 0.5 * LOG2_4_3;
    close(jsd, 0.3112781244591328, 1e-15);
    const r = jsDistance({ first: 10, counts: [2, 2] }, { first: 10, counts: [4, 0] });
    close(r.distance, Math.sqrt(jsd));
    close(r.distance, 0.557923, 1e-6);
    assert.deepEqual([r.support, r.nA, r.nB], [2, 4, 4]);
    // B stored from bucket 9 with an empty leading bucket and no trailing one: the same shares.
    close(jsDistance({ first: 10, counts: [2, 2] }, { first: 9, counts: [0, 4] }).distance, Math.sqrt(jsd));
  });

  it("Jensen-Shannon distance is symmetric and null when one side is empty", () => {
    const a = { first: 100, counts: [1, 5, 9, 0, 2] };
    const b = { first: 98, counts: [4, 0, 0, 3, 3, 8] };
    close(jsDistance(a, b).distance!, jsDistance(b, a).distance!, 1e-15);
    assert.equal(jsDistance(a, { first: 0, counts: [] }).distance, null);
    assert.equal(jsDistance({ first: 0, counts: [0, 0] }, a).distance, null);
  });

  it("noise floor: closed form, and the mean JSD of two samples of one distribution matches it", () => {
    // K = 3 buckets, 100 values each: (2 · (1/100 + 1/100)) / (8 ln 2) = 0.04 / 5.545177444479562.
    close(jsNoiseFloor(3, 100, 100), Math.sqrt(0.04 / 5.545177444479562));
    assert.equal(jsNoiseFloor(3, 0, 100), null);
    // Monte Carlo: draw two samples of 400 from shares (0.5, 0.3, 0.2) 2,000 times (seeded).
    let s = 12345;
    const u = () => ((s = (s * 1103515245 + 12345) >>> 0) + 0.5) / 2 ** 32;
    const draw = (n: number) => {
      const c = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        const x = u();
        c[x < 0.5 ? 0 : x < 0.8 ? 1 : 2]++;
      }
      return c;
    };
    let sum = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) sum += jsDistance({ first: 0, counts: draw(400) }, { first: 0, counts: draw(400) }).distance! ** 2;
    const expected = jsNoiseFloor(3, 400, 400)! ** 2;
    assert.ok(Math.abs(sum / trials / expected - 1) < 0.1, `mean JSD ${sum / trials} vs ${expected}`);
  });

  it("standardized mean difference and variance ratio by hand", () => {
    assert.equal(standardizedMeanDifference(1, 4, 2), 0.5);
    assert.equal(standardizedMeanDifference(1, 4, 1), 0);
    assert.equal(standardizedMeanDifference(3, 0, 3), 0);
    assert.equal(standardizedMeanDifference(3, 0, 4), null);
    assert.equal(standardizedMeanDifference(null, 1, 4), null);
    // Equal variances: swapping A and B negates it.
    assert.equal(standardizedMeanDifference(2, 9, -1), -standardizedMeanDifference(-1, 9, 2)!);
    assert.equal(varianceRatio(4, 9), 2.25);
    assert.equal(varianceRatio(9, 4), 1 / 2.25);
    assert.equal(varianceRatio(0, 0), 1);
    assert.equal(varianceRatio(0, 1), null);
    assert.equal(shareChange(0.25, 0.75), 0.5);
    assert.equal(shareChange(null, 0.75), null);
  });
});

describe("compareReports", () => {
  // Values chosen on bucket boundaries (1, 2, 4 start their buckets) so histograms are known exactly.
  it("places 1, 2 and 4 in three different buckets", () => {
    assert.equal(new Set([bucketOf(1), bucketOf(2), bucketOf(4)]).size, 3);
  });

  const shifted = (k: number) => [...rep(1 * k, 1000), ...rep(2 * k, 1000)];

  it("identical inputs give exactly zero drift and no findings", () => {
    const a = tinyReport([{ channels: [shifted(1), [...rep(-1, 500), ...rep(3, 1500)]], relu: true }, { channels: [shifted(2)] }]);
    for (const b of [a, JSON.parse(JSON.stringify(a))]) {
      const c = compareReports(a, b, options);
      for (const l of c.layers) {
        assert.deepEqual(
          l.pre.js,
          l.pre.js.map(() => 0),
        );
        assert.deepEqual(
          l.pre.smd,
          l.pre.smd.map(() => 0),
        );
        assert.deepEqual(
          l.pre.varRatio,
          l.pre.varRatio.map(() => 1),
        );
        assert.equal(l.pre.score, 0);
        assert.equal(l.pre.pooledJs, 0);
        assert.equal(l.post!.score, 0);
        assert.deepEqual(
          l.flatShareChange.filter((x) => x !== null),
          l.flatShareChange.filter((x) => x !== null).map(() => 0),
        );
        assert.deepEqual(l.findings, []);
        assert.equal(l.drifting, false);
      }
      assert.equal(c.shiftStart, null);
      assert.deepEqual(c.summary.findings, { error: 0, warning: 0, info: 0 });
    }
  });

  it("hand-computed drift of a doubled channel: JS sqrt(1/2), SMD 3, variance ratio 4", () => {
    // A: 1 and 2 (1000 each); B: 2 and 4. Shares (1/2, 1/2, 0) and (0, 1/2, 1/2), m = (1/4, 1/2, 1/4):
    // JSD = 1/2 (1/2 log2 2) + 1/2 (1/2 log2 2) = 1/2. Mean 1.5 → 3, var 0.25 → 1, std_A 0.5.
    const a = tinyReport([{ channels: [shifted(1), shifted(1)] }]);
    const b = tinyReport([{ channels: [shifted(2), shifted(1)] }]);
    const l = compareReports(a, b, options).layers[0];
    close(l.pre.js[0], Math.SQRT1_2);
    assert.equal(l.pre.js[1], 0);
    close(l.pre.smd[0], 3);
    close(l.pre.varRatio[0], 4);
    close(l.pre.score, Math.SQRT1_2);
    close(l.pre.meanJs, Math.SQRT1_2 / 2);
    assert.deepEqual(l.shiftedChannels, [0]);
    // Support 3, 2000 values each side: sqrt(2 · (2/2000) / (8 ln 2)); channel 1: support 2.
    close(l.pre.jsNoiseFloor[0], Math.sqrt(0.002 / 5.545177444479562));
    close(l.pre.jsNoiseFloor[1], Math.sqrt(0.001 / 5.545177444479562));
    // Pooled: A (1: 2000, 2: 2000), B (1: 1000, 2: 2000, 4: 1000): p = (1/2, 1/2, 0), q = (1/4, 1/2, 1/4),
    // m = (3/8, 1/2, 1/8): JSD = 1/2 (1/2 log2(4/3)) + 1/2 (1/4 log2(2/3) + 1/4 log2 2).
    close(l.pre.pooledJs, Math.sqrt(0.5 * 0.5 * LOG2_4_3 + 0.5 * (0.25 * LOG2_2_3 + 0.25)));
    assert.equal(l.worst[0].channel, 0);
    assert.equal(l.drifting, true);
    const f = l.findings.find((x) => x.rule === "domain-shift")!;
    assert.equal(f.severity, "error");
    assert.equal(f.channel, 0);
    assert.deepEqual(f.channels, [0]);
    assert.match(f.message, /shifted from A to B in 1 of 2 channels/);
    assert.match(
      f.message,
      /worst channel 0: JS 0\.707 \(noise floor 0\.019\), mean moved \+3 std of A, variance ×4; mean JS over the layer's channels 0\.354/,
    );
    assert.match(f.message, /the input data differ between A and B/);
  });

  it("too few values: the same shift stays below three times its noise floor and is not flagged", () => {
    const a = tinyReport([{ channels: [[1, 1, 2, 2]] }]);
    const b = tinyReport([{ channels: [[2, 2, 4, 4]] }]);
    const l = compareReports(a, b, options).layers[0];
    close(l.pre.js[0], Math.SQRT1_2);
    // sqrt(2 · (1/4 + 1/4) / (8 ln 2)) = 0.4247: 3 × 0.4247 > 0.707.
    close(l.pre.scoreNoiseFloor, Math.sqrt(1 / 5.545177444479562));
    assert.equal(l.drifting, false);
    assert.deepEqual(l.findings, []);
  });

  it("the shift starts at the first layer in graph order that crosses the threshold; later ones name it", () => {
    const same = { channels: [shifted(1)] };
    const a = tinyReport([same, same, same]);
    const b = tinyReport([same, { channels: [shifted(2)] }, { channels: [shifted(4)] }]);
    const c = compareReports(a, b, options);
    assert.deepEqual(c.shiftStart, { index: 1, node: "bn1", score: c.layers[1].pre.score });
    assert.deepEqual(
      c.layers.map((l) => l.drifting),
      [false, true, true],
    );
    assert.match(c.layers[1].findings[0].message, /the shift starts here, earlier layers agree/);
    assert.match(c.layers[2].findings[0].message, /follows from the shift that starts at layer 1 \(bn1\)/);
    assert.equal(c.summary.drifting, 2);
    // A higher threshold is heard: layer 1's JS 0.707 is below 0.8, layer 2's (1, 2 against 4, 8: disjoint) is 1.
    const strict = compareReports(a, b, { ...options, thresholds: { jsDistance: { warning: 0.8, error: 0.9 } } });
    assert.deepEqual(strict.shiftStart, { index: 2, node: "bn2", score: 1 });
  });

  it("saturation change and a new dead channel behind ReLU, by hand; swapping A and B mirrors them", () => {
    // Channel 0: A has -1 for 1/4 of its values, B for 3/4: flat share 0.25 → 0.75 (+0.5).
    // Channel 1: A is -1 or 1 (half each), B only -1: dead on B.
    const a = tinyReport([
      {
        channels: [
          [...rep(-1, 1000), ...rep(1, 3000)],
          [...rep(-1, 2000), ...rep(1, 2000)],
        ],
        relu: true,
      },
    ]);
    const b = tinyReport([{ channels: [[...rep(-1, 3000), ...rep(1, 1000)], rep(-1, 4000)], relu: true }]);
    const ab = compareReports(a, b, options).layers[0];
    close(ab.flatShareChange[0], 0.5);
    close(ab.flatShareChange[1], 0.5);
    close(ab.layerFlatShareChange, 0.5);
    // Shares (1/4, 3/4) against (3/4, 1/4), m = (1/2, 1/2): JSD = 1/4 log2(1/2) + 3/4 log2(3/2).
    close(ab.pre.js[0], Math.sqrt(-0.25 + 0.75 * LOG2_3_2));
    // Mean 0.5 → -0.5, variance 0.75 on both sides: SMD = -1 / sqrt(0.75).
    close(ab.pre.smd[0], -1 / Math.sqrt(0.75));
    close(ab.pre.varRatio[0], 1);
    assert.deepEqual(ab.newDead, [1]);
    assert.deepEqual(ab.revived, []);
    const sat = ab.findings.find((f) => f.rule === "saturation-change")!;
    assert.equal(sat.severity, "error");
    assert.match(sat.message, /worst channel 0: 25% on A, 75% on B \(layer: 37\.5% → 87\.5%\)/);
    const dead = ab.findings.find((f) => f.rule === "new-dead-channel")!;
    assert.deepEqual(dead.channels, [1]);
    assert.match(dead.message, /1 channel is dead on B but not on A: 1 .*channel 1 was outside it for 50% of A's values/);

    const ba = compareReports(b, a, options).layers[0];
    for (let c = 0; c < 2; c++) {
      close(ba.pre.js[c], ab.pre.js[c]!, 1e-15);
      close(ba.flatShareChange[c], -ab.flatShareChange[c]!);
    }
    close(ba.pre.smd[0], -ab.pre.smd[0]!);
    // Channel 1 has variance 1 on A and 0 on B: the ratio B/A is 0, A/B undefined.
    assert.equal(ab.pre.varRatio[1], 0);
    assert.equal(ba.pre.varRatio[1], null);
    assert.deepEqual(ba.newDead, []);
    assert.deepEqual(ba.revived, [1]);
  });

  it("compares a model without BN on its Conv outputs", () => {
    const a = tinyReport([{ channels: [shifted(1)], relu: true }], { fused: true });
    const b = tinyReport([{ channels: [shifted(2)], relu: true }], { fused: true });
    const c = compareReports(a, b, options);
    assert.equal(c.model.fusedAway, true);
    assert.equal(c.layers[0].kind, "activation");
    assert.equal(c.layers[0].post, null);
    close(c.layers[0].pre.js[0], Math.SQRT1_2);
    assert.deepEqual(c.shiftStart, { index: 0, node: "conv0", score: Math.SQRT1_2 });
    assert.match(c.layers[0].findings[0].message, /The Conv output distribution shifted/);
  });

  it("refuses reports of different models or bucket schemes in one sentence", () => {
    const a = tinyReport([{ channels: [shifted(1)] }]);
    const other = tinyReport([{ channels: [shifted(1)] }], { sha256: "b".repeat(64) });
    throwsUser(
      () => compareReports(a, other, { ...options, names: ["a.json", "b.json"] }),
      "a.json and b.json are reports of different models (tiny.onnx, sha256 aaaaaaaaaaaa…, and tiny.onnx, sha256 bbbbbbbbbbbb…); compare two reports of the same model file.",
    );
    const scheme = JSON.parse(JSON.stringify(a));
    scheme.histogram.bucketsPerOctave = 8;
    scheme.histogram.bucketCount = 515;
    throwsUser(
      () => compareReports(a, scheme, { ...options, names: ["a.json", "b.json"] }),
      "a.json and b.json use different histogram bucket schemes (log2-quarter-octave, 259 buckets, and log2-quarter-octave, 515 buckets); re-run both inspections with the same BN Lens version.",
    );
  });

  it("checks a comparison read back from JSON", () => {
    const c = compareReports(tinyReport([{ channels: [shifted(1)] }]), tinyReport([{ channels: [shifted(2)] }]), options);
    assert.deepEqual(checkComparison(JSON.parse(JSON.stringify(c)), "c.json"), c);
    throwsUser(
      () => checkComparison({ layers: [] }, "x.json"),
      'x.json is not a BN Lens comparison; pass a file written by "bn-lens compare --json".',
    );
    throwsUser(
      () => checkComparison({ ...c, schemaVersion: 2 }, "c.json"),
      "c.json has comparison schema version 2, and this BN Lens reads version 1; compare the reports again with this version.",
    );
  });
});
