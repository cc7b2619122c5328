// Streaming readers for every input-data format. The engine probes the data, resolves the model's input shapes
// against what the data gives, opens the source with the resolved shapes, then reads one batch at a time:
// no source holds more than the current batch (and, for .npz and ONNX test data, the decoded file it reads from).
import * as fs from "node:fs/promises";
import * as path from "node:path";
import sharp from "sharp";
import { UserError } from "../core/errors";
import { castTensor, isFloat } from "../core/inputs/convert";
import {
  checkNormalization,
  DEFAULT_IMAGE_NORMALIZATION,
  describeNormalization,
  imageLayout,
  pixelsToSample,
  type ImageGeometry,
  type ImageNormalization,
} from "../core/inputs/image";
import {
  decodeNpyElements,
  fortranToC,
  isNpy,
  NPY_PREAMBLE_BYTES,
  npyHeaderLength,
  parseNpyHeader,
  truncatedData,
  type NpyHeader,
} from "../core/inputs/npy";
import { isZip, npzArrayNames, parseNpz } from "../core/inputs/npz";
import { checkRandomInput, checkRandomSpec, DEFAULT_RANDOM, describeRandom, randomBatch, type RandomSpec } from "../core/inputs/random";
import { resolveInputs, type DataSampleInfo, type ResolvedInput } from "../core/inputs/shapes";
import type { ModelInput } from "../core/onnx/model";
import { decodeTensorProto } from "../core/onnx/tensorData";
import { allocate, formatShape, sizeOf, type HostTensor, type TypedArray } from "../core/tensor";

/** What to read: a file or folder, or seeded random data when no path is given. */
export interface DataOptions {
  /** A .npy, .npz or .pb file, an image, a folder of images, or a folder of ONNX test data sets. */
  path?: string;
  /** Caps the number of samples read; random data makes this many (default 64). */
  samples?: number;
  /** Seed of random data (default 0). */
  seed?: number;
  random?: RandomSpec;
  /** Normalization of images (default: pixels as they are, RGB). */
  image?: Partial<ImageNormalization>;
  /** Images decoded at once while reading a batch (default 4). */
  imageConcurrency?: number;
}

/** The formats BN Lens reads. */
export type DataKind = "random" | "npy" | "npz" | "onnx-test-data" | "images";

/** What the data provides, known before the model's input shapes are resolved. */
export interface DataInfo {
  kind: DataKind;
  /** Samples that will be read (after the --samples cap). */
  sampleCount: number;
  /** Per-sample dims and dtype by model input name; empty for random data and images, which follow the model. */
  inputs: Map<string, DataSampleInfo>;
  /** One line for people, e.g. "data.npy: 1000 samples of 3x224x224 float32". */
  description: string;
}

/** What an opened source will feed. */
export interface OpenedData {
  /** One line for people about how samples are made, e.g. "resized to 320x240, RGB, (p - 127) / 128, NCHW". */
  description: string;
  /** Conversions and choices worth telling the user (dtype conversions, a guessed image layout, ignored arrays). */
  notes: string[];
}

/** One streaming reader, used the same way for every format; read() calls must not overlap. */
export interface DataSource {
  readonly info: DataInfo;
  /** Checks the data against the resolved inputs; must precede read(). */
  open(inputs: readonly ResolvedInput[]): Promise<OpenedData>;
  /** Samples [start, start + count) of every input, shaped [count, ...sampleDims], in the dtype each input takes. */
  read(start: number, count: number): Promise<Record<string, HostTensor>>;
  close(): Promise<void>;
}

/** The default number of random samples. */
export const DEFAULT_RANDOM_SAMPLES = 64;
/** Files this size or larger cannot be read whole (Node's readFile and protobuf both stop at 2 GiB). */
export const WHOLE_FILE_LIMIT_BYTES = 2 ** 31 - 1;
const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png"]);
// Fortran-order .npy batches are gathered with reads of at most this many bytes.
const GATHER_WINDOW_BYTES = 8 << 20;

const naturalOrder = new Intl.Collator("en", { numeric: true });
/** Sorts names the way people number files: 2.jpg before 10.jpg. */
export function naturalSort(names: string[]): string[] {
  return names.sort((a, b) => naturalOrder.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Finds and checks the data (without reading samples) and returns a source to open and read. */
export async function probeData(options: DataOptions, modelInputs: readonly ModelInput[]): Promise<DataSource> {
  const cap = checkSamples(options.samples);
  if (options.path === undefined || options.path === "") return randomSource(options, cap ?? DEFAULT_RANDOM_SAMPLES);
  const p = options.path;
  const stat = await fsCall(() => fs.stat(p), p);
  if (stat.isDirectory()) return probeFolder(p, options, modelInputs, cap);
  const ext = path.extname(p).toLowerCase();
  if (ext === ".npy") return npySource(p, modelInputs, cap);
  if (ext === ".npz") return npzSource(p, stat.size, modelInputs, cap);
  if (ext === ".pb") return testDataSource(path.dirname(p), [[p]], display(p), modelInputs, cap);
  if (IMAGE_EXTENSIONS.has(ext)) return imageSource([p], undefined, display(p), options, modelInputs, cap);
  // Unknown extension: look at the first bytes.
  const head = await readHead(p, 8);
  if (isNpy(head)) return npySource(p, modelInputs, cap);
  if (isZip(head)) return npzSource(p, stat.size, modelInputs, cap);
  if ((head[0] === 0xff && head[1] === 0xd8) || (head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47)) {
    return imageSource([p], undefined, display(p), options, modelInputs, cap);
  }
  throw new UserError(
    "data",
    `"${display(p)}" is not a data file BN Lens reads; give a .npy, .npz or ONNX TensorProto .pb file, a .jpg or .png image, or a folder of images or of test_data_set_* folders.`,
  );
}

/** Probes, resolves the model's input shapes against the data, and opens the source: everything before the first batch. */
export async function prepareData(
  options: DataOptions,
  modelInputs: readonly ModelInput[],
  shapes: { batchSize: number; inputShapes?: readonly string[] },
): Promise<{ source: DataSource; inputs: ResolvedInput[]; opened: OpenedData }> {
  const source = await probeData(options, modelInputs);
  try {
    const inputs = resolveInputs({
      inputs: modelInputs,
      overrides: shapes.inputShapes ?? [],
      batchSize: shapes.batchSize,
      data: source.info.inputs,
    });
    const opened = await source.open(inputs);
    return { source, inputs, opened };
  } catch (e) {
    await source.close();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function checkSamples(samples: number | undefined): number | undefined {
  if (samples === undefined) return undefined;
  if (!Number.isSafeInteger(samples) || samples < 1) {
    throw new UserError("usage", `--samples must be a whole number of at least 1, not ${samples}.`);
  }
  return samples;
}

/** A short name for messages: the file name, with its folder for files inside a data folder. */
function display(p: string, folder?: string): string {
  return folder ? `${path.basename(folder)}/${path.basename(p)}` : path.basename(p) || p;
}

/** Runs a file-system call and turns its errors into one sentence naming the path. */
async function fsCall<T>(call: () => Promise<T>, p: string): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw fsError(e, p);
  }
}

function fsError(e: unknown, p: string): Error {
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

async function readHead(p: string, n: number): Promise<Uint8Array> {
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
async function readRange(fh: fs.FileHandle, p: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
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

async function readWhole(p: string, sizeBytes: number, shown: string, advice: string): Promise<Uint8Array> {
  if (sizeBytes > WHOLE_FILE_LIMIT_BYTES) {
    throw new UserError("data", `"${shown}" is ${gib(sizeBytes)} GiB, and files of this kind over 2 GiB cannot be read; ${advice}.`);
  }
  return fsCall(() => fs.readFile(p), p);
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}

function checkRange(info: DataInfo, start: number, count: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 1 || start + count > info.sampleCount) {
    throw new RangeError(`read(${start}, ${count}) is outside samples [0, ${info.sampleCount})`);
  }
}

function checkBatchBytes(count: number, sampleBytes: number): void {
  if (count * sampleBytes > WHOLE_FILE_LIMIT_BYTES) {
    throw new UserError("resource", `A batch of ${count} samples needs ${gib(count * sampleBytes)} GiB of data; lower the batch size.`);
  }
}

function onlyInput(modelInputs: readonly ModelInput[], what: string, alternative: string): ModelInput {
  if (modelInputs.length === 1) return modelInputs[0];
  if (modelInputs.length === 0) throw new UserError("model", "The model has no inputs to feed; choose a model that takes an input.");
  throw new UserError(
    "data",
    `${what} can feed only a single-input model, but this model has ${modelInputs.length} inputs (${modelInputs.map((i) => `"${i.name}"`).join(", ")}); ${alternative}.`,
  );
}

/** Checks that the resolved per-sample dims are the ones the data has (when the caller resolved without the data's facts). */
function checkOpened(info: DataInfo, inputs: readonly ResolvedInput[]): OpenedData {
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

function nameList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(", ");
}

function describeArrays(entries: [string, DataSampleInfo][]): string {
  return entries.map(([name, d]) => `${entries.length > 1 ? `${name} ` : ""}${formatShape(d.dims ?? [])} ${d.dtype}`).join(", ");
}

function samplesWord(n: number): string {
  return `${n} sample${n === 1 ? "" : "s"}`;
}

function capNote(available: number, cap: number | undefined): string {
  return cap !== undefined && cap < available ? ` (the first ${cap} of ${available})` : "";
}

/** Copies samples [start, start + count) of a row-major tensor whose first axis holds samples. */
function sliceSamples(t: HostTensor, start: number, count: number): HostTensor {
  const per = sizeOf(t.dims.slice(1));
  return { dtype: t.dtype, dims: [count, ...t.dims.slice(1)], data: t.data.slice(start * per, (start + count) * per) as TypedArray };
}

// ---------------------------------------------------------------------------------------------------------------
// Random

function randomSource(options: DataOptions, count: number): DataSource {
  const spec = options.random ?? DEFAULT_RANDOM;
  checkRandomSpec(spec);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new UserError("usage", `--seed must be a whole number, not ${seed}.`);
  let inputs: readonly ResolvedInput[] = [];
  const info: DataInfo = {
    kind: "random",
    sampleCount: count,
    inputs: new Map(),
    description: `${count} random samples, ${describeRandom(spec)}, seed ${seed}`,
  };
  return {
    info,
    async open(resolved) {
      for (const r of resolved) checkRandomInput(r.name, r.dtype);
      inputs = resolved;
      return { description: `random ${describeRandom(spec)}`, notes: [] };
    },
    async read(start, n) {
      checkRange(info, start, n);
      const out: Record<string, HostTensor> = {};
      for (const r of inputs) out[r.name] = randomBatch(spec, seed, r.index, start, n, r.sampleDims, r.dtype);
      return out;
    },
    async close() {},
  };
}

// ---------------------------------------------------------------------------------------------------------------
// .npy: read by byte ranges, so files of any size stream with flat memory.

async function npySource(p: string, modelInputs: readonly ModelInput[], cap: number | undefined): Promise<DataSource> {
  const input = onlyInput(
    modelInputs,
    "A single .npy file",
    "save the arrays in one .npz file named after the inputs, e.g. numpy.savez(path, a=..., b=...)",
  );
  const shown = display(p);
  const fh = await fsCall(() => fs.open(p, "r"), p);
  try {
    const size = (await fsCall(() => fh.stat(), p)).size;
    const preamble = await readPrefix(fh, p, Math.min(size, NPY_PREAMBLE_BYTES));
    const headerBytes = await readPrefix(fh, p, Math.min(size, npyHeaderLength(preamble, `"${shown}"`)));
    const h = parseNpyHeader(headerBytes, `"${shown}"`);
    const have = size - h.dataOffset;
    if (have < h.dataBytes) throw truncatedData(h, have, `"${shown}"`);
    if (h.shape.length === 0) {
      throw new UserError(
        "data",
        `"${shown}" holds a single value (a 0-d array), not samples; save an array whose first axis holds the samples.`,
      );
    }
    if (h.shape[0] === 0)
      throw new UserError("data", `"${shown}" holds no samples (its first axis has length 0); save an array with at least one sample.`);
    return openedNpy(fh, p, h, input, cap);
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function readPrefix(fh: fs.FileHandle, p: string, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  const { bytesRead } = await fsCall(() => fh.read(buf, 0, n, 0), p);
  return buf.subarray(0, bytesRead);
}

function openedNpy(fh: fs.FileHandle, p: string, h: NpyHeader, input: ModelInput, cap: number | undefined): DataSource {
  const shown = display(p);
  const available = h.shape[0];
  const sampleDims = h.shape.slice(1);
  const perSample = sizeOf(sampleDims);
  const sampleBytes = perSample * h.itemSize;
  const count = Math.min(available, cap ?? Infinity);
  const facts: DataSampleInfo = { dims: sampleDims, dtype: h.dtype, count: available };
  const info: DataInfo = {
    kind: "npy",
    sampleCount: count,
    inputs: new Map([[input.name, facts]]),
    description: `${shown}: ${samplesWord(count)}${capNote(available, cap)} of ${formatShape(sampleDims)} ${h.dtype}${h.fortranOrder ? " (Fortran order)" : ""}`,
  };
  let feed: ResolvedInput | undefined;

  const readC = async (start: number, n: number) => {
    const position = h.dataOffset + start * sampleBytes;
    if (h.bigEndian) return decodeNpyElements(h, await readRange(fh, p, position, n * sampleBytes), n * perSample);
    // Little-endian elements are read straight into the batch's typed array: one copy of the batch, no more.
    const data = allocate(h.dtype, n * perSample);
    await readRange(fh, p, position, n * sampleBytes, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return data;
  };

  // In Fortran order the sample axis varies fastest: element m of every sample in the batch is one run of n
  // elements, and runs sit `available` elements apart. Gathered run after run they form a Fortran array [n, ...].
  const readFortran = async (start: number, n: number) => {
    const item = h.itemSize;
    const runBytes = n * item;
    const strideBytes = available * item;
    const gathered = new Uint8Array(perSample * runBytes);
    let m = 0;
    while (m < perSample) {
      const first = h.dataOffset + (start + m * available) * item;
      const runs = Math.max(1, Math.min(perSample - m, Math.floor((GATHER_WINDOW_BYTES - runBytes) / strideBytes) + 1));
      const window = await readRange(fh, p, first, (runs - 1) * strideBytes + runBytes);
      for (let r = 0; r < runs; r++) gathered.set(window.subarray(r * strideBytes, r * strideBytes + runBytes), (m + r) * runBytes);
      m += runs;
    }
    return fortranToC(decodeNpyElements(h, gathered, n * perSample), [n, ...sampleDims]);
  };

  return {
    info,
    async open(inputs) {
      const opened = checkOpened(info, inputs);
      feed = inputs.find((r) => r.name === input.name);
      return { ...opened, description: `${shown} read in ranges of samples` };
    },
    async read(start, n) {
      checkRange(info, start, n);
      if (!feed) throw new Error("open() must precede read()");
      checkBatchBytes(n, sampleBytes);
      const data = h.fortranOrder && sampleDims.length > 0 ? await readFortran(start, n) : await readC(start, n);
      const t: HostTensor = { dtype: h.dtype, dims: [n, ...sampleDims], data };
      return { [feed.name]: castTensor(t, feed.dtype, `"${shown}"`) };
    },
    async close() {
      await fh.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// .npz: arrays by input name (or the only array for a single-input model); read whole, so limited to 2 GiB.

async function npzSource(p: string, sizeBytes: number, modelInputs: readonly ModelInput[], cap: number | undefined): Promise<DataSource> {
  const shown = display(p);
  const what = `"${shown}"`;
  if (modelInputs.length === 0) throw new UserError("model", "The model has no inputs to feed; choose a model that takes an input.");
  let bytes: Uint8Array | undefined = await readWhole(
    p,
    sizeBytes,
    shown,
    "for a single-input model save the array with numpy.save as a .npy file, which is read in ranges, or use ONNX test data sets split into several test_data_set_* folders",
  );
  const names = npzArrayNames(bytes, what);
  if (names.length === 0)
    throw new UserError("data", `${what} holds no arrays; save the data with numpy.savez(path, ${modelInputs[0].name}=array).`);
  // Which array feeds which input.
  const chosen = new Map<string, string>();
  if (modelInputs.length === 1 && !names.includes(modelInputs[0].name)) {
    if (names.length !== 1) {
      throw new UserError(
        "data",
        `${what} holds ${names.length} arrays (${nameList(names)}) and none is named after the model's input "${modelInputs[0].name}"; name the array "${modelInputs[0].name}" or save only one.`,
      );
    }
    chosen.set(modelInputs[0].name, names[0]);
  } else {
    const missing = modelInputs.filter((i) => !names.includes(i.name)).map((i) => i.name);
    if (missing.length) {
      throw new UserError(
        "data",
        `${what} has no array for input${missing.length > 1 ? "s" : ""} ${nameList(missing)}; it holds ${nameList(names)}, and every model input needs an array of the same name, e.g. numpy.savez(path, ${modelInputs.map((i) => `${i.name}=...`).join(", ")}).`,
      );
    }
    for (const i of modelInputs) chosen.set(i.name, i.name);
  }
  const wanted = new Set(chosen.values());
  const arrays = parseNpz(bytes, what, (name) => wanted.has(name));
  bytes = undefined; // only the decoded arrays are kept
  const tensors = new Map<string, HostTensor>();
  const facts = new Map<string, DataSampleInfo>();
  let available: number | undefined;
  for (const [inputName, arrayName] of chosen) {
    const t = arrays.get(arrayName)!;
    if (t.dims.length === 0) {
      throw new UserError(
        "data",
        `Array "${arrayName}" in ${what} holds a single value (a 0-d array), not samples; save an array whose first axis holds the samples.`,
      );
    }
    if (available !== undefined && t.dims[0] !== available) {
      const counts = [...chosen.values()].map((a) => `${a}: ${arrays.get(a)!.dims[0]}`).join(", ");
      throw new UserError(
        "data",
        `The arrays in ${what} hold different numbers of samples (${counts}); every array needs the same length along its first axis.`,
      );
    }
    available = t.dims[0];
    tensors.set(inputName, t);
    facts.set(inputName, { dims: t.dims.slice(1), dtype: t.dtype, count: t.dims[0] });
  }
  if (!available)
    throw new UserError(
      "data",
      `${what} holds no samples (the first axis of its arrays has length 0); save arrays with at least one sample.`,
    );
  const count = Math.min(available, cap ?? Infinity);
  const ignored = names.filter((n) => !wanted.has(n));
  const info: DataInfo = {
    kind: "npz",
    sampleCount: count,
    inputs: facts,
    description: `${shown}: ${samplesWord(count)}${capNote(available, cap)}; ${describeArrays([...facts])}`,
  };
  let feeds: readonly ResolvedInput[] = [];
  return {
    info,
    async open(inputs) {
      const opened = checkOpened(info, inputs);
      feeds = inputs;
      if (ignored.length)
        opened.notes.push(
          `${shown}: array${ignored.length > 1 ? "s" : ""} ${nameList(ignored)} match${ignored.length > 1 ? "" : "es"} no model input and ${ignored.length > 1 ? "are" : "is"} ignored.`,
        );
      if (modelInputs.length === 1 && chosen.get(modelInputs[0].name) !== modelInputs[0].name) {
        opened.notes.push(`${shown}: its only array "${chosen.get(modelInputs[0].name)}" feeds input "${modelInputs[0].name}".`);
      }
      return { ...opened, description: `${shown} decoded in memory` };
    },
    async read(start, n) {
      checkRange(info, start, n);
      const out: Record<string, HostTensor> = {};
      for (const r of feeds)
        out[r.name] = castTensor(sliceSamples(tensors.get(r.name)!, start, n), r.dtype, `Array "${chosen.get(r.name)}" in ${what}`);
      return out;
    },
    async close() {
      tensors.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ONNX test data: test_data_set_N/input_K.pb; input_K feeds the K-th real input, sets are concatenated in order.

interface TestSet {
  /** File per model input index. */
  files: string[];
  count: number;
}

async function probeFolder(
  dir: string,
  options: DataOptions,
  modelInputs: readonly ModelInput[],
  cap: number | undefined,
): Promise<DataSource> {
  const shown = display(dir);
  const entries = await fsCall(() => fs.readdir(dir, { withFileTypes: true }), dir);
  const sets = naturalSort(entries.filter((e) => e.isDirectory() && /^test_data_set_/.test(e.name)).map((e) => e.name));
  // Dot files are skipped: "._name.jpg" AppleDouble files from macOS copies look like images but are not.
  const files = entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith(".")).map((e) => e.name);
  const pbs = naturalSort(files.filter((f) => /^input_\d+\.pb$/i.test(f)));
  const images = naturalSort(files.filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())));
  const testData = sets.length > 0 || pbs.length > 0;
  if (testData && images.length > 0) {
    throw new UserError(
      "data",
      `Folder "${shown}" holds both ONNX test data (${sets.length ? "test_data_set_* folders" : "input_*.pb files"}) and ${images.length} image${images.length > 1 ? "s" : ""}; point --data at a folder with only one kind.`,
    );
  }
  if (sets.length > 0 && pbs.length > 0) {
    throw new UserError(
      "data",
      `Folder "${shown}" holds both test_data_set_* folders and input_*.pb files; point --data at one test_data_set_* folder or at a folder of them.`,
    );
  }
  if (sets.length > 0) {
    const groups: string[][] = [];
    for (const s of sets) {
      const inner = await fsCall(() => fs.readdir(path.join(dir, s)), path.join(dir, s));
      const inputs = naturalSort(inner.filter((f) => /^input_\d+\.pb$/i.test(f)));
      if (inputs.length === 0) {
        throw new UserError(
          "data",
          `"${shown}/${s}" has no input_*.pb files; every test_data_set_* folder needs input_0.pb (and input_1.pb, ... for more inputs).`,
        );
      }
      groups.push(inputs.map((f) => path.join(dir, s, f)));
    }
    return testDataSource(dir, groups, `${sets.length} ONNX test data set${sets.length > 1 ? "s" : ""} in ${shown}`, modelInputs, cap);
  }
  if (pbs.length > 0) return testDataSource(dir, [pbs.map((f) => path.join(dir, f))], `ONNX test data in ${shown}`, modelInputs, cap);
  if (images.length > 0)
    return imageSource(
      images.map((f) => path.join(dir, f)),
      dir,
      `${images.length} image${images.length > 1 ? "s" : ""} in ${shown}`,
      options,
      modelInputs,
      cap,
    );
  if (entries.length === 0) {
    throw new UserError(
      "data",
      `Folder "${shown}" is empty; put .jpg or .png images or test_data_set_* folders in it, or point --data at a data file.`,
    );
  }
  const npys = files.filter((f) => /\.np[yz]$/i.test(f));
  if (npys.length) {
    throw new UserError(
      "data",
      `Folder "${shown}" holds .npy/.npz files but BN Lens reads one such file, not a folder of them; point --data at the file (samples along its first axis).`,
    );
  }
  throw new UserError(
    "data",
    `Folder "${shown}" has no .jpg, .jpeg or .png images and no test_data_set_* folders (it holds ${entries.length} other entr${entries.length === 1 ? "y" : "ies"}); point --data at a folder of images or test data, or at a data file.`,
  );
}

async function readPb(file: string, dir: string): Promise<HostTensor> {
  const shown = display(file, dir);
  const size = (await fsCall(() => fs.stat(file), file)).size;
  const bytes = await readWhole(
    file,
    size,
    shown,
    "a TensorProto cannot exceed 2 GiB, so split the samples into several test_data_set_* folders",
  );
  if (bytes.length === 0) throw new UserError("data", `"${shown}" is empty (0 bytes); save the tensor again or remove the file.`);
  return decodeTensorProto(bytes, `"${shown}"`);
}

async function testDataSource(
  dir: string,
  groups: string[][],
  description: string,
  modelInputs: readonly ModelInput[],
  cap: number | undefined,
): Promise<DataSource> {
  if (modelInputs.length === 0) throw new UserError("model", "The model has no inputs to feed; choose a model that takes an input.");
  const sets: TestSet[] = [];
  let facts: DataSampleInfo[] | undefined;
  for (const group of groups) {
    const files: string[] = [];
    for (const file of group) {
      const m = /^input_(\d+)\.pb$/i.exec(path.basename(file));
      const k = m ? Number(m[1]) : 0;
      if (!m)
        onlyInput(
          modelInputs,
          `"${path.basename(file)}" (not named input_K.pb)`,
          "name the files input_0.pb, input_1.pb, ... in model input order",
        );
      if (k >= modelInputs.length) {
        throw new UserError(
          "data",
          `"${display(file, path.dirname(file))}" has no model input to feed: the model has ${modelInputs.length} input${modelInputs.length > 1 ? "s" : ""}, so files go from input_0.pb to input_${modelInputs.length - 1}.pb.`,
        );
      }
      files[k] = file;
    }
    const setName = display(path.dirname(group[0]));
    const missing = modelInputs.map((_, k) => k).filter((k) => files[k] === undefined);
    if (missing.length) {
      throw new UserError(
        "data",
        `"${setName}" has no ${missing.map((k) => `input_${k}.pb`).join(", ")} for model input${missing.length > 1 ? "s" : ""} ${nameList(missing.map((k) => modelInputs[k].name))}; every set needs one file per input.`,
      );
    }
    // Decode each file once to learn its shape; only one decoded tensor is alive at a time.
    let count: number | undefined;
    const setFacts: DataSampleInfo[] = [];
    for (let k = 0; k < files.length; k++) {
      const t = await readPb(files[k], path.dirname(files[k]));
      const shown = display(files[k], path.dirname(files[k]));
      if (t.dims.length === 0) {
        throw new UserError(
          "data",
          `"${shown}" holds a single value (a 0-d tensor), not samples; save a tensor whose first axis holds the samples.`,
        );
      }
      if (count !== undefined && t.dims[0] !== count) {
        throw new UserError(
          "data",
          `In "${setName}", input_0.pb holds ${count} samples but input_${k}.pb holds ${t.dims[0]}; every input of a set needs the same length along its first axis.`,
        );
      }
      count = t.dims[0];
      setFacts.push({ dims: t.dims.slice(1), dtype: t.dtype });
      const first = facts?.[k];
      if (first && (formatShape(first.dims!) !== formatShape(t.dims.slice(1)) || first.dtype !== t.dtype)) {
        throw new UserError(
          "data",
          `"${shown}" holds samples of ${formatShape(t.dims.slice(1))} ${t.dtype} but the first set has ${formatShape(first.dims!)} ${first.dtype} for the same input; every set needs the same per-sample shape and type.`,
        );
      }
    }
    facts ??= setFacts;
    sets.push({ files, count: count! });
  }
  const available = sets.reduce((s, t) => s + t.count, 0);
  if (available === 0)
    throw new UserError(
      "data",
      `The ONNX test data in "${display(dir)}" holds no samples (the first axis of its tensors has length 0); save tensors with at least one sample.`,
    );
  const count = Math.min(available, cap ?? Infinity);
  const inputFacts = new Map(modelInputs.map((mi, k) => [mi.name, { ...facts![k], count: sets[0].count }]));
  const info: DataInfo = {
    kind: "onnx-test-data",
    sampleCount: count,
    inputs: inputFacts,
    description: `${description}: ${samplesWord(count)}${capNote(available, cap)}; ${describeArrays([...inputFacts])}`,
  };
  let feeds: readonly ResolvedInput[] = [];
  // The one decoded set kept between reads (a batch usually falls inside one set).
  let cached: { set: number; tensors: HostTensor[] } | undefined;
  const loadSet = async (s: number) => {
    if (cached?.set !== s) {
      cached = undefined;
      const tensors: HostTensor[] = [];
      for (const f of sets[s].files) tensors.push(await readPb(f, path.dirname(f)));
      cached = { set: s, tensors };
    }
    return cached.tensors;
  };
  return {
    info,
    async open(inputs) {
      const opened = checkOpened(info, inputs);
      feeds = inputs;
      return { ...opened, description: "ONNX TensorProto files decoded one set at a time" };
    },
    async read(start, n) {
      checkRange(info, start, n);
      const parts: HostTensor[][] = feeds.map(() => []);
      let s = 0;
      let base = 0;
      while (base + sets[s].count <= start) base += sets[s++].count;
      let at = start;
      while (at < start + n) {
        const tensors = await loadSet(s);
        const from = at - base;
        const take = Math.min(sets[s].count - from, start + n - at);
        feeds.forEach((r, j) => parts[j].push(sliceSamples(tensors[r.index], from, take)));
        at += take;
        base += sets[s++].count;
      }
      const out: Record<string, HostTensor> = {};
      feeds.forEach((r, j) => (out[r.name] = castTensor(concatSamples(parts[j]), r.dtype, `The ONNX test data for input "${r.name}"`)));
      return out;
    },
    async close() {
      cached = undefined;
    },
  };
}

/** Joins tensors of the same input along the sample axis. */
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

// ---------------------------------------------------------------------------------------------------------------
// Images: decoded and resized with sharp one batch at a time, then normalized in core.

function imageSource(
  files: string[],
  folder: string | undefined,
  description: string,
  options: DataOptions,
  modelInputs: readonly ModelInput[],
  cap: number | undefined,
): DataSource {
  const input = onlyInput(modelInputs, "Images", "give an .npz file with one array per input, or ONNX test data sets");
  const norm: ImageNormalization = { ...DEFAULT_IMAGE_NORMALIZATION, ...options.image };
  const concurrency = Math.max(1, options.imageConcurrency ?? 4);
  const count = Math.min(files.length, cap ?? Infinity);
  const info: DataInfo = {
    kind: "images",
    sampleCount: count,
    inputs: new Map(),
    description: `${description}${capNote(files.length, cap)}`,
  };
  let feed: { r: ResolvedInput; geometry: ImageGeometry; raw: boolean } | undefined;

  const decode = async (file: string, geometry: ImageGeometry) => {
    const shown = display(file, folder);
    try {
      let pipeline = sharp(file).resize(geometry.width, geometry.height, { fit: "fill" });
      pipeline = geometry.channels === 1 ? pipeline.grayscale() : pipeline.removeAlpha().toColourspace("srgb");
      const { data, info: out } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      // One byte per value: anything else (16-bit output) would be misread as 8-bit pixels.
      if (out.width !== geometry.width || out.height !== geometry.height || data.length !== out.width * out.height * out.channels) {
        throw new Error(`sharp returned ${data.length} bytes for ${out.width}x${out.height}x${out.channels} pixels`);
      }
      return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), channels: out.channels };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code) throw fsError(e, file);
      const reason = String((e as Error).message ?? e)
        .replace(/^Vips\w*:\s*/i, "")
        .split("\n")[0]
        .replace(/\.$/, "");
      if (/pixel limit/i.test(reason)) {
        throw new UserError(
          "data",
          `Image "${shown}" has more pixels than sharp decodes (about 268 megapixels); shrink it or remove it from the folder.`,
          String(e),
        );
      }
      throw new UserError(
        "data",
        `Image "${shown}" cannot be decoded (${reason}); the file is damaged or not an image, so fix or remove it.`,
        String(e),
      );
    }
  };

  return {
    info,
    async open(inputs) {
      const r = inputs.find((x) => x.name === input.name)!;
      const geometry = imageLayout(r.sampleDims, r.name);
      const raw = r.dtype === "uint8";
      if (!raw && !isFloat(r.dtype)) {
        throw new UserError(
          "data",
          `Input "${r.name}" has type ${r.dtype}, and images can feed only float or uint8 inputs; give .npy, .npz or .pb data for it.`,
        );
      }
      checkNormalization(norm, geometry.channels);
      feed = { r, geometry, raw };
      const notes = geometry.note ? [geometry.note] : [];
      if (r.dtype !== "float32" && !raw) notes.push(`${r.name}: image values are converted from float32 to ${r.dtype}.`);
      const how = raw
        ? `${geometry.channels === 1 ? "grayscale" : "RGB"} pixels 0-255 unnormalized (the input is uint8), ${geometry.layout}`
        : describeNormalization(norm, geometry);
      return { description: `images resized to ${geometry.width}x${geometry.height} (width x height), ${how}`, notes };
    },
    async read(start, n) {
      checkRange(info, start, n);
      if (!feed) throw new Error("open() must precede read()");
      const { r, geometry, raw } = feed;
      const per = sizeOf(r.sampleDims);
      checkBatchBytes(n, per * 4);
      const out = raw ? new Uint8Array(n * per) : new Float32Array(n * per);
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const { pixels, channels } = await decode(files[start + i], geometry);
          pixelsToSample(pixels, channels, geometry, norm, out, i * per);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
      const t: HostTensor = { dtype: raw ? "uint8" : "float32", dims: [n, ...r.sampleDims], data: out };
      return { [r.name]: castTensor(t, r.dtype, "The image data") };
    },
    async close() {},
  };
}
