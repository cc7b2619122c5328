/**
 * "Recalibrate BN Statistics on Data...": asks for data (as "Inspect Model with Data..."), then where to save
 * the new model, runs the inference process's `recalibrate` with progress and Cancel, says what changed and
 * opens the new model. The Quick Fix on stale-statistics findings runs the same command for that model.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { STALE_RULES, type RecalibrationJson } from "../core/recalibrate/recalibration";
import type { Report } from "../core/report";
import { beforeAfter } from "../core/recalibrate/beforeAfter";
import type { RecalibrationView } from "../protocol/webview";
import type { RecalibrateRequest } from "../protocol/worker";
import { WorkerError, type InspectorClient } from "../runtime/client";
import { askData, describeChoice, type DataChoice } from "./dataChoice";
import type { PromptSeam } from "./prompts";
import { runSettings } from "./settings";
import { ruleOf } from "./findingLinks";

/** What the command needs from the controller. */
export interface RecalibrateHost {
  readonly seam: PromptSeam;
  readonly client: InspectorClient;
  log: { info(line: string): void; error(line: string): void; channel: { show(): void } };
  /** The data remembered for the model (last "with Data..." choice, else the last run's), and its shapes. */
  rememberedData(uri: vscode.Uri): { data?: DataChoice; inputShapes?: string[] };
  rememberData(uri: vscode.Uri, data: DataChoice): Promise<void>;
  openView(uri: vscode.Uri): Promise<void>;
  /** Keeps a running recalibration cancellable by "BN Lens: Cancel" until it ends. */
  running(uri: vscode.Uri, handle: { cancel(): void } | undefined): void;
  /**
   * Gives a model's document a report, as if it had just been inspected on `data`, with the recalibration's
   * before/after (the inference process holds it from then on).
   */
  showReport(uri: vscode.Uri, report: Report, recalibration: RecalibrationView, data: DataChoice): Promise<void>;
}

/** Runs the recalibration of one model; resolves to the result, or undefined when nothing was written. */
export async function recalibrateModel(host: RecalibrateHost, uri: vscode.Uri): Promise<RecalibrationJson | undefined> {
  const remembered = host.rememberedData(uri);
  const asked = await askData(host.seam.prompts, uri, remembered.data);
  if (!asked) return undefined;
  if (!asked.dataPath) {
    // Statistics re-estimated on random data would be wrong for every real input.
    host.seam.notify("info", "BN Lens recalibrates on your data; pick a file or folder, not random data.");
    return undefined;
  }
  await host.rememberData(uri, asked);
  const name = path.basename(uri.fsPath);
  const stem = name.replace(/\.onnx$/i, "");
  const target = await host.seam.prompts.saveDialog({
    defaultUri: vscode.Uri.file(path.join(path.dirname(uri.fsPath), `${stem}.recalibrated.onnx`)),
    filters: { "ONNX model": ["onnx"] },
    saveLabel: "Save Recalibrated Model",
    title: `BN Lens: where to save ${name} with re-estimated BN statistics`,
  });
  if (!target) return undefined;
  if (target.scheme !== "file") {
    host.seam.notify("error", `BN Lens writes models to disk, and ${target.toString()} is not a file on disk.`);
    return undefined;
  }
  if (path.resolve(target.fsPath) === path.resolve(uri.fsPath)) {
    host.seam.notify("error", `BN Lens never overwrites the model it recalibrates; choose another name than ${name}.`);
    return undefined;
  }
  const settings = runSettings(uri);
  const choice = { ...asked, inputShapes: remembered.inputShapes };
  const request: RecalibrateRequest = {
    modelPath: uri.fsPath,
    ...settings,
    random: undefined,
    dataPath: asked.dataPath,
    ...(asked.imageMean ? { imageMean: asked.imageMean, imageStd: asked.imageStd, bgr: asked.bgr } : {}),
    ...(choice.inputShapes?.length ? { inputShapes: choice.inputShapes } : {}),
    outPath: target.fsPath,
    // The save dialog asked before replacing an existing file: that answer is the user's choice.
    force: true,
  };
  host.log.info(`Recalibrating ${uri.fsPath} -> ${target.fsPath}`);
  host.log.info(
    `  data: ${describeChoice(choice, settings.samples, settings.random)}${asked.preprocessing ? ` (${asked.preprocessing})` : ""}`,
  );
  const t0 = performance.now();
  let result: RecalibrationJson;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `BN Lens: recalibrating ${name}`, cancellable: true },
      async (progress, token) => {
        let last = 0;
        const handle = host.client.recalibrate(request, {
          progress: (p) => {
            const percent = p.samplesTotal > 0 ? (100 * p.samplesDone) / p.samplesTotal : 0;
            // Each pass restarts the sample count: the bar only moves forward, the message names the pass.
            const increment = Math.max(0, percent - last);
            last = Math.max(last, percent);
            progress.report({ increment, message: p.message });
          },
          log: (line) => host.log.info(`  ${line}`),
        });
        token.onCancellationRequested(() => {
          host.log.info(`Cancel requested for the recalibration of ${name}.`);
          handle.cancel();
        });
        host.running(uri, handle);
        return handle.result.finally(() => host.running(uri, undefined));
      },
    );
  } catch (e) {
    const kind = e instanceof WorkerError ? e.kind : "bug";
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ").trim();
    if (kind === "cancelled") {
      host.log.info(`Cancelled the recalibration of ${name}: ${message}`);
      host.seam.notify("info", `Recalibration of ${name} cancelled; nothing was written.`);
      return undefined;
    }
    host.log.error(`Recalibration of ${name} failed: ${message}${e instanceof WorkerError && e.info.detail ? `\n${e.info.detail}` : ""}`);
    host.seam.notify("error", message, { "Show Log": () => host.log.channel.show() });
    return undefined;
  }
  const summary = recalibrationSummary(result);
  host.log.info(`Recalibrated ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${summary}`);
  for (const l of result.layers) {
    const side = (x: RecalibrationJson["layers"][number]["before"]) =>
      `|z| ${x.worstZ === null ? "n/a" : fmt(x.worstZ)}, variance ratio ${x.worstVarRatio === null ? "n/a" : fmt(x.worstVarRatio)}`;
    host.log.info(`  ${l.node}${l.recalibrated ? "" : " (kept)"}: ${side(l.before)} -> ${side(l.after)}`);
  }
  for (const note of result.notes) host.log.info(`  note: ${note}`);
  const out = vscode.Uri.file(result.out);
  await host.openView(out);
  // The check of the new model is an inspection of it on the same data: its view and the Problems panel show it.
  await host.showReport(out, result.after, beforeAfter(result), choice);
  host.seam.notify(result.converged ? "info" : "warning", `${path.basename(result.out)}: ${summary}`, {
    "Show Log": () => host.log.channel.show(),
  });
  return result;
}

/** One paragraph: passes, convergence, worst |z| and variance ratio before and after, output change. */
export function recalibrationSummary(r: RecalibrationJson): string {
  const worst = (side: "before" | "after", key: "worstZ" | "worstVarRatio") => Math.max(0, ...r.layers.map((l) => l[side][key] ?? 0));
  const recal = r.layers.filter((l) => l.recalibrated).length;
  const outputs = r.outputs
    .map(
      (o) =>
        `${o.output} mean |change| ${fmt(o.meanAbsChange)}, relative L2 ${o.relativeL2Change === null ? "n/a" : `${Number((o.relativeL2Change * 100).toPrecision(2))}%`}`,
    )
    .join("; ");
  return (
    `${recal} of ${r.layers.length} BN layers re-estimated on ${r.samples} samples in ${r.passes.length} pass${r.passes.length === 1 ? "" : "es"}, ` +
    `${r.converged ? "converged" : "NOT converged"}. Worst |z| ${fmt(worst("before", "worstZ"))} -> ${fmt(worst("after", "worstZ"))}, ` +
    `worst variance ratio ${fmt(worst("before", "worstVarRatio"))} -> ${fmt(worst("after", "worstVarRatio"))}.` +
    (outputs ? ` Outputs: ${outputs}.` : "")
  );
}

function fmt(x: number): string {
  return x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5) ? x.toExponential(2) : Number(x.toPrecision(3)).toString();
}

/** Offers "Recalibrate BN statistics on data..." on BN Lens's mean-shift and variance-ratio findings. */
export class RecalibrateQuickFix implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: { uri: vscode.Uri }, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    return quickFixes(document.uri, context.diagnostics);
  }
}

/** The Quick Fixes for some diagnostics of a model: one action, covering every stale-statistics finding. */
export function quickFixes(uri: vscode.Uri, diagnostics: readonly vscode.Diagnostic[]): vscode.CodeAction[] {
  const stale = diagnostics.filter((d) => d.source === "BN Lens" && STALE_RULES.has(ruleOf(d) ?? ""));
  if (stale.length === 0) return [];
  const action = new vscode.CodeAction("Recalibrate BN statistics on data...", vscode.CodeActionKind.QuickFix);
  action.diagnostics = stale;
  action.isPreferred = true;
  action.command = { command: "bnLens.recalibrate", title: "Recalibrate BN statistics on data...", arguments: [uri] };
  return [action];
}
