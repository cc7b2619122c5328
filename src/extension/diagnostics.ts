/**
 * The Problems panel follows the documents: a report's findings appear when it arrives, go when a run
 * starts over, and go when the model's last view closes.
 */
import * as vscode from "vscode";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { comparisonFindingText, comparisonFindings } from "./compareSettings";
import { SEVERITY, findingDiagnostics, layersByNode } from "./findingLinks";
import { compactFindings } from "./findings";
import type { ModelDocument } from "./modelDocument";
import type { ModelDocuments } from "./modelDocuments";

// Findings built in one turn of the event loop; more than this are built a chunk per turn.
const CHUNK = 500;

/** Keeps the "bnLens" diagnostic collection in step with the documents' reports. */
export class FindingsDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection("bnLens");
  private readonly subscription: vscode.Disposable;
  /** Bumped on every change of a model's findings: a large report's findings still being built for an older one are dropped. */
  private readonly generation = new Map<string, number>();
  private readonly building = new Map<string, Promise<void>>();

  constructor(docs: ModelDocuments) {
    this.subscription = docs.onDidChange(({ document: d, change }) => {
      switch (change.kind) {
        case "report":
        case "comparison":
          this.show(d);
          break;
        case "runStarted":
        case "closed":
          this.drop(d.uri);
          break;
        case "viewsChanged":
          if (d.views.size === 0 && !d.run) this.drop(d.uri);
          break;
      }
    });
  }

  /** Drops a model's findings (tests start clean). */
  clear(uri: vscode.Uri): void {
    this.drop(uri);
  }

  /** Resolves once the model's findings are in the Problems panel (at once, unless a large report's are being built). */
  settled(uri: vscode.Uri): Promise<void> {
    return this.building.get(uri.toString()) ?? Promise.resolve();
  }

  private drop(uri: vscode.Uri): void {
    this.generation.set(uri.toString(), (this.generation.get(uri.toString()) ?? 0) + 1);
    this.collection.delete(uri);
  }

  private show(d: ModelDocument): void {
    const key = d.uri.toString();
    const generation = (this.generation.get(key) ?? 0) + 1;
    this.generation.set(key, generation);
    const compact = d.compactReport;
    // From the compact report: every row carries its layer's findings, so the whole report is never needed here.
    const findings = compact ? compactFindings(compact) : [];
    const tail = d.comparison ? comparisonDiagnostics(d.comparison) : [];
    if (!compact || findings.length <= CHUNK) {
      this.collection.set(d.uri, [...(compact ? findingDiagnostics(d.uri, layersByNode(compact.rows), findings) : []), ...tail]);
      return;
    }
    // A large report's findings (20,000 on 10,000 layers) are built a chunk per turn of the event loop,
    // then shown at once; a newer report or a run starting meanwhile makes them stale.
    const layers = layersByNode(compact.rows);
    const building = (async () => {
      const out: vscode.Diagnostic[] = [];
      for (let i = 0; i < findings.length; i += CHUNK) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.generation.get(key) !== generation) return;
        out.push(...findingDiagnostics(d.uri, layers, findings.slice(i, i + CHUNK)));
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (this.generation.get(key) === generation) this.collection.set(d.uri, [...out, ...tail]);
    })().finally(() => {
      if (this.building.get(key) === building) this.building.delete(key);
    });
    this.building.set(key, building);
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
