// BN Lens as a person uses it: open the model, run "BN Lens: Inspect Model" from the command palette,
// wait for the panel, check its overview, keep screenshots in test-results/e2e/.
import * as assert from "node:assert/strict";
import { e2e } from "./context";
import { answerFilePrompt, chooseFolder, distinctRows, openFile, quickPick, runCommand, waitFor, webviewFrame } from "./workbench";

const BN_LAYERS = 35; // BatchNormalization nodes in version-RFB-320.onnx

describe("BN Lens in the browser", function () {
  this.timeout(240_000);

  it(`inspects the face detector from the command palette and lists its ${BN_LAYERS} BN layers`, async () => {
    const { page, modelPath, screenshot } = e2e();
    assert.ok(modelPath, "the face detector is not in the workspace (../shared/models/face-detector-rfb-320 missing?)");
    await openFile(page, "version-RFB-320.onnx");
    await screenshot("inspect-01-model-open");
    await runCommand(page, "BN Lens: Inspect Model");
    // The command may ask which model to inspect; answer with the one in the workspace.
    const overviewSelector = '[data-testid="overview"]';
    const frame = await waitFor(
      async () => {
        for (const f of page.frames()) if (f !== page.mainFrame() && (await f.locator(overviewSelector).count()) > 0) return f;
        await answerFilePrompt(page, modelPath);
        return undefined;
      },
      180_000,
      "the BN Lens panel's overview",
    );
    // The overview is a virtual list: count the rows by scrolling through it, as a reader would.
    const rows = `${overviewSelector} [data-testid="layer-row"]`;
    let count = 0;
    await waitFor(
      async () => (count = await distinctRows(frame, rows)) >= BN_LAYERS,
      120_000,
      `${BN_LAYERS} layer rows in the overview`,
    ).catch(async (err) => {
      await screenshot("inspect-02-overview-incomplete");
      throw new Error(`${err.message} (saw ${count})`);
    });
    assert.equal(count, BN_LAYERS);
    // Random inputs are no evidence about statistics: the overview says so instead of answering "stale?".
    const statement = await frame.locator('[data-testid="random-data"]').innerText({ timeout: 10_000 });
    assert.match(statement, /Not judged: this run used random inputs/);
    await screenshot("inspect-02-overview");
    // The same frame is what later checks (charts, warnings) will look into.
    assert.ok(await webviewFrame(page, overviewSelector, 5_000));
  });

  it("runs the face detector on its photos, then opens one layer's detail", async () => {
    const { page, photosDir, screenshot } = e2e();
    assert.ok(photosDir, "the face photos are not in the workspace (../shared/data/face-images missing?)");
    await openFile(page, "version-RFB-320.onnx");
    await runCommand(page, "BN Lens: Inspect Model with Data...");
    // Which data: a folder; then the folder itself in VS Code's own (browser) file dialog.
    await quickPick(page, "A folder");
    await chooseFolder(page, photosDir);
    const header = '[data-testid="overview"]';
    const frame = await waitFor(
      async () => {
        for (const f of page.frames()) {
          if (f === page.mainFrame()) continue;
          const text = await f
            .locator("body")
            .innerText()
            .catch(() => "");
          if (/16 images/.test(text) && (await f.locator(header).count()) > 0) return f;
        }
        return undefined;
      },
      180_000,
      "the overview of the run on the 16 photos",
    );
    await screenshot("inspect-03-photos-overview");
    await frame.locator('[data-testid="layer-row"]').first().click();
    // The detail view draws once the layer's per-channel data arrives from the host (a getLayer round trip).
    const detail = await waitFor(
      async () => {
        const text = await frame
          .locator('[data-testid="layer-detail"]')
          .innerText({ timeout: 1000 })
          .catch(() => "");
        return /Values before and after BN/.test(text) ? text : undefined;
      },
      30_000,
      "the layer's detail",
    );
    assert.match(detail, /BatchNormalization_1/);
    // Confidence intervals with the effective sample size (16 photos), and the batch-size chart.
    assert.match(detail, /95% CI .* Effective sample size 16/s);
    assert.match(detail, /expected [\d.]+% from γ and β/);
    await screenshot("inspect-04-layer-detail");
    const chart = frame.locator('[data-testid="batch-chart"]');
    await chart.scrollIntoViewIfNeeded({ timeout: 10_000 });
    assert.match(await chart.innerText(), /Batch size and BN/);
    assert.equal(await chart.locator("polyline").count(), 2, "d and r curves");
    await screenshot("inspect-05-batch-chart");
    // The per-channel z and variance ratio with their intervals as error bars, the thresholds marked.
    const zTitle = frame.locator(".channel-charts .chart-title").first();
    await zTitle.scrollIntoViewIfNeeded({ timeout: 10_000 });
    assert.match(
      await zTitle.innerText(),
      /^Mean shift z per channel with its 95% interval; dashed lines at ±1 \(stale\); \d+ crossed with confidence, \d+ undecided$/,
    );
    assert.match(await frame.getByTestId("interval-legend").innerText(), /crossed with confidence .*undecided .*within/s);
    await screenshot("inspect-06-error-bars");
  });
});
