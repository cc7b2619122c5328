// Opening an .onnx file shows BN Lens's model view at once, without running the model.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { FACE_DETECTOR } from "../helpers/paths";
import { activated, loadedOnnxRuntime, until } from "./bnLens";
import { modelCopy, reset, waitUntil } from "./fixtures";

describe("model view (custom editor bnLens.modelView)", function () {
  this.timeout(60_000);
  afterEach(reset);

  it("is the default editor of .onnx files and shows the model's 35 BN layers without running it", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const t0 = Date.now();
    await vscode.commands.executeCommand("vscode.open", uri); // what a double-click in the explorer does
    await waitUntil(
      () => api.viewState(uri).describedLayers !== undefined || api.viewState(uri).describeError !== undefined,
      30_000,
      "the model description",
    );
    const openMs = Date.now() - t0;
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom, "the .onnx file did not open in a custom editor");
    assert.equal(tab.input.viewType, "bnLens.modelView");
    const state = api.viewState(uri);
    assert.equal(state.describeError, undefined);
    assert.equal(state.describedLayers, 35);
    assert.equal(state.running, false, "opening must not run the model");
    assert.equal(state.report, undefined);
    await waitUntil(
      () => api.testHooks.toWebview(uri).some((m) => m.type === "modelDescribed"),
      15_000,
      "modelDescribed to reach the view",
    );
    const described = api.testHooks.toWebview(uri).find((m) => m.type === "modelDescribed");
    assert.ok(described?.type === "modelDescribed");
    assert.equal(described.overview.layers.length, 35);
    assert.deepEqual(
      described.overview.model.inputs.map((i) => [i.name, i.dims]),
      [["input", [1, 3, 240, 320]]],
    );
    assert.ok(described.overview.layers.every((l) => l.gamma.length === l.channels && l.running.var.length === l.channels));
    assert.equal(described.overview.layers[0].activation.op, "Relu");
    assert.ok(!api.testHooks.toWebview(uri).some((m) => m.type === "runStarted"), "no run started");
    assert.deepEqual(loadedOnnxRuntime(), [], "describing happens in the inference process");
    // Measurements for the README, next to the runner's results file (test-results/extension-host/).
    const results = process.env.BN_LENS_TEST_RESULTS;
    if (results) {
      fs.writeFileSync(
        path.join(path.dirname(results), "timings.json"),
        JSON.stringify(
          {
            activationMs: api.timings().activationMs,
            openToDescribedMs: openMs,
            describeMs: state.describeMs,
          },
          null,
          1,
        ),
      );
    }
  });

  it("answers getLayer without a report with an error, and ignores malformed messages", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    await vscode.commands.executeCommand("vscode.openWith", uri, "bnLens.modelView");
    await api.testHooks.described(uri);
    assert.equal(api.testHooks.fromWebview(uri, { type: "getLayer", requestId: 7, kind: "bn", index: 0 }), true);
    const reply = await until(() => api.testHooks.toWebview(uri).find((m) => m.type === "replied"), 10_000, "the reply");
    assert.ok(reply.type === "replied");
    assert.equal(reply.requestId, 7);
    assert.equal(reply.result, null);
    assert.match(reply.error ?? "", /no report/);
    assert.equal(api.testHooks.fromWebview(uri, { type: "getLayer", requestId: -1, kind: "bn", index: 0 }), false);
    assert.equal(api.testHooks.fromWebview(uri, { type: "runInspection" }), false);
    assert.ok(api.logLines().some((l) => /Ignored a malformed message/.test(l)));
    assert.equal(api.viewState(uri).running, false, "a malformed runInspection must not start a run");
  });

  it("revealNode opens a read-only bnlens-node: document about the node", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    await vscode.commands.executeCommand("vscode.openWith", uri, "bnLens.modelView");
    await api.testHooks.described(uri);
    const bn = api.viewState(uri).sent.find((m) => m.type === "modelDescribed");
    assert.ok(bn?.type === "modelDescribed");
    const layer = bn.overview.layers[2];
    api.testHooks.fromWebview(uri, { type: "revealNode", node: layer.node });
    await waitUntil(() => vscode.workspace.textDocuments.some((d) => d.uri.scheme === "bnlens-node"), 10_000, "the node document");
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === "bnlens-node")!;
    const text = doc.getText();
    assert.match(text, new RegExp(`^${layer.node}  \\(BatchNormalization\\)`));
    assert.ok(text.includes(`X      ${layer.input}`) && text.includes(`Y      ${layer.output}`) && text.includes("epsilon"));
    assert.ok(text.includes(`before: ${layer.producer!.node} (Conv)`));
    assert.ok(text.includes("after:  Relu"));
    // Read-only: a virtual document with no file behind it.
    assert.notEqual(doc.uri.scheme, "file");
  });
});
