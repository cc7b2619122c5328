/**
 * Reading a report file as a stream of pieces (src/core/inspect/reportStream.ts): a megabyte at a time
 * through JsonPieceParser in split mode, so a report of any size is never held whole. The same sentences
 * as reading it whole (src/cli/reportFiles.ts) for a missing file, a folder, or text that is not JSON.
 */
import * as fs from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { UserError } from "../core/errors";
import { JsonPieceParser, JsonSyntaxError } from "../core/jsonPieces";
import { STREAMED_ARRAYS, StreamedReport, type ReportPiece } from "../core/inspect/reportStream";

const PIECE_BYTES = 2 ** 20;

/** The pieces of the report in `file`: its top-level fields and the elements of its layers and activations. */
export function* reportFilePieces(file: string): Generator<ReportPiece> {
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
    const parser = new JsonPieceParser(STREAMED_ARRAYS);
    const decoder = new StringDecoder("utf8");
    const buffer = Buffer.alloc(PIECE_BYTES);
    let events = 0;
    for (let read; (read = readPiece(fd, buffer, file)) > 0;) {
      parse(() => parser.write(decoder.write(buffer.subarray(0, read))), file);
      for (const e of parser.take()) {
        events++;
        yield e;
      }
    }
    const root = parse(() => {
      parser.write(decoder.end());
      return parser.end();
    }, file);
    for (const e of parser.take()) {
      events++;
      yield e;
    }
    // Not an object (an array, a number...): the whole value, for the schema's sentence.
    if (events === 0 && (typeof root !== "object" || root === null || Array.isArray(root))) yield { kind: "root", value: root };
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

function parse<T>(run: () => T, file: string): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new UserError("data", `${file} is not JSON; pass reports written by "bn-lens inspect --json".`);
    throw e;
  }
}

/** The report in `file`, read piece by piece as it is asked for. */
export function streamedReport(file: string): StreamedReport {
  return new StreamedReport(file, reportFilePieces(file));
}
