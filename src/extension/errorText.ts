/** How an error reads in a notification (one line) and in the log (with its detail). */
import { WorkerError } from "../runtime/client";

/** The error's message on one line. */
export function errorMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The inference process's detail or the stack, as a second part of a log line ("" when there is none). */
export function detailOf(e: unknown): string {
  const detail = e instanceof WorkerError ? e.info.detail : e instanceof Error ? e.stack : undefined;
  return detail ? `\n${detail}` : "";
}
