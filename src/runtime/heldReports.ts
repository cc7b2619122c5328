/**
 * Reports the inference process keeps for the extension host, so that a large run never has to cross to
 * the host in one message (deserialising a 50 MB report held the host's thread for seconds): the host gets
 * the compact report and asks for the rest in pages, and the saved copy is written and read here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError, isUserError } from "../core/errors";
import { compactReport } from "../core/inspect/panelData";
import { compareReports } from "../core/compare/compareReports";
import type { CompareThresholds, ComparisonReport } from "../core/compare/comparisonReport";
import { jsonFilePieces, reportJsonPieces } from "../core/inspect/reportJson";
import type { ActivationLayerReport, LayerReport, Report } from "../core/report";
import { checkReport } from "../core/reportSchema";
import { standaloneHtml } from "../node/standaloneHtml";
import { writeFileAtomicAsync } from "../node/writeFileAtomic";
import { parse } from "../core/schema";
import { recalibrationViewSchema, type LayerRow, type RecalibrationView } from "../protocol/webview";
import type { HeldReportHead, ReportHead } from "../protocol/worker";

// Enough for every model a window shows at once and the comparisons between them; the oldest go first.
const KEEP = 16;
const held = new Map<number, { report: Report; rows: LayerRow[] }>();
let nextId = 1;

/** Keeps a report and answers with its id and compact report without its rows (the host asks for them in pages). */
export function hold(report: Report): HeldReportHead {
  const id = nextId++;
  const compact = compactReport(report);
  held.set(id, { report, rows: compact.rows });
  while (held.size > KEEP) held.delete(held.keys().next().value as number);
  return { id, compact: { ...compact, rows: [] }, rows: compact.rows.length };
}

/** Rows from..from+count of a held report's compact report. */
export function rows(id: number, from: number, count: number): LayerRow[] {
  get(id);
  return held.get(id)!.rows.slice(from, from + count);
}

function get(id: number): Report {
  const r = held.get(id)?.report;
  if (!r) throw new UserError("usage", "The inference process no longer holds that report (it was restarted); inspect the model again.");
  return r;
}

/** The report without its layers (key order kept, so the host can put them back in place). */
export function head(id: number): ReportHead {
  const r = get(id);
  return { report: { ...r, layers: [], activations: [] }, layers: r.layers.length, activations: r.activations.length };
}

/** Layers from..from+count of one kind. */
export function page(id: number, kind: "bn" | "activation", from: number, count: number): LayerReport[] | ActivationLayerReport[] {
  const r = get(id);
  return kind === "bn" ? r.layers.slice(from, from + count) : r.activations.slice(from, from + count);
}

/** One layer by its index (what the panel's layer detail shows). */
export function layer(id: number, kind: "bn" | "activation", index: number): LayerReport | ActivationLayerReport {
  const r = get(id);
  const found = kind === "bn" ? r.layers.find((l) => l.index === index) : r.activations.find((l) => l.index === index);
  if (!found) throw new UserError("usage", `The report has no ${kind === "bn" ? "BN" : "activation"} layer ${index}.`);
  return found;
}

/** Writes the saved copy `{ model, report }` (with a recalibration's before/after) atomically, piece by piece. */
export async function save(id: number, file: string, model: string, recalibration?: RecalibrationView): Promise<void> {
  const report = get(id);
  const writing = (async () => {
    await writes.get(file)?.catch(() => undefined);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomicAsync(file, jsonFilePieces({ model, report, ...(recalibration ? { recalibration } : {}) }), "the saved report");
  })();
  writes.set(file, writing);
  try {
    await writing;
  } finally {
    if (writes.get(file) === writing) writes.delete(file);
  }
}

// Saved copies being written, by file: a restore of the same file waits for them (a window reopened right
// after a run must read the copy just asked for, not the one before it or none).
const writes = new Map<string, Promise<void>>();

/**
 * Writes a held report where the user chose, atomically: the JSON exactly as `bn-lens inspect --json` writes
 * it (reportJsonPieces), or the standalone HTML page, which embeds the whole report by design.
 */
export async function exportTo(
  id: number,
  file: string,
  format: "json" | "html",
  extensionDir: string | undefined,
  recalibration?: RecalibrationView,
): Promise<void> {
  const report = get(id);
  if (format === "json") return writeFileAtomicAsync(file, reportJsonPieces(report));
  if (!extensionDir) throw new UserError("usage", "An HTML export needs the extension's folder (its panel bundle).");
  await writeFileAtomicAsync(file, standaloneHtml(report, extensionDir, recalibration));
}

/** Validates a report the host sends and holds it. */
export function holdChecked(report: unknown): HeldReportHead {
  return hold(checkReport(report, "the report"));
}

/** Reads and validates a report file (`inspect --json`'s format) and holds it; messages name the file as `name`. */
export async function holdFile(file: string, name: string): Promise<HeldReportHead> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (e) {
    throw new UserError("data", `BN Lens could not read ${name}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError("data", `${name} is not a JSON file; pick a report exported by BN Lens or written by "bn-lens inspect --json".`);
  }
  try {
    return hold(checkReport(json, name));
  } catch (e) {
    if (isUserError(e)) throw e;
    throw new UserError("data", (e as Error).message);
  }
}

/** Compares held report B with held baseline A. */
export function compare(
  a: number,
  b: number,
  names: [string, string],
  reportPaths: [string | null, string | null],
  thresholds?: Partial<CompareThresholds>,
): ComparisonReport {
  const baseline = get(a);
  return compareReports(baseline, get(b), {
    names,
    reportPaths: [reportPaths[0] ?? undefined, reportPaths[1] ?? undefined],
    generatorVersion: baseline.generator.version,
    ...(thresholds ? { thresholds } : {}),
  });
}

/** Reads, parses and validates a saved copy; null when there is none or it belongs to another model. */
export async function restore(file: string, model: string): Promise<{ held: HeldReportHead | null; recalibration?: RecalibrationView }> {
  await writes.get(file)?.catch(() => undefined);
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch {
    return { held: null };
  }
  let saved: { model?: unknown; report?: unknown; recalibration?: unknown };
  try {
    saved = JSON.parse(text) as { model?: unknown; report?: unknown; recalibration?: unknown };
  } catch (e) {
    throw new UserError("data", `the saved report is not valid JSON: ${(e as Error).message}`);
  }
  if (saved === null || typeof saved !== "object" || saved.model !== model) return { held: null };
  let report: Report;
  try {
    report = checkReport(saved.report, "the saved report");
  } catch (e) {
    if (isUserError(e)) throw e;
    throw new UserError("data", (e as Error).message);
  }
  // A before/after that does not read back is dropped; the report alone is still worth restoring.
  const recalibration = saved.recalibration === undefined ? undefined : parse(recalibrationViewSchema, saved.recalibration);
  return { held: hold(report), ...(recalibration ? { recalibration } : {}) };
}

/** Forgets a report. */
export function release(id: number): void {
  held.delete(id);
}
