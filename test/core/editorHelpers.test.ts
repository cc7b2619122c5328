// Pure helpers behind the VS Code side: findings for the Problems panel and status bar, the node
// document text, image presets and the shape hint read back from a "symbolic dims" error.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { parseInputShape } from "../../src/core/inputs/shapes";
import { IMAGE_PRESETS, checkShapeText, parseNumberList, shapeHint } from "../../src/core/inputs/presets";
import { activationFinder } from "../../src/core/inspect/activationJson";
import { countFindings, countsSentence, reportFindings, statusText } from "../../src/extension/findings";
import { float32Text, nodeText } from "../../src/extension/nodeText";
import { modelDescription } from "../../src/core/inspect/modelDescription";
import { buildDemoModel } from "../../src/core/demo/demoModel";
import { decodeModel } from "../../src/core/onnx/model";
import type { Report, WarningJson } from "../../src/core/report";
import { FACE_DETECTOR } from "../helpers/paths";

function reportWith(model: WarningJson[], layer: WarningJson[]): Report {
  return {
    warnings: model,
    layers: [{ warnings: layer }],
    activations: [{ warnings: [{ rule: "saturation", severity: "info", layer: "Conv_3", message: "m3" }] }],
  } as unknown as Report;
}

describe("findings for the Problems panel and the status bar", () => {
  const r = reportWith(
    [{ rule: "bn-fused", severity: "info", message: "No BN." }],
    [
      { rule: "mean-shift", severity: "error", layer: "BN_1", channel: 4, message: "Stale mean." },
      { rule: "variance-ratio", severity: "warning", layer: "BN_1", message: "Layer-wide." },
    ],
  );

  it("names the layer and the channel in each message, model-level findings as they are", () => {
    assert.deepEqual(
      reportFindings(r).map((f) => f.text),
      ["No BN.", "BN_1, channel 4: Stale mean.", "BN_1: Layer-wide.", "Conv_3: m3"],
    );
    assert.deepEqual(
      reportFindings(r).map((f) => f.rule),
      ["bn-fused", "mean-shift", "variance-ratio", "saturation"],
    );
  });

  it("counts by severity and writes the status bar text", () => {
    const counts = countFindings(reportFindings(r));
    assert.deepEqual(counts, { error: 1, warning: 1, info: 2 });
    assert.equal(statusText(counts), "BN Lens: 1 ✗ 1 ⚠");
    assert.equal(statusText({ error: 0, warning: 0, info: 3 }), "BN Lens: ✓");
    assert.equal(countsSentence(counts), "1 error, 1 warning, 2 notes");
  });
});

describe("image presets and input shapes typed in the editor", () => {
  it("offers (p − 127) / 128, ImageNet in pixel units, [0, 1] and raw pixels", () => {
    assert.deepEqual(
      IMAGE_PRESETS.map((p) => [p.id, p.mean, p.std]),
      [
        ["centered128", [127], [128]],
        ["imagenet", [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]],
        ["unit", [0], [255]],
        ["raw", [0], [1]],
      ],
    );
  });

  it("parses number lists and refuses non-positive std", () => {
    assert.deepEqual(parseNumberList("127, 127,127"), [127, 127, 127]);
    assert.equal(parseNumberList("1, x"), undefined);
    assert.equal(parseNumberList("0", true), undefined);
  });

  it("reads the suggested shape out of the engine's symbolic-dims message", () => {
    const msg =
      'Input "x" has symbolic dims p2o.DynamicDimension.1, p2o.DynamicDimension.2 (p2o.DynamicDimension.0 x 3 x p2o.DynamicDimension.1 x p2o.DynamicDimension.2) that neither the data nor --input-shape gives; give them with --input-shape x:Nx3x<d2>x<d3>, putting numbers for <d2>, <d3>.';
    assert.deepEqual(shapeHint(msg), { input: "x", suggestion: "x:Nx3x<d2>x<d3>" });
    assert.equal(shapeHint("The data holds no samples."), undefined);
    assert.deepEqual(
      shapeHint(
        'Input "in:0" has unknown dims 2 (N x 3 x ?) that neither the data nor --input-shape gives; give them with --input-shape in:0:Nx3x<d2>, putting numbers for <d2>.',
      ),
      { input: "in:0", suggestion: "in:0:Nx3x<d2>" },
    );
    assert.match(checkShapeText("x:Nx3x<d2>x<d3>") ?? "", /positive whole number/);
    assert.equal(checkShapeText("x:Nx3x48x192"), undefined);
    assert.equal(checkShapeText("input:0:?x3x4"), undefined);
    // Whatever checkShapeText accepts, the engine's parser accepts too.
    for (const ok of ["x:Nx3x48x192", "input:0:?x3x4", "a:-1x2"]) assert.doesNotThrow(() => parseInputShape(ok));
  });
});

describe("float32 numbers as they were written", () => {
  it("prints the shortest decimal that reads back as the same float32", () => {
    assert.equal(float32Text(Math.fround(1e-5)), "1e-5");
    assert.equal(float32Text(Math.fround(1.5e-5)), "1.5e-5");
    assert.equal(float32Text(Math.fround(0.001)), "0.001");
    assert.equal(float32Text(Math.fround(0.1)), "0.1");
    assert.equal(float32Text(Math.fround(1.0000001)), "1.0000001");
    assert.equal(float32Text(0), "0");
    // Every result round-trips to the same float32 (brute force over a spread of values).
    for (let e = -20; e <= 20; e++) {
      const x = Math.fround(1.2345678 * 10 ** e);
      assert.equal(Math.fround(Number(float32Text(x))), x);
    }
  });
});

describe("node documents from the model overview", () => {
  const bytes = fs.readFileSync(FACE_DETECTOR);
  const overview = modelDescription(
    decodeModel(bytes),
    { path: FACE_DETECTOR, name: "version-RFB-320.onnx", sizeBytes: bytes.length },
    activationFinder(),
  );
  const bn = overview.layers[0];

  it("shows a BN node's op, inputs, outputs, epsilon, neighbours and stored parameters", () => {
    const text = nodeText(bn.node, overview, undefined, undefined)!;
    assert.match(text, new RegExp(`^${bn.node}  \\(BatchNormalization\\)`));
    assert.ok(text.includes(`X      ${bn.input}`) && text.includes(`Y      ${bn.output}`));
    // The face detector stores epsilon 1e-5 as a float32 (0.000009999999747378752 read as a double).
    assert.equal(bn.epsilon, Math.fround(1e-5));
    assert.ok(text.includes("epsilon = 1e-5\n"), text.slice(0, 400));
    assert.ok(text.includes(`before: ${bn.producer!.node} (Conv)`));
    assert.match(text, /after: {2}Relu \(/);
    assert.equal(text.split("\n").filter((l) => /^\s+\d+\s{2}/.test(l)).length, bn.channels, "one row of stored parameters per channel");
  });

  it("shows the node that feeds a BN and the nonlinearity after it; nothing for unrelated nodes", () => {
    assert.match(nodeText(bn.producer!.node, overview, undefined, undefined)!, /Feeds a BatchNormalization layer/);
    assert.match(nodeText(bn.activation.nodes[0], overview, undefined, undefined)!, new RegExp(`Follows ${bn.node}`));
    assert.equal(nodeText("no such node", overview, undefined, undefined), undefined);
  });
});

describe("stored dead channels in the model overview", () => {
  // The demo's bn1 has gamma = 0 in channel 5 and nowhere else; its running variances are all well above 1e-8.
  const model = decodeModel(buildDemoModel());
  const overviewWith = (t: Parameters<typeof modelDescription>[4]) =>
    modelDescription(model, { path: "demo.onnx", name: "demo.onnx", sizeBytes: 0 }, activationFinder(), undefined, t);

  it("are decided in core with the user's thresholds, so the model view shows what the rule says", () => {
    const bn1 = (t: Parameters<typeof overviewWith>[0]) => overviewWith(t).layers[0];
    const layer = bn1({});
    assert.deepEqual(
      layer.deadChannels,
      layer.gamma.flatMap((g, c) => (Math.abs(g) <= 1e-6 || layer.running.var[c] <= 1e-8 ? [c] : [])),
    );
    assert.deepEqual(layer.deadChannels, [5]);
    // A threshold no |gamma| can reach turns the rule off; one above every running variance marks every channel.
    assert.deepEqual(bn1({ deadGamma: -1 }).deadChannels, []);
    const maxVar = Math.max(...layer.running.var);
    assert.deepEqual(bn1({ deadRunningVar: maxVar }).deadChannels, [...layer.gamma.keys()]);
  });
});
