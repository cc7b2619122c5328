// Inspect Model with Data...: images with preprocessing asked or taken from settings, ONNX test data,
// choices remembered per model for Re-run, and symbolic dims asked for and retried.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as vscode from "vscode";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS, PADDLE_CLS } from "../helpers/paths";
import { type InspectionResult, activated } from "./bnLens";
import { answerPrompts, modelCopy, pick, reset, run, setSettings } from "./fixtures";

describe("Inspect Model with Data...", function () {
  this.timeout(120_000);
  afterEach(reset);

  it("runs the face detector on the photo folder with (p − 127) / 128, and Re-run reuses both without asking", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const { asked } = answerPrompts(api, {
      quickPick: { dataSource: pick("A folder"), preprocessing: pick("(p − 127) / 128") },
      openDialog: (o) => (o.canSelectFolders ? [vscode.Uri.file(FACE_IMAGES)] : undefined),
    });
    const result = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", uri);
    assert.ok(result, `nothing ran; notices: ${JSON.stringify(api.notices().slice(-2))}`);
    assert.deepEqual(asked, ["quickPick:dataSource", "openDialog", "quickPick:preprocessing"]);
    assert.equal(result.report.samples, 16);
    assert.equal(result.report.data.kind, "images");
    assert.match(result.report.data.description, /\(p - 127\) \/ 128/);
    assert.deepEqual(result.report.data.sources, [FACE_IMAGES]);

    const quiet = answerPrompts(api, {});
    const again = await run<InspectionResult | undefined>("bnLens.rerun", uri);
    assert.ok(again);
    assert.deepEqual(quiet.asked, []);
    assert.deepEqual(again.report.data.sources, [FACE_IMAGES]);
    assert.match(again.report.data.description, /\(p - 127\) \/ 128/);

    // The next "with Data..." offers the folder again as "last used".
    let offered: string[] = [];
    answerPrompts(api, {
      quickPick: {
        dataSource: (items) => {
          offered = items.map((i) => i.description ?? "");
          return undefined;
        },
      },
    });
    assert.equal(await run("bnLens.inspectModelWithData", uri), undefined, "dismissing the question runs nothing");
    assert.equal(offered[0], "last used");
  });

  it("takes image preprocessing from bnLens.image.* instead of asking", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const restore = await setSettings({ "image.preprocessing": "imagenet", "image.bgr": true, sampleLimit: 4 });
    try {
      const { asked } = answerPrompts(api, {
        quickPick: { dataSource: pick("A folder") },
        openDialog: () => [vscode.Uri.file(FACE_IMAGES)],
      });
      const result = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", uri);
      assert.ok(result);
      assert.deepEqual(asked, ["quickPick:dataSource", "openDialog"]);
      assert.equal(result.report.samples, 4, "bnLens.sampleLimit caps the data");
      assert.match(result.report.data.description, /BGR/);
      assert.match(result.report.data.description, /123\.675/);
    } finally {
      await restore();
    }
  });

  it("reads an ONNX test_data_set folder without asking about preprocessing", async () => {
    const api = await activated();
    const dir = path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval");
    const uri = vscode.Uri.file(path.join(dir, "model.onnx"));
    await api.testHooks.forget(uri);
    answerPrompts(api, {
      quickPick: { dataSource: pick("A folder") },
      openDialog: () => [vscode.Uri.file(path.join(dir, "test_data_set_0"))],
    });
    const result = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", uri);
    assert.ok(result, JSON.stringify(api.notices().slice(-1)));
    assert.equal(result.report.rows.length, 1);
    assert.equal(result.report.samples, 2);
    await api.testHooks.forget(uri);
  });

  it("asks for symbolic dims pre-filled from the engine's message, retries, and remembers the answer", async () => {
    const api = await activated();
    const uri = modelCopy(PADDLE_CLS);
    const restore = await setSettings({ sampleLimit: 2, batchSize: 2 });
    try {
      let prefilled: string | undefined;
      let prompt: string | undefined;
      const { asked } = answerPrompts(api, {
        inputBox: {
          inputShape: (o) => {
            prefilled = o.value;
            prompt = o.prompt;
            assert.equal(typeof o.validateInput, "function");
            return "x:Nx3x48x192";
          },
        },
      });
      const result = await run<InspectionResult | undefined>("bnLens.inspectModel", uri);
      assert.ok(result, JSON.stringify(api.notices().slice(-1)));
      assert.deepEqual(asked, ["inputBox:inputShape"]);
      // Each open dim by its real name, in one sentence that says what to type.
      assert.equal(prefilled, "x:Nx3x<p2o.DynamicDimension.1>x<p2o.DynamicDimension.2>");
      assert.match(
        prompt ?? "",
        /^Input "x" is declared .* the data does not fix p2o\.DynamicDimension\.1 \(dim 2\) and p2o\.DynamicDimension\.2 \(dim 3\): type its shape/,
      );
      // The panel showed the question while the box was open.
      assert.ok(api.testHooks.toWebview(uri).some((m) => m.type === "shapeAsked"));
      assert.deepEqual(result.report.model.inputs[0].fed, [3, 48, 192]);
      assert.equal(result.report.rows.length, 35);

      const quiet = answerPrompts(api, {});
      assert.ok(await run<InspectionResult | undefined>("bnLens.inspectModel", uri), "the remembered shape was not reused");
      assert.deepEqual(quiet.asked, []);
    } finally {
      await restore();
    }
  });

  it("a dismissed shape question ends with the engine's sentence in a notification and the view", async () => {
    const api = await activated();
    const uri = modelCopy(PADDLE_CLS);
    answerPrompts(api, { inputBox: { inputShape: () => undefined } });
    assert.equal(await run("bnLens.inspectModel", uri), undefined);
    const notice = api.notices().at(-1);
    assert.equal(notice?.severity, "error");
    assert.match(notice?.message ?? "", /symbolic dims/);
    const failed = api.testHooks.toWebview(uri).find((m) => m.type === "runFailed");
    assert.ok(failed?.type === "runFailed");
    assert.equal(failed.kind, "data");
  });
});
