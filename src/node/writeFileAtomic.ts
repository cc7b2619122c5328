/**
 * The one atomic file writer, shared by the CLI and the extension host (src/node holds Node-only helpers
 * that need neither vscode nor onnxruntime). A report is written to a temporary file in the target's own
 * folder and renamed over the target, so readers see the old file or the whole new one, never a part.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError, isUserError } from "../core/errors";

const REASONS: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOENT: "its folder no longer exists",
  EISDIR: "it is a folder",
  EIO: "an input/output error",
};

/** What writeFileAtomic writes: the whole content, or its pieces in order (a large report layer by layer). */
export type FileContent = string | Uint8Array | Iterable<string | Uint8Array>;

/** The temporary file next to `abs` a write goes through (same folder: a rename never crosses file systems). */
function temporaryName(abs: string): string {
  const unique = `${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return path.join(path.dirname(abs), `.${path.basename(abs)}.${unique}.tmp`);
}

const WRITE_CHARS = 1 << 20;

/**
 * The content as the writes it is written in: pieces gathered into writes of about a megabyte, so the
 * whole text never has to exist as one string and small pieces do not cost a system call each.
 */
function* chunks(data: FileContent): Generator<string | Uint8Array> {
  if (typeof data === "string" || data instanceof Uint8Array) {
    yield data;
    return;
  }
  let pending = "";
  for (const piece of data) {
    if (typeof piece !== "string") {
      if (pending) yield pending;
      pending = "";
      yield piece;
    } else {
      pending += piece;
      if (pending.length >= WRITE_CHARS) {
        yield pending;
        pending = "";
      }
    }
  }
  if (pending) yield pending;
}

/**
 * Writes `data` to `file` through a temporary file in the same folder and a rename. On failure (a full
 * disk, a folder removed meanwhile, an error thrown while producing the pieces) the temporary file is
 * removed and the target is left as it was. `what` names the content for the sentence ("the report").
 */
export function writeFileAtomic(file: string, data: FileContent, what = "the report"): void {
  const abs = path.resolve(file);
  const tmp = temporaryName(abs);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "wx", 0o644);
    for (const chunk of chunks(data)) fs.writeFileSync(fd, chunk);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw writeError(e, file, what);
  }
}

/**
 * writeFileAtomic for a thread that must keep answering (the extension host): the same temporary file and
 * rename, written asynchronously, a megabyte at a time, so the event loop runs between the pieces.
 */
export async function writeFileAtomicAsync(file: string, data: FileContent, what = "the report"): Promise<void> {
  const abs = path.resolve(file);
  const tmp = temporaryName(abs);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(tmp, "wx", 0o644);
    // writeFile writes the whole chunk (write may stop short) from the current position.
    for (const chunk of chunks(data)) await handle.writeFile(chunk);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, abs);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw writeError(e, file, what);
  }
}

function writeError(e: unknown, file: string, what: string): UserError {
  // A refusal thrown while the pieces were produced (a merge meeting a damaged report) is about the input.
  if (isUserError(e)) return e;
  const code = (e as NodeJS.ErrnoException).code ?? "";
  if (!code && e instanceof RangeError)
    return new UserError("resource", `Cannot write ${what} to ${file}: it is too large to serialise (${e.message}); nothing was written.`);
  return new UserError(
    "resource",
    `Cannot write ${what} to ${file}: ${REASONS[code] ?? (e as Error).message} (${code || "error"}); nothing was written.`,
  );
}
