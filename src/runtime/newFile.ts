/**
 * Writing files the user asked for without ever destroying one they did not: a temporary file next to
 * the target, then a link (fails if the target exists) or, with force, an atomic rename.
 * Kept small and separate so it can give way to a shared safe-output helper.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../core/errors";

/** A temporary file next to `target`, named so it is recognisable and unique to this process. */
export function tempPathFor(target: string, tag = "tmp"): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${tag}-${process.pid}-${Date.now().toString(36)}`);
}

/** Refuses when `target` exists and force is off. */
export function checkWritable(target: string, force: boolean, what: string): void {
  if (!force && fs.existsSync(target)) {
    throw new UserError("usage", `${what} ${target} already exists; choose another --out or pass --force to replace it.`);
  }
  const dir = path.dirname(target);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UserError("data", `Cannot write ${what.toLowerCase()} into ${dir}: the folder does not exist or is not writable.`);
  }
}

/** Writes bytes to a file (creating it; failing as a UserError). */
export function writeBytes(file: string, bytes: Uint8Array): void {
  try {
    fs.writeFileSync(file, bytes, { flag: "wx" });
  } catch (e) {
    throw new UserError("data", `Cannot write ${file}: ${(e as Error).message}.`);
  }
}

/** Moves a finished temporary file to its target: never over an existing file unless force. */
export function commitFile(temp: string, target: string, force: boolean): void {
  try {
    if (force) fs.renameSync(temp, target);
    else {
      fs.linkSync(temp, target);
      fs.unlinkSync(temp);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new UserError("usage", `${target} appeared while BN Lens was working; nothing was replaced. Pass --force to replace it.`);
    throw new UserError("data", `Cannot write ${target}: ${(e as Error).message}.`);
  }
}

/** Removes a file if it exists (cleanup; errors ignored). */
export function removeQuietly(file: string | undefined): void {
  if (!file) return;
  try {
    fs.unlinkSync(file);
  } catch {
    // Already gone.
  }
}
