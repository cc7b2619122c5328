/**
 * What BN Lens does in VS Code: resolves which model a command means, asks for data, runs inspections
 * in the inference process (never on this thread) and routes the views' messages. State lives in the model
 * documents (modelDocument.ts); the Problems panel (diagnostics.ts), the status bar (statusBar.ts) and the
 * report store react to their events.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { compareReports } from "../core/compare/compareReports";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { UserError, isUserError } from "../core/errors";
import { checkReport } from "../core/reportSchema";
import { countFindings, countsSentence, reportFindings } from "./findings";
import { nodeText } from "./nodeText";
import { shapeQuestion } from "../core/inputs/shapeQuestion";
import { showLayerArgs } from "./findingLinks";
import type { Report } from "../core/report";
import type { RpcServer } from "../protocol/rpc";
import type { HostToWebview, RecalibrationView, RerunOffer, WebviewMethods, WebviewToHost } from "../protocol/webview";
import type { InspectRequest, Progress } from "../protocol/worker";
import { WorkerError, type InspectorClient } from "../runtime/client";
import { compareSettings } from "./compareSettings";
import { askData, describeChoice, describeData, type DataChoice } from "./dataChoice";
import { FindingsDiagnostics } from "./diagnostics";
import type { ModelDocument, Running } from "./modelDocument";
import { ModelDocuments } from "./modelDocuments";
import { VIEW_TYPE, type ModelPanel, type ViewHost } from "./modelView";
import { NODE_SCHEME, NodeDocuments, nodeUri } from "./nodeDocuments";
import { PromptSeam } from "./prompts";
import { ReportStore } from "./reportStore";
import { exportReport } from "./exportReport";
import { recalibrateModel } from "./recalibrateModel";
import type { RecalibrationJson } from "../core/recalibrate/recalibration";
import { runSettings } from "./settings";
import { askShape, withShape } from "./shapePrompt";
import { StatusBar } from "./statusBar";
import { webviewHandlers, webviewServer } from "./webviewHandlers";

/** What the inspect commands resolve to (undefined when nothing ran: cancelled, refused or failed). */
export interface InspectionResult {
  report: Report;
}

/** How an inspect command chooses its data. */
export type InspectHow = "random" | "withData" | "rerun";

/** What the last panel that was sent a report acknowledged (for tests and the e2e check). */
export interface PanelState {
  received: boolean;
  /** Overview rows sent (BN layers, or activation layers when BN was fused away). */
  layers: number;
  firstPaintMs?: number;
  restored: boolean;
  model: string;
}

/** What BN Lens remembers per model (workspaceState): the last run's data and the shapes it was told. */
interface ModelMemory {
  last?: DataChoice;
  /** The last data chosen with "with Data..." (offered again as "last used"). */
  data?: DataChoice;
  inputShapes?: string[];
}

const MEMORY_KEY = (uri: vscode.Uri) => `bnLens.model:${uri.toString()}`;
const USER_KINDS = new Set(["usage", "model", "data", "resource"]);

/** Keeps a bounded copy of the log for tests, and writes the LogOutputChannel. */
export class Log {
  readonly lines: string[] = [];
  constructor(readonly channel: vscode.LogOutputChannel) {}
  private keep(level: string, line: string): void {
    this.lines.push(`${level} ${line}`);
    if (this.lines.length > 1000) this.lines.splice(0, this.lines.length - 1000);
  }
  info(line: string): void {
    this.keep("info", line);
    this.channel.info(line);
  }
  warn(line: string): void {
    this.keep("warn", line);
    this.channel.warn(line);
  }
  error(line: string): void {
    this.keep("error", line);
    this.channel.error(line);
  }
}

export class Controller implements ViewHost, vscode.Disposable {
  readonly seam = new PromptSeam();
  /** Tests replace the trust check (the harness cannot open an untrusted folder). */
  trustOverride: (() => boolean) | undefined;
  readonly docs = new ModelDocuments();
  private readonly diagnostics = new FindingsDiagnostics(this.docs);
  private readonly status = new StatusBar(this.docs);
  private readonly store: ReportStore;
  private readonly nodeDocs: NodeDocuments;
  private readonly disposables: vscode.Disposable[] = [];
  private lastPanel: ModelPanel | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly servers = new WeakMap<ModelPanel, RpcServer<WebviewMethods, string>>();
  /** Running recalibrations by model, for "BN Lens: Cancel". */
  private readonly recalibrations = new Map<string, { cancel(): void }>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly client: InspectorClient,
    readonly log: Log,
  ) {
    this.store = new ReportStore(context, (line) => log.warn(line));
    this.nodeDocs = new NodeDocuments((model, node) => this.nodeDocumentText(model, node));
    this.disposables.push(
      this.docs.onDidChange(({ document: d, change }) => {
        if (change.kind === "report") this.reported(d, change.restored);
        if (change.kind === "runEnded" && this.docs.running().length === 0) for (const w of this.idleWaiters.splice(0)) w();
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

  /** The open document of a model, if any. */
  /** Shape questions open now, by model: what the panel shows while the input box waits. */
  private readonly asking = new Map<string, string>();

  find(uri: vscode.Uri): ModelDocument | undefined {
    return this.docs.get(uri);
  }

  /** A document took a report: keep it for a window reload and refresh the node documents about it. */
  private reported(d: ModelDocument, restored: boolean): void {
    if (!restored && d.report) void this.store.save(d.uri, d.report, d.overviewOfReport?.recalibration);
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
    void this.describe(s);
    void this.restore(s);
  }

  viewClosed(view: ModelPanel): void {
    const s = this.find(view.uri);
    if (this.lastPanel === view) this.lastPanel = undefined;
    s?.removeView(view);
  }

  viewRejected(view: ModelPanel, raw: unknown): void {
    const type = typeof raw === "object" && raw !== null ? String((raw as { type?: unknown }).type) : typeof raw;
    this.log.warn(`Ignored a malformed message from the view of ${view.uri.fsPath} (type ${type}).`);
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
        this.lastPanel = view;
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

  /** The request server of a view: answers with webviewHandlers over the model's current report. */
  private serverOf(view: ModelPanel): RpcServer<WebviewMethods, string> {
    let server = this.servers.get(view);
    if (!server) {
      server = webviewServer(
        webviewHandlers(() => this.find(view.uri)?.report),
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
    if (msg.type === "runFinished") for (const v of s.views) if (v.ready) this.lastPanel = v;
  }

  /** Everything a (re)loaded view needs: the model, then the run in progress or the last report. */
  private sendState(view: ModelPanel): void {
    const s = this.docs.open(view.uri);
    if (s.overview) this.postTo(view, { type: "modelDescribed", overview: s.overview, trusted: this.isTrusted() });
    else if (s.describeError) this.postTo(view, { type: "modelFailed", message: s.describeError, name: s.name });
    if (s.run) {
      this.postTo(view, { type: "runStarted", description: s.run.description });
      if (s.run.progress) this.postTo(view, { type: "runProgressed", progress: s.run.progress });
    } else if (s.report && s.overviewOfReport) {
      this.postTo(view, { type: "runFinished", report: s.overviewOfReport, restored: s.restored });
      this.lastPanel = view;
      if (s.comparison) this.postTo(view, { type: "comparisonFinished", comparison: s.comparison });
    }
    if (!this.isTrusted()) this.postTo(view, { type: "runFailed", kind: "untrusted", message: UNTRUSTED });
    const asking = this.asking.get(view.uri.toString());
    if (asking && !s.run) this.postTo(view, { type: "shapeAsked", question: asking });
    void this.rerunOffer(s.uri).then((rerun) => this.postTo(view, { type: "rerunOffered", rerun }));
  }

  /** What Re-run repeats for a model: its last run, described as the panel's primary button says it. */
  private async rerunOffer(uri: vscode.Uri): Promise<RerunOffer | null> {
    const last = this.memory(uri).last;
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

  /** Asks the inference process what the model stores (the host never decodes the model itself). */
  private describe(s: ModelDocument): Promise<void> {
    if (s.overview || s.describing) return s.describing ?? Promise.resolve();
    if (s.uri.scheme !== "file") {
      s.describeError = `BN Lens reads models from disk, and ${s.uri.toString()} is not a file on disk.`;
      this.post(s, { type: "modelFailed", message: s.describeError, name: s.name });
      return Promise.resolve();
    }
    const t0 = performance.now();
    s.describing = this.client
      .describeModel(s.uri.fsPath, { thresholds: runSettings(s.uri).thresholds })
      .then(
        (overview) => {
          s.overview = overview;
          s.describeError = undefined;
          s.describeMs = performance.now() - t0;
          this.log.info(`Opened ${s.uri.fsPath}: ${overview.model.statement} (described in ${s.describeMs.toFixed(0)} ms).`);
          this.post(s, { type: "modelDescribed", overview, trusted: this.isTrusted() });
        },
        (e: unknown) => {
          s.describeError = errorMessage(e);
          this.log.error(`Could not read ${s.uri.fsPath}: ${s.describeError}${detailOf(e)}`);
          this.post(s, { type: "modelFailed", message: s.describeError, name: s.name });
        },
      )
      .finally(() => {
        s.describing = undefined;
      });
    return s.describing;
  }

  /** Brings back the report saved before a window reload. */
  private restore(s: ModelDocument): Promise<void> {
    if (s.report || s.restoring) return s.restoring ?? Promise.resolve();
    s.restoring = this.store
      .load(s.uri)
      .then((saved) => {
        if (!saved || s.report || s.run) return;
        this.setReport(s, saved.report, true, saved.recalibration);
        this.log.info(
          `Restored the report of ${s.uri.fsPath} from ${saved.report.createdAt}${saved.recalibration ? ", with its recalibration's before/after" : ""}.`,
        );
      })
      .finally(() => {
        s.restoring = undefined;
      });
    return s.restoring;
  }

  private setReport(s: ModelDocument, report: Report, restored: boolean, recalibration?: RecalibrationView): void {
    s.setReport(report, restored, recalibration);
    for (const v of s.views) if (v.ready) this.lastPanel = v;
  }

  private trustGranted(): void {
    for (const s of this.docs.all()) {
      if (s.overview) this.post(s, { type: "modelDescribed", overview: s.overview, trusted: true });
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

  private memory(uri: vscode.Uri): ModelMemory {
    return this.context.workspaceState.get<ModelMemory>(MEMORY_KEY(uri)) ?? {};
  }

  private async remember(uri: vscode.Uri, change: Partial<ModelMemory>): Promise<void> {
    await this.context.workspaceState.update(MEMORY_KEY(uri), { ...this.memory(uri), ...change });
  }

  /** Runs an inspection of a model; `how` picks the data. Resolves to the report, or undefined when nothing ran. */
  async inspect(arg: unknown, how: InspectHow): Promise<InspectionResult | undefined> {
    const uri = await this.resolveModel(arg, true);
    if (!uri) return undefined;
    if (!this.isTrusted()) {
      this.refuseUntrusted(uri);
      return undefined;
    }
    if (uri.scheme !== "file") {
      this.seam.notify("error", `BN Lens reads models from disk, and ${uri.toString()} is not a file on disk.`);
      return undefined;
    }
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
    const memory = this.memory(uri);
    let choice: DataChoice;
    if (how === "withData") {
      const asked = await askData(this.seam.prompts, uri, memory.data ?? memory.last);
      if (!asked) return undefined;
      choice = { ...asked, inputShapes: memory.inputShapes };
      if (asked.dataPath) await this.remember(uri, { data: asked });
    } else if (how === "rerun") {
      choice = { ...memory.last, inputShapes: memory.inputShapes };
    } else {
      choice = { inputShapes: memory.inputShapes };
    }
    await this.remember(uri, { last: { ...choice, inputShapes: undefined } });
    this.offerRerun(uri);

    for (let attempt = 1; ; attempt++) {
      const outcome = await this.execute(s, choice);
      if ("report" in outcome) return { report: outcome.report };
      const hint = outcome.error instanceof WorkerError ? outcome.error.info.shapeNeeded : undefined;
      if (!hint || attempt > 3) {
        this.showFailure(s, outcome.error);
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
        this.showFailure(s, outcome.error);
        return undefined;
      }
      const inputShapes = withShape(choice.inputShapes, hint.input, answer);
      choice = { ...choice, inputShapes };
      await this.remember(uri, { inputShapes });
      this.log.info(`Input shape for ${s.name}: ${answer} (remembered for this model).`);
    }
  }

  /** Opens (or reveals) the model view of a model. */
  async openView(uri: vscode.Uri): Promise<void> {
    await vscode.commands.executeCommand("vscode.openWith", uri, VIEW_TYPE, { preview: false });
  }

  private refuseUntrusted(uri: vscode.Uri): void {
    this.log.warn(`Refused to run ${uri.fsPath}: the workspace is not trusted.`);
    const s = this.find(uri);
    if (s) this.post(s, { type: "runFailed", kind: "untrusted", message: UNTRUSTED });
    this.seam.notify("warning", UNTRUSTED, {
      "Manage Workspace Trust": () => void vscode.commands.executeCommand("workbench.trust.manage"),
    });
  }

  /** Runs one inspection in the inference process with progress, log and cancel. */
  private async execute(s: ModelDocument, choice: DataChoice): Promise<{ report: Report } | { error: unknown }> {
    const settings = runSettings(s.uri);
    const request: InspectRequest = {
      modelPath: s.uri.fsPath,
      ...settings,
      ...(choice.dataPath ? { dataPath: choice.dataPath, random: undefined } : {}),
      ...(choice.imageMean ? { imageMean: choice.imageMean, imageStd: choice.imageStd, bgr: choice.bgr } : {}),
      ...(choice.inputShapes?.length ? { inputShapes: choice.inputShapes } : {}),
    };
    const description = `${describeChoice(choice, settings.samples, settings.random)}; batch ${settings.batchSize ?? 8}${choice.dataPath ? "" : `, seed ${settings.seed ?? 0}`}`;
    const t0 = performance.now();
    this.log.info(`Inspecting ${s.uri.fsPath}`);
    this.log.info(`  data: ${description}${choice.preprocessing ? ` (${choice.preprocessing})` : ""}`);
    this.log.info(`  options: ${JSON.stringify({ ...request, modelPath: undefined, dataPath: undefined })}`);
    const handle = this.client.inspect(request, {
      progress: (p) => s.progressed(p),
      log: (line) => this.log.info(`  ${line}`),
    });
    const run: Running = { handle, description, percent: 0 };
    s.startRun(run);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `BN Lens: ${s.name}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => {
          this.log.info(`Cancel requested for ${s.name}.`);
          handle.cancel();
        });
        run.report = (increment, message) => progress.report({ increment, message });
        progress.report({ message: "starting" });
        await handle.result.catch(() => undefined);
      },
    );
    try {
      const report = await handle.result;
      const counts = countFindings(reportFindings(report));
      this.log.info(
        `Finished ${s.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s (engine ${(report.run.elapsedMs / 1000).toFixed(1)} s): ` +
          `${report.summary.layers} layers, ${report.samples} samples; ${countsSentence(counts)}.`,
      );
      this.setReport(s, report, false);
      return { report };
    } catch (error) {
      this.log.info(`Stopped ${s.name} after ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
      return { error };
    } finally {
      s.endRun();
    }
  }

  /** Says what went wrong: cancelled quietly, user errors in one sentence, bugs with a way to the log. */
  private showFailure(s: ModelDocument, e: unknown): void {
    const kind = e instanceof WorkerError ? e.kind : "bug";
    const message = errorMessage(e);
    if (kind === "cancelled") {
      this.log.info(`Cancelled ${s.name}: ${message}`);
      this.post(s, { type: "runCancelled" });
      return;
    }
    this.log.error(`${s.name}: ${message}${detailOf(e)}`);
    this.post(s, { type: "runFailed", kind, message });
    if (USER_KINDS.has(kind)) {
      this.seam.notify("error", message, { "Show Log": () => this.log.channel.show() });
    } else {
      // Bugs from the inference process already say so ("BN Lens hit an internal error: ..."); others get the prefix.
      const text = e instanceof WorkerError ? message : `BN Lens hit an internal error: ${message}`;
      this.seam.notify("error", text, { "Show Log": () => this.log.channel.show() });
    }
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
    );
  }

  /**
   * "Compare with Another Data Set...": the model's current report is A (the baseline); B comes from a run on
   * another data source (which then becomes the current report) or from a saved report. The comparison goes
   * to the panel's comparison mode and its findings to the Problems panel.
   */
  async compareWith(arg?: unknown): Promise<ComparisonReport | undefined> {
    const uri = await this.resolveModel(arg, true);
    if (!uri) return undefined;
    await this.openView(uri);
    const s = this.docs.open(uri);
    await this.restore(s);
    const baseline = s.report;
    if (!baseline) {
      this.seam.notify(
        "info",
        `Inspect ${s.name} first: BN Lens compares another data set with the model's current report, which is the baseline (A).`,
        { "Inspect with Data...": () => void this.inspect(uri, "withData") },
      );
      return undefined;
    }
    const source = await this.seam.prompts.quickPick(
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
    let other: Report;
    let otherName: string;
    let otherPath: string | undefined;
    if (source.id === "run") {
      const result = await this.inspect(uri, "withData");
      if (!result) return undefined;
      other = result.report;
      otherName = "the new run";
    } else {
      const picked = await this.seam.prompts.openDialog({
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
        let json: unknown;
        try {
          json = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(file)).toString("utf8"));
        } catch {
          throw new UserError(
            "data",
            `${otherName} is not a JSON file; pick a report exported by BN Lens or written by "bn-lens inspect --json".`,
          );
        }
        other = checkReport(json, otherName);
      } catch (e) {
        this.seam.notify("error", errorMessage(e));
        return undefined;
      }
    }
    let comparison: ComparisonReport;
    try {
      comparison = compareReports(baseline, other, {
        names: ["The current report", otherName],
        reportPaths: [undefined, otherPath],
        generatorVersion: baseline.generator.version,
        thresholds: compareSettings(uri),
      });
    } catch (e) {
      if (!isUserError(e)) throw e;
      this.seam.notify("error", e.message);
      return undefined;
    }
    s.setComparison(comparison);
    const start = comparison.shiftStart;
    this.log.info(
      `Compared ${s.name}: A ${baseline.data.description}; B ${other.data.description}; ` +
        (start ? `the shift starts at layer ${start.index} (${start.node}), ${comparison.summary.drifting} layers drift.` : "no drift."),
    );
    return comparison;
  }

  /**
   * "Recalibrate BN Statistics on Data...": data as "Inspect Model with Data...", a save dialog, the
   * recalibration in the inference process, then the new model in its view (recalibrateModel.ts).
   */
  async recalibrate(arg?: unknown): Promise<RecalibrationJson | undefined> {
    const uri = await this.resolveModel(arg, true);
    if (!uri) return undefined;
    if (!this.isTrusted()) {
      this.refuseUntrusted(uri);
      return undefined;
    }
    if (uri.scheme !== "file") {
      this.seam.notify("error", `BN Lens reads models from disk, and ${uri.toString()} is not a file on disk.`);
      return undefined;
    }
    return recalibrateModel(
      {
        seam: this.seam,
        client: this.client,
        log: this.log,
        rememberedData: (u) => {
          const m = this.memory(u);
          return { data: m.data ?? m.last, inputShapes: m.inputShapes };
        },
        rememberData: (u, data) => this.remember(u, { data }),
        openView: (u) => this.openView(u),
        running: (u, handle) => {
          if (handle) this.recalibrations.set(u.toString(), handle);
          else this.recalibrations.delete(u.toString());
        },
        showReport: (u, report, recalibration, data) => {
          const d = this.docs.open(u);
          if (!d.run) this.setReport(d, report, false, recalibration);
          // The new model was just checked on this data: Re-run repeats it, "with Data..." offers it first.
          void this.remember(u, { last: data, data, inputShapes: data.inputShapes }).then(() => this.offerRerun(u));
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

  private nodeDocumentText(model: vscode.Uri, node: string): string {
    const s = this.find(model);
    return (
      nodeText(node, s?.overview, s?.report) ??
      `${node}\n\nBN Lens knows the nodes around BatchNormalization layers of ${path.basename(model.fsPath)} (each BN layer, what feeds it and what follows it); "${node}" is not one of them${s?.overview ? "" : ", or the model has not been read yet"}.\n`
    );
  }

  // ---- for the exported API ----

  lastReport(): Report | undefined {
    return this.docs.lastReported()?.report;
  }

  panelState(): PanelState | undefined {
    const v = this.lastPanel;
    if (!v || v.sentRows === undefined) return undefined;
    return { received: v.received, layers: v.sentRows, firstPaintMs: v.firstPaintMs, restored: v.sentRestored, model: v.uri.fsPath };
  }

  statusBar(): { text: string; tooltip: string; visible: boolean } {
    return this.status.state();
  }

  progress(): Progress | undefined {
    return this.docs.running()[0]?.run?.progress;
  }

  whenIdle(): Promise<void> {
    if (this.docs.running().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  viewState(uri: vscode.Uri) {
    const s = this.find(uri);
    return {
      views: s?.views.size ?? 0,
      readyViews: s ? [...s.views].filter((v) => v.ready).length : 0,
      describedLayers: s?.overview?.layers.length,
      describeMs: s?.describeMs,
      describeError: s?.describeError,
      report: s?.report,
      restored: s?.restored ?? false,
      running: !!s?.run,
      sent: s ? [...s.sent] : [],
    };
  }

  /** Waits until a model view exists and its model was described (or failed to be). */
  async described(uri: vscode.Uri): Promise<void> {
    const s = this.find(uri);
    await s?.describing;
    await s?.restoring;
  }

  /** True when a model has no document in memory (VS Code disposed it when its last view closed), as after a window reload. */
  evict(uri: vscode.Uri): boolean {
    return !this.find(uri);
  }

  /** Forgets everything remembered about a model on disk: its data choices and its saved report (tests start clean). */
  async forget(uri: vscode.Uri): Promise<void> {
    await this.context.workspaceState.update(MEMORY_KEY(uri), undefined);
    await this.store.remove(uri);
    this.diagnostics.clear(uri);
  }
}

const UNTRUSTED =
  "BN Lens does not run models in an untrusted workspace: running hands the model and your data to onnxruntime. It shows what the model stores; trust the workspace to run it.";

/** The model of the active BN Lens view, if the active editor is one. */
export function activeModelView(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.viewType === VIEW_TYPE ? input.uri : undefined;
}

function errorMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function detailOf(e: unknown): string {
  const detail = e instanceof WorkerError ? e.info.detail : e instanceof Error ? e.stack : undefined;
  return detail ? `\n${detail}` : "";
}
