/**
 * The last report of each model, kept in the extension's own storage (context.storageUri, or
 * globalStorageUri without a workspace): never in the workspace. A window reload restores the panel from it.
 */
import { createHash } from "node:crypto";
import * as vscode from "vscode";
import { checkReport } from "../core/reportSchema";
import { recalibrationViewSchema, type RecalibrationView } from "../protocol/webview";
import type { HeldReport } from "../protocol/worker";
import type { InspectorClient } from "../runtime/client";
import { parse } from "../core/schema";

const KEEP = 30; // reports kept; the oldest go first

/** Reads and writes saved reports, one file per model. */
export class ReportStore {
  private readonly dir: vscode.Uri;

  constructor(
    context: vscode.ExtensionContext,
    private readonly log: (line: string) => void,
    /** Where a kept copy is noted (the log's info level). */
    private readonly kept: (line: string) => void = () => undefined,
  ) {
    this.dir = vscode.Uri.joinPath(context.storageUri ?? context.globalStorageUri, "reports");
  }

  private file(model: vscode.Uri): vscode.Uri {
    return vscode.Uri.joinPath(this.dir, `${createHash("sha1").update(model.toString()).digest("hex").slice(0, 16)}.json`);
  }

  /**
   * Saves a model's report (held by the inference process, with a recalibration's before/after when the
   * report checks one); failures are logged, never shown (the report is still held).
   */
  async save(model: vscode.Uri, client: InspectorClient, id: number, recalibration?: RecalibrationView): Promise<void> {
    try {
      const file = this.file(model);
      if (file.scheme === "file") {
        // The inference process writes the copy (atomically, making the folder), off the host's thread.
        // Asked at once, before any later request could release the report.
        await client.saveHeld(id, file.fsPath, model.toString(), recalibration);
        this.kept(`Kept the report of ${model.fsPath} for a window reload.`);
        await this.prune();
        return;
      }
      // Storage that is not a local disk (a virtual file system): only VS Code's API reaches it, so the host
      // fetches the whole report in pages and writes it in one piece. Local storage never takes this path.
      const report = await client.fetchReport(id);
      await vscode.workspace.fs.createDirectory(this.dir);
      const saved = { model: model.toString(), report, ...(recalibration ? { recalibration } : {}) };
      await vscode.workspace.fs.writeFile(file, Buffer.from(JSON.stringify(saved)));
      await this.prune();
    } catch (e) {
      this.log(`Could not keep the report for ${model.fsPath}: ${(e as Error).message}`);
    }
  }

  /**
   * The saved report of a model, if any and readable, and its before/after when it has a readable one. On
   * disk the inference process reads, parses and validates it and holds it; the host gets its compact report.
   */
  async load(model: vscode.Uri, client: InspectorClient): Promise<{ held: HeldReport; recalibration?: RecalibrationView } | undefined> {
    const file = this.file(model);
    if (file.scheme === "file") {
      try {
        const restored = await client.restoreHeld(file.fsPath, model.toString());
        if (!restored) return undefined;
        return { held: restored.held, ...(restored.recalibration ? { recalibration: restored.recalibration } : {}) };
      } catch (e) {
        this.log(`Ignoring the saved report of ${model.fsPath}: ${(e as Error).message}`);
        return undefined;
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = await vscode.workspace.fs.readFile(this.file(model));
    } catch {
      return undefined;
    }
    try {
      // Storage off the local disk: the host reads it (only VS Code's API reaches it) and hands it over.
      const saved = JSON.parse(Buffer.from(bytes).toString("utf8")) as { model?: unknown; report?: unknown; recalibration?: unknown };
      if (saved.model !== model.toString()) return undefined;
      const held = await client.holdReport(checkReport(saved.report, "the saved report"));
      // A before/after that does not read back is dropped; the report alone is still worth restoring.
      const recalibration = saved.recalibration === undefined ? undefined : parse(recalibrationViewSchema, saved.recalibration);
      return recalibration ? { held, recalibration } : { held };
    } catch (e) {
      this.log(`Ignoring the saved report of ${model.fsPath}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Forgets a model's saved report. */
  async remove(model: vscode.Uri): Promise<void> {
    await Promise.resolve(vscode.workspace.fs.delete(this.file(model))).catch(() => undefined);
  }

  private async prune(): Promise<void> {
    const entries = (await vscode.workspace.fs.readDirectory(this.dir)).filter(([n]) => n.endsWith(".json"));
    if (entries.length <= KEEP) return;
    const dated = await Promise.all(
      entries.map(async ([n]) => {
        const uri = vscode.Uri.joinPath(this.dir, n);
        return { uri, mtime: (await vscode.workspace.fs.stat(uri)).mtime };
      }),
    );
    dated.sort((a, b) => a.mtime - b.mtime);
    for (const d of dated.slice(0, dated.length - KEEP)) await Promise.resolve(vscode.workspace.fs.delete(d.uri)).catch(() => undefined);
  }
}
