/**
 * Read-only virtual documents (scheme bnlens-node:) that show one graph node: its op, name, inputs,
 * outputs, attributes and neighbours. The text comes from what the inference process already decoded
 * (the model overview) and from the last report; the host never decodes the model itself.
 */
import * as vscode from "vscode";

export const NODE_SCHEME = "bnlens-node";

/** The URI of a node's document: the path reads as "model.onnx/node" in the editor tab. */
export function nodeUri(model: vscode.Uri, node: string): vscode.Uri {
  const base = model.path.split("/").pop() ?? "model.onnx";
  const safe = node.replace(/[\\/]/g, "_");
  return vscode.Uri.from({
    scheme: NODE_SCHEME,
    path: `/${base}/${safe}`,
    query: new URLSearchParams({ model: model.toString(), node }).toString(),
  });
}

/** Provides node documents from a lookup the controller owns. */
export class NodeDocuments implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly text: (model: vscode.Uri, node: string) => Promise<string>) {}

  provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = new URLSearchParams(uri.query);
    const model = q.get("model");
    const node = q.get("node");
    if (!model || !node) return Promise.resolve("This BN Lens node link is incomplete.\n");
    return this.text(vscode.Uri.parse(model), node);
  }

  /** Tells VS Code that a model's node documents may read differently (a new report arrived). */
  refresh(uris: readonly vscode.Uri[]): void {
    for (const u of uris) this.changed.fire(u);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
