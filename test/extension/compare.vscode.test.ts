// Compare with Another Data Set...: the current report is A; B from a run on another data source (the same
// photos fed BGR) or from a saved report. The comparison reaches the panel and its findings the Problems panel.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { ComparisonReport } from "../../src/core/compare/comparisonReport";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS } from "../helpers/paths";
import { type InspectionResult, activated } from "./bnLens";
import { answerPrompts, modelCopy, pick, reset, run, setSettings } from "./fixtures";

describe("Compare with Another Data Set...", function () {
  this.timeout(180_000);
  afterEach(reset);

  it("runs B on the same photos in BGR order: the shift starts at the first BN layer, in the panel and the Problems panel", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const restore = await setSettings({ "image.preprocessing": "centered128" });
    try {
      answerPrompts(api, { quickPick: { dataSource: pick("A folder") }, openDialog: () => [vscode.Uri.file(FACE_IMAGES)] });
      const a = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", uri);
      assert.ok(a, JSON.stringify(api.notices().slice(-2)));
      const saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-a-")), "A.json");
      fs.writeFileSync(saved, JSON.stringify(await api.fullReport(a.heldId)));

      await setSettings({ "image.bgr": true });
      const { asked } = answerPrompts(api, {
        quickPick: { compareSource: pick("Run on another data set"), dataSource: pick("A folder") },
        openDialog: () => [vscode.Uri.file(FACE_IMAGES)],
      });
      const c = await run<ComparisonReport | undefined>("bnLens.compareWithData", uri);
      assert.ok(c, JSON.stringify(api.notices().slice(-2)));
      assert.deepEqual(asked, ["quickPick:compareSource", "quickPick:dataSource", "openDialog"]);
      assert.equal(c.shiftStart?.node, "BatchNormalization_1");
      assert.match(c.b.data.description, /BGR/);
      const sent = api.testHooks.toWebview(uri).filter((m) => m.type === "comparisonFinished");
      assert.equal(sent.length, 1);
      const diags = vscode.languages.getDiagnostics(uri);
      const shift = diags.filter((d) => d.code === "domain-shift");
      assert.ok(shift.length >= 1);
      assert.match(
        shift[0].message,
        /^BatchNormalization_1, channel \d+ \(compared with another data set\): The pre-BN distribution shifted/,
      );
      // The inspection's own findings (of B, now the current report) stay.
      assert.ok(diags.length > shift.length);

      // B (current) against the saved A: the same drift, mirrored.
      answerPrompts(api, { quickPick: { compareSource: pick("Pick a saved report") }, openDialog: () => [vscode.Uri.file(saved)] });
      const back = await run<ComparisonReport | undefined>("bnLens.compareWithData", uri);
      assert.ok(back);
      assert.equal(back.b.reportPath, saved);
      assert.equal(back.shiftStart?.node, "BatchNormalization_1");
      for (let c0 = 0; c0 < back.layers[0].channels; c0++)
        assert.ok(Math.abs(back.layers[0].pre.js[c0]! - c.layers[0].pre.js[c0]!) < 1e-12, "JS distance is symmetric");
    } finally {
      await restore();
    }
  });

  it("refuses a report of another model in one sentence, and asks for a baseline when there is none", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    answerPrompts(api, {});
    assert.equal(await run("bnLens.compareWithData", uri), undefined);
    assert.match(
      api.notices().at(-1)!.message,
      /^Inspect version-RFB-320\.onnx first: BN Lens compares another data set with the model's current report/,
    );

    const other = modelCopy(path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval", "model.onnx"));
    answerPrompts(api, {
      quickPick: { dataSource: pick("A folder") },
      openDialog: () => [vscode.Uri.file(path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval", "test_data_set_0"))],
    });
    const r = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", other);
    assert.ok(r, JSON.stringify(api.notices().slice(-2)));
    const otherFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-o-")), "other.json");
    fs.writeFileSync(otherFile, JSON.stringify(await api.fullReport(r.heldId)));
    await run("bnLens.inspectModel", uri);
    answerPrompts(api, { quickPick: { compareSource: pick("Pick a saved report") }, openDialog: () => [vscode.Uri.file(otherFile)] });
    assert.equal(await run("bnLens.compareWithData", uri), undefined);
    assert.match(api.notices().at(-1)!.message, /^The current report and other\.json are reports of different models/);
  });
});
