/**
 * One .onnx model open in BN Lens, as a vscode.CustomDocument (in the manner of vscode-hexeditor's
 * HexDocument): it owns what the inference process described, the last report's compact form and the id
 * under which the inference process holds the whole report (the host never keeps a whole report: readers
 * ask the inference process for the part they need), the run in progress and the views showing it, and fires events the Problems panel, the status bar and the report store react to.
 * VS Code disposes it when its last view closes; a run in progress keeps it alive until the run ends.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import type { ModelDescription } from "../core/inspect/modelDescription";
import type { HostToWebview, CompactReport, RecalibrationView } from "../protocol/webview";
import type { HeldReport, Progress } from "../protocol/worker";
import type { RunHandle } from "../runtime/client";
import type { ModelPanel } from "./modelView";

/** A run in progress. */
export interface Running {
  handle: RunHandle<HeldReport>;
  description: string;
  progress?: Progress;
  percent: number;
  report?(increment: number, message: string): void;
}

/** What changed about a document. */
export type DocumentChange =
  | { kind: "report"; restored: boolean }
  | { kind: "comparison" }
  | { kind: "runStarted" }
  | { kind: "runProgressed" }
  | { kind: "runEnded" }
  | { kind: "viewsChanged" };

/** One model: its description, last report, run and views. */
export class ModelDocument implements vscode.CustomDocument {
  description: ModelDescription | undefined;
  describing: Promise<void> | undefined;
  describeError: string | undefined;
  describeMs: number | undefined;
  restoring: Promise<void> | undefined;
  private _compactReport: CompactReport | undefined;
  private _restored = false;
  private _heldId: number | undefined;
  private _heldGeneration = 0;
  private _run: Running | undefined;
  private _comparison: ComparisonReport | undefined;
  /** When the report was set (the status bar shows the most recent). */
  reportedAt = 0;
  readonly views = new Set<ModelPanel>();
  /** Host → webview messages, newest last (tests read them through the API). */
  readonly sent: HostToWebview[] = [];
  /** VS Code closed the last view; the document goes once no run holds it. */
  released = false;

  private readonly changed = new vscode.EventEmitter<DocumentChange>();
  /** Fires on a new report, a run's start, progress and end, and views opening or closing. */
  readonly onDidChange = this.changed.event;
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  constructor(
    readonly uri: vscode.Uri,
    private readonly onRelease: (doc: ModelDocument) => void,
  ) {}

  get name(): string {
    return path.basename(this.uri.fsPath);
  }
  /** The last report without its per-channel arrays (what the panel, the Problems panel and the status bar show). */
  get compactReport(): CompactReport | undefined {
    return this._compactReport;
  }
  /** The id under which the inference process holds the last report whole (set whenever compactReport is). */
  get heldId(): number | undefined {
    return this._heldId;
  }
  /** The inference process's generation (InspectorClient.generation) in which heldId is valid. */
  get heldGeneration(): number {
    return this._heldGeneration;
  }

  /** The same report held again under a new id (the inference process was restarted); nothing is re-sent. */
  reheld(id: number, generation: number): void {
    this._heldId = id;
    this._heldGeneration = generation;
  }
  get restored(): boolean {
    return this._restored;
  }
  get run(): Running | undefined {
    return this._run;
  }
  /** The last comparison of the report with another data set (cleared when a run starts). */
  get comparison(): ComparisonReport | undefined {
    return this._comparison;
  }

  /** Takes a comparison of the report with another data set and shows it in every view. */
  setComparison(comparison: ComparisonReport): void {
    this._comparison = comparison;
    this.post({ type: "comparisonFinished", comparison });
    this.changed.fire({ kind: "comparison" });
  }

  /**
   * Takes a new report the inference process holds (a finished run, or one restored from storage) and shows
   * it in every view; a recalibration's check comes with its before/after.
   */
  setReport(held: HeldReport, restored: boolean, recalibration?: RecalibrationView, generation = 0): void {
    this._restored = restored;
    this._heldId = held.id;
    this._heldGeneration = generation;
    this._compactReport = recalibration ? { ...held.compact, recalibration } : held.compact;
    this.reportedAt = performance.now();
    this.post({ type: "runFinished", report: this._compactReport, restored });
    this.changed.fire({ kind: "report", restored });
  }

  startRun(run: Running): void {
    this._run = run;
    this._comparison = undefined;
    this.post({ type: "runStarted", description: run.description });
    this.changed.fire({ kind: "runStarted" });
  }

  progressed(p: Progress): void {
    const run = this._run;
    if (!run) return;
    run.progress = p;
    const percent = p.samplesTotal > 0 ? Math.min(100, (100 * p.samplesDone) / p.samplesTotal) : 0;
    run.report?.(Math.max(0, percent - run.percent), p.message);
    run.percent = Math.max(run.percent, percent);
    this.post({ type: "runProgressed", progress: p });
    this.changed.fire({ kind: "runProgressed" });
  }

  endRun(): void {
    this._run = undefined;
    this.changed.fire({ kind: "runEnded" });
    if (this.released) this.onRelease(this);
  }

  addView(view: ModelPanel): void {
    this.views.add(view);
    this.changed.fire({ kind: "viewsChanged" });
  }

  removeView(view: ModelPanel): void {
    this.views.delete(view);
    this.changed.fire({ kind: "viewsChanged" });
  }

  private record(msg: HostToWebview): void {
    // Replies carry a layer's per-channel arrays (megabytes on 2,048 channels): only the last few are kept.
    if (msg.type === "replied") {
      const replies = this.sent.filter((m) => m.type === "replied");
      if (replies.length >= 8) this.sent.splice(this.sent.indexOf(replies[0]), 1);
    }
    this.sent.push(msg);
    if (this.sent.length > 300) this.sent.splice(0, this.sent.length - 300);
  }

  /** Posts to one view (a reply) and keeps a copy for tests. */
  postTo(view: ModelPanel, msg: HostToWebview): void {
    this.record(msg);
    view.post(msg);
  }

  /** Posts to every view and keeps a copy for tests. */
  post(msg: HostToWebview): void {
    this.record(msg);
    for (const v of this.views) v.post(msg);
  }

  /** Called by VS Code when the last editor of this document closes. */
  dispose(): void {
    this.released = true;
    if (!this._run) this.onRelease(this);
  }

  /** Ends the document for good (the registry calls this once no run holds it). */
  close(): void {
    this.disposed.fire();
    this.changed.dispose();
    this.disposed.dispose();
  }
}
