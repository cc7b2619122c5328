import { parseArgs } from "node:util";
import { DEFAULT_COMPARE_THRESHOLDS, compareReports } from "../core/compare/compareReports";
import type { CompareThresholds, ComparisonReport } from "../core/compare/comparisonReport";
import type { Report } from "../core/report";
import { VERSION } from "../core/version";
import { formatComparison } from "./compareTable";
import { readReportFile, refuseInputAsOutput, writeJsonSafely } from "./reportFiles";
import { usage } from "./options";
import { writeComparisonHtml } from "./shareOutputs";

/** The comparison's threshold options, shared by `compare` and `inspect --baseline`. */
export const COMPARE_THRESHOLD_OPTIONS = {
  "drift-warning": { type: "string" },
  "drift-error": { type: "string" },
  "noise-factor": { type: "string" },
  "flat-change-warning": { type: "string" },
  "flat-change-error": { type: "string" },
} as const;

function share(value: string | undefined, name: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > max)
    throw usage(`--${name} takes a number from 0 to ${max}, not "${value}"`);
  return n;
}

/** Thresholds from the command line's options (unset ones keep their defaults). */
export function compareThresholdOptions(
  values: Partial<Record<keyof typeof COMPARE_THRESHOLD_OPTIONS, string>>,
): Partial<CompareThresholds> {
  const jw = share(values["drift-warning"], "drift-warning", 1);
  const je = share(values["drift-error"], "drift-error", 1);
  const nf = share(values["noise-factor"], "noise-factor", 1000);
  const fw = share(values["flat-change-warning"], "flat-change-warning", 1);
  const fe = share(values["flat-change-error"], "flat-change-error", 1);
  return {
    ...(jw !== undefined || je !== undefined
      ? {
          jsDistance: {
            warning: jw ?? DEFAULT_COMPARE_THRESHOLDS.jsDistance.warning,
            error: je ?? DEFAULT_COMPARE_THRESHOLDS.jsDistance.error,
          },
        }
      : {}),
    ...(nf !== undefined ? { noiseFactor: nf } : {}),
    ...(fw !== undefined || fe !== undefined
      ? {
          flatShareChange: {
            warning: fw ?? DEFAULT_COMPARE_THRESHOLDS.flatShareChange.warning,
            error: fe ?? DEFAULT_COMPARE_THRESHOLDS.flatShareChange.error,
          },
        }
      : {}),
  };
}

/** Compares B with baseline A, prints the table and writes the comparison (JSON, HTML page) where asked. */
export function printComparison(
  a: Report,
  b: Report,
  names: [string, string],
  reportPaths: [string | undefined, string | undefined],
  jsonOut: string | undefined,
  inputs: readonly string[],
  thresholds: Partial<CompareThresholds> = {},
  htmlOut?: string,
): ComparisonReport {
  refuseInputAsOutput(jsonOut, inputs, "the comparison");
  refuseInputAsOutput(htmlOut, [...inputs, ...(jsonOut ? [jsonOut] : [])], "the HTML report");
  const comparison = compareReports(a, b, { names, reportPaths, generatorVersion: VERSION, thresholds });
  if (jsonOut) writeJsonSafely(jsonOut, comparison, inputs, "the comparison");
  process.stdout.write(formatComparison(comparison) + "\n");
  if (jsonOut) process.stdout.write(`\nComparison written to ${jsonOut}\n`);
  if (htmlOut)
    process.stdout.write(`${jsonOut ? "" : "\n"}${writeComparisonHtml(comparison, htmlOut, [...inputs, ...(jsonOut ? [jsonOut] : [])])}\n`);
  return comparison;
}

/** `bn-lens compare A.json B.json [--json OUT] [--html OUT.html]`. */
export function compareCommand(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "string" }, html: { type: "string" }, ...COMPARE_THRESHOLD_OPTIONS },
  });
  if (positionals.length !== 2) throw usage(`compare takes two reports, A (the baseline) and B, got ${positionals.length}`);
  const thresholds = compareThresholdOptions(values);
  const [fa, fb] = positionals;
  refuseInputAsOutput(values.html, [...positionals, ...(values.json ? [values.json] : [])], "the HTML report");
  printComparison(readReportFile(fa), readReportFile(fb), [fa, fb], [fa, fb], values.json, positionals, thresholds, values.html);
}
