/**
 * The Problems panel follows the documents: a report's findings appear when it arrives, go when a run
 * starts over, and go when the model's last view closes.
 */
import * as vscode from "vscode";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { comparisonFindingText, comparisonFindings } from "./compareSettings";
import { SEVERITY, findingDiagnostics } from "./findingLinks";
import { reportFindings } from "./findings";
import type { ModelDocuments } from "./modelDocuments";

/** Keeps the "bnLens" diagnostic collection in step with the documents' reports. */
export class FindingsDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection("bnLens");
  private readonly subscription: vscode.Disposable;

  constructor(docs: ModelDocuments) {
    this.subscription = docs.onDidChange(({ document: d, change }) => {
      switch (change.kind) {
        case "report":
        case "comparison":
          this.collection.set(d.uri, [
            ...(d.report ? findingDiagnostics(d.uri, d.report, reportFindings(d.report)) : []),
            ...(d.comparison ? comparisonDiagnostics(d.comparison) : []),
          ]);
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

/** A comparison's findings, after the report's (code = the comparison rule). */
function comparisonDiagnostics(c: ComparisonReport): vscode.Diagnostic[] {
  const start = new vscode.Range(0, 0, 0, 0);
  return comparisonFindings(c).map((f) => {
    const d = new vscode.Diagnostic(start, comparisonFindingText(f), SEVERITY[f.severity]);
    d.source = "BN Lens";
    d.code = f.rule;
    return d;
  });
}
