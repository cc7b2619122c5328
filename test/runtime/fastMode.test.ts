/**
 * Fast mode against exact mode on the real face detector and photos: what the report says is exact
 * (extremes) must match exactly; what it says is sampled must stay close; auto mode picks by projected time.
 */
import * as assert from "node:assert/strict";
import { formatReport } from "../../src/cli/table";
import type { LayerReport, Report } from "../../src/core/report";
import type { HostTensor } from "../../src/core/tensor";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { FACE_DETECTOR, FACE_IMAGES, PADDLE_CLS } from "../helpers/paths";

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

describe("fast mode on BN outputs against the true BN inputs (face detector, 16 photos, float64 here)", function () {
  this.timeout(300_000);
  it("derives every layer's input moments over every value, and its sampled extremes, from the output through the inverse map", async () => {
    const fast = await inspect({ ...faces, mode: "fast" }, quiet);
    // Most layers are measured on their output (the rest, chosen on the first photo, on their input).
    const onOutput = /(\d+) of these layers are measured on their BN output/.exec(fast.run.precision.description);
    assert.ok(onOutput && Number(onOutput[1]) >= 25, fast.run.precision.description);
    // The true inputs as onnxruntime computes them (an exact run that captures them), reduced here in float64:
    // per channel over every value, and the extremes over the positions fast mode samples.
    type Acc = { n: Float64Array; s1: Float64Array; s2: Float64Array; lo: Float64Array; hi: Float64Array };
    const acc: Acc[] = fast.layers.map((l) => {
      const C = l.channels;
      return {
        n: new Float64Array(C),
        s1: new Float64Array(C),
        s2: new Float64Array(C),
        lo: new Float64Array(C).fill(Infinity),
        hi: new Float64Array(C).fill(-Infinity),
      };
    });
    const seen = (tensors: Readonly<Record<string, HostTensor>>) => {
      fast.layers.forEach((l, li) => {
        const t = tensors[l.input];
        const x = t.data as Float32Array;
        const [N, C, H, W] = t.dims;
        const [sh, sw] = l.sampling?.strides ?? [1, 1];
        const a = acc[li];
        for (let n = 0; n < N; n++)
          for (let c = 0; c < C; c++) {
            const k = l.running.mean[c];
            for (let h = 0; h < H; h++)
              for (let w = 0; w < W; w++) {
                const v = x[((n * C + c) * H + h) * W + w];
                a.n[c]++;
                a.s1[c] += v - k;
                a.s2[c] += (v - k) ** 2;
                if (h % sh === 0 && w % sw === 0) {
                  a.lo[c] = Math.min(a.lo[c], v);
                  a.hi[c] = Math.max(a.hi[c], v);
                }
              }
          }
      });
    };
    await inspect({ ...faces, mode: "exact" }, { ...quiet, captured: seen }, { captureInputs: true });
    let worstMean = 0,
      worstVar = 0,
      worstExtreme = 0;
    fast.layers.forEach((l, li) => {
      const a = acc[li];
      for (let c = 0; c < l.channels; c++) {
        assert.equal(l.pre.count[c], a.n[c]);
        const m = a.s1[c] / a.n[c];
        const mean = l.running.mean[c] + m;
        const variance = a.s2[c] / a.n[c] - m * m;
        const sd = Math.sqrt(variance);
        worstMean = Math.max(worstMean, Math.abs(l.pre.mean[c]! - mean) / sd);
        worstVar = Math.max(worstVar, Math.abs(Math.log(l.pre.var[c]! / variance)));
        worstExtreme = Math.max(worstExtreme, Math.abs(l.pre.min[c]! - a.lo[c]) / sd, Math.abs(l.pre.max[c]! - a.hi[c]) / sd);
      }
    });
    console.log(
      `      worst |Δmean| ${worstMean.toExponential(2)} std, worst variance factor ${Math.exp(worstVar).toFixed(6)}, worst |Δextreme| ${worstExtreme.toExponential(2)} std`,
    );
    // The two runs execute differently optimized graphs (BN folded into the Conv or not) and the per-sample sums
    // are float32, so agreement is to float32 rounding, far inside what any finding depends on.
    assert.ok(worstMean < 1e-4, `mean off by ${worstMean} std`);
    assert.ok(Math.exp(worstVar) < 1.0005, `variance factor ${Math.exp(worstVar)}`);
    assert.ok(worstExtreme < 1e-4, `extreme off by ${worstExtreme} std`);
  });
});

describe("fast mode picks, per layer, the better-centred of BN input and output (PaddleOCR classifier, random data)", function () {
  this.timeout(300_000);
  it("measures on the input the layers whose outputs' mean dwarfs their spread, and keeps every variance", async () => {
    // On random inputs some of this model's BN outputs sit far from zero with a tiny spread (std/|mean| ~ 0.02):
    // their variance from float32 sums of y and y² would cancel (measured: a factor 2.2 off on BN outputs).
    const request = { modelPath: PADDLE_CLS, samples: 24, batchSize: 8, inputShapes: ["x:Nx3x48x192"] };
    const fast = await inspect({ ...request, mode: "fast" }, quiet);
    const exact = await inspect({ ...request, mode: "exact" }, quiet);
    const mixed =
      /(\d+) of these layers are measured on their BN output \(pre-BN values follow through the inverse affine map\), the others on their BN input/.exec(
        fast.run.precision.description,
      );
    assert.ok(mixed, fast.run.precision.description);
    assert.ok(Number(mixed[1]) > 0 && Number(mixed[1]) < fast.layers.length);
    let worstMean = 0,
      worstVar = 0;
    fast.layers.forEach((l, i) => {
      const e = exact.layers[i];
      l.pre.var.forEach((v, c) => {
        const ve = e.pre.var[c];
        // Channels without spread (dead on this data) have no relative error to speak of.
        if (!(ve !== null && ve > 0)) return;
        worstMean = Math.max(worstMean, Math.abs(l.pre.mean[c]! - e.pre.mean[c]!) / Math.sqrt(ve));
        worstVar = Math.max(worstVar, Math.abs(Math.log(v! / ve)));
      });
    });
    console.log(`      worst |Δmean| ${worstMean.toExponential(2)} std, worst variance factor ${Math.exp(worstVar).toFixed(6)}`);
    assert.ok(worstMean < 1e-3, `mean off by ${worstMean} std`);
    assert.ok(Math.exp(worstVar) < 1.001, `variance factor ${Math.exp(worstVar)}`);
  });
});
