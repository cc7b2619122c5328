import * as fs from "node:fs";
import * as path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { checkComparison } from "../core/compare/compareReports";
import type { ComparisonReport } from "../core/compare/comparisonReport";
import { UserError } from "../core/errors";
import { JsonPieceParser, JsonSyntaxError } from "../core/jsonPieces";
import { checkReport } from "../core/reportSchema";
import type { Report } from "../core/report";
import { jsonFilePieces } from "../core/inspect/reportJson";
import { writeFileAtomic } from "./output";

// Above this size a report is parsed piece by piece: a report of hundreds of layers of thousands of channels
// is longer than the longest string V8 can hold, and JSON.parse needs the whole text as one string.
const WHOLE_TEXT_LIMIT_BYTES = 256 * 2 ** 20;
const PIECE_BYTES = 8 * 2 ** 20;

function readJsonFile(file: string): unknown {
  let fd: number;
  let sizeBytes: number;
  try {
    fd = fs.openSync(file, "r");
    sizeBytes = fs.fstatSync(fd).size;
  } catch (e) {
    throw new UserError(
      "data",
      `Cannot read report ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (e as Error).message}.`,
    );
  }
  try {
    if (sizeBytes <= WHOLE_TEXT_LIMIT_BYTES) return JSON.parse(fs.readFileSync(fd, "utf8")) as unknown;
    const parser = new JsonPieceParser();
    const decoder = new StringDecoder("utf8");
    const buffer = Buffer.alloc(PIECE_BYTES);
    for (let read; (read = fs.readSync(fd, buffer, 0, PIECE_BYTES, null)) > 0;) parser.write(decoder.write(buffer.subarray(0, read)));
    parser.write(decoder.end());
    return parser.end();
  } catch (e) {
    if (!(e instanceof SyntaxError || e instanceof JsonSyntaxError)) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError("data", `Cannot read report ${file}: ${code === "EISDIR" ? "it is a folder" : (e as Error).message}.`);
    }
    throw new UserError("data", `${file} is not JSON; pass reports written by "bn-lens inspect --json".`);
  } finally {
    fs.closeSync(fd);
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
