/**
 * Export Report: asks where to save a model's report and writes it there (BN Lens writes only where the
 * user chose), as JSON or as the standalone HTML page by the file type chosen, remembering the folder. The
 * inference process, which holds the report, writes the file (atomically); the host never has the report.
 */
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { isUserError } from "../core/errors";
import { reportJson } from "../core/inspect/reportJson";
import { standaloneHtml } from "../node/standaloneHtml";
import { WorkerError, type InspectorClient } from "../runtime/client";
import type { ModelDocument } from "./modelDocument";
import type { PromptSeam } from "./prompts";

/** Writes the document's report to a file the user picks; the file, or undefined when nothing was written. */
export async function exportReport(
  doc: ModelDocument | undefined,
  seam: PromptSeam,
  globalState: vscode.Memento,
  log: (line: string) => void,
  /** The extension's install folder: the HTML page is built from its dist/ and media/. */
  extensionDir: string,
  client: InspectorClient,
  /** The id the inference process holds the document's report under (held again after a restart). */
  heldId: (doc: ModelDocument) => Promise<number>,
): Promise<vscode.Uri | undefined> {
  if (!doc || doc.heldId === undefined) {
    seam.notify("info", "There is no BN Lens report to export yet; inspect a model first.");
    return undefined;
  }
  const name = `${doc.name.replace(/\.onnx$/i, "")}.bn-lens.json`;
  // The save dialog starts next to the model (a report belongs with what it measured); nothing is written
  // until the user accepts.
  const folder = doc.uri.scheme === "file" ? path.dirname(doc.uri.fsPath) : (globalState.get<string>("bnLens.exportDir") ?? os.homedir());
  const target = await seam.prompts.saveDialog({
    defaultUri: vscode.Uri.file(path.join(folder, name)),
    // The file type picked in the dialog (its extension) chooses the format.
    filters: { "BN Lens report (JSON)": ["json"], "Standalone HTML report (opens in any browser)": ["html", "htm"] },
    saveLabel: "Export Report",
    title: `BN Lens: export the report of ${doc.name}`,
  });
  if (!target) return undefined;
  try {
    const id = await heldId(doc);
    const html = /\.html?$/i.test(target.path);
    const recalibration = doc.compactReport?.recalibration;
    if (target.scheme === "file") {
      // A temporary file in the same folder, then a rename: an export that fails (full disk, a crash) leaves
      // the old file or none, never a torn one; a large report is written piece by piece. The JSON is the
      // CLI's --json text of the same report.
      await client.exportHeld(id, target.fsPath, html ? "html" : "json", { extensionDir, ...(recalibration ? { recalibration } : {}) });
    } else {
      // Other file systems (a remote, a virtual workspace) only VS Code's own write reaches: the host fetches
      // the whole report in pages and builds the file itself, so a very large report costs the host here.
      const report = await client.fetchReport(id);
      await vscode.workspace.fs.writeFile(
        target,
        Buffer.from(html ? standaloneHtml(report, extensionDir, recalibration) : reportJson(report)),
      );
    }
  } catch (e) {
    const plain = isUserError(e) || (e instanceof WorkerError && e.kind !== "bug");
    seam.notify("error", plain ? (e as Error).message : `BN Lens could not write the report to ${target.fsPath}: ${(e as Error).message}`);
    return undefined;
  }
  await globalState.update("bnLens.exportDir", path.dirname(target.fsPath));
  log(`Exported the report of ${doc.name} to ${target.fsPath}.`);
  seam.notify("info", `BN Lens wrote the report to ${target.fsPath}.`, { Open: () => void vscode.window.showTextDocument(target) });
  return target;
}
