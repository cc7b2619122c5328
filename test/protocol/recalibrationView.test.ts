// The check a recalibration's before/after passes when it is read back from the extension's storage: what
// was saved comes back as it was (infinite ratios turn into null in JSON, as the panel reads them); anything
// else is dropped, so a damaged file cannot reach the panel.
import * as assert from "node:assert/strict";
import { parse } from "../../src/core/schema";
import { recalibrationViewSchema, type RecalibrationView } from "../../src/protocol/webview";

const side = (z: number | null, r: number | null) => ({
  worstZ: z,
  worstVarRatio: r,
  flatShare: 0.25,
  deadChannels: 0,
  warnings: ["mean-shift"],
});

function view(): RecalibrationView {
  return {
    original: "/m/a.onnx",
    out: "/m/a.recalibrated.onnx",
    data: "16 images in photos",
    samples: 16,
    passes: 2,
    converged: true,
    method: "one-batch solve",
    blend: 1,
    tolerance: { z: 0.01, varRatio: 1.01 },
    recalibratedLayers: 1,
    warnings: { before: { stale: 3, all: 5 }, after: { stale: 0, all: 1 } },
    outputs: [{ output: "scores", values: 10, meanAbsChange: 0.5, relativeL2Change: null }],
    notes: [],
    layers: [
      {
        index: 0,
        node: "bn0",
        channels: 2,
        recalibrated: true,
        before: side(1.5, Infinity),
        after: side(0, 1),
        postBefore: { first: 100, counts: [1, 2, 3] },
        postAfter: { first: 101, counts: [6] },
      },
    ],
  };
}

describe("recalibration before/after read back from storage", () => {
  it("comes back as saved, an infinite variance ratio as null", () => {
    const back = parse(recalibrationViewSchema, JSON.parse(JSON.stringify(view())));
    const want = view();
    want.layers[0].before.worstVarRatio = null;
    assert.deepEqual(back, want);
  });

  it("is dropped when a field is missing or of the wrong type", () => {
    const missing = JSON.parse(JSON.stringify(view())) as Record<string, unknown>;
    delete missing.layers;
    assert.equal(parse(recalibrationViewSchema, missing), undefined);
    const wrong = JSON.parse(JSON.stringify(view())) as { layers: { postAfter: { counts: unknown } }[] };
    wrong.layers[0].postAfter.counts = "6";
    assert.equal(parse(recalibrationViewSchema, wrong), undefined);
    const method = { ...view(), method: "train mode" };
    assert.equal(parse(recalibrationViewSchema, method), undefined);
  });
});
