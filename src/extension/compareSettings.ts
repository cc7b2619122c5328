import * as vscode from "vscode";
import { withCompareDefaults } from "../core/compare/compareReports";
import type { CompareFindingJson, CompareThresholds, ComparisonReport } from "../core/compare/comparisonReport";

function finite(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The comparison thresholds from bnLens.compare.*; unset or invalid fields keep their defaults. */
export function compareSettings(scope?: vscode.Uri): CompareThresholds {
  const c = vscode.workspace.getConfiguration("bnLens", scope);
  const pair = (key: string) => {
    const w = finite(c.get(`compare.${key}.warning`));
    const e = finite(c.get(`compare.${key}.error`));
    return { ...(w !== undefined && w > 0 ? { warning: w } : {}), ...(e !== undefined && e > 0 ? { error: e } : {}) };
  };
  const noise = finite(c.get("compare.noiseFactor"));
  const d = withCompareDefaults();
  return withCompareDefaults({
    jsDistance: { ...d.jsDistance, ...pair("jsDistance") },
    flatShareChange: { ...d.flatShareChange, ...pair("flatShareChange") },
    ...(noise !== undefined && noise >= 0 ? { noiseFactor: noise } : {}),
  });
}

/** A comparison finding as the Problems panel shows it: where, then the message. */
export function comparisonFindingText(f: CompareFindingJson): string {
  return `${f.layer}${f.channel !== undefined ? `, channel ${f.channel}` : ""} (compared with another data set): ${f.message}`;
}

/** Every finding of a comparison, in graph order. */
export function comparisonFindings(c: ComparisonReport): CompareFindingJson[] {
  return c.layers.flatMap((l) => l.findings);
}
