/**
 * Fast mode against exact mode on the real face detector and photos: what the report says is exact
 * (extremes) must match exactly; what it says is sampled must stay close; auto mode picks by projected time.
 */
import * as assert from "node:assert/strict";
import { formatReport } from "../../src/cli/table";
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
  const da = dense(a),
    db = dense(b);
  const sa = a.total.reduce((x, y) => x + y, 0),
    sb = b.total.reduce((x, y) => x + y, 0);
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
    assert.match(
      fast.run.precision.description,
      /histograms, saturation, minimum and maximum come from the sample; mean and variance from every value/,
    );
    const first = fast.layers[0];
    // 120x160 feature map, every 5th row and column: 24 x 32 of 19,200 positions.
    assert.deepEqual(first.sampling, { strides: [5, 5], fraction: 768 / 19200 });
    // Moments cover every value; histograms the sampled positions of every photo (the first photo, measured
    // whole to learn the feature maps' sizes, is folded through the same positions).
    assert.equal(first.pre.count[0], 16 * 19200);
    assert.equal(
      first.pre.histogram.perChannel[0].reduce((a, b) => a + b, 0),
      16 * 768,
    );
    assert.ok(exact.layers.every((l) => l.sampling === null));
    // The CLI's summary line says the same, with the measured share.
    const pct = (fast.run.precision.histogramSampling * 100).toFixed(1);
    assert.ok(
      formatReport(fast).includes(
        `statistics: fast (histograms, saturation, min and max from a ${pct}% spatial sample; mean and variance from every value).`,
      ),
    );
    assert.ok(formatReport(exact).includes("; statistics: exact."));
  });

  it("takes minimum and maximum from the sample: never outside the exact range", () => {
    // The two runs execute differently optimized graphs, so values agree to float32 rounding, not bit for bit.
    const slack = (v: number) => 1e-5 * Math.max(1, Math.abs(v));
    fast.layers.forEach((l, i) => {
      const e = exact.layers[i];
      l.pre.min.forEach((v, c) => {
        assert.ok(v! >= e.pre.min[c]! - slack(e.pre.min[c]!), `${l.node} channel ${c}: min ${v} < ${e.pre.min[c]}`);
        assert.ok(l.pre.max[c]! <= e.pre.max[c]! + slack(e.pre.max[c]!), `${l.node} channel ${c}: max ${l.pre.max[c]} > ${e.pre.max[c]}`);
      });
    });
  });

  it("keeps means, z and variance ratios (every value) equal and histograms and saturation (sampled) close to the exact ones", () => {
    let worstZ = 0,
      worstLogR = 0,
      worstTv = 0,
      worstSat = 0;
    fast.layers.forEach((l, i) => {
      const e = exact.layers[i];
      l.compare.z.forEach((z, c) => (worstZ = Math.max(worstZ, Math.abs(z! - e.compare.z[c]!))));
      l.pre.var.forEach((v, c) => (worstLogR = Math.max(worstLogR, Math.abs(Math.log(v! / e.pre.var[c]!)))));
      worstTv = Math.max(worstTv, tvDistance(l.post.histogram, e.post.histogram));
      l.saturation.fraction.forEach((f, c) => (worstSat = Math.max(worstSat, Math.abs((f ?? 0) - (e.saturation.fraction[c] ?? 0)))));
    });
    console.log(
      `      worst |Δz| ${worstZ.toExponential(2)}, worst variance factor ${Math.exp(worstLogR).toFixed(5)}, worst histogram TV ${worstTv.toFixed(3)}, worst Δsaturation ${worstSat.toFixed(3)}`,
    );
    // Moments cover every value (float32 per-sample sums), so they match closely; histograms and
    // saturation are sampled.
    assert.ok(worstZ < 0.01, `|Δz| ${worstZ}`);
    assert.ok(Math.exp(worstLogR) < 1.01, `variance factor ${Math.exp(worstLogR)}`);
    assert.ok(worstTv < 0.05, `histogram TV ${worstTv}`);
    // The sample is a fixed grid: with 16 photos whose faces sit in similar places, the worst of the
    // model's ~2,000 channels is off by about 0.1 (README "Exact, fast and auto statistics").
    assert.ok(worstSat < 0.12, `saturation ${worstSat}`);
  });

  it("auto mode stays exact when measuring every value is quick, and switches when it is not", async () => {
    const quick = await inspect({ ...faces, mode: "auto" }, quiet);
    assert.equal(quick.run.precision.mode, "exact");
    const slow = await inspect({ ...faces, mode: "auto", autoExactLimitS: 0 }, quiet);
    assert.equal(slow.run.precision.mode, "fast");
    assert.match(slow.run.precision.description, /Auto mode: measuring every value would take about \d+ s more/);
  });
});
