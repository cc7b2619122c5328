import { UserError } from "../errors";
import { allocate, formatShape, sizeOf, type DType, type HostTensor, type TypedArray } from "../tensor";

/** The parsed header of a .npy file: enough to read any range of samples by byte offset. */
export interface NpyHeader {
  dtype: DType;
  /** The header's descr string as written, e.g. "<f4", for messages. */
  descr: string;
  shape: number[];
  /** Column-major data: the first axis varies fastest. */
  fortranOrder: boolean;
  /** Byte offset of the first data element. */
  dataOffset: number;
  /** Bytes per element. */
  itemSize: number;
  /** True when elements are stored big-endian and must be byte-swapped. */
  bigEndian: boolean;
  /** Bytes of data the header declares (elements x itemSize). */
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** Bytes needed to know the length of any .npy header (magic, version, length field). */
export const NPY_PREAMBLE_BYTES = 12;

const KINDS: Record<string, DType> = {
  f2: "float16",
  f4: "float32",
  f8: "float64",
  i1: "int8",
  u1: "uint8",
  i2: "int16",
  u2: "uint16",
  i4: "int32",
  u4: "uint32",
  i8: "int64",
  u8: "uint64",
  b1: "bool",
};

/** True when the bytes start with the .npy magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Total header length (magic to first data byte) from the first 12 bytes, so a reader of a huge file
 * knows how much to read before calling parseNpyHeader.
 */
export function npyHeaderLength(preamble: Uint8Array, what: string): number {
  if (!isNpy(preamble)) {
    throw new UserError("data", `${what} is not a .npy file (it does not start with the NumPy magic bytes); save it with numpy.save.`);
  }
  if (preamble.length < 10) throw truncatedHeader(what);
  const major = preamble[6];
  const view = new DataView(preamble.buffer, preamble.byteOffset, preamble.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (major === 2 || major === 3) {
    if (preamble.length < 12) throw truncatedHeader(what);
    return 12 + view.getUint32(8, true);
  }
  throw new UserError(
    "data",
    `${what} is .npy format version ${major}.${preamble[7]}, which BN Lens does not read; save it with numpy.save (versions 1 to 3).`,
  );
}

function truncatedHeader(what: string): UserError {
  return new UserError("data", `${what} is truncated: it ends inside its .npy header; save the file again.`);
}

/** Parses a .npy header; `bytes` must hold at least the whole header (the data may be absent). */
export function parseNpyHeader(bytes: Uint8Array, what = "The .npy file"): NpyHeader {
  const dataOffset = npyHeaderLength(bytes, what);
  if (bytes.length < dataOffset) throw truncatedHeader(what);
  const start = bytes[6] === 1 ? 10 : 12;
  // Version 3 headers are UTF-8, earlier ones latin-1; the keys and values we read are ASCII either way.
  const text = new TextDecoder(bytes[6] === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, dataOffset));
  const bad = (why: string) =>
    new UserError("data", `${what} has a .npy header BN Lens cannot read (${why}); save it again with numpy.save.`, text);

  if (/['"]descr['"]\s*:\s*\[/.test(text)) {
    throw new UserError("data", `${what} holds a structured (record) array, which BN Lens cannot feed; save a plain numeric array.`, text);
  }
  const descrMatch = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descrMatch) throw bad("no descr");
  if (!fortranMatch) throw bad("no fortran_order");
  if (!shapeMatch) throw bad("no shape");

  const descr = descrMatch[1];
  const order = descr[0];
  const kind = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  const dtype = KINDS[kind === "?" ? "b1" : kind];
  if (!dtype) {
    throw new UserError(
      "data",
      `${what} holds elements of NumPy type "${descr}", which BN Lens cannot feed; save it as float32, float64, float16, an integer type or bool.`,
    );
  }
  const itemSize = Number(kind.slice(1)) || 1;
  const bigEndian = order === ">" && itemSize > 1;

  const shape: number[] = [];
  for (const part of shapeMatch[1].split(",")) {
    const s = part.trim().replace(/L$/, ""); // Python 2 wrote longs as 3L
    if (s === "") continue;
    const d = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(d)) throw bad(`shape (${shapeMatch[1]})`);
    shape.push(d);
  }
  const count = sizeOf(shape);
  const dataBytes = count * itemSize;
  if (!Number.isSafeInteger(dataBytes)) throw bad(`shape (${shapeMatch[1]}) is too large`);
  return { dtype, descr, shape, fortranOrder: fortranMatch[1] === "True", dataOffset, itemSize, bigEndian, dataBytes };
}

/**
 * Decodes raw element bytes laid out as the header says (byte order only; no reordering of axes)
 * into a fresh, aligned typed array of `n` elements.
 */
export function decodeNpyElements(header: NpyHeader, bytes: Uint8Array, n: number): TypedArray {
  const out = allocate(header.dtype, n);
  const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const size = header.itemSize;
  if (!header.bigEndian) {
    dst.set(bytes.subarray(0, n * size));
  } else {
    for (let i = 0; i < n * size; i += size) {
      for (let b = 0; b < size; b++) dst[i + b] = bytes[i + size - 1 - b];
    }
  }
  return out;
}

/**
 * Reorders a column-major (Fortran) array of shape `dims` into row-major (C) order.
 * A batch of samples gathered from a Fortran-order file is itself column-major with the batch first.
 */
export function fortranToC(data: TypedArray, dims: readonly number[]): TypedArray {
  const n = data.length;
  const rank = dims.length;
  if (rank < 2 || n === 0) return data;
  const out = allocate0(data, n);
  // Walk the output in C order while tracking the Fortran offset with an odometer over the indices.
  const fStride = new Array<number>(rank);
  fStride[0] = 1;
  for (let a = 1; a < rank; a++) fStride[a] = fStride[a - 1] * dims[a - 1];
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  const last = rank - 1;
  const src = data as unknown as { [i: number]: number | bigint };
  const dst = out as unknown as { [i: number]: number | bigint };
  for (let c = 0; c < n; c++) {
    dst[c] = src[f];
    let a = last;
    idx[a]++;
    f += fStride[a];
    while (a > 0 && idx[a] === dims[a]) {
      f -= fStride[a] * dims[a];
      idx[a] = 0;
      a--;
      idx[a]++;
      f += fStride[a];
    }
  }
  return out;
}

function allocate0(like: TypedArray, n: number): TypedArray {
  const Ctor = like.constructor as new (n: number) => TypedArray;
  return new Ctor(n);
}

/** Parses a whole .npy file into a row-major HostTensor; `what` names the file in messages. */
export function parseNpy(bytes: Uint8Array, what = "The .npy file"): HostTensor {
  const h = parseNpyHeader(bytes, what);
  const have = bytes.length - h.dataOffset;
  if (have < h.dataBytes) throw truncatedData(h, have, what);
  const n = sizeOf(h.shape);
  const data = decodeNpyElements(h, bytes.subarray(h.dataOffset), n);
  return { dtype: h.dtype, dims: h.shape, data: h.fortranOrder ? fortranToC(data, h.shape) : data };
}

/** The error for a .npy file whose data is shorter than its header declares. */
export function truncatedData(h: NpyHeader, haveBytes: number, what: string): UserError {
  return new UserError(
    "data",
    `${what} is truncated: its header declares ${formatShape(h.shape)} ${h.dtype} (${h.dataBytes} bytes of data) but only ${haveBytes} bytes follow the header; save the file again.`,
  );
}
