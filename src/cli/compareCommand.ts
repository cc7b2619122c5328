import { parseArgs } from "node:util";
import { compareReports } from "../core/compare/compareReports";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { UserError } from "../core/errors";
import type { Report } from "../core/report";
import { VERSION } from "../core/version";
import { formatComparison } from "./compareTable";
import { readReportFile, refuseInputAsOutput, writeJsonSafely } from "./reportFiles";

function usage(message: string): UserError {
  return new UserError("usage", `${message} (run "bn-lens --help" for usage)`);
}

/** Compares B with baseline A, prints the table and writes the comparison where asked. */
export function printComparison(
  a: Report,
  b: Report,
  names: [string, string],
  reportPaths: [string | undefined, string | undefined],
  jsonOut: string | undefined,
  inputs: readonly string[],
): ComparisonReport {
  refuseInputAsOutput(jsonOut, inputs, "the comparison");
  const comparison = compareReports(a, b, { names, reportPaths, generatorVersion: VERSION });
  if (jsonOut) writeJsonSafely(jsonOut, comparison, inputs, "the comparison");
  process.stdout.write(formatComparison(comparison) + "\n");
  if (jsonOut) process.stdout.write(`\nComparison written to ${jsonOut}\n`);
  return comparison;
}

/** `bn-lens compare A.json B.json [--json OUT]`. */
export function compareCommand(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "string" } } });
  if (positionals.length !== 2) throw usage(`compare takes two reports, A (the baseline) and B, got ${positionals.length}`);
  const [fa, fb] = positionals;
  printComparison(readReportFile(fa), readReportFile(fb), [fa, fb], [fa, fb], values.json, positionals);
}
