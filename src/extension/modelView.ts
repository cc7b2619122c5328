/**
 * The .onnx custom editor (viewType bnLens.modelView): a read-only webview per opened model. The state
 * lives in the model's document (modelDocument.ts); every message from the webview is validated with
 * parseWebviewMessage and handed to the controller, which decides what the view shows.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { parseWebviewMessage, type CompactReport, type HostToWebview, type WebviewToHost } from "../protocol/webview";
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

// About 17 ms of serialising per message for the 10,000-layer load model's rows.
const ROWS_PER_MESSAGE = 500;
// A model's stored layers go in parts of about this many channels (300 layers of 2,048 channels are 2.4 million values).
const CHANNELS_PER_MESSAGE = 32_768;

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

  /** Messages waiting behind a large report that is being sent in parts (kept in order). */
  private outbox: Promise<void> | undefined;

  /** Posts a message when the webview is ready; otherwise drops it (the controller resends state on webviewReady). */
  post(msg: HostToWebview): void {
    if (!this.ready) return;
    if (msg.type === "runFinished") {
      this.sentRows = msg.report.rows.length;
      this.sentRestored = msg.restored;
      this.received = false;
    }
    if (this.outbox) {
      this.outbox = this.outbox.then(() => this.send(msg));
      return;
    }
    if (inParts(msg)) {
      const sending = this.send(msg).finally(() => {
        if (this.outbox === sending) this.outbox = undefined;
      });
      this.outbox = sending;
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  private async send(msg: HostToWebview): Promise<void> {
    if (msg.type === "runFinished" && inParts(msg)) await this.sendInParts(msg.report, msg.restored);
    else if (msg.type === "modelDescribed" && inParts(msg)) await this.describeInParts(msg);
    else {
      try {
        void this.panel.webview.postMessage(msg);
      } catch {
        // The panel closed while a report was being sent.
      }
    }
  }

  /** A large model's stored layers in parts, one per turn of the event loop, then the rest. */
  private async describeInParts(msg: Extract<HostToWebview, { type: "modelDescribed" }>): Promise<void> {
    try {
      const layers = msg.overview.layers;
      // Parts of at most ROWS_PER_MESSAGE layers or about CHANNELS_PER_MESSAGE channels (4 stored values each).
      for (let from = 0; from < layers.length;) {
        let to = from;
        let channels = 0;
        while (
          to < layers.length &&
          to - from < ROWS_PER_MESSAGE &&
          (to === from || channels + layers[to].channels <= CHANNELS_PER_MESSAGE)
        )
          channels += layers[to++].channels;
        void this.panel.webview.postMessage({ type: "describedLayers", layers: layers.slice(from, to) } satisfies HostToWebview);
        from = to;
        await new Promise((resolve) => setImmediate(resolve));
      }
      void this.panel.webview.postMessage({ ...msg, overview: { ...msg.overview, layers: [] } } satisfies HostToWebview);
    } catch {
      // The panel closed meanwhile.
    }
  }

  /** A large report's rows in parts, one per turn of the event loop (each is serialised on the host's thread), then the rest. */
  private async sendInParts(report: CompactReport, restored: boolean): Promise<void> {
    try {
      for (let from = 0; from < report.rows.length; from += ROWS_PER_MESSAGE) {
        void this.panel.webview.postMessage({
          type: "reportRows",
          rows: report.rows.slice(from, from + ROWS_PER_MESSAGE),
        } satisfies HostToWebview);
        await new Promise((resolve) => setImmediate(resolve));
      }
      void this.panel.webview.postMessage({ type: "runFinished", report: { ...report, rows: [] }, restored } satisfies HostToWebview);
    } catch {
      // The panel closed meanwhile: nothing is left to show the report in.
    }
  }
}

/** Whether a message is large enough to go in parts (a report's rows, a model's stored layers). */
function inParts(msg: HostToWebview): boolean {
  if (msg.type === "runFinished") return msg.report.rows.length > ROWS_PER_MESSAGE;
  if (msg.type === "modelDescribed")
    return msg.overview.layers.length > ROWS_PER_MESSAGE || msg.overview.layers.reduce((n, l) => n + l.channels, 0) > CHANNELS_PER_MESSAGE;
  return false;
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
