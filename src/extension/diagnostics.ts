/**
 * The Problems panel follows the documents: a report's findings appear when it arrives, go when a run
 * starts over, and go when the model's last view closes.
 */
import * as vscode from "vscode";
import type { Severity } from "../core/report";
import { reportFindings } from "./findings";
import type { ModelDocuments } from "./modelDocuments";

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Keeps the "bnLens" diagnostic collection in step with the documents' reports. */
export class FindingsDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection("bnLens");
  private readonly subscription: vscode.Disposable;

  constructor(docs: ModelDocuments) {
    this.subscription = docs.onDidChange(({ document: d, change }) => {
      switch (change.kind) {
        case "report":
          this.collection.set(d.uri, d.report ? diagnosticsOf(d.report) : []);
          break;
        case "runStarted":
        case "closed":
          this.collection.delete(d.uri);
          break;
        case "viewsChanged":
          if (d.views.size === 0 && !d.run) this.collection.delete(d.uri);
          break;
      }
    });
  }

  /** Drops a model's findings (tests start clean). */
  clear(uri: vscode.Uri): void {
    this.collection.delete(uri);
  }

  dispose(): void {
    this.subscription.dispose();
    this.collection.dispose();
  }
}

function diagnosticsOf(report: Parameters<typeof reportFindings>[0]): vscode.Diagnostic[] {
  const start = new vscode.Range(0, 0, 0, 0);
  return reportFindings(report).map((f) => {
    const d = new vscode.Diagnostic(start, f.text, SEVERITY[f.severity]);
    d.source = "BN Lens";
    d.code = f.rule;
    return d;
  });
}
