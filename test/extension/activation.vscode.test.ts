import * as assert from "node:assert/strict";
import { exportsFor } from "../../src/extension/exports";
import { EXTENSION_ID, activated, bnLens, loadedOnnxRuntime } from "./bnLens";

describe("activation", () => {
  it(`${EXTENSION_ID} is loaded and activates`, async () => {
    await activated();
    assert.equal(bnLens().isActive, true);
  });

  it("exports the test API (lastReport, panelState)", async () => {
    const api = await activated();
    assert.equal(typeof api.lastReport, "function");
    assert.equal(typeof api.panelState, "function");
  });

  it("exports test hooks in test mode only; the normal-mode exports hold none and cannot reach the trust check", async () => {
    const api = await activated();
    // This host runs BN Lens in test mode (extensionTestsPath), so the hooks are there...
    assert.equal(typeof api.testHooks.fromWebview, "function");
    assert.equal(api.testHooks.trusted, undefined);
    // ...and the same API, as a normal activation would export it, holds only the read-only results.
    const normal = exportsFor(false, api) as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(normal), ["lastReport"]);
    assert.ok(Object.isFrozen(normal));
    assert.throws(() => ((normal as { testHooks?: unknown }).testHooks = { trusted: () => true }), TypeError);
    assert.equal(api.testHooks.trusted, undefined, "the trust override is still unset");
    assert.deepEqual(await (normal.lastReport as () => Promise<unknown>)(), await api.lastReport());
  });

  it("does not load onnxruntime-node on the extension host thread", async () => {
    await activated();
    assert.deepEqual(loadedOnnxRuntime(), [], "inference belongs in a worker: the host thread must never require onnxruntime-node");
  });
});
