/**
 * Problems-panel entries that lead somewhere. VS Code gives a diagnostic two clickable parts besides the
 * entry itself (which can only open the .onnx file, whose custom editor does not receive a position):
 * the code (rule id) with a target URI, which the Problems panel opens with command links allowed, and
 * related information, each a real Location. BN Lens uses both: the rule id runs `bnLens.showLayer`, which
 * opens the model view at that layer's detail, and the related location is the layer's node description
 * (the read-only document "Show node" opens).
 */
import * as vscode from "vscode";
import type { Finding } from "./findings";
import type { Severity } from "../core/report";
import type { LayerRow } from "../protocol/webview";
import { nodeUri } from "./nodeDocuments";

/** The command a Problems entry's rule id runs. */
export const SHOW_LAYER_COMMAND = "bnLens.showLayer";

export const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

type LayerAt = { kind: "bn" | "activation"; index: number; node: string };

/** Where each layer is by node name: its row kind and index (the first row of a name wins; BN rows come first). */
export function layersByNode(rows: readonly LayerRow[]): Map<string, LayerAt> {
  // One map for all findings: a search per finding cost 1.3 s of the host's thread on 10,000 layers.
  const at = new Map<string, LayerAt>();
  for (const r of rows) if (!at.has(r.node)) at.set(r.node, { kind: r.kind, index: r.index, node: r.node });
  return at;
}

/** The command URI that opens a model's view at one layer. */
export function showLayerUri(model: vscode.Uri, kind: "bn" | "activation", index: number): vscode.Uri {
  return vscode.Uri.parse(`command:${SHOW_LAYER_COMMAND}?${encodeURIComponent(JSON.stringify([model.toString(), kind, index]))}`);
}

/** One diagnostic per finding, with its rule id linked to the layer's detail and its node as related location. */
export function findingDiagnostics(
  model: vscode.Uri,
  layers: ReadonlyMap<string, LayerAt>,
  findings: readonly Finding[],
): vscode.Diagnostic[] {
  const start = new vscode.Range(0, 0, 0, 0);
  return findings.map((f) => {
    const d = new vscode.Diagnostic(start, f.text, SEVERITY[f.severity]);
    d.source = "BN Lens";
    const at = f.layer ? layers.get(f.layer) : undefined;
    if (at) {
      d.code = { value: f.rule, target: showLayerUri(model, at.kind, at.index) };
      d.relatedInformation = [
        new vscode.DiagnosticRelatedInformation(
          new vscode.Location(nodeUri(model, at.node), new vscode.Range(0, 0, 0, 0)),
          `the node, what feeds it and what follows it; the rule id ${f.rule} opens the layer in BN Lens`,
        ),
      ];
    } else d.code = f.rule;
    return d;
  });
}

/** Parses the arguments of a showLayer command (from a command URI: plain JSON values). */
export function showLayerArgs(args: unknown[]): { model: vscode.Uri; kind: "bn" | "activation"; index: number } | undefined {
  const [model, kind, index] = args;
  if (typeof model !== "string" || (kind !== "bn" && kind !== "activation") || typeof index !== "number" || !Number.isSafeInteger(index))
    return undefined;
  try {
    return { model: vscode.Uri.parse(model, true), kind, index };
  } catch {
    return undefined;
  }
}

/** The rule id of a BN Lens diagnostic: its code is the id, or a link whose value is the id. */
export function ruleOf(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (typeof code === "string") return code;
  if (typeof code === "object" && code !== null && typeof code.value === "string") return code.value;
  return undefined;
}
