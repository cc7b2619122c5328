import * as fs from "node:fs";
import * as path from "node:path";
import { checkComparison } from "../core/compare/compareReports";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { UserError } from "../core/errors";
import { checkReport } from "../core/reportSchema";
import type { Report } from "../core/report";
import { jsonFilePieces } from "../core/inspect/reportJson";
import { writeFileAtomic } from "./output";

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(
      "data",
      `Cannot read report ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (e as Error).message}.`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UserError("data", `${file} is not JSON; pass reports written by "bn-lens inspect --json".`);
  }
}

/** Reads and checks an inspection report written by `bn-lens inspect --json`. */
export function readReportFile(file: string): Report {
  return checkReport(readJsonFile(file), file);
}

/** Reads an inspection report or, told apart by its `kind`, a comparison written by `bn-lens compare --json`. */
export function readReportOrComparison(file: string): { report: Report } | { comparison: ComparisonReport } {
  const json = readJsonFile(file);
  if (typeof json === "object" && json !== null && (json as { kind?: unknown }).kind === "bn-lens-comparison")
    return { comparison: checkComparison(json, file) };
  return { report: checkReport(json, file) };
}

function sameFile(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * Refuses a list of reports that names one file twice: by the same path, or through another path to the
 * same data (a symlink, `./a/../a.json`, a hard link), compared by real path and by device and inode.
 * A missing file is left to whoever reads it.
 */
export function refuseSameFiles(files: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const file of files) {
    let keys: string[];
    try {
      const stat = fs.statSync(file, { bigint: true });
      keys = [`path:${fs.realpathSync(file)}`, `inode:${stat.dev}:${stat.ino}`];
    } catch {
      continue;
    }
    const earlier = keys.map((k) => seen.get(k)).find((f) => f !== undefined);
    if (earlier !== undefined) {
      throw new UserError(
        "usage",
        earlier === file
          ? `${file} is given twice; give each report once, or its samples are counted twice.`
          : `${earlier} and ${file} are the same file; give each report once, or its samples are counted twice.`,
      );
    }
    for (const k of keys) seen.set(k, file);
  }
}

/** Refuses an output path that names one of the command's input files (checked before any work starts). */
export function refuseInputAsOutput(file: string | undefined, inputs: readonly string[], what = "the report"): void {
  if (file !== undefined && inputs.some((i) => sameFile(i, file)))
    throw new UserError("usage", `Refusing to write ${what} to ${file}: it is one of the input files; choose another output path.`);
}

/**
 * Writes JSON to `file` without ever replacing one of `inputs` (the files this command reads), and without
 * leaving a half-written file (src/cli/output.ts's writeFileAtomic).
 */
export function writeJsonSafely(file: string, value: unknown, inputs: readonly string[], what = "the report"): void {
  refuseInputAsOutput(file, inputs, what);
  writeFileAtomic(file, jsonFilePieces(value), what);
}
