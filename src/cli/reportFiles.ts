import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../core/errors";
import { checkReport } from "../core/reportSchema";
import type { Report } from "../core/report";
import { compactJson } from "../core/inspect/reportJson";
import { writeFileAtomic } from "./output";

/** Reads and checks an inspection report written by `bn-lens inspect --json`. */
export function readReportFile(file: string): Report {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(
      "data",
      `Cannot read report ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (e as Error).message}.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError("data", `${file} is not JSON; pass reports written by "bn-lens inspect --json".`);
  }
  return checkReport(json, file);
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
  writeFileAtomic(file, compactJson(value) + "\n", what);
}
