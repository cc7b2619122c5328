/**
 * Export Report: asks where to save a model's report and writes it there (BN Lens writes only where the
 * user chose), as JSON or as the standalone HTML page by the file type chosen, remembering the folder.
 */
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { standaloneHtml } from "./htmlExport";
import { isUserError } from "../core/errors";
import { reportJson, reportJsonPieces } from "../core/inspect/reportJson";
import { writeFileAtomicAsync } from "../node/writeFileAtomic";
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
): Promise<vscode.Uri | undefined> {
  const report = doc?.report;
  if (!doc || !report) {
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
    const html = /\.html?$/i.test(target.path);
    if (target.scheme === "file") {
      // A temporary file in the same folder, then a rename: an export that fails (full disk, a crash) leaves
      // the old file or none, never a torn one; a large report is written piece by piece.
      await writeFileAtomicAsync(
        target.fsPath,
        html ? standaloneHtml(report, extensionDir, doc.compactReport?.recalibration) : reportJsonPieces(report),
      );
    } else {
      // Other file systems (a remote, a virtual workspace) get VS Code's own write.
      await vscode.workspace.fs.writeFile(
        target,
        Buffer.from(html ? standaloneHtml(report, extensionDir, doc.compactReport?.recalibration) : reportJson(report)),
      );
    }
  } catch (e) {
    seam.notify("error", isUserError(e) ? e.message : `BN Lens could not write the report to ${target.fsPath}: ${(e as Error).message}`);
    return undefined;
  }
  await globalState.update("bnLens.exportDir", path.dirname(target.fsPath));
  log(`Exported the report of ${doc.name} to ${target.fsPath}.`);
  seam.notify("info", `BN Lens wrote the report to ${target.fsPath}.`, { Open: () => void vscode.window.showTextDocument(target) });
  return target;
}
