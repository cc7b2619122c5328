// .npy: read by byte ranges, so files of any size stream with flat memory.
import * as fs from "node:fs/promises";
import { UserError } from "../../core/errors";
import { castTensor } from "../../core/inputs/convert";
import {
  decodeNpyElements,
  fortranToC,
  isNpy,
  NPY_PREAMBLE_BYTES,
  npyHeaderLength,
  parseNpyHeader,
  truncatedData,
  type NpyHeader,
} from "../../core/inputs/npy";
import type { DataSampleInfo, ResolvedInput } from "../../core/inputs/shapes";
import type { ModelInput } from "../../core/onnx/model";
import { allocate, formatShape, sizeOf, type HostTensor } from "../../core/tensor";
import type { DataInfo, DataSource, DataReader } from "./dataSource";
import { display, fsCall, readRange, checkRange, checkBatchBytes, onlyInput, checkOpened, samplesWord, capNote } from "./files";

// Fortran-order .npy batches are gathered with reads of at most this many bytes.
const GATHER_WINDOW_BYTES = 8 << 20;

/** A .npy file (by extension, or by its magic bytes): samples along the first axis, for single-input models. */
export const npyReader: DataReader = {
  kind: "npy",
  extensions: [".npy"],
  match: (t) => (t.file && (t.file.ext === ".npy" || (!t.file.knownExtension && isNpy(t.file.head))) ? ".npy file" : false),
  open: (t, c) => npySource(t.path!, c.modelInputs, c.cap),
};

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
