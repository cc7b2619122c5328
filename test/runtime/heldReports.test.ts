/**
 * Reports the inference process keeps for the extension host (src/runtime/heldReports.ts): the pages the
 * host takes add up to the report the process wrote to disk, in order; the compact report is the one core
 * builds from that report; a layer slice is that layer; a saved copy comes back whole, and a copy of another
 * model, a missing one or a broken one do not; an export is the CLI's JSON text of the report, a comparison
 * of two held reports is core's comparison of the two reports.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { compareReports } from "../../src/core/compare/compareReports";
import { compactReport } from "../../src/core/inspect/panelData";
import { reportJson } from "../../src/core/inspect/reportJson";
import type { Report } from "../../src/core/report";
import type { CompactReport } from "../../src/protocol/webview";
import { InspectorClient, WorkerError } from "../../src/runtime/client";
import { describeModel } from "../../src/runtime/engine";
import { bnChainModel } from "../helpers/loadModels";
import { ROOT } from "../helpers/paths";

const WORKER = path.join(ROOT, "dist", "worker.js");
// More than two pages of 100 layers, so the host's paging crosses page boundaries and a last partial page.
const LAYERS = 250;

describe("reports held by the inference process", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-held-"));
  const modelPath = path.join(dir, "chain.onnx");
  const client = new InspectorClient(WORKER);
  let id: number;
  let compact: CompactReport;
  let report: Report;

  before(async () => {
    fs.writeFileSync(modelPath, bnChainModel(LAYERS, 3));
    ({ id, compact } = await client.inspectHeld({ modelPath, samples: 2, batchSize: 2 }).result);
    report = await client.fetchReport(id);
  });
  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("hands out the whole report in pages, in graph order, equal to the copy it writes to disk", async () => {
    assert.equal(report.layers.length, LAYERS);
    assert.deepEqual(
      report.layers.map((l) => l.node),
      Array.from({ length: LAYERS }, (_, i) => `bn${i}`),
    );
    const file = path.join(dir, "saved.json");
    await client.saveHeld(id, file, "file:///model.onnx");
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as { model: string; report: Report };
    assert.equal(saved.model, "file:///model.onnx");
    assert.deepEqual(report, saved.report);
    // Same keys in the same order as the written report (the host puts the layers back where they were).
    assert.equal(JSON.stringify(report), JSON.stringify(saved.report));
    assert.deepEqual(compact, JSON.parse(JSON.stringify(compactReport(saved.report))));
  });

  it("answers one layer's slice by its index", async () => {
    for (const i of [0, 99, 100, LAYERS - 1]) {
      const slice = await client.reportLayer(id, "bn", i);
      assert.equal(slice.kind, "bn");
      assert.deepEqual(slice.layer, report.layers[i]);
    }
    await assert.rejects(client.reportLayer(id, "bn", LAYERS), (e: WorkerError) => e.kind === "usage" && /no BN layer 250/.test(e.message));
  });

  it("restores a saved copy of the same model, and nothing from another model's, a missing or a broken one", async () => {
    const file = path.join(dir, "kept.json");
    await client.saveHeld(id, file, "file:///a.onnx");
    const back = await client.restoreHeld(file, "file:///a.onnx");
    assert.ok(back);
    assert.notEqual(back.held.id, id);
    assert.equal(back.recalibration, undefined);
    assert.deepEqual(await client.fetchReport(back.held.id), report);
    assert.equal(await client.restoreHeld(file, "file:///b.onnx"), null);
    assert.equal(await client.restoreHeld(path.join(dir, "none.json"), "file:///a.onnx"), null);
    const broken = path.join(dir, "broken.json");
    fs.writeFileSync(broken, JSON.stringify({ model: "file:///a.onnx", report: { ...report, samples: "2" } }));
    await assert.rejects(client.restoreHeld(broken, "file:///a.onnx"), (e: WorkerError) => e.kind === "data" && /samples/.test(e.message));
    fs.writeFileSync(broken, "{ not json");
    await assert.rejects(
      client.restoreHeld(broken, "file:///a.onnx"),
      (e: WorkerError) => e.kind === "data" && /not valid JSON/.test(e.message),
    );
  });

  it("a restore asked for right after a save reads the copy just saved (a view reopened at once)", async () => {
    const file = path.join(dir, "at-once.json");
    const saving = client.saveHeld(id, file, "file:///c.onnx");
    const back = await client.restoreHeld(file, "file:///c.onnx");
    await saving;
    assert.ok(back, "the restore did not wait for the save");
    assert.deepEqual(await client.fetchReport(back.held.id), report);
  });

  it("exports a held report as the CLI's JSON text, atomically, and as the HTML page embedding it", async () => {
    const file = path.join(dir, "export.json");
    fs.writeFileSync(file, "the user's old file\n");
    await client.exportHeld(id, file, "json");
    // reportJson is what `bn-lens inspect --json` writes; the report here is the copy the host took in pages.
    assert.equal(fs.readFileSync(file, "utf8"), reportJson(report));
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.includes("export")),
      ["export.json"],
      "no temporary file is left",
    );
    const html = path.join(dir, "export.html");
    await client.exportHeld(id, html, "html", { extensionDir: ROOT });
    const page = fs.readFileSync(html, "utf8");
    const data = /id="bn-lens-report">([^<]+)<\/script>/.exec(page)?.[1] ?? "";
    assert.deepEqual(JSON.parse(zlib.gunzipSync(Buffer.from(data, "base64")).toString("utf8")), report);
    await assert.rejects(
      client.exportHeld(id, path.join(dir, "no-such-folder", "x.json"), "json"),
      (e: WorkerError) => e.kind !== "bug" && /^Cannot write the report to .*x\.json: its folder no longer exists/.test(e.message),
    );
  });

  it("compares two held reports as core compares the reports themselves; holds a report file or a report sent to it", async () => {
    const file = path.join(dir, "b.json");
    fs.writeFileSync(file, reportJson(report));
    const b = await client.holdReportFile(file, "b.json");
    assert.deepEqual(b.compact, compact);
    const options = { names: ["A", "b.json"] as [string, string], reportPaths: [null, file] as [string | null, string | null] };
    const comparison = await client.compareHeld(id, b.id, options);
    const expected = compareReports(report, await client.fetchReport(b.id), {
      names: options.names,
      reportPaths: [undefined, file],
      generatorVersion: report.generator.version,
    });
    assert.deepEqual({ ...comparison, createdAt: "" }, JSON.parse(JSON.stringify({ ...expected, createdAt: "" })));
    const sent = await client.holdReport(report);
    assert.deepEqual(await client.fetchReport(sent.id), report);
    fs.writeFileSync(file, "{ not json");
    await assert.rejects(
      client.holdReportFile(file, "b.json"),
      (e: WorkerError) => e.kind === "data" && /b\.json is not a JSON file/.test(e.message),
    );
    fs.writeFileSync(file, JSON.stringify({ ...report, layers: "none" }));
    await assert.rejects(client.holdReportFile(file, "b.json"), (e: WorkerError) => e.kind === "data" && /b\.json/.test(e.message));
    await assert.rejects(
      client.holdReport({ ...report, samples: "2" } as never),
      (e: WorkerError) => e.kind === "data" && /samples/.test(e.message),
    );
  });

  it("hands a model's description over in pages of about 32,768 channels, equal to the one it reads", async () => {
    const wide = path.join(dir, "wide.onnx");
    fs.writeFileSync(wide, bnChainModel(40, 2048)); // 81,920 channels: three pages, the last partial
    const paged = await client.describeModel(wide);
    assert.equal(paged.layers.length, 40);
    assert.deepEqual(paged, JSON.parse(JSON.stringify(describeModel(wide))));
  });

  it("says so when it no longer holds a report", async () => {
    client.releaseHeld(id);
    await assert.rejects(client.fetchReport(id), (e: WorkerError) => e.kind === "usage" && /no longer holds/.test(e.message));
  });
});
