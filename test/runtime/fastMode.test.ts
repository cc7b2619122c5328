/**
 * Fast mode against exact mode on the real face detector and photos: what the report says is exact
 * (extremes) must match exactly; what it says is sampled must stay close; auto mode picks by projected time.
 */
import * as assert from "node:assert/strict";
import type { LayerReport, Report } from "../../src/core/report";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { FACE_DETECTOR, FACE_IMAGES } from "../helpers/paths";

const quiet: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };
const faces = { modelPath: FACE_DETECTOR, dataPath: FACE_IMAGES, imageMean: [127], imageStd: [128], batchSize: 4 };

/** Total variation distance between two histograms (0 = same shape, 1 = disjoint). */
function tvDistance(a: LayerReport["pre"]["histogram"], b: LayerReport["pre"]["histogram"]): number {
  const dense = (h: typeof a) => {
    const m = new Map<number, number>();
    h.total.forEach((v, k) => m.set(h.first + k, v));
    return m;
  };
  const da = dense(a), db = dense(b);
  const sa = a.total.reduce((x, y) => x + y, 0), sb = b.total.reduce((x, y) => x + y, 0);
  let d = 0;
  for (const k of new Set([...da.keys(), ...db.keys()])) d += Math.abs((da.get(k) ?? 0) / sa - (db.get(k) ?? 0) / sb);
  return d / 2;
}

describe("fast mode against exact mode (face detector, 16 photos)", function () {
  this.timeout(300_000);
  let exact: Report;
  let fast: Report;
  before(async () => {
    exact = await inspect({ ...faces, mode: "exact" }, quiet);
    fast = await inspect({ ...faces, mode: "fast" }, quiet);
  });

  it("says which statistics are sampled and by how much", () => {
    assert.equal(exact.run.precision.mode, "exact");
    assert.equal(fast.run.precision.mode, "fast");
    assert.ok(fast.run.precision.histogramSampling > 0.05 && fast.run.precision.histogramSampling < 0.5);
    assert.match(fast.run.precision.description, /systematic spatial sample/);
    assert.match(fast.run.precision.description, /histograms and saturation come from the sample/);
    const first = fast.layers[0];
    // 120x160 feature map, every 4th row and column: 30 x 40 of 19,200 positions.
    assert.deepEqual(first.sampling, { strides: [4, 4], fraction: 1200 / 19200 });
    // Moments cover every value; the histogram holds the first (exact) batch of 4 photos whole and
    // the 3 sampled batches' 1,200 positions per photo.
    assert.equal(first.pre.count[0], 16 * 19200);
    assert.equal(first.pre.histogram.perChannel[0].reduce((a, b) => a + b, 0), 4 * 19200 + 12 * 1200);
    assert.ok(exact.layers.every((l) => l.sampling === null));
  });

  it("keeps minimum and maximum exact", () => {
    fast.layers.forEach((l, i) => {
      assert.deepEqual(l.pre.min, exact.layers[i].pre.min, l.node);
      assert.deepEqual(l.pre.max, exact.layers[i].pre.max, l.node);
      l.post.max.forEach((v, c) => {
        const e = exact.layers[i].post.max[c]!;
        assert.ok(Math.abs(v! - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${l.node} post.max[${c}] ${v} vs ${e}`);
      });
    });
  });

  it("keeps sampled means, z, variance ratios, histograms and saturation close to the exact ones", () => {
    let worstZ = 0, worstLogR = 0, worstTv = 0, worstSat = 0;
    fast.layers.forEach((l, i) => {
      const e = exact.layers[i];
      l.compare.z.forEach((z, c) => (worstZ = Math.max(worstZ, Math.abs(z! - e.compare.z[c]!))));
      l.pre.var.forEach((v, c) => (worstLogR = Math.max(worstLogR, Math.abs(Math.log(v! / e.pre.var[c]!)))));
      worstTv = Math.max(worstTv, tvDistance(l.post.histogram, e.post.histogram));
      l.saturation.fraction.forEach((f, c) => (worstSat = Math.max(worstSat, Math.abs((f ?? 0) - (e.saturation.fraction[c] ?? 0)))));
    });
    console.log(`      worst |Δz| ${worstZ.toExponential(2)}, worst variance factor ${Math.exp(worstLogR).toFixed(5)}, worst histogram TV ${worstTv.toFixed(3)}, worst Δsaturation ${worstSat.toFixed(3)}`);
    // Moments cover every value (float32 per-sample sums), so they match closely; histograms and
    // saturation are sampled.
    assert.ok(worstZ < 0.01, `|Δz| ${worstZ}`);
    assert.ok(Math.exp(worstLogR) < 1.01, `variance factor ${Math.exp(worstLogR)}`);
    assert.ok(worstTv < 0.05, `histogram TV ${worstTv}`);
    assert.ok(worstSat < 0.08, `saturation ${worstSat}`);
  });

  it("auto mode stays exact when measuring every value is quick, and switches when it is not", async () => {
    const quick = await inspect({ ...faces, mode: "auto" }, quiet);
    assert.equal(quick.run.precision.mode, "exact");
    const slow = await inspect({ ...faces, mode: "auto", autoExactLimitS: 0 }, quiet);
    assert.equal(slow.run.precision.mode, "fast");
    assert.match(slow.run.precision.description, /Auto mode: measuring every value would take about \d+ s more/);
  });
});
