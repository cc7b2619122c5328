/**
 * The status bar item and the context keys (bnLens.running, bnLens.hasReport) follow the documents: the
 * run in progress, else the findings of the report that arrived last.
 */
import * as vscode from "vscode";
import { compactFindings, countFindings, countsSentence, statusText } from "./findings";
import type { ModelDocuments } from "./modelDocuments";
import { VIEW_TYPE } from "./modelView";

/** The BN Lens status bar item and context keys. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("bnLens.status", vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly docs: ModelDocuments) {
    this.item.name = "BN Lens";
    this.subscription = vscode.Disposable.from(
      docs.onDidChange(({ change }) => {
        this.update();
        if (change.kind !== "runProgressed" && change.kind !== "viewsChanged") this.updateContext();
      }),
      vscode.window.tabGroups.onDidChangeTabs(() => this.update()),
      vscode.window.tabGroups.onDidChangeTabGroups(() => this.update()),
    );
  }

  private update(): void {
    const running = this.docs.running();
    if (running.length) {
      const r = running[0];
      this.item.text = `$(sync~spin) BN Lens: ${Math.round(r.run!.percent)}%`;
      this.item.tooltip = `Inspecting ${r.name}: ${r.run!.progress?.message ?? "starting"}. Click to show it.`;
      this.item.command = { title: "Show BN Lens", command: "vscode.openWith", arguments: [r.uri, VIEW_TYPE] };
      this.item.show();
      return;
    }
    // The model in the active editor speaks first; the last one that reported when no model view is active.
    const active = activeModelUri();
    const front = active ? this.docs.all().find((x) => x.uri.toString() === active.toString()) : undefined;
    const d = active ? front : this.docs.lastReported();
    const report = d?.compactReport;
    if (!d || !report) {
      this.item.hide();
      return;
    }
    const counts = countFindings(compactFindings(report));
    this.item.text = statusText(counts);
    this.item.tooltip =
      `BN Lens${d.restored ? " (restored)" : ""}: ${d.name}, ${report.samples} samples (${report.data.description}); ` +
      `${countsSentence(counts)}. Click to show the model view.`;
    this.item.command = { title: "Show BN Lens", command: "vscode.openWith", arguments: [d.uri, VIEW_TYPE] };
    this.item.show();
  }

  private updateContext(): void {
    const all = this.docs.all();
    void vscode.commands.executeCommand(
      "setContext",
      "bnLens.running",
      all.some((d) => d.run),
    );
    void vscode.commands.executeCommand(
      "setContext",
      "bnLens.hasReport",
      all.some((d) => d.compactReport),
    );
  }

  /** What the status bar shows (for tests). */
  state(): { text: string; tooltip: string; visible: boolean } {
    return {
      text: this.item.text,
      tooltip: typeof this.item.tooltip === "string" ? this.item.tooltip : "",
      visible: !!this.docs.lastReported() || this.docs.running().length > 0,
    };
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

/** The model of the active BN Lens view, if the active editor is one. */
function activeModelUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.viewType === VIEW_TYPE ? input.uri : undefined;
}
