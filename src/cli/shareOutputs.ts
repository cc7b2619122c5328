/**
 * What `inspect` and `check` write besides the JSON report, and the CI gate: --sarif, --html,
 * --model-explorer and --fail-on. Kept apart from main.ts so each output stays one small module.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as zlib from "node:zlib";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { UserError } from "../core/errors";
import type { Report, Severity } from "../core/report";
import type { ReportOutline } from "../core/inspect/reportOutline";
import { decodeModel } from "../core/onnx/model";
import { comparisonHtml } from "../core/share/comparisonHtml";
import { reportHtml } from "../core/share/htmlReport";
import { modelExplorerFiles } from "../core/share/modelExplorer";
import { findingsAtOrAbove, reportToSarif, type SarifArtifact } from "../core/share/sarif";
import { refuseInputAsOutput } from "./reportFiles";

/** Exit code when findings reach --fail-on's severity (0 success, 1 bug, 2 bad usage or input). */
export const EXIT_FINDINGS = 3;

/** parseArgs options shared by inspect and check. */
export const SHARE_OPTIONS = {
  sarif: { type: "string" },
  html: { type: "string" },
  "model-explorer": { type: "string" },
  "fail-on": { type: "string" },
} as const;

/** The values of SHARE_OPTIONS after parsing. */
export interface ShareValues {
  sarif?: string;
  html?: string;
  "model-explorer"?: string;
  "fail-on"?: string;
}

/** Checks --fail-on before the run, so a typo does not cost a whole inspection. */
export function parseFailOn(value: string | undefined, fallback: Severity | undefined): Severity | undefined {
  if (value === undefined) return fallback;
  if (value !== "error" && value !== "warning" && value !== "info")
    throw new UserError("usage", `--fail-on is error, warning or info, not "${value}" (run "bn-lens --help" for usage)`);
  return value;
}

/** The model file as SARIF names it: relative to the working directory (the checkout in CI) when inside it. */
export function sarifArtifact(modelPath: string, cwd = process.cwd()): SarifArtifact {
  const rel = path.relative(cwd, modelPath);
  if (rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)) return { uri: rel.split(path.sep).join("/"), uriBaseId: "%SRCROOT%" };
  return { uri: pathToFileURL(modelPath).href };
}

/** Writes a text file the user named, with one sentence if that fails. */
export function writeOutput(file: string, text: string, what: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new UserError("data", `Cannot write the ${what} to ${file}: ${(e as Error).message}.`);
  }
}

/** The bundles every standalone page inlines, from dist/ (next to this file) and media/panel.css. */
function pageParts(distDir: string) {
  const read = (p: string) => {
    try {
      return fs.readFileSync(p, "utf8");
    } catch {
      throw new Error(`${p} is missing: build BN Lens (npm run build) before writing HTML reports`);
    }
  };
  return {
    panelScript: read(path.join(distDir, "webview.js")),
    hostScript: read(path.join(distDir, "standalone.js")),
    panelCss: read(path.join(distDir, "..", "media", "panel.css")),
    nonce: randomBytes(18).toString("base64"),
    gzip: (data: Uint8Array) => zlib.gzipSync(data, { level: 9 }),
  };
}

/** The standalone HTML page of a report, from the panel bundle next to this file (dist/) and media/panel.css. */
export function htmlOf(report: Report, distDir = __dirname): string {
  return reportHtml({ report, ...pageParts(distDir) });
}

/** The standalone HTML page of a comparison: the panel's comparison mode, offline. */
export function comparisonHtmlOf(comparison: ComparisonReport, distDir = __dirname): string {
  return comparisonHtml({ comparison, ...pageParts(distDir) });
}

/**
 * Writes the comparison's HTML page to `file` (refusing any of `inputs`); returns the line to print.
 * Not atomic like the JSON writer, but an HTML page is never an input of BN Lens.
 */
export function writeComparisonHtml(comparison: ComparisonReport, file: string, inputs: readonly string[]): string {
  refuseInputAsOutput(file, inputs, "the HTML report");
  const html = comparisonHtmlOf(comparison);
  writeOutput(file, html, "HTML report");
  return `HTML report of the comparison written to ${file} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)`;
}

/** The model file a report describes, checked to be the same bytes (node ids come from it). */
function modelBytes(report: ReportOutline): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(report.model.path);
  } catch (e) {
    throw new UserError("data", `Cannot read the model ${report.model.path} for Model Explorer node data: ${(e as Error).message}.`);
  }
  if (createHash("sha256").update(bytes).digest("hex") !== report.model.sha256)
    throw new UserError("data", `The model ${report.model.path} changed since the report was made (its sha256 differs); inspect it again.`);
  return bytes;
}

/**
 * Writes the outputs asked for; returns lines to print ("SARIF written to ..."). SARIF and Model Explorer
 * read the outline only; the HTML page embeds the whole report, which `whole` gives (a merge reads it back).
 */
export function writeShareOutputs(report: ReportOutline, values: ShareValues, whole: () => Report): string[] {
  const lines: string[] = [];
  if (values.sarif) {
    writeOutput(values.sarif, JSON.stringify(reportToSarif(report, sarifArtifact(report.model.path)), null, 1), "SARIF log");
    lines.push(`SARIF written to ${values.sarif}`);
  }
  if (values.html) {
    const html = htmlOf(whole());
    writeOutput(values.html, html, "HTML report");
    lines.push(`HTML report written to ${values.html} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)`);
  }
  const dir = values["model-explorer"];
  if (dir) {
    const files = modelExplorerFiles(report, decodeModel(modelBytes(report)));
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UserError("data", `Cannot create the folder ${dir}: ${(e as Error).message}.`);
    }
    for (const f of files) writeOutput(path.join(dir, f.fileName), JSON.stringify(f.data, null, 1), "Model Explorer node data");
    lines.push(`Model Explorer node data written to ${dir}: ${files.map((f) => f.fileName).join(", ")}`);
  }
  return lines;
}

/** The exit code of a finished run under --fail-on, and the line that says why when it fails. */
export function gate(report: ReportOutline, failOn: Severity | undefined): { code: number; line?: string } {
  if (!failOn) return { code: 0 };
  const n = findingsAtOrAbove(report, failOn);
  if (n === 0) return { code: 0, line: `No finding at or above ${failOn}.` };
  return {
    code: EXIT_FINDINGS,
    line: `Failing (exit ${EXIT_FINDINGS}): ${n} finding${n === 1 ? "" : "s"} at or above --fail-on ${failOn}.`,
  };
}
