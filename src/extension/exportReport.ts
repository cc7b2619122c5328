/**
 * Export Report: asks where to save a model's report and writes it there (BN Lens writes only where the
 * user chose), remembering the folder for next time.
 */
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { ModelDocument } from "./modelDocument";
import type { PromptSeam } from "./prompts";

/** Writes the document's report to a file the user picks; the file, or undefined when nothing was written. */
export async function exportReport(
  doc: ModelDocument | undefined,
  seam: PromptSeam,
  globalState: vscode.Memento,
  log: (line: string) => void,
): Promise<vscode.Uri | undefined> {
  const report = doc?.report;
  if (!doc || !report) {
    seam.notify("info", "There is no BN Lens report to export yet; inspect a model first.");
    return undefined;
  }
  const lastDir = globalState.get<string>("bnLens.exportDir");
  const name = `${doc.name.replace(/\.onnx$/i, "")}.bn-lens.json`;
  const target = await seam.prompts.saveDialog({
    defaultUri: vscode.Uri.file(path.join(lastDir ?? os.homedir(), name)),
    filters: { "BN Lens report (JSON)": ["json"] },
    saveLabel: "Export Report",
    title: `BN Lens: export the report of ${doc.name}`,
  });
  if (!target) return undefined;
  try {
    await vscode.workspace.fs.writeFile(target, Buffer.from(JSON.stringify(report, null, 1)));
  } catch (e) {
    seam.notify("error", `BN Lens could not write the report to ${target.fsPath}: ${(e as Error).message}`);
    return undefined;
  }
  await globalState.update("bnLens.exportDir", path.dirname(target.fsPath));
  log(`Exported the report of ${doc.name} to ${target.fsPath}.`);
  seam.notify("info", `BN Lens wrote the report to ${target.fsPath}.`, { Open: () => void vscode.window.showTextDocument(target) });
  return target;
}
