/**
 * The .onnx custom editor (viewType bnLens.modelView): a read-only webview per opened model. The state
 * lives in the model's document (modelDocument.ts); every message from the webview is validated with
 * parseWebviewMessage and handed to the controller, which decides what the view shows.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { parseWebviewMessage, type HostToWebview, type WebviewToHost } from "../protocol/webview";
import { panelHtml } from "./webviewShell";

export const VIEW_TYPE = "bnLens.modelView";

/** What the controller does for views. */
export interface ViewHost {
  /** The model's document (one per model: VS Code disposes it when its last view closes). */
  openDocument(uri: vscode.Uri): vscode.CustomDocument;
  viewOpened(view: ModelPanel): void;
  viewClosed(view: ModelPanel): void;
  viewMessage(view: ModelPanel, msg: WebviewToHost): void;
  /** A message that failed validation (logged, never acted on). */
  viewRejected(view: ModelPanel, raw: unknown): void;
}

/** One open model panel: the webview showing a model document (webview/modelView.ts is the view it draws). */
export class ModelPanel {
  /** The webview said webviewReady; messages posted before that would be lost, so they wait for it. */
  ready = false;
  /** Rows of the last report overview sent, and whether the webview acknowledged rendering it. */
  sentRows: number | undefined;
  sentRestored = false;
  received = false;
  firstPaintMs: number | undefined;
  readonly openedMs = performance.now();

  constructor(
    readonly uri: vscode.Uri,
    readonly panel: vscode.WebviewPanel,
  ) {}

  /** Posts a message when the webview is ready; otherwise drops it (the controller resends state on webviewReady). */
  post(msg: HostToWebview): void {
    if (!this.ready) return;
    if (msg.type === "runFinished") {
      this.sentRows = msg.report.rows.length;
      this.sentRestored = msg.restored;
      this.received = false;
    }
    void this.panel.webview.postMessage(msg);
  }
}

/** Opens .onnx files as BN Lens model views. */
export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: ViewHost,
  ) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return this.host.openDocument(uri);
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const dist = vscode.Uri.joinPath(this.extensionUri, "dist");
    const media = vscode.Uri.joinPath(this.extensionUri, "media");
    const webview = panel.webview;
    webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [dist, media] };
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString("base64"),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, "webview.js")).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "panel.css")).toString(),
    });
    const view = new ModelPanel(document.uri, panel);
    webview.onDidReceiveMessage((raw: unknown) => {
      const msg = parseWebviewMessage(raw);
      if (msg) this.host.viewMessage(view, msg);
      else this.host.viewRejected(view, raw);
    });
    panel.onDidDispose(() => this.host.viewClosed(view));
    this.host.viewOpened(view);
  }
}
