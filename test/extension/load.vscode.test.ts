// Load: a model with 10,000 BatchNormalization layers (built here, never committed) opened in the panel
// and inspected, with the extension host's longest event-loop stall measured over the whole round trip
// (the view opens, the inference process runs, the report comes back, is summarised, saved, sent and drawn).
// Minutes on a loaded machine: run by `npm test` (BN_LENS_LOAD_TESTS=1), skipped otherwise.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as vscode from "vscode";
import { bnChainModel } from "../helpers/loadModels";
import { type InspectionResult, activated, until } from "./bnLens";
import { reset, run, setSettings } from "./fixtures";

// The inference process keeps the report; the host keeps the compact one, which it takes in pages; rows and
// the model's stored layers reach the panel and findings the Problems panel in parts. About 0.13 s on a loaded
// 2-core machine (1.8 s before the host stopped assembling the whole report, 12 s before the report was held);
// README "Reliability and security" says so. The bound leaves a wide margin and keeps it from getting worse.
const STALL_LIMIT_MS = 3_000;

describe("Load: 10,000 BN layers in the panel", function () {
  this.timeout(1_200_000);
  let restoreSettings: () => Promise<void>;
  before(function () {
    if (!process.env.BN_LENS_LOAD_TESTS) this.skip();
  });
  after(async () => {
    await reset();
    await restoreSettings?.();
  });

  it("opens, runs and draws every layer; the extension host's longest stall stays under the bound", async () => {
    restoreSettings = await setSettings({ sampleLimit: 4 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-load-"));
    const file = path.join(dir, "deep-10000.onnx");
    fs.writeFileSync(file, bnChainModel(10_000, 4));
    const uri = vscode.Uri.file(file);
    const api = await activated();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const started = performance.now();
    delay.enable();
    const result = await run<InspectionResult | undefined>("bnLens.inspectModel", uri);
    assert.ok(result, "bnLens.inspectModel resolved to undefined");
    const state = await until(
      () => (api.panelState()?.received && api.panelState()?.model === file ? api.panelState() : undefined),
      600_000,
      "the view to acknowledge",
    );
    await api.whenIdle();
    delay.disable();
    const maxStallMs = delay.max / 1e6;
    console.log(
      `    (10,000 BN layers, 4 samples: ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
        `longest extension-host event-loop stall ${maxStallMs.toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms)`,
    );
    assert.equal(result.report.rows.length, 10_000);
    assert.equal(state.layers, 10_000);
    // The host keeps the compact report only: the 10,000 layers' per-channel arrays stay in the inference process.
    assert.equal(api.testHooks.perChannelLayersInHost(uri), 0);
    assert.ok(maxStallMs < STALL_LIMIT_MS, `the extension host stalled for ${maxStallMs.toFixed(0)} ms`);
  });
});

// 300 BN layers of 2,048 channels (a report of about 700 MB of JSON): the run takes minutes and ~10 GB in the
// inference process, so it runs only when asked (BN_LENS_LOAD_WIDE=1); README "Reliability and security"
// gives its figures. The host keeps the compact report; the layer detail is one slice of 2,048 channels.
describe("Load: 300 x 2,048 channels in the panel", function () {
  this.timeout(1_800_000);
  let restoreSettings: () => Promise<void>;
  before(function () {
    if (!process.env.BN_LENS_LOAD_WIDE) this.skip();
  });
  after(async () => {
    await reset();
    await restoreSettings?.();
  });

  it("opens, runs, draws every layer and opens a layer's detail; the host keeps no per-channel layer", async () => {
    restoreSettings = await setSettings({ sampleLimit: 2, batchSize: 2 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-wide-"));
    const file = path.join(dir, "wide-300x2048.onnx");
    fs.writeFileSync(file, bnChainModel(300, 2048));
    const uri = vscode.Uri.file(file);
    const api = await activated();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const started = performance.now();
    delay.enable();
    const result = await run<InspectionResult | undefined>("bnLens.inspectModel", uri);
    const resolved = performance.now();
    assert.ok(result, "bnLens.inspectModel resolved to undefined");
    const state = await until(
      () => (api.panelState()?.received && api.panelState()?.model === file ? api.panelState() : undefined),
      600_000,
      "the view to acknowledge",
    );
    const drawn = performance.now();
    await api.whenIdle();
    assert.equal(api.testHooks.perChannelLayersInHost(uri), 0);
    const runStallMs = delay.max / 1e6;
    delay.reset();
    const asked = performance.now();
    api.testHooks.fromWebview(uri, { type: "getLayer", requestId: 7, kind: "bn", index: 150 });
    const reply = await until(
      () => api.testHooks.toWebview(uri).find((m) => m.type === "replied" && m.requestId === 7),
      120_000,
      "the layer's detail",
    );
    const detailMs = performance.now() - asked;
    delay.disable();
    const detailStallMs = delay.max / 1e6;
    console.log(
      `    (300 x 2,048 channels, 2 samples: command resolved after ${((resolved - started) / 1000).toFixed(0)} s, overview drawn ` +
        `${((drawn - resolved) / 1000).toFixed(1)} s later (the view's first paint ${state.firstPaintMs?.toFixed(0)} ms); ` +
        `longest extension-host event-loop stall ${runStallMs.toFixed(0)} ms over the run and the drawing; ` +
        `layer 150's detail in ${detailMs.toFixed(0)} ms, longest stall meanwhile ${detailStallMs.toFixed(0)} ms)`,
    );
    assert.equal(state.layers, 300);
    assert.ok(reply.type === "replied" && reply.result?.kind === "bn");
    assert.equal(reply.result.layer.node, "bn150");
    assert.equal(reply.result.layer.pre.mean.length, 2048);
    const maxStallMs = Math.max(runStallMs, detailStallMs);
    assert.ok(maxStallMs < STALL_LIMIT_MS, `the extension host stalled for ${maxStallMs.toFixed(0)} ms`);
  });
});
