// Runs inside the extension host against test/fixtures/harness-extension. scripts/testHarness.mjs picks
// tests by the first word of their title (BN_LENS_TEST_GREP): "passes", "fails", "crashes", "hangs".
import * as assert from "node:assert/strict";
import * as vscode from "vscode";

const ID = "bn-lens-test.harness-extension";

interface HarnessApi {
  panelState(): { received: boolean; layers: number } | undefined;
}

async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("harness fixture", () => {
  it("passes: the fixture activates and registers its contributed command", async () => {
    const ext = vscode.extensions.getExtension<HarnessApi>(ID);
    assert.ok(ext, `${ID} is not loaded`);
    await ext.activate();
    const commands = await vscode.commands.getCommands(true);
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    for (const c of contributed) assert.ok(commands.includes(c), `${c} is not registered`);
  });

  it("passes: the extension host inherits the runner's environment", () => {
    assert.ok(process.env.BN_LENS_HARNESS_ID, "BN_LENS_HARNESS_ID is not set in the extension host");
    assert.ok(process.env.BN_LENS_TEST_RESULTS, "BN_LENS_TEST_RESULTS is not set in the extension host");
  });

  it("passes: the command opens a panel that answers", async () => {
    const result = await vscode.commands.executeCommand<{ rows: number }>("harness.openPanel");
    assert.equal(result?.rows, 3);
    const api = vscode.extensions.getExtension<HarnessApi>(ID)!.exports;
    const state = await until(() => (api.panelState()?.received ? api.panelState() : undefined), 30_000, "the panel's acknowledgement");
    assert.equal(state.layers, 3);
    const webviewTabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview);
    assert.equal(webviewTabs.length, 1);
  });

  it("fails: on purpose, so the runner must report this message and exit non-zero", () => {
    assert.equal(1 + 1, 3, "deliberate failure from the harness self-test");
  });

  it("crashes: on purpose, so the runner must see the extension host die before its timeout", () => {
    process.kill(process.pid, "SIGKILL");
  });

  it("hangs: on purpose, so the runner's timeout must end the run", async function () {
    this.timeout(0);
    await new Promise(() => {
      /* never settles */
    });
  });
});
