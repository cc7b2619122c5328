// The paths where a new user got lost, walked in real VS Code (code-server, headless Chromium, 1440x900 and
// 1000x800, the default light theme, then Dark Modern): Re-run after a run on photos, a Problems entry that opens its layer, a narrow
// editor, Export, a fused-BN model, the shape question of a model with symbolic dims, a model that cannot
// be read. Each state keeps a screenshot under test-results/e2e/, named after it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fusedModelBytes } from "../helpers/fusedModel";
import { PADDLE_CLS } from "../helpers/paths";
import { e2e } from "./context";
import { chooseFolder, openFile, panel, quickPick, runCommand, shown, waitFor } from "./workbench";

const PADDLE_DET = path.join(path.dirname(PADDLE_CLS), "ch_PP-OCRv4_det_infer.onnx");

describe("BN Lens where a new user got lost (browser)", function () {
  this.timeout(600_000);
  const states: { file: string; state: string }[] = [];

  async function shot(state: string, file: string): Promise<void> {
    states.push({ file, state });
    await e2e().screenshot(`ux-${state}`);
  }

  it("after a run on the photos, Re-run is the panel's primary action and repeats it in one click", async () => {
    const { page, photosDir } = e2e();
    assert.ok(photosDir, "the face photos are not in the workspace");
    await openFile(page, "version-RFB-320.onnx");
    await runCommand(page, "BN Lens: Inspect Model with Data...");
    await quickPick(page, "A folder");
    await chooseFolder(page, photosDir);
    const f = await panel(
      page,
      async (t, fr) => /16 images/.test(t) && (await shown(fr, "rerun")),
      "the overview of the run on the photos",
    );
    const label = await f.getByTestId("rerun").innerText();
    assert.match(label, /^Re-run on 16 images in photos/);
    await f.getByTestId("rerun").click();
    await panel(page, async (_t, fr) => await shown(fr, "running"), "the re-run", 60_000).catch(() => undefined);
    await panel(
      page,
      async (t, fr) => /16 images/.test(t) && (await shown(fr, "layer-list")) && !(await shown(fr, "running")),
      "the re-run's overview",
    );
    await shot("rerun", "version-RFB-320.onnx");
  });

  it("a Problems entry's rule id opens the BN Lens view at that layer's detail", async () => {
    const { page } = e2e();
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+Shift+M");
    const link = page.locator(".markers-panel .monaco-list-row .code-link a, .markers-panel .monaco-list-row a.monaco-link").first();
    await link.waitFor({ state: "visible", timeout: 30_000 });
    const row = link.locator("xpath=ancestor::div[@role='treeitem'][1]");
    const rowText = await row.innerText();
    const node = /(BatchNormalization_\d+)/.exec(rowText)?.[1];
    assert.ok(node, `a Problems entry names its layer: ${rowText}`);
    await link.click();
    const f = await panel(
      page,
      async (t, fr) => (await shown(fr, "layer-detail")) && new RegExp(`${node}\\b`).test(t) && /Values before and after BN/.test(t),
      `the detail of ${node}`,
      60_000,
    );
    assert.equal((await f.locator("#detail-title").innerText()).trim(), node);
    await shot("problems-entry", "version-RFB-320.onnx");
    await f.getByTestId("back").click();
  });

  it("in a 1000 px window the layer name and the findings stay in view", async () => {
    const { page } = e2e();
    // The Problems panel of the test before would take half the height.
    if (await page.locator(".part.panel").isVisible()) await runCommand(page, "View: Toggle Panel Visibility");
    await page.setViewportSize({ width: 1000, height: 800 });
    try {
      await openFile(page, "version-RFB-320.onnx");
      await page.mouse.move(600, 700);
      const f = await panel(page, async (_t, fr) => await shown(fr, "layer-list"), "the overview");
      await page.waitForTimeout(1000);
      const overflow = await f.getByTestId("layer-list").evaluate((el) => el.scrollWidth - el.clientWidth);
      assert.ok(overflow <= 1, `no sideways scroll (${overflow} px)`);
      assert.ok(await f.locator('[data-testid="layer-row"] .c-find').first().isVisible());
      await shot("narrow", "version-RFB-320.onnx");
      // Folding the summary gives the table the height.
      await f.getByTestId("summary").click();
      await page.waitForTimeout(300);
      await shot("narrow-folded", "version-RFB-320.onnx");
      await f.getByTestId("summary").click();
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it("Export report starts in the model's folder", async () => {
    const { page, modelPath } = e2e();
    await openFile(page, "version-RFB-320.onnx");
    const f = await panel(page, async (_t, fr) => await shown(fr, "export"), "the export button");
    await f.getByTestId("export").click();
    const input = page.locator(".quick-input-widget input.input").first();
    await input.waitFor({ state: "visible", timeout: 30_000 });
    // The dialog fills its path in a moment after it opens.
    const value = await waitFor(
      async () => {
        const v = await input.inputValue();
        return v.endsWith(".json") ? v : undefined;
      },
      15_000,
      "the save dialog's path",
    );
    assert.equal(value, path.join(path.dirname(modelPath!), "version-RFB-320.bn-lens.json"));
    await shot("export", "version-RFB-320.onnx");
    await page.keyboard.press("Escape");
  });

  it("a model whose BN was fused away speaks of activation statistics only", async () => {
    const { page, workspaceDir } = e2e();
    fs.writeFileSync(path.join(workspaceDir, "fused.onnx"), fusedModelBytes());
    await openFile(page, "fused.onnx");
    await runCommand(page, "BN Lens: Inspect Model");
    const f = await panel(page, async (t, fr) => /BN fused away/.test(t) && (await shown(fr, "layer-list")), "the fused model's overview");
    const text = await f.getByTestId("overview").innerText();
    assert.doesNotMatch(text, /entering BN|Before → after BN|Worst \|z\|/);
    assert.match(text, /Dead channels\?\s*▲\s*4 channels in 2 layers/);
    await shot("fused", "fused.onnx");
  });

  it("the shape question is one sentence naming each open dim; the panel waits without a running card", async () => {
    const { page, workspaceDir } = e2e();
    fs.copyFileSync(PADDLE_DET, path.join(workspaceDir, "ocr-det.onnx"));
    await openFile(page, "ocr-det.onnx");
    await runCommand(page, "BN Lens: Inspect Model");
    const box = page.locator(".quick-input-widget");
    await waitFor(async () => /p2o\.DynamicDimension\.1 \(dim 2\)/.test(await box.innerText()), 120_000, "the shape question");
    const f = await panel(page, async (_t, fr) => await shown(fr, "shape-question"), "the panel's shape question", 30_000);
    assert.equal(await f.getByTestId("running").count(), 0);
    await shot("shape-question", "ocr-det.onnx");
    const input = box.locator("input.input").first();
    await input.fill("x:Nx3x64x96");
    await page.keyboard.press("Enter");
    const done = await panel(page, async (_t, fr) => await shown(fr, "layer-list"), "the OCR detector's overview");
    assert.match(await done.getByTestId("subtitle").innerText(), /x N × 3 × 64 × 96/);
  });

  it("a model that cannot be read keeps its name and its advice, and offers nothing that cannot work", async () => {
    const { page, workspaceDir, modelPath } = e2e();
    fs.writeFileSync(path.join(workspaceDir, "truncated.onnx"), fs.readFileSync(modelPath!).subarray(0, 4096));
    await openFile(page, "truncated.onnx");
    const f = await panel(page, async (_t, fr) => await shown(fr, "error"), "the unreadable model's message");
    const before = await f.getByTestId("error-message").innerText();
    await runCommand(page, "BN Lens: Inspect Model");
    await page.waitForTimeout(3000);
    assert.equal((await f.getByTestId("title").innerText()).replace(/\s+/g, " ").trim(), "BN Lens truncated.onnx");
    assert.equal(await f.getByTestId("error-message").innerText(), before);
    assert.equal(await f.locator("vscode-button").count(), 0);
    await shot("unreadable", "truncated.onnx");
  });

  it("the same states in the dark theme", async () => {
    const { page } = e2e();
    await runCommand(page, "Preferences: Color Theme");
    await quickPick(page, "Dark Modern");
    await page.keyboard.press("Enter").catch(() => undefined);
    await page.waitForTimeout(1500);
    for (const { file, state } of states) {
      if (state === "export" || state === "shape-question" || state === "narrow-folded") continue; // dialogs closed, summary unfolded
      if (state === "narrow") await page.setViewportSize({ width: 1000, height: 800 });
      await openFile(page, file);
      await page.waitForTimeout(1500);
      await e2e().screenshot(`ux-${state}-dark`);
      if (state === "narrow") await page.setViewportSize({ width: 1440, height: 900 });
    }
  });
});
