// Recalibrate BN Statistics on Data...: offered as a Quick Fix on stale-statistics findings, asks for data and
// a save path, writes the new model there (never over the input), opens it in the model view, and an
// inspection of the new model on the same photos shows no stale statistics left.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { RecalibrationJson } from "../../src/core/recalibrate/recalibration";
import { FACE_DETECTOR, FACE_IMAGES } from "../helpers/paths";
import { type InspectionResult, activated, until } from "./bnLens";
import { answerPrompts, modelCopy, pick, reset, run, setSettings, waitUntil } from "./fixtures";

const STALE = new Set(["mean-shift", "variance-ratio"]);
// A diagnostic's code is its rule id, or a link (to the layer) whose value is the rule id.
const ruleOf = (d: vscode.Diagnostic): string => (typeof d.code === "object" && d.code !== null ? String(d.code.value) : String(d.code));
const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe("Recalibrate BN Statistics on Data...", function () {
  this.timeout(300_000);
  afterEach(reset);

  it("is the Quick Fix of stale statistics; writes where the save dialog says, opens the new model, whose inspection has no stale statistics", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const before = sha(uri.fsPath);
    const restore = await setSettings({ "image.preprocessing": "centered128" });
    try {
      answerPrompts(api, { quickPick: { dataSource: pick("A folder") }, openDialog: () => [vscode.Uri.file(FACE_IMAGES)] });
      const a = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", uri);
      assert.ok(a, JSON.stringify(api.notices().slice(-2)));
      const stale = vscode.languages.getDiagnostics(uri).filter((d) => d.source === "BN Lens" && STALE.has(ruleOf(d)));
      assert.ok(stale.length >= 1, "the face detector on the photos has stale statistics");

      // The Quick Fix: offered on exactly the stale-statistics findings, and nothing on the others.
      const fixes = api.testHooks.quickFixes(uri);
      // Through VS Code's own code action machinery too (it computes code actions on a text model of the file).
      await vscode.workspace.openTextDocument(uri);
      const offered = await vscode.commands.executeCommand<vscode.CodeAction[]>(
        "vscode.executeCodeActionProvider",
        uri,
        new vscode.Range(0, 0, 0, 0),
        vscode.CodeActionKind.QuickFix.value,
      );
      assert.deepEqual(
        offered.filter((a) => a.command?.command === "bnLens.recalibrate").map((a) => a.title),
        ["Recalibrate BN statistics on data..."],
      );
      assert.equal(fixes.length, 1);
      assert.equal(fixes[0].title, "Recalibrate BN statistics on data...");
      assert.equal(fixes[0].kind?.value, vscode.CodeActionKind.QuickFix.value);
      assert.equal(fixes[0].diagnostics?.length, stale.length);
      assert.ok(fixes[0].diagnostics?.every((d) => STALE.has(ruleOf(d))));
      assert.equal(fixes[0].command?.command, "bnLens.recalibrate");

      // Run what the Quick Fix runs: the remembered photos are offered as "last used"; save under another name.
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-recal-")), "fixed.onnx");
      let defaultUri: vscode.Uri | undefined;
      const { asked } = answerPrompts(api, {
        quickPick: { dataSource: pick("face-images") },
        saveDialog: (o) => {
          defaultUri = o.defaultUri;
          return vscode.Uri.file(out);
        },
      });
      const r = await run<RecalibrationJson | undefined>(fixes[0].command!.command, ...(fixes[0].command!.arguments ?? []));
      assert.ok(r, JSON.stringify(api.notices().slice(-2)));
      assert.deepEqual(asked, ["quickPick:dataSource", "saveDialog"]);
      assert.equal(defaultUri?.fsPath, path.join(path.dirname(uri.fsPath), "version-RFB-320.recalibrated.onnx"));
      assert.equal(r.out, out);
      assert.ok(fs.existsSync(out));
      assert.equal(sha(uri.fsPath), before, "the input model is unchanged");
      assert.equal(r.samples, 16);
      assert.ok(r.converged);
      // The summary names passes, the worst |z| / variance ratio before -> after, and the output change.
      const notice = api.notices().at(-1)!;
      assert.equal(notice.severity, "info");
      assert.match(
        notice.message,
        /^fixed\.onnx: 35 of 35 BN layers re-estimated on 16 samples in \d+ pass(es)?, converged\. Worst \|z\| /,
      );
      assert.match(notice.message, /Outputs: scores mean \|change\| [\d.e-]+, relative L2 [\d.e-]+%; boxes /);

      // The new model opens in BN Lens's model view.
      const outUri = vscode.Uri.file(out);
      await waitUntil(() => api.viewState(outUri).views >= 1, 30_000, "the new model's view");
      await api.testHooks.described(outUri);
      assert.equal(api.viewState(outUri).describedLayers, 35);
      // Its view and the Problems panel show the verification run (the new model on the same photos) at once.
      const shown = api.viewState(outUri);
      assert.equal(shown.report?.model.sha256, crypto.createHash("sha256").update(fs.readFileSync(out)).digest("hex"));
      assert.equal(shown.report?.samples, 16);
      // The panel gets the before/after with that report: every layer's figures as the command returned them.
      const finished = shown.sent.filter((m) => m.type === "runFinished").at(-1);
      assert.ok(finished && finished.type === "runFinished");
      const view = finished.report.recalibration;
      assert.ok(view, "the new model's report comes with its before/after");
      assert.equal(view.original, uri.fsPath);
      assert.equal(view.layers.length, r.layers.length);
      for (const l of view.layers) {
        const want: RecalibrationJson["layers"][number] = r.layers.find((x) => x.node === l.node)!;
        assert.deepEqual([l.before, l.after], [want.before, want.after], l.node);
        const beforeLayer: RecalibrationJson["before"]["layers"][number] = r.before.layers.find((x) => x.node === l.node)!;
        const total = (c: readonly number[]) => c.reduce((a, b) => a + b, 0);
        assert.equal(total(l.postBefore.counts), total(beforeLayer.post.histogram.total), `${l.node}: every post-BN value before`);
      }
      assert.ok(view.warnings.before.stale > 0);
      assert.equal(view.warnings.after.stale, 0);
      assert.deepEqual(view.outputs, r.outputs);
      // The new model was checked on the photos: its view offers "Re-run on 16 images in face-images" first.
      await waitUntil(
        () =>
          api
            .viewState(outUri)
            .sent.some(
              (m) => m.type === "rerunOffered" && m.rerun?.withData === true && /16 images in face-images/.test(m.rerun.description),
            ),
        30_000,
        "Re-run on the photos offered for the new model",
      );
      assert.deepEqual(
        vscode.languages.getDiagnostics(outUri).filter((d) => STALE.has(ruleOf(d))),
        [],
      );

      // Closed and reopened (as after a window reload), the new model's view gets its report and before/after back.
      await vscode.commands.executeCommand("workbench.action.closeAllEditors");
      await waitUntil(() => api.testHooks.evict(outUri), 30_000, "the closed model's state to be dropped");
      await vscode.commands.executeCommand("vscode.openWith", outUri, "bnLens.modelView");
      await api.testHooks.described(outUri);
      // The view may open before the document starts restoring: wait for the restored report itself.
      const back = await until(
        () =>
          api
            .viewState(outUri)
            .sent.filter((m) => m.type === "runFinished" && m.restored)
            .at(-1),
        30_000,
        "the restored report",
      );
      assert.ok(back.type === "runFinished" && back.restored);
      assert.deepEqual(back.report.recalibration, view, "the restored before/after is the one shown before");

      // Independently of the recalibration's own check: inspect the new model on the same photos in VS Code.
      answerPrompts(api, { quickPick: { dataSource: pick("A folder") }, openDialog: () => [vscode.Uri.file(FACE_IMAGES)] });
      const b = await run<InspectionResult | undefined>("bnLens.inspectModelWithData", outUri);
      assert.ok(b);
      // A run of its own is not a recalibration's check: no before/after with it.
      const rerun = api
        .viewState(outUri)
        .sent.filter((m) => m.type === "runFinished")
        .at(-1);
      assert.ok(rerun && rerun.type === "runFinished" && rerun.report.recalibration === undefined);
      for (const l of (await api.fullReport(b.heldId)).layers) {
        const z = Math.abs(l.summary.worstZ?.value ?? 0);
        const v = l.summary.worstVarRatio?.value ?? 1;
        assert.ok(z <= 0.01 && v <= 1.01, `${l.node}: |z| ${z}, variance ratio ${v}`);
      }
      assert.deepEqual(
        vscode.languages.getDiagnostics(outUri).filter((d) => STALE.has(ruleOf(d))),
        [],
        "no stale-statistics finding remains",
      );
      assert.deepEqual(api.testHooks.quickFixes(outUri), []);
    } finally {
      await restore();
    }
  });

  it("writes nothing when the save dialog or the run is cancelled; refuses the input file and random data", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const dir = path.dirname(uri.fsPath);
    const restore = await setSettings({ "image.preprocessing": "centered128" });
    try {
      answerPrompts(api, {
        quickPick: { dataSource: pick("A folder") },
        openDialog: () => [vscode.Uri.file(FACE_IMAGES)],
        saveDialog: () => undefined,
      });
      assert.equal(await run("bnLens.recalibrate", uri), undefined);
      assert.deepEqual(fs.readdirSync(dir), ["version-RFB-320.onnx"]);

      // A stale finding's "Recalibrate BN statistics on data…" button in the panel runs the same command.
      await vscode.commands.executeCommand("vscode.openWith", uri, "bnLens.modelView");
      await waitUntil(() => api.viewState(uri).readyViews >= 1, 30_000, "the model's view");
      const { asked: fromButton } = answerPrompts(api, { quickPick: { dataSource: pick("face-images") }, saveDialog: () => undefined });
      assert.equal(api.testHooks.fromWebview(uri, { type: "recalibrateModel" }), true);
      await waitUntil(() => fromButton.includes("saveDialog"), 30_000, "the button's recalibration to ask where to save");
      assert.deepEqual(fromButton, ["quickPick:dataSource", "saveDialog"]);
      assert.deepEqual(fs.readdirSync(dir), ["version-RFB-320.onnx"]);

      const before = sha(uri.fsPath);
      answerPrompts(api, { quickPick: { dataSource: pick("face-images") }, saveDialog: () => uri });
      assert.equal(await run("bnLens.recalibrate", uri), undefined);
      assert.match(api.notices().at(-1)!.message, /never overwrites the model it recalibrates/);
      assert.equal(sha(uri.fsPath), before);

      answerPrompts(api, { quickPick: { dataSource: pick("Random data") } });
      assert.equal(await run("bnLens.recalibrate", uri), undefined);
      assert.match(api.notices().at(-1)!.message, /recalibrates on your data/);
      assert.deepEqual(fs.readdirSync(dir), ["version-RFB-320.onnx"]);

      // "BN Lens: Cancel" stops a running recalibration between batches; nothing is written.
      const out = path.join(dir, "cancelled.onnx");
      answerPrompts(api, { quickPick: { dataSource: pick("face-images") }, saveDialog: () => vscode.Uri.file(out) });
      const lines = api.logLines().length;
      const running = run("bnLens.recalibrate", uri);
      await waitUntil(
        () =>
          api
            .logLines()
            .slice(lines)
            .some((l) => l.includes("Recalibrating")),
        30_000,
        "the recalibration to start",
      );
      assert.equal(await run("bnLens.cancel", uri), true);
      assert.equal(await running, undefined);
      assert.match(api.notices().at(-1)!.message, /^Recalibration of version-RFB-320\.onnx cancelled; nothing was written\.$/);
      assert.deepEqual(fs.readdirSync(dir), ["version-RFB-320.onnx"]);
    } finally {
      await restore();
    }
  });
});
