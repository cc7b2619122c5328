// File helpers every data reader shares: one sentence for every file-system error, ranged and whole reads,
// and the checks and phrases that keep the readers' messages alike.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { UserError } from "../../core/errors";
import type { DataSampleInfo, ResolvedInput } from "../../core/inputs/shapes";
import type { ModelInput } from "../../core/onnx/model";
import { formatShape, sizeOf, type HostTensor, type TypedArray } from "../../core/tensor";
import type { DataInfo, OpenedData } from "./dataSource";

/** Files this size or larger cannot be read whole (Node's readFile and protobuf both stop at 2 GiB). */
export const WHOLE_FILE_LIMIT_BYTES = 2 ** 31 - 1;

const naturalOrder = new Intl.Collator("en", { numeric: true });
/** Sorts names the way people number files: 2.jpg before 10.jpg. */
export function naturalSort(names: string[]): string[] {
  return names.sort((a, b) => naturalOrder.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** A short name for messages: the file name, with its folder for files inside a data folder. */
export function display(p: string, folder?: string): string {
  return folder ? `${path.basename(folder)}/${path.basename(p)}` : path.basename(p) || p;
}

/** Runs a file-system call and turns its errors into one sentence naming the path. */
export async function fsCall<T>(call: () => Promise<T>, p: string): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw fsError(e, p);
  }
}

export function fsError(e: unknown, p: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const name = display(p);
  switch (code) {
    case "ENOENT":
      return new UserError("data", `Data path "${p}" does not exist; check the path.`);
    case "EACCES":
    case "EPERM":
      return new UserError("data", `"${name}" cannot be read (permission denied); make it readable or copy it elsewhere.`);
    case "EISDIR":
      return new UserError("data", `"${name}" is a folder where a file was expected; give the file's path.`);
    case "EIO":
      return new UserError("data", `"${name}" cannot be read (an I/O error from the disk); copy it to a working disk and try again.`);
    case "EMFILE":
    case "ENFILE":
      return new UserError("resource", `Too many files are open to read "${name}"; close other programs and try again.`);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}

export async function readHead(p: string, n: number): Promise<Uint8Array> {
  const fh = await fsCall(() => fs.open(p, "r"), p);
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fsCall(() => fh.read(buf, 0, n, 0), p);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Reads exactly `length` bytes at `position`, into `into` when given (so typed arrays can be filled in place). */
export async function readRange(fh: fs.FileHandle, p: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
  const buf = into ?? new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fsCall(() => fh.read(buf, done, length - done, position + done), p);
    if (bytesRead === 0) {
      throw new UserError(
        "data",
        `"${display(p)}" ended early while being read (it was truncated or changed during the run); check the file and run again.`,
      );
    }
    done += bytesRead;
  }
  return buf;
}

export async function readWhole(p: string, sizeBytes: number, shown: string, advice: string): Promise<Uint8Array> {
  if (sizeBytes > WHOLE_FILE_LIMIT_BYTES) {
    throw new UserError("data", `"${shown}" is ${gib(sizeBytes)} GiB, and files of this kind over 2 GiB cannot be read; ${advice}.`);
  }
  return fsCall(() => fs.readFile(p), p);
}

export function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}

export function checkRange(info: DataInfo, start: number, count: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 1 || start + count > info.sampleCount) {
    throw new RangeError(`read(${start}, ${count}) is outside samples [0, ${info.sampleCount})`);
  }
}

export function checkBatchBytes(count: number, sampleBytes: number): void {
  if (count * sampleBytes > WHOLE_FILE_LIMIT_BYTES) {
    throw new UserError("resource", `A batch of ${count} samples needs ${gib(count * sampleBytes)} GiB of data; lower the batch size.`);
  }
}

export function onlyInput(modelInputs: readonly ModelInput[], what: string, alternative: string): ModelInput {
  if (modelInputs.length === 1) return modelInputs[0];
  if (modelInputs.length === 0) throw new UserError("model", "The model has no inputs to feed; choose a model that takes an input.");
  throw new UserError(
    "data",
    `${what} can feed only a single-input model, but this model has ${modelInputs.length} inputs (${modelInputs.map((i) => `"${i.name}"`).join(", ")}); ${alternative}.`,
  );
}

/** Checks that the resolved per-sample dims are the ones the data has (when the caller resolved without the data's facts). */
export function checkOpened(info: DataInfo, inputs: readonly ResolvedInput[]): OpenedData {
  const notes: string[] = [];
  for (const r of inputs) {
    const d = info.inputs.get(r.name);
    if (!d) continue;
    if (d.dims && formatShape(d.dims) !== formatShape(r.sampleDims)) {
      throw new UserError(
        "data",
        `Input "${r.name}" expects ${formatShape(r.sampleDims)} per sample, but the data has ${formatShape(d.dims)}; give data of that shape.`,
      );
    }
    if (d.dtype && d.dtype !== r.dtype) notes.push(r.conversion ?? `${r.name}: ${d.dtype} data is converted to ${r.dtype}.`);
  }
  return { description: "", notes };
}

export function nameList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(", ");
}

export function describeArrays(entries: [string, DataSampleInfo][]): string {
  return entries.map(([name, d]) => `${entries.length > 1 ? `${name} ` : ""}${formatShape(d.dims ?? [])} ${d.dtype}`).join(", ");
}

export function samplesWord(n: number): string {
  return `${n} sample${n === 1 ? "" : "s"}`;
}

export function capNote(available: number, cap: number | undefined): string {
  return cap !== undefined && cap < available ? ` (the first ${cap} of ${available})` : "";
}

/** Copies samples [start, start + count) of a row-major tensor whose first axis holds samples. */
export function sliceSamples(t: HostTensor, start: number, count: number): HostTensor {
  const per = sizeOf(t.dims.slice(1));
  return { dtype: t.dtype, dims: [count, ...t.dims.slice(1)], data: t.data.slice(start * per, (start + count) * per) as TypedArray };
}

export function concatSamples(parts: HostTensor[]): HostTensor {
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((s, t) => s + t.data.length, 0);
  const Ctor = parts[0].data.constructor as new (n: number) => TypedArray;
  const data = new Ctor(total);
  let at = 0;
  for (const t of parts) {
    (data as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(t.data as ArrayLike<number | bigint>, at);
    at += t.data.length;
  }
  return { dtype: parts[0].dtype, dims: [parts.reduce((s, t) => s + t.dims[0], 0), ...parts[0].dims.slice(1)], data };
}
