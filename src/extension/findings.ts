import type { Report, RuleId, Severity, WarningJson } from "../core/report";
import type { CompactReport } from "../protocol/webview";

/** One finding of a report, flattened for lists outside the panel (the Problems panel, the status bar). */
export interface Finding {
  rule: RuleId;
  severity: Severity;
  layer?: string;
  channel?: number;
  /** The finding's own sentence(s). */
  message: string;
  /** The message prefixed with where it was found: "BatchNormalization_7, channel 3: ...". */
  text: string;
}

function finding(w: WarningJson): Finding {
  const where = w.layer === undefined ? "" : w.channel === undefined ? `${w.layer}: ` : `${w.layer}, channel ${w.channel}: `;
  return {
    rule: w.rule,
    severity: w.severity,
    ...(w.layer !== undefined ? { layer: w.layer } : {}),
    ...(w.channel !== undefined ? { channel: w.channel } : {}),
    message: w.message,
    text: where + w.message,
  };
}

/** Every finding of a report: model-level ones first, then BN layers and activation layers in graph order. */
export function reportFindings(r: Report): Finding[] {
  return [
    ...r.warnings.map(finding),
    ...r.layers.flatMap((l) => l.warnings.map(finding)),
    ...r.activations.flatMap((a) => a.warnings.map(finding)),
  ];
}

/**
 * The same findings from the compact report (every row carries its layer's warnings; rows are the BN layers,
 * then the activation layers, in graph order): what the host has, without the per-channel arrays.
 */
export function compactFindings(c: CompactReport): readonly Finding[] {
  // Built once per report: the Problems panel, the status bar and the log all ask in the turn the report
  // arrives, and 20,000 findings built three times held the host's thread about 0.1 s.
  let found = built.get(c);
  if (!found) {
    found = [...c.warnings.map(finding), ...c.rows.flatMap((row) => row.warnings.map(finding))];
    built.set(c, found);
  }
  return found;
}

const built = new WeakMap<CompactReport, readonly Finding[]>();

/** Findings counted by severity. */
export function countFindings(findings: readonly Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) out[f.severity]++;
  return out;
}

/** The status bar's text for a finished run: "BN Lens: 2 ✗ 5 ⚠", or "BN Lens: ✓" without errors and warnings. */
export function statusText(counts: Record<Severity, number>): string {
  const parts = [counts.error ? `${counts.error} ✗` : "", counts.warning ? `${counts.warning} ⚠` : ""].filter(Boolean);
  return `BN Lens: ${parts.length ? parts.join(" ") : "✓"}`;
}

/** A one-line count for tooltips and logs: "2 errors, 5 warnings, 1 note". */
export function countsSentence(counts: Record<Severity, number>): string {
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return [n(counts.error, "error", "errors"), n(counts.warning, "warning", "warnings"), n(counts.info, "note", "notes")].join(", ");
}
