/**
 * The hub of BN Lens in VS Code: routes the views' messages (ViewHost), keeps each view in step with its
 * model's document, and carries out the commands: it resolves which model a command means, asks for data
 * and shapes, and hands the work to the modules that do it (inspectionRun.ts runs an inspection,
 * modelLoader.ts describes and restores, compareCommand.ts and recalibrateModel.ts the other two
 * commands). State lives in the model documents (modelDocument.ts); the Problems panel (diagnostics.ts), the
 * status bar (statusBar.ts) and the report store react to their events. Commands are registered in
 * commands.ts, the test API in testApi.ts.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { shapeQuestion } from "../core/inputs/shapeQuestion";
import type { RecalibrationJson } from "../core/recalibrate/recalibration";
import type { HeldReport } from "../protocol/worker";
import type { RpcServer } from "../protocol/rpc";
import {
  webviewMessageProblem,
  type CompactReport,
  type HostToWebview,
  type RecalibrationView,
  type RerunOffer,
  type WebviewMethods,
  type WebviewToHost,
} from "../protocol/webview";
import { WorkerError, type InspectorClient } from "../runtime/client";
import { compareWithData } from "./compareCommand";
import { askData, describeData, type DataChoice } from "./dataChoice";
import { FindingsDiagnostics } from "./diagnostics";
import { HeldIds } from "./heldIds";
import { exportReport } from "./exportReport";
import { layersByNode, showLayerArgs } from "./findingLinks";
import type { Log } from "./log";
import type { ModelDocument } from "./modelDocument";
import { ModelDocuments } from "./modelDocuments";
import { runInspection, showRunFailure, type RunHost } from "./inspectionRun";
import { ModelLoader } from "./modelLoader";
import { ModelMemories } from "./modelMemory";
import { VIEW_TYPE, type ModelPanel, type ViewHost } from "./modelView";
import { NODE_SCHEME, NodeDocuments, nodeUri } from "./nodeDocuments";
import { nodeText } from "./nodeText";
import { PromptSeam } from "./prompts";
import { recalibrateModel } from "./recalibrateModel";
import { ReportStore } from "./reportStore";
import { askShape, withShape } from "./shapePrompt";
import { StatusBar } from "./statusBar";
import { layerHandlers, webviewServer } from "./webviewHandlers";

/**
 * What the inspect commands resolve to (undefined when nothing ran: cancelled, refused or failed): the compact
 * report (everything but the per-channel arrays) and the id under which the inference process holds the
 * whole report (the test API's fullReport(heldId) brings it over).
 */
export interface InspectionResult {
  report: CompactReport;
  heldId: number;
}

/** How an inspect command chooses its data. */
export type InspectHow = "random" | "withData" | "rerun";

/** Routes the views' messages and runs the commands; every model's state lives in its ModelDocument. */
export class Controller implements ViewHost, vscode.Disposable {
  readonly seam = new PromptSeam();
  /** Tests replace the trust check (the harness cannot open an untrusted folder). */
  trustOverride: (() => boolean) | undefined;
  readonly docs = new ModelDocuments();
  readonly diagnostics = new FindingsDiagnostics(this.docs);
  readonly status = new StatusBar(this.docs);
  readonly store: ReportStore;
  readonly memories: ModelMemories;
  private readonly held: HeldIds;
  private readonly loader: ModelLoader;
  private readonly runHost: RunHost;
  private readonly nodeDocs: NodeDocuments;
  private readonly disposables: vscode.Disposable[] = [];
  private panel: ModelPanel | undefined;
  private readonly servers = new WeakMap<ModelPanel, RpcServer<WebviewMethods, string>>();
  /** Running recalibrations by model, for "BN Lens: Cancel". */
  private readonly recalibrations = new Map<string, { cancel(): void }>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly client: InspectorClient,
    readonly log: Log,
  ) {
    this.store = new ReportStore(
      context,
      (line) => log.warn(line),
      (line) => log.info(line),
    );
    this.memories = new ModelMemories(context.workspaceState);
    this.held = new HeldIds(client, this.store, log);
    this.loader = new ModelLoader({
      client,
      store: this.store,
      log,
      isTrusted: () => this.isTrusted(),
      post: (d, msg) => this.post(d, msg),
      setReport: (d, held, restored, recalibration) => this.setReport(d, held, restored, recalibration),
    });
    this.runHost = {
      client,
      log,
      seam: this.seam,
      post: (d, msg) => this.post(d, msg),
      setReport: (d, held, restored) => this.setReport(d, held, restored),
    };
    this.nodeDocs = new NodeDocuments((model, node) => this.nodeDocumentText(model, node));
    this.disposables.push(
      this.docs.onDidChange(({ document: d, change }) => {
        if (change.kind === "report") this.reported(d, change.restored);
      }),
      this.docs,
      this.diagnostics,
      this.status,
      this.nodeDocs,
      vscode.workspace.registerTextDocumentContentProvider(NODE_SCHEME, this.nodeDocs),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.trustGranted()),
    );
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  // ---- documents and views ----

  /** The document VS Code opens for a model (one per model, shared with runs started by commands). */
  openDocument(uri: vscode.Uri): ModelDocument {
    return this.docs.open(uri);
  }

  /** Shape questions open now, by model: what the panel shows while the input box waits. */
  private readonly asking = new Map<string, string>();

  /** The open document of a model, if any. */
  find(uri: vscode.Uri): ModelDocument | undefined {
    return this.docs.get(uri);
  }

  /** A document took a report: keep it for a window reload and refresh the node documents about it. */
  private reported(d: ModelDocument, restored: boolean): void {
    if (!restored && d.heldId !== undefined) void this.store.save(d.uri, this.client, d.heldId, d.compactReport?.recalibration);
    this.nodeDocs.refresh(
      vscode.workspace.textDocuments
        .filter((t) => t.uri.scheme === NODE_SCHEME && new URLSearchParams(t.uri.query).get("model") === d.uri.toString())
        .map((t) => t.uri),
    );
  }

  isTrusted(): boolean {
    return this.trustOverride ? this.trustOverride() : vscode.workspace.isTrusted;
  }

  viewOpened(view: ModelPanel): void {
    const s = this.docs.open(view.uri);
    s.addView(view);
    void this.loader.describe(s);
    void this.loader.restore(s);
  }

  viewClosed(view: ModelPanel): void {
    const s = this.find(view.uri);
    if (this.panel === view) this.panel = undefined;
    s?.removeView(view);
  }

  viewRejected(view: ModelPanel, raw: unknown): void {
    const type = typeof raw === "object" && raw !== null ? String((raw as { type?: unknown }).type) : typeof raw;
    this.log.warn(`Ignored a malformed message from the view of ${view.uri.fsPath} (type ${type}: ${webviewMessageProblem(raw)}).`);
  }

  viewMessage(view: ModelPanel, msg: WebviewToHost): void {
    switch (msg.type) {
      case "webviewReady":
        view.ready = true;
        this.sendState(view);
        break;
      case "runInspection":
        void this.inspect(view.uri, msg.withData ? "withData" : "random");
        break;
      case "rerunInspection":
        void this.inspect(view.uri, "rerun");
        break;
      case "cancelRun":
        this.cancel(view.uri);
        break;
      case "exportReport":
        void this.exportReport(view.uri);
        break;
      case "revealNode":
        void this.revealNode(view.uri, msg.node);
        break;
      case "getLayer":
      case "cancel":
        void this.serverOf(view).handle(msg);
        break;
      case "overviewRendered":
        view.received = true;
        view.firstPaintMs = msg.firstPaintMs;
        this.panel = view;
        this.log.info(
          `The view of ${path.basename(view.uri.fsPath)} drew ${msg.rows} rows (first paint ${msg.firstPaintMs.toFixed(0)} ms).`,
        );
        break;
      case "layerOpened":
        break;
      case "compareData":
        void this.compareWith(view.uri);
        break;
      case "recalibrateModel":
        void this.recalibrate(view.uri);
        break;
    }
  }

  /** The request server of a view: a layer's detail comes from the inference process, which holds the report. */
  private serverOf(view: ModelPanel): RpcServer<WebviewMethods, string> {
    let server = this.servers.get(view);
    if (!server) {
      server = webviewServer(
        layerHandlers((kind, index) => {
          const d = this.find(view.uri);
          if (!d || d.heldId === undefined) throw new Error("There is no report for this model yet.");
          return this.heldId(d).then((id) => this.client.reportLayer(id, kind, index));
        }),
        (reply) => this.postTo(view, reply),
      );
      this.servers.set(view, server);
    }
    return server;
  }

  /** Posts to one view and keeps a copy for tests. */
  private postTo(view: ModelPanel, msg: HostToWebview): void {
    this.docs.open(view.uri).postTo(view, msg);
  }

  /** Posts to every view of a model; the view that gets a report becomes the last panel. */
  private post(s: ModelDocument, msg: HostToWebview): void {
    s.post(msg);
    if (msg.type === "runFinished") for (const v of s.views) if (v.ready) this.panel = v;
  }

  /** Everything a (re)loaded view needs: the model, then the run in progress or the last report. */
  private sendState(view: ModelPanel): void {
    const s = this.docs.open(view.uri);
    if (s.description) this.postTo(view, { type: "modelDescribed", overview: s.description, trusted: this.isTrusted() });
    else if (s.describeError) this.postTo(view, { type: "modelFailed", message: s.describeError, name: s.name });
    if (s.run) {
      this.postTo(view, { type: "runStarted", description: s.run.description });
      if (s.run.progress) this.postTo(view, { type: "runProgressed", progress: s.run.progress });
    } else if (s.compactReport) {
      this.postTo(view, { type: "runFinished", report: s.compactReport, restored: s.restored });
      this.panel = view;
      if (s.comparison) this.postTo(view, { type: "comparisonFinished", comparison: s.comparison });
    }
    if (!this.isTrusted()) this.postTo(view, { type: "runFailed", kind: "untrusted", message: UNTRUSTED });
    const asking = this.asking.get(view.uri.toString());
    if (asking && !s.run) this.postTo(view, { type: "shapeAsked", question: asking });
    void this.rerunOffer(s.uri).then((rerun) => this.postTo(view, { type: "rerunOffered", rerun }));
  }

  /** What Re-run repeats for a model: its last run, described as the panel's primary button says it. */
  private async rerunOffer(uri: vscode.Uri): Promise<RerunOffer | null> {
    const last = this.memories.get(uri).last;
    if (!last) return null;
    if (!last.dataPath) return { withData: false, description: "random data" };
    const what = await describeData(last.dataPath);
    const pre = last.preprocessing?.replace(/ \(from settings\)$/, "");
    return { withData: true, description: pre ? `${what}, ${pre}` : what };
  }

  private offerRerun(uri: vscode.Uri): void {
    void this.rerunOffer(uri).then((rerun) => {
      const s = this.find(uri);
      if (s) this.post(s, { type: "rerunOffered", rerun });
    });
  }

  /** Opens a model's view at one layer's detail (a Problems entry's rule id links here). */
  async showLayer(...args: unknown[]): Promise<boolean> {
    const at = showLayerArgs(args);
    if (!at) return false;
    await this.openView(at.model);
    const s = this.find(at.model);
    if (!s) return false;
    this.post(s, { type: "layerRevealed", kind: at.kind, index: at.index });
    return true;
  }

  private setReport(s: ModelDocument, held: HeldReport, restored: boolean, recalibration?: RecalibrationView): void {
    const replaced = s.heldId;
    const stale = s.heldGeneration !== this.client.generation;
    s.setReport(held, restored, recalibration, this.client.generation);
    // The replaced report's saved copy was asked for when it arrived; the inference process serves in order.
    // An id of a process that has since ended names nothing (or another report) in the new one.
    if (replaced !== undefined && replaced !== held.id && !stale) this.held.release(replaced);
    for (const v of s.views) if (v.ready) this.panel = v;
  }

  /** The id the inference process holds a document's report under (held again after a restart: heldIds.ts). */
  heldId(d: ModelDocument): Promise<number> {
    return this.held.heldId(d);
  }

  private trustGranted(): void {
    for (const s of this.docs.all()) {
      if (s.description) this.post(s, { type: "modelDescribed", overview: s.description, trusted: true });
    }
  }

  // ---- commands ----

  /** The model a command means: its argument, else the active BN Lens view, else (if allowed) a file picker. */
  async resolveModel(arg: unknown, ask: boolean): Promise<vscode.Uri | undefined> {
    if (arg instanceof vscode.Uri) return arg;
    if (typeof arg === "string" && arg) return vscode.Uri.file(arg);
    const active = activeModelView();
    if (active) return active;
    if (!ask) return this.docs.lastReported()?.uri;
    const picked = await this.seam.prompts.openDialog({
      canSelectFiles: true,
      canSelectMany: false,
      filters: { "ONNX models": ["onnx"] },
      openLabel: "Inspect",
      title: "BN Lens: model to inspect",
    });
    return picked?.[0];
  }

  /** Runs an inspection of a model; `how` picks the data. Resolves to the report, or undefined when nothing ran. */
  async inspect(arg: unknown, how: InspectHow): Promise<InspectionResult | undefined> {
    const uri = await this.resolveModel(arg, true);
    if (!uri || !this.mayRun(uri)) return undefined;
    const open = this.find(uri);
    if (open?.run) {
      this.seam.notify("info", `BN Lens is already inspecting ${open.name}; wait for it or cancel it first.`, {
        Cancel: () => this.cancel(uri),
      });
      return undefined;
    }
    await this.openView(uri);
    // The view's document; a model whose view could not open still gets one for this run.
    const s = this.docs.open(uri);
    const memory = this.memories.get(uri);
    let choice: DataChoice;
    if (how === "withData") {
      const asked = await askData(this.seam.prompts, uri, memory.data ?? memory.last);
      if (!asked) return undefined;
      choice = { ...asked, inputShapes: memory.inputShapes };
      if (asked.dataPath) await this.memories.update(uri, { data: asked });
    } else if (how === "rerun") {
      choice = { ...memory.last, inputShapes: memory.inputShapes };
    } else {
      choice = { inputShapes: memory.inputShapes };
    }
    await this.memories.update(uri, { last: { ...choice, inputShapes: undefined } });
    this.offerRerun(uri);

    for (let attempt = 1; ; attempt++) {
      const outcome = await runInspection(this.runHost, s, choice);
      if ("held" in outcome) {
        // The command resolves with the report's findings in the Problems panel, however many there are.
        await this.diagnostics.settled(uri);
        return { report: outcome.held.compact, heldId: outcome.held.id };
      }
      const hint = outcome.error instanceof WorkerError ? outcome.error.info.shapeNeeded : undefined;
      if (!hint || attempt > 3) {
        showRunFailure(this.runHost, s, outcome.error);
        return undefined;
      }
      // The engine needs numbers for symbolic dims: ask, pre-filled with its own suggestion, and retry.
      // The panel says what is being asked instead of showing a run that is not running.
      const doc = this.find(uri);
      const question = outcome.error instanceof Error ? shapeQuestion(outcome.error.message) : undefined;
      const sentence = question?.sentence ?? `BN Lens needs the shape of input "${hint.input}".`;
      // Kept until answered, so a view that finishes loading meanwhile shows the question too.
      this.asking.set(uri.toString(), sentence);
      if (doc) this.post(doc, { type: "shapeAsked", question: sentence });
      const answer = await askShape(this.seam, hint, outcome.error instanceof Error ? outcome.error.message : undefined).finally(() =>
        this.asking.delete(uri.toString()),
      );
      if (!answer) {
        showRunFailure(this.runHost, s, outcome.error);
        return undefined;
      }
      const inputShapes = withShape(choice.inputShapes, hint.input, answer);
      choice = { ...choice, inputShapes };
      await this.memories.update(uri, { inputShapes });
      this.log.info(`Input shape for ${s.name}: ${answer} (remembered for this model).`);
    }
  }

  /** Opens (or reveals) the model view of a model. */
  async openView(uri: vscode.Uri): Promise<void> {
    await vscode.commands.executeCommand("vscode.openWith", uri, VIEW_TYPE, { preview: false });
  }

  /** Whether a command may run this model: the workspace is trusted and the model is a file on disk (else says why). */
  private mayRun(uri: vscode.Uri): boolean {
    if (!this.isTrusted()) {
      this.refuseUntrusted(uri);
      return false;
    }
    if (uri.scheme !== "file") {
      this.seam.notify("error", `BN Lens reads models from disk, and ${uri.toString()} is not a file on disk.`);
      return false;
    }
    return true;
  }

  private refuseUntrusted(uri: vscode.Uri): void {
    this.log.warn(`Refused to run ${uri.fsPath}: the workspace is not trusted.`);
    const s = this.find(uri);
    if (s) this.post(s, { type: "runFailed", kind: "untrusted", message: UNTRUSTED });
    this.seam.notify("warning", UNTRUSTED, {
      "Manage Workspace Trust": () => void vscode.commands.executeCommand("workbench.trust.manage"),
    });
  }

  /** Cancels the run of a model (the argument or the active view), or every run when neither has one. */
  cancel(arg?: unknown): boolean {
    const uri = arg instanceof vscode.Uri ? arg : activeModelView();
    const recal = uri && this.recalibrations.get(uri.toString());
    if (recal) {
      this.log.info(`Cancelling the recalibration of ${path.basename(uri.fsPath)}.`);
      recal.cancel();
      return true;
    }
    const targets = uri && this.find(uri)?.run ? [this.find(uri)!] : this.docs.running();
    if (targets.length === 0 && this.recalibrations.size > 0) {
      for (const r of this.recalibrations.values()) r.cancel();
      return true;
    }
    if (targets.length === 0) {
      this.seam.notify("info", "No BN Lens run is in progress.");
      return false;
    }
    for (const t of targets) {
      this.log.info(`Cancelling ${t.name}.`);
      t.run!.handle.cancel();
    }
    return true;
  }

  /** Asks where to save a model's report and writes it there (BN Lens writes only where the user chose). */
  async exportReport(arg?: unknown): Promise<vscode.Uri | undefined> {
    const uri = await this.resolveModel(arg, false);
    return exportReport(
      uri && this.find(uri),
      this.seam,
      this.context.globalState,
      (line) => this.log.info(line),
      this.context.extensionUri.fsPath,
      this.client,
      (d) => this.heldId(d),
    );
  }

  /** "Compare with Another Data Set..." (compareCommand.ts). */
  async compareWith(arg?: unknown): Promise<ComparisonReport | undefined> {
    const uri = await this.resolveModel(arg, true);
    if (!uri) return undefined;
    return compareWithData(
      {
        seam: this.seam,
        docs: this.docs,
        log: this.log,
        client: this.client,
        openView: (u) => this.openView(u),
        restore: (d) => this.loader.restore(d),
        inspect: (u, how) => this.inspect(u, how),
        pin: (id) => this.held.pin(id),
        heldId: (d) => this.heldId(d),
      },
      uri,
    );
  }

  /**
   * "Recalibrate BN Statistics on Data...": data as "Inspect Model with Data...", a save dialog, the
   * recalibration in the inference process, then the new model in its view (recalibrateModel.ts).
   */
  async recalibrate(arg?: unknown): Promise<RecalibrationJson | undefined> {
    const uri = await this.resolveModel(arg, true);
    if (!uri || !this.mayRun(uri)) return undefined;
    return recalibrateModel(
      {
        seam: this.seam,
        client: this.client,
        log: this.log,
        rememberedData: (u) => {
          const m = this.memories.get(u);
          return { data: m.data ?? m.last, inputShapes: m.inputShapes };
        },
        rememberData: (u, data) => this.memories.update(u, { data }),
        openView: (u) => this.openView(u),
        running: (u, handle) => {
          if (handle) this.recalibrations.set(u.toString(), handle);
          else this.recalibrations.delete(u.toString());
        },
        showReport: async (u, report, recalibration, data) => {
          const d = this.docs.open(u);
          // The check's report came back whole with the recalibration; the inference process holds it from now on.
          const held = await this.client.holdReport(report);
          if (!d.run) this.setReport(d, held, false, recalibration);
          else this.client.releaseHeld(held.id);
          // The new model was just checked on this data: Re-run repeats it, "with Data..." offers it first.
          void this.memories.update(u, { last: data, data, inputShapes: data.inputShapes }).then(() => this.offerRerun(u));
        },
      },
      uri,
    );
  }

  /** Opens a read-only document about one node, beside the model view. */
  async revealNode(model: vscode.Uri, node: string): Promise<vscode.TextDocument> {
    const doc = await vscode.workspace.openTextDocument(nodeUri(model, node));
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    return doc;
  }

  /** A node document's text; the observed statistics of its layer come from the inference process. */
  private async nodeDocumentText(model: vscode.Uri, node: string): Promise<string> {
    const s = this.find(model);
    const row = s?.compactReport && layersByNode(s.compactReport.rows).get(node);
    const observed =
      s && row
        ? await this.heldId(s)
            .then((id) => this.client.reportLayer(id, row.kind, row.index))
            .catch(() => undefined)
        : undefined;
    return (
      nodeText(node, s?.description, s?.compactReport?.model, observed) ??
      `${node}\n\nBN Lens knows the nodes around BatchNormalization layers of ${path.basename(model.fsPath)} (each BN layer, what feeds it and what follows it); "${node}" is not one of them${s?.description ? "" : ", or the model has not been read yet"}.\n`
    );
  }

  /** The view that last took a report (the test API reads what it acknowledged). */
  get lastPanel(): ModelPanel | undefined {
    return this.panel;
  }
}

const UNTRUSTED =
  "BN Lens does not run models in an untrusted workspace: running hands the model and your data to onnxruntime. It shows what the model stores; trust the workspace to run it.";

/** The model of the active BN Lens view, if the active editor is one. */
export function activeModelView(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.viewType === VIEW_TYPE ? input.uri : undefined;
}
