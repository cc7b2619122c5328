import * as assert from "node:assert/strict";
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

  it("does not load onnxruntime-node on the extension host thread", async () => {
    await activated();
    assert.deepEqual(loadedOnnxRuntime(), [], "inference belongs in a worker: the host thread must never require onnxruntime-node");
  });
});
