/**
 * The open model documents (in the manner of vscode-hexeditor's HexEditorRegistry): one ModelDocument per
 * model URI, created when VS Code opens the custom editor and dropped when it disposes it (or when the run
 * that outlived its views ends). Re-broadcasts every document's changes, so diagnostics, the status bar and
 * the report store subscribe in one place.
 */
import * as vscode from "vscode";
import { ModelDocument, type DocumentChange } from "./modelDocument";

/** A change of one document. */
export interface DocumentEvent {
  document: ModelDocument;
  change: DocumentChange | { kind: "closed" };
}

/** Every open model document. */
export class ModelDocuments implements vscode.Disposable {
  private readonly docs = new Map<string, ModelDocument>();
  private readonly changed = new vscode.EventEmitter<DocumentEvent>();
  /** Fires for every change of every document, and when one closes. */
  readonly onDidChange = this.changed.event;

  /** The document of a model, creating it when none is open. */
  open(uri: vscode.Uri): ModelDocument {
    const key = uri.toString();
    const existing = this.docs.get(key);
    if (existing && !existing.released) return existing;
    if (existing) existing.released = false; // reopened while its run still held it
    const doc = existing ?? new ModelDocument(uri, (d) => this.drop(d));
    if (!existing) {
      this.docs.set(key, doc);
      doc.onDidChange((change) => this.changed.fire({ document: doc, change }));
    }
    return doc;
  }

  /** The open document of a model, if any. */
  get(uri: vscode.Uri): ModelDocument | undefined {
    return this.docs.get(uri.toString());
  }

  all(): ModelDocument[] {
    return [...this.docs.values()];
  }

  /** Documents with a run in progress. */
  running(): ModelDocument[] {
    return this.all().filter((d) => d.run);
  }

  /** The document whose report arrived last. */
  lastReported(): ModelDocument | undefined {
    let best: ModelDocument | undefined;
    for (const d of this.docs.values()) if (d.compactReport && (!best || d.reportedAt > best.reportedAt)) best = d;
    return best;
  }

  private drop(doc: ModelDocument): void {
    if (this.docs.get(doc.uri.toString()) !== doc) return;
    this.docs.delete(doc.uri.toString());
    this.changed.fire({ document: doc, change: { kind: "closed" } });
    doc.close();
  }

  dispose(): void {
    for (const d of this.all()) d.run?.handle.cancel();
    this.changed.dispose();
  }
}
