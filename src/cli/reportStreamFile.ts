/**
 * Reading a report file as a stream of pieces (src/core/inspect/reportStream.ts): a megabyte at a time
 * through JsonPieceParser in split mode, so a report of any size is never held whole. The same sentences
 * as reading it whole (src/cli/reportFiles.ts) for a missing file, a folder, or text that is not JSON.
 */
import * as fs from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { UserError } from "../core/errors";
import { StreamedReport, reportPieces } from "../core/inspect/reportStream";

const PIECE_BYTES = 2 ** 20;

/** The text of `file`, a megabyte at a time (UTF-8 decoded across the cuts). */
function* fileTexts(file: string): Generator<string> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new UserError(
      "data",
      `Cannot read report ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (e as Error).message}.`,
    );
  }
  try {
    const decoder = new StringDecoder("utf8");
    const buffer = Buffer.alloc(PIECE_BYTES);
    for (let read; (read = readPiece(fd, buffer, file)) > 0;) yield decoder.write(buffer.subarray(0, read));
    yield decoder.end();
  } finally {
    fs.closeSync(fd);
  }
}

function readPiece(fd: number, buffer: Buffer, file: string): number {
  try {
    return fs.readSync(fd, buffer, 0, buffer.length, null);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError("data", `Cannot read report ${file}: ${code === "EISDIR" ? "it is a folder" : (e as Error).message}.`);
  }
}

/** The report in `file`, read piece by piece as it is asked for. */
export function streamedReport(file: string): StreamedReport {
  return new StreamedReport(file, reportPieces(fileTexts(file), file));
}
