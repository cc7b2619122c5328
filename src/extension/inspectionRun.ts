/**
 * One inspection of a model in the inference process, as the inspect commands run it: the request from the
 * settings and the chosen data, progress in a notification and in the views, the log, and what the user is
 * told when it fails.
 */
import * as vscode from "vscode";
import type { HostToWebview } from "../protocol/webview";
import type { HeldReport, InspectRequest } from "../protocol/worker";
import { WorkerError, type InspectorClient } from "../runtime/client";
import { describeChoice, type DataChoice } from "./dataChoice";
import { detailOf, errorMessage } from "./errorText";
import { compactFindings, countFindings, countsSentence } from "./findings";
import type { Log } from "./log";
import type { ModelDocument, Running } from "./modelDocument";
import type { PromptSeam } from "./prompts";
import { runSettings } from "./settings";

/** What a run needs from the controller. */
export interface RunHost {
  readonly client: InspectorClient;
  readonly log: Log;
  readonly seam: PromptSeam;
  /** Posts to every view of the document. */
  post(d: ModelDocument, msg: HostToWebview): void;
  /** Gives the document the run's report (held by the inference process). */
  setReport(d: ModelDocument, held: HeldReport, restored: boolean): void;
}

const USER_KINDS = new Set(["usage", "model", "data", "resource"]);

/** Runs one inspection in the inference process with progress, log and cancel. */
export async function runInspection(
  host: RunHost,
  s: ModelDocument,
  choice: DataChoice,
): Promise<{ held: HeldReport } | { error: unknown }> {
  const settings = runSettings(s.uri);
  const request: InspectRequest = {
    modelPath: s.uri.fsPath,
    ...settings,
    ...(choice.dataPath ? { dataPath: choice.dataPath, random: undefined } : {}),
    ...(choice.imageMean ? { imageMean: choice.imageMean, imageStd: choice.imageStd, bgr: choice.bgr } : {}),
    ...(choice.inputShapes?.length ? { inputShapes: choice.inputShapes } : {}),
  };
  const description = `${describeChoice(choice, settings.samples, settings.random)}; batch ${settings.batchSize ?? 8}${choice.dataPath ? "" : `, seed ${settings.seed ?? 0}`}`;
  const t0 = performance.now();
  host.log.info(`Inspecting ${s.uri.fsPath}`);
  host.log.info(`  data: ${description}${choice.preprocessing ? ` (${choice.preprocessing})` : ""}`);
  host.log.info(`  options: ${JSON.stringify({ ...request, modelPath: undefined, dataPath: undefined })}`);
  // The inference process keeps the report and builds the compact one; the host keeps only that and the id.
  const handle = host.client.inspectHeld(request, {
    progress: (p) => s.progressed(p),
    log: (line) => host.log.info(`  ${line}`),
  });
  const run: Running = { handle, description, percent: 0 };
  s.startRun(run);
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `BN Lens: ${s.name}`, cancellable: true },
    async (progress, token) => {
      token.onCancellationRequested(() => {
        host.log.info(`Cancel requested for ${s.name}.`);
        handle.cancel();
      });
      run.report = (increment, message) => progress.report({ increment, message });
      progress.report({ message: "starting" });
      await handle.result.catch(() => undefined);
    },
  );
  try {
    const held = await handle.result;
    const report = held.compact;
    const counts = countFindings(compactFindings(report));
    host.log.info(
      `Finished ${s.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s (engine ${(report.run.elapsedMs / 1000).toFixed(1)} s): ` +
        `${report.summary.layers} layers, ${report.samples} samples; ${countsSentence(counts)}.`,
    );
    // The report takes its own turn of the event loop (the views, the Problems panel and the status bar react in it).
    await new Promise((resolve) => setImmediate(resolve));
    host.setReport(s, held, false);
    return { held };
  } catch (error) {
    host.log.info(`Stopped ${s.name} after ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    return { error };
  } finally {
    s.endRun();
  }
}

/** Says what went wrong: cancelled quietly, user errors in one sentence, bugs with a way to the log. */
export function showRunFailure(host: RunHost, s: ModelDocument, e: unknown): void {
  const kind = e instanceof WorkerError ? e.kind : "bug";
  const message = errorMessage(e);
  if (kind === "cancelled") {
    host.log.info(`Cancelled ${s.name}: ${message}`);
    host.post(s, { type: "runCancelled" });
    return;
  }
  host.log.error(`${s.name}: ${message}${detailOf(e)}`);
  host.post(s, { type: "runFailed", kind, message });
  if (USER_KINDS.has(kind)) {
    host.seam.notify("error", message, { "Show Log": () => host.log.channel.show() });
  } else {
    // Bugs from the inference process already say so ("BN Lens hit an internal error: ..."); others get the prefix.
    const text = e instanceof WorkerError ? message : `BN Lens hit an internal error: ${message}`;
    host.seam.notify("error", text, { "Show Log": () => host.log.channel.show() });
  }
}
