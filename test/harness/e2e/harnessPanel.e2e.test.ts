// Proves scripts/runE2E.mjs with test/fixtures/harness-extension: titles start with "passes" or "fails"
// so scripts/testHarness.mjs can pick them with --grep.
import * as assert from "node:assert/strict";
import { e2e } from "../../e2e/context";
import { answerFilePrompt, openFile, runCommand, tabTitles, waitFor, webviewFrame } from "../../e2e/workbench";

describe("harness fixture in the browser", function () {
  this.timeout(120_000); // the palette may need retries while the extension host starts on a busy machine

  it("passes: runs its command from the palette and shows the panel's three rows", async () => {
    const { page, screenshot } = e2e();
    await runCommand(page, "Harness Fixture: Open Panel");
    const frame = await webviewFrame(page, '[data-testid="overview"]', 30_000);
    assert.equal(await frame.locator('[data-testid="overview"] [data-testid="layer-row"]').count(), 3);
    assert.match(await frame.locator("h1").innerText(), /Harness panel ready/);
    const tabs = await tabTitles(page);
    assert.ok(tabs.includes("Harness Panel") && !tabs.includes("Decoy Panel"), `tabs: ${tabs.join(", ")}`);
    await screenshot("harness-panel");
  });

  it("passes: opens the model in the workspace through Quick Open", async () => {
    const { page, modelPath } = e2e();
    assert.ok(modelPath, "the runner put no model in the workspace");
    await openFile(page, "version-RFB-320.onnx");
    await waitFor(async () => (await tabTitles(page)).includes("version-RFB-320.onnx"), 15_000, "the model's tab");
  });

  it("passes: answers a command's open dialog with the model's path", async () => {
    const { page, modelPath, screenshot } = e2e();
    await runCommand(page, "Harness Fixture: Pick Model");
    const frame = await waitFor(
      async () => {
        for (const f of page.frames()) if (f !== page.mainFrame() && (await f.locator('[data-testid="picked"]').count()) > 0) return f;
        await answerFilePrompt(page, modelPath!);
        return undefined;
      },
      30_000,
      "the picked model's panel",
    );
    assert.equal(await frame.locator('[data-testid="picked"]').innerText(), "version-RFB-320.onnx");
    await screenshot("harness-picked");
  });

  it("fails: on purpose, looking for a row the panel does not have", async () => {
    const { page } = e2e();
    const frame = await webviewFrame(page, '[data-testid="overview"]', 10_000);
    await frame.locator('[data-testid="no-such-row"]').waitFor({ timeout: 2_000 });
  });
});
