import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../core/errors";
import type { OnnxModel } from "../core/onnx/model";
import { externalRef, type ExternalReader, type ExternalRef } from "../core/onnx/tensorData";

const CHUNK_BYTES = 64 * 1024 * 1024;

/** A file read whole, in chunks (fs.readFileSync refuses files over 2 GiB), with its sha256. */
export interface LoadedFile {
  bytes: Uint8Array;
  sha256: string;
  sizeBytes: number;
}

function describeFsError(e: unknown, file: string, what: string): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason =
    code === "ENOENT"
      ? "does not exist"
      : code === "EACCES" || code === "EPERM"
        ? "cannot be read (permission denied)"
        : code === "EISDIR"
          ? "is a folder, not a file"
          : `cannot be read (${code ?? String(e)})`;
  return new UserError("data", `${what} ${file} ${reason}.`, String(e));
}

/** Reads a whole file in chunks, hashing as it goes. */
export function readFileChunked(file: string, what = "The file"): LoadedFile {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw describeFsError(e, file, what);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw new UserError("data", `${what} ${file} is a folder, not a file.`);
    const size = stat.size;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(size);
    } catch {
      throw new UserError("resource", `${what} ${file} is ${(size / 2 ** 30).toFixed(1)} GiB, more than this process can hold in memory.`);
    }
    const hash = createHash("sha256");
    let pos = 0;
    while (pos < size) {
      const n = fs.readSync(fd, bytes, pos, Math.min(CHUNK_BYTES, size - pos), pos);
      if (n === 0) throw new UserError("data", `${what} ${file} changed while it was being read (it got shorter).`);
      hash.update(bytes.subarray(pos, pos + n));
      pos += n;
    }
    return { bytes, sha256: hash.digest("hex"), sizeBytes: size };
  } finally {
    fs.closeSync(fd);
  }
}

/** The real path of an external data file, which must exist inside the model's folder (symlinks followed). */
function resolveExternal(root: string, location: string, tensorName: string): string {
  let real: string;
  try {
    real = fs.realpathSync(path.join(root, location));
  } catch {
    throw new UserError(
      "model",
      `Tensor "${tensorName}" keeps its data in "${location}", which is missing next to the model; copy the model's external data files into ${root}.`,
    );
  }
  if (real !== root && !real.startsWith(root + path.sep)) {
    throw new UserError(
      "model",
      `Tensor "${tensorName}" points to external data "${location}" that resolves outside the model's folder; BN Lens only reads external data files inside the model's folder.`,
    );
  }
  if (!fs.statSync(real).isFile()) {
    throw new UserError(
      "model",
      `Tensor "${tensorName}" keeps its data in "${location}", which is a folder, not a file; the model's external data reference is damaged.`,
    );
  }
  return real;
}

/**
 * Reads external tensor data next to a model. Locations are already checked to be relative and free of
 * "..", and the resolved real path (symlinks followed) must still lie inside the model's folder.
 */
export function externalReader(modelDir: string): ExternalReader {
  const root = fs.realpathSync(modelDir);
  return (ref: ExternalRef, tensorName: string) => {
    const real = resolveExternal(root, ref.location, tensorName);
    const fd = fs.openSync(real, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const length = ref.length ?? size - ref.offset;
      if (ref.offset + length > size) {
        throw new UserError(
          "model",
          `Tensor "${tensorName}" needs bytes ${ref.offset}–${ref.offset + length} of "${ref.location}", but that file has only ${size} bytes (truncated or from another export).`,
        );
      }
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, Math.min(CHUNK_BYTES, length - done), ref.offset + done);
        if (n === 0) break;
        done += n;
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  };
}

/**
 * Checks every external initializer before onnxruntime opens the files: the location stays inside the
 * model's folder (symlinks included), the file exists, and it holds the bytes the tensor points at.
 */
export function checkExternalData(model: OnnxModel, modelDir: string): void {
  const root = fs.realpathSync(modelDir);
  const sizes = new Map<string, number>();
  for (const t of model.graph.initializer) {
    const ref = externalRef(t);
    if (!ref) continue;
    let size = sizes.get(ref.location);
    if (size === undefined) {
      size = fs.statSync(resolveExternal(root, ref.location, t.name)).size;
      sizes.set(ref.location, size);
    }
    const end = ref.offset + (ref.length ?? 0);
    if (end > size || ref.offset > size) {
      throw new UserError(
        "model",
        `Tensor "${t.name}" needs bytes ${ref.offset}–${end} of "${ref.location}", but that file has only ${size} bytes (truncated or from another export).`,
      );
    }
  }
}
