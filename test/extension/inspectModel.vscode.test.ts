import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as vscode from "vscode";
import { FACE_DETECTOR } from "../helpers/paths";
import { type InspectionResult, activated, loadedOnnxRuntime, until } from "./bnLens";

const BN_LAYERS = 35; // BatchNormalization nodes in version-RFB-320.onnx (../shared/models/README.md)

describe("bnLens.inspectModel on the face detector", function () {
  this.timeout(180_000);
  let result: InspectionResult | undefined;

  before(async () => {
    assert.ok(fs.existsSync(FACE_DETECTOR), `${FACE_DETECTOR} is missing`);
    await activated();
    result = await vscode.commands.executeCommand<InspectionResult | undefined>("bnLens.inspectModel", vscode.Uri.file(FACE_DETECTOR));
  });

  it(`returns a report with its ${BN_LAYERS} BN layers`, () => {
    assert.ok(result, "the command resolved to undefined");
    assert.equal(result.report.summary.layers, BN_LAYERS);
    assert.equal(result.report.rows.length, BN_LAYERS);
  });

  it("opens a panel that receives the report", async () => {
    const api = await activated();
    const state = await until(
      () => (api.panelState()?.received ? api.panelState() : undefined),
      60_000,
      "the panel to acknowledge the report",
    );
    assert.equal(state.layers, BN_LAYERS);
    // The panel is the .onnx custom editor (viewType bnLens.modelView), a webview inside a custom editor tab.
    const webviews = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter(
        (t) =>
          t.input instanceof vscode.TabInputWebview ||
          (t.input instanceof vscode.TabInputCustom && t.input.viewType === "bnLens.modelView"),
      );
    assert.ok(webviews.length >= 1, "no BN Lens view is open");
  });

  it("keeps the report for the test API (held by the inference process, brought over on request)", async () => {
    const api = await activated();
    assert.equal((await api.lastReport())?.layers.length, BN_LAYERS);
    assert.ok(result);
    assert.equal((await api.fullReport(result.heldId)).layers.length, BN_LAYERS);
  });

  it("ran onnxruntime-node off the extension host thread", () => {
    assert.deepEqual(loadedOnnxRuntime(), []);
  });
});
