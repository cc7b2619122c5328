// Inspect Model end to end on the face detector: report, Problems panel, status bar, log, export,
// paged layer detail, re-run, and the report restored after a reload.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as vscode from "vscode";
import { countFindings, reportFindings, statusText } from "../../src/extension/findings";
import { reportJson } from "../../src/core/inspect/reportJson";
import type { Report } from "../../src/core/report";
import { FACE_DETECTOR } from "../helpers/paths";
import { type InspectionResult, activated, until } from "./bnLens";
import { answerPrompts, modelCopy, reset, run, setSettings } from "./fixtures";

const SEVERITY = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

describe("Inspect Model: results where VS Code users look", function () {
  this.timeout(120_000);
  const uri = modelCopy(FACE_DETECTOR);
  let report: Report;
  let restoreSettings: () => Promise<void>;
  let maxStallMs = 0;

  before(async () => {
    restoreSettings = await setSettings({ sampleLimit: 8 });
    // The extension host's event loop while BN Lens inspects (the view opens, the worker runs, the report
    // comes back, is summarised, saved and drawn).
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const result = await run<InspectionResult | undefined>("bnLens.inspectModel", uri);
    delay.disable();
    maxStallMs = delay.max / 1e6;
    assert.ok(result, "bnLens.inspectModel resolved to undefined");
    // The command resolves to the compact report; the whole one stays in the inference process until asked for.
    report = await (await activated()).fullReport(result.heldId);
  });

  it("keeps the extension host responsive while it runs", () => {
    console.log(`    (longest event-loop stall during the run: ${maxStallMs.toFixed(0)} ms)`);
    const results = process.env.BN_LENS_TEST_RESULTS;
    if (results) fs.writeFileSync(path.join(path.dirname(results), "stall.json"), JSON.stringify({ maxStallMs }));
    assert.ok(maxStallMs < 300, `the extension host stalled for ${maxStallMs.toFixed(0)} ms`);
  });
  after(async () => {
    await reset();
    await restoreSettings();
  });

  it("runs random data by default and reports the 35 BN layers; the view acknowledges the overview", async () => {
    const api = await activated();
    assert.equal(report.layers.length, 35);
    assert.equal(report.samples, 8);
    assert.equal(report.data.kind, "random");
    assert.equal(report.data.synthetic, true);
    const state = await until(
      () => (api.panelState()?.received && api.panelState()?.model === uri.fsPath ? api.panelState() : undefined),
      30_000,
      "the view to acknowledge",
    );
    assert.equal(state.layers, 35);
    assert.equal(state.restored, false);
    // The host keeps the compact report and the held id; no layer's per-channel arrays live on its side.
    assert.equal(api.testHooks.perChannelLayersInHost(uri), 0);
    assert.equal(api.viewState(uri).heldId !== undefined, true);
  });

  it("puts one diagnostic per finding on the .onnx file, naming layer and channel", () => {
    const diags = vscode.languages.getDiagnostics(uri);
    // Random inputs: one plain statement in the Problems panel, no stale-statistics findings.
    const codes = diags.map((d) => d.code);
    assert.equal(codes.filter((c) => c === "random-data").length, 1);
    assert.match(diags.find((d) => d.code === "random-data")!.message, /random inputs/);
    for (const rule of ["mean-shift", "variance-ratio", "saturation", "rectifier-off"]) assert.ok(!codes.includes(rule), rule);
    const findings = reportFindings(report);
    assert.ok(findings.length > 0, "the face detector on random data has findings");
    assert.equal(diags.length, findings.length);
    for (const [i, d] of diags.entries()) {
      const f = findings[i];
      assert.equal(d.source, "BN Lens");
      // The rule id links to the layer's detail (a bnLens.showLayer command URI); model-level findings have a plain code.
      const code = d.code as string | { value: string; target: vscode.Uri };
      if (f.layer) {
        assert.ok(typeof code === "object", `the code of ${f.rule} on ${f.layer} is a link`);
        assert.equal(code.value, f.rule);
        assert.equal(code.target.scheme, "command");
        assert.equal(code.target.path, "bnLens.showLayer");
        const [model, kind, index] = JSON.parse(decodeURIComponent(code.target.query)) as [string, string, number];
        assert.equal(model, uri.toString());
        const layer = report.layers.find((l) => l.node === f.layer) ?? report.activations.find((l) => l.node === f.layer);
        assert.equal(index, layer!.index);
        assert.equal(kind, report.layers.some((l) => l.node === f.layer) ? "bn" : "activation");
        assert.equal(d.relatedInformation?.[0].location.uri.scheme, "bnlens-node");
      } else assert.equal(code, f.rule);
      assert.equal(d.severity, SEVERITY[f.severity]);
      if (f.layer) assert.ok(d.message.startsWith(f.layer), `"${d.message}" does not name layer ${f.layer}`);
      if (f.channel !== undefined)
        assert.ok(d.message.includes(`channel ${f.channel}`), `"${d.message}" does not name channel ${f.channel}`);
    }
  });

  it("summarises the run in the status bar", async () => {
    const api = await activated();
    const bar = api.statusBar();
    assert.equal(bar.visible, true);
    assert.equal(bar.text, statusText(countFindings(reportFindings(report))));
    assert.match(bar.text, /^BN Lens: (\d+ ✗ ?)?(\d+ ⚠)?(✓)?$/);
    assert.match(bar.tooltip, /version-RFB-320\.onnx, 8 samples/);
  });

  it("logs what was run and how long it took", async () => {
    const lines = (await activated()).logLines();
    assert.ok(lines.some((l) => l.includes(`Inspecting ${uri.fsPath}`)));
    assert.ok(
      lines.some((l) => /data: random normal data, 8 samples; batch 8, seed 0/.test(l)),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => /options: .*"batchSize":8/.test(l)));
    assert.ok(lines.some((l) => /Finished version-RFB-320\.onnx in \d+\.\d s .*35 layers, 8 samples/.test(l)));
  });

  it("answers getLayer with the full per-channel layer from the last report", async () => {
    const api = await activated();
    api.testHooks.fromWebview(uri, { type: "getLayer", requestId: 41, kind: "bn", index: 3 });
    // Answered by the inference process, which holds the report: the reply comes a round trip later.
    const reply = await until(
      () =>
        api.testHooks
          .toWebview(uri)
          .reverse()
          .find((m) => m.type === "replied" && m.requestId === 41),
      30_000,
      "the layer's reply",
    );
    assert.ok(reply?.type === "replied" && reply.result?.kind === "bn");
    // The slice the inference process hands out is that layer of the whole report, value for value.
    assert.equal(reply.result.layer.node, report.layers[3].node);
    assert.equal(reply.result.layer.pre.mean.length, report.layers[3].channels);
    assert.deepEqual(reply.result.layer, report.layers[3]);
    const runFinished = api.testHooks.toWebview(uri).find((m) => m.type === "runFinished");
    assert.ok(runFinished?.type === "runFinished");
    assert.ok(
      !("pre" in runFinished.report.rows[0] && "perChannel" in (runFinished.report.rows[0].pre ?? {})),
      "the overview carries no per-channel arrays",
    );
  });

  it("Export Report (JSON) writes the report where the save dialog says, which starts in the model's folder", async () => {
    const api = await activated();
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-export-")), "chosen.json");
    let suggested: vscode.Uri | undefined;
    answerPrompts(api, {
      saveDialog: (o) => {
        suggested = o.defaultUri;
        return vscode.Uri.file(target);
      },
    });
    const written = await run<vscode.Uri | undefined>("bnLens.exportReport", uri);
    assert.equal(written?.fsPath, target);
    // The inference process writes the file: the text `bn-lens inspect --json` writes for this report
    // (reportJson), compared with the copy brought over to the host page by page.
    assert.equal(fs.readFileSync(target, "utf8"), reportJson(report));
    const saved = JSON.parse(fs.readFileSync(target, "utf8")) as Report;
    assert.equal(saved.layers.length, 35);
    assert.ok(suggested, "no default location was suggested");
    // Only a suggestion: nothing is written until the user accepts the dialog.
    assert.equal(path.dirname(suggested.fsPath), path.dirname(uri.fsPath));
    assert.match(path.basename(suggested.fsPath), /^version-RFB-320\.bn-lens\.json$/);
  });

  it("Export Report over an existing file replaces it atomically: a temporary file in the same folder, then a rename", async () => {
    const api = await activated();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-export-"));
    const target = path.join(dir, "old.json");
    fs.writeFileSync(target, "the old report\n");
    // A hard link sees writes made in place; a rename gives the name a new file and leaves the link's data.
    const link = path.join(dir, "link-to-old.json");
    fs.linkSync(target, link);
    answerPrompts(api, { saveDialog: () => vscode.Uri.file(target) });
    const written = await run<vscode.Uri | undefined>("bnLens.exportReport", uri);
    assert.equal(written?.fsPath, target);
    assert.equal(fs.readFileSync(link, "utf8"), "the old report\n");
    assert.equal((JSON.parse(fs.readFileSync(target, "utf8")) as Report).model.sha256, report.model.sha256);
    assert.notEqual(fs.statSync(target).ino, fs.statSync(link).ino);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["link-to-old.json", "old.json"], "no temporary file is left");
  });

  it("Export Report as HTML: choosing a .html file writes the standalone page with the report embedded", async () => {
    const api = await activated();
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-export-")), "chosen.html");
    let filters: Record<string, string[]> | undefined;
    answerPrompts(api, {
      saveDialog: (o) => {
        filters = o.filters;
        return vscode.Uri.file(target);
      },
    });
    const written = await run<vscode.Uri | undefined>("bnLens.exportReport", uri);
    assert.equal(written?.fsPath, target);
    assert.deepEqual(Object.values(filters ?? {}), [["json"], ["html", "htm"]]);
    const html = fs.readFileSync(target, "utf8");
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<h1>BN Lens report: version-RFB-320\.onnx<\/h1>/);
    const data = /id="bn-lens-report">([^<]+)<\/script>/.exec(html)?.[1] ?? "";
    const embedded = JSON.parse(zlib.gunzipSync(Buffer.from(data, "base64")).toString("utf8")) as Report;
    assert.equal(embedded.model.sha256, report.model.sha256);
    assert.equal(embedded.layers.length, 35);
    assert.deepEqual(embedded, report, "the page embeds the whole held report");
  });

  it("the view's exportReport message goes through the same save dialog; cancelling it writes nothing", async () => {
    const api = await activated();
    const { asked } = answerPrompts(api, { saveDialog: () => undefined });
    api.testHooks.fromWebview(uri, { type: "exportReport" });
    await until(() => (asked.includes("saveDialog") ? true : undefined), 10_000, "the save dialog");
  });

  it("Re-run runs again with the same choices, replacing the diagnostics", async () => {
    const api = await activated();
    answerPrompts(api, {}); // Re-run must not ask anything
    const again = await run<InspectionResult | undefined>("bnLens.rerun", uri);
    assert.ok(again);
    assert.equal(again.report.samples, 8);
    assert.notEqual(again.report.createdAt, report.createdAt);
    // The Problems panel is built from the compact report; the count is checked against the whole report's findings.
    assert.equal(vscode.languages.getDiagnostics(uri).length, reportFindings(await api.fullReport(again.heldId)).length);
    assert.equal((await api.lastReport())?.createdAt, again.report.createdAt);
  });

  it("closing the view clears its diagnostics; reopening restores the saved report, marked restored", async () => {
    const api = await activated();
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    await until(() => (vscode.languages.getDiagnostics(uri).length === 0 ? true : undefined), 10_000, "the diagnostics to clear");
    assert.equal(api.testHooks.evict(uri), true, "the closed model's state could not be dropped");
    await vscode.commands.executeCommand("vscode.openWith", uri, "bnLens.modelView");
    await api.testHooks.described(uri);
    const state = api.viewState(uri);
    assert.equal(state.restored, true);
    assert.equal(state.report?.rows.length, 35);
    await until(
      () => (api.panelState()?.restored && api.panelState()?.received ? true : undefined),
      30_000,
      "the restored report to be drawn",
    );
    assert.ok(vscode.languages.getDiagnostics(uri).length > 0, "a restored report shows its findings again");
  });
});
