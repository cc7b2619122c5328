/**
 * "Compare with Another Data Set...": the model's current report is A (the baseline); B comes from a run on
 * another data source (which then becomes the current report) or from a saved report. The comparison goes
 * to the panel's comparison mode and its findings to the Problems panel. Both reports are held by the
 * inference process, which compares them: the host sends two ids and gets the comparison.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { UserError, isUserError } from "../core/errors";
import { checkReport } from "../core/reportSchema";
import type { CompactReport } from "../protocol/webview";
import { WorkerError, type InspectorClient } from "../runtime/client";
import { compareSettings } from "./compareSettings";
import { errorMessage } from "./errorText";
import type { Log } from "./log";
import type { ModelDocument } from "./modelDocument";
import type { ModelDocuments } from "./modelDocuments";
import type { PromptSeam } from "./prompts";

/** What the command needs from the controller. */
export interface CompareHost {
  readonly seam: PromptSeam;
  readonly docs: ModelDocuments;
  readonly log: Log;
  readonly client: InspectorClient;
  openView(uri: vscode.Uri): Promise<void>;
  /** Brings back the model's saved report, if it has none yet. */
  restore(d: ModelDocument): Promise<void>;
  /** Runs an inspection with data the user picks; resolves to its report, or undefined when nothing ran. */
  inspect(uri: vscode.Uri, how: "withData"): Promise<{ report: CompactReport; heldId: number } | undefined>;
  /** Keeps a held report from being released (a new run replacing it) until the returned function is called. */
  pin(id: number): () => void;
  /** The id the inference process holds a document's report under (held again after a restart). */
  heldId(d: ModelDocument): Promise<number>;
}

/** Compares the model's current report with another run or report; resolves to the comparison, or undefined. */
export async function compareWithData(host: CompareHost, uri: vscode.Uri): Promise<ComparisonReport | undefined> {
  await host.openView(uri);
  const s = host.docs.open(uri);
  await host.restore(s);
  const baseline = s.compactReport;
  if (!baseline || s.heldId === undefined) {
    host.seam.notify(
      "info",
      `Inspect ${s.name} first: BN Lens compares another data set with the model's current report, which is the baseline (A).`,
      { "Inspect with Data...": () => void host.inspect(uri, "withData") },
    );
    return undefined;
  }
  const source = await host.seam.prompts.quickPick(
    [
      {
        id: "run",
        label: "$(database) Run on another data set...",
        detail: "Images, .npy/.npz or ONNX test data; the new run becomes B.",
      },
      { id: "report", label: "$(json) Pick a saved report...", detail: "A BN Lens report (JSON) of the same model, as B." },
    ],
    { id: "compareSource", title: `BN Lens: compare ${s.name} with`, placeHolder: `A (baseline): ${baseline.data.description}` },
  );
  if (!source) return undefined;
  let baselineId: number;
  try {
    baselineId = await host.heldId(s);
  } catch (e) {
    host.seam.notify("error", errorMessage(e));
    return undefined;
  }
  // A run for B replaces the document's report (A); A stays held until the comparison is made.
  const unpin = host.pin(baselineId);
  try {
    return await compareWith(host, s, uri, baseline, baselineId, source.id);
  } finally {
    unpin();
  }
}

async function compareWith(
  host: CompareHost,
  s: ModelDocument,
  uri: vscode.Uri,
  baseline: CompactReport,
  baselineId: number,
  sourceId: string,
): Promise<ComparisonReport | undefined> {
  let other: CompactReport;
  let otherId: number;
  let otherName: string;
  let otherPath: string | undefined;
  let release = false;
  if (sourceId === "run") {
    const result = await host.inspect(uri, "withData");
    if (!result) return undefined;
    other = result.report;
    otherId = result.heldId;
    otherName = "the new run";
  } else {
    const picked = await host.seam.prompts.openDialog({
      canSelectFiles: true,
      canSelectMany: false,
      filters: { "BN Lens report (JSON)": ["json"] },
      openLabel: "Compare",
      title: `BN Lens: report to compare with ${s.name}'s current one`,
    });
    const file = picked?.[0];
    if (!file) return undefined;
    otherName = path.basename(file.fsPath);
    otherPath = file.fsPath;
    try {
      const held =
        file.scheme === "file" ? await host.client.holdReportFile(file.fsPath, otherName) : await heldFromVsCode(host, file, otherName);
      other = held.compact;
      otherId = held.id;
      release = true;
    } catch (e) {
      host.seam.notify("error", errorMessage(e));
      return undefined;
    }
  }
  let comparison: ComparisonReport;
  try {
    comparison = await host.client.compareHeld(baselineId, otherId, {
      names: ["The current report", otherName],
      reportPaths: [null, otherPath ?? null],
      thresholds: compareSettings(uri),
    });
  } catch (e) {
    if (!isUserError(e) && !(e instanceof WorkerError && e.kind !== "bug")) throw e;
    host.seam.notify("error", (e as Error).message);
    return undefined;
  } finally {
    // A saved report picked as B is held only for the comparison.
    if (release) host.client.releaseHeld(otherId);
  }
  s.setComparison(comparison);
  const start = comparison.shiftStart;
  host.log.info(
    `Compared ${s.name}: A ${baseline.data.description}; B ${other.data.description}; ` +
      (start ? `the shift starts at layer ${start.index} (${start.node}), ${comparison.summary.drifting} layers drift.` : "no drift."),
  );
  return comparison;
}

/**
 * A report on a file system only VS Code reaches (a remote, a virtual workspace): read and validated here,
 * then handed to the inference process. Local files never take this path (the inference process reads them).
 */
async function heldFromVsCode(host: CompareHost, file: vscode.Uri, name: string): Promise<{ id: number; compact: CompactReport }> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(file)).toString("utf8"));
  } catch {
    throw new UserError("data", `${name} is not a JSON file; pick a report exported by BN Lens or written by "bn-lens inspect --json".`);
  }
  return host.client.holdReport(checkReport(json, name));
}
