import * as assert from "node:assert/strict";
import { activationFinder } from "../../src/core/inspect/activationJson";
import { Inspection } from "../../src/core/inspect/inspection";
import { modelDescription } from "../../src/core/inspect/modelDescription";
import type { HostTensor } from "../../src/core/tensor";
import { withDefaults } from "../../src/core/stats/judge";
import { GraphBuilder } from "../helpers/onnxGraph";

// Standard normal CDF by Simpson's rule on the density (independent of the code's erfc fit).
function phi(x: number): number {
  if (x === 0) return 0.5;
  const a = Math.min(0, x),
    b = Math.max(0, x);
  const n = 20000;
  const h = (b - a) / n;
  const f = (t: number) => Math.exp((-t * t) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += f(a + i * h) * (i % 2 ? 4 : 2);
  const area = (s * h) / 3;
  return x > 0 ? 0.5 + area : 0.5 - area;
}

const GAMMA = [1, 2, -0.5, 0, 0.4];
const BETA = [0, -2, 0.25, -1, -1.2];
const MEAN = [0.3, -1, 2, 0, 5];
const VAR = [1, 4, 0.25, 1, 2];
const C = GAMMA.length;

function build(after: (g: GraphBuilder, y: string) => void) {
  const g = new GraphBuilder(13);
  g.node(
    "BatchNormalization",
    ["x", g.init("s", GAMMA), g.init("b", BETA), g.init("m", MEAN), g.init("v", VAR)],
    "y",
    { epsilon: 1e-5 },
    "bn",
  );
  after(g, "y");
  return g.model(["out"]);
}

const file = { path: "/m.onnx", name: "m.onnx", sizeBytes: 1 };

describe("expected flat shares from stored parameters (data-free)", () => {
  it("ReLU: the expected off share is Φ(-beta/|gamma|) per channel; gamma 0 is a point mass at beta", () => {
    const o = modelDescription(
      build((g, y) => g.node("Relu", [y], "out")),
      file,
      activationFinder(),
    );
    const e = o.layers[0].expected;
    const want = GAMMA.map((gm, c) => (gm === 0 ? (BETA[c] <= 0 ? 1 : 0) : phi(-BETA[c] / Math.abs(gm))));
    e.off.forEach((v, c) => assert.ok(Math.abs(v - want[c]) < 2e-7, `channel ${c}: ${v} vs ${want[c]}`));
    // Hand values: Φ(0) = 0.5, Φ(1) = 0.8413447, Φ(-0.5) = 0.3085375, Φ(3) = 0.9986501.
    assert.ok(Math.abs(e.off[1] - 0.8413447461) < 1e-6);
    assert.ok(Math.abs(e.off[2] - 0.3085375387) < 1e-6);
    assert.deepEqual(e.saturated, [0, 0, 0, 0, 0]);
  });

  it("Sigmoid: both tails beyond the flat region's edge; Relu→Clip(0, 6): off below 0, saturated above 6", () => {
    const sig = modelDescription(
      build((g, y) => g.node("Sigmoid", [y], "out")),
      file,
      activationFinder(),
    ).layers[0];
    const edge = sig.activation.flatRegion.intervals[1][0]!;
    assert.ok(Math.abs(edge - 5.288) < 1e-3);
    sig.expected.saturated.forEach((v, c) => {
      const s = Math.abs(GAMMA[c]);
      const want = s === 0 ? 0 : phi((-edge - BETA[c]) / s) + 1 - phi((edge - BETA[c]) / s);
      assert.ok(Math.abs(v - want) < 2e-7, `sigmoid channel ${c}: ${v} vs ${want}`);
    });
    const clip = modelDescription(
      build((g, y) => g.node("Clip", [g.node("Relu", [y], "r"), g.constant(0), g.constant(6)], "out")),
      file,
      activationFinder(),
    ).layers[0];
    assert.equal(clip.activation.op, "Relu→Clip");
    clip.expected.off.forEach((v, c) => {
      const s = Math.abs(GAMMA[c]);
      assert.ok(Math.abs(v - (s === 0 ? 1 : phi(-BETA[c] / s))) < 2e-7);
      assert.ok(Math.abs(clip.expected.saturated[c] - (s === 0 ? 0 : 1 - phi((6 - BETA[c]) / s))) < 2e-7);
    });
  });

  it("flags channels training left mostly off, without data and on random data; stale-statistics rules stay silent on random data", () => {
    const model = build((g, y) => g.node("Relu", [y], "out"));
    const t = withDefaults();
    const inspection = new Inspection(model, t, activationFinder());
    // One batch of 4 samples x 5 channels x 10 values, far from the running statistics (mean 0, var 1 vs stored).
    const N = 4,
      S = 10;
    const x = new Float32Array(N * C * S).map((_, i) => Math.sin(i * 12.9898) * 3 + 10);
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / S) % C;
      y[i] = (GAMMA[c] * (x[i] - MEAN[c])) / Math.sqrt(VAR[c] + 1e-5) + BETA[c];
    }
    const tensors: Record<string, HostTensor> = {
      x: { dtype: "float32", dims: [N, C, S], data: x },
      y: { dtype: "float32", dims: [N, C, S], data: y },
    };
    inspection.addBatch((n) => tensors[n], N);
    const random = inspection.layerReports({ synthetic: true })[0];
    const rules = random.warnings.map((w) => w.rule);
    for (const r of ["mean-shift", "variance-ratio", "saturation", "rectifier-off"])
      assert.ok(!rules.includes(r as never), `${r} on random data`);
    const dead = random.warnings.find((w) => w.rule === "dead-channel");
    assert.deepEqual(dead?.channels, [3], "gamma 0 is dead whatever the data");
    assert.ok(!dead!.message.includes("never outside"));
    // Channel 4: beta -1.2, |gamma| 0.4 → Φ(3) = 99.87% off by training (channel 1: Φ(1) = 84% stays under 95%).
    const flagged = random.warnings.find((w) => w.rule === "expected-flat");
    assert.deepEqual(flagged?.channels, [4]);
    assert.ok(flagged!.message.includes("99.9% off"), flagged!.message);
    // On real data the same statistics are judged: the shift of about 10 running std is a stale mean.
    const real = inspection.layerReports({ synthetic: false })[0];
    assert.ok(real.warnings.some((w) => w.rule === "mean-shift" && w.severity === "error"));
    assert.ok(real.warnings.some((w) => w.rule === "expected-flat"));
  });
});
