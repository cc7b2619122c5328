import { fromBinary } from "@bufbuild/protobuf";
import { TensorProtoSchema, TensorProto_DataLocation, type TensorProto } from "onnx-buf";
import { UserError } from "../errors";
import { allocate, sizeOf, type DType, type HostTensor, type TypedArray } from "../tensor";
import { bytesPerElement, dtypeFromOnnx, onnxTypeName } from "./dataType";

/** Where an external tensor's bytes live, relative to the model's folder. */
export interface ExternalRef {
  /** Relative path, checked not to leave the model's folder. */
  location: string;
  offset: number;
  /** Bytes to read; undefined means to the end of the file. */
  length: number | undefined;
}

/** Reads the bytes of an external tensor (the runtime layer supplies it; core has no I/O). */
export type ExternalReader = (ref: ExternalRef, tensorName: string) => Uint8Array;

/**
 * Validates an external_data location the way ONNX itself does: relative, no "..", no drive or root,
 * so a downloaded model cannot make BN Lens read files outside its own folder.
 */
export function checkExternalLocation(location: string, tensorName: string): string {
  const bad = (why: string) =>
    new UserError(
      "model",
      `Tensor "${tensorName}" points to external data "${location}" ${why}; BN Lens only reads external data files inside the model's folder.`,
    );
  if (!location) throw bad("with an empty file name");
  if (location.includes("\0")) throw bad("with a NUL character in its name");
  if (/^([a-zA-Z]:|[\\/]|~)/.test(location)) throw bad("with an absolute path");
  const parts = location.split(/[\\/]+/);
  if (parts.some((p) => p === "..")) throw bad("outside the model's folder");
  return parts.filter((p) => p && p !== ".").join("/");
}

/** The external reference of a tensor, or undefined when its data is inline. */
export function externalRef(t: TensorProto): ExternalRef | undefined {
  if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) return undefined;
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = checkExternalLocation(kv.get("location") ?? "", t.name);
  const num = (key: string): number | undefined => {
    const v = kv.get(key);
    if (v === undefined || v === "") return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new UserError("model", `Tensor "${t.name}" has an invalid external data ${key} "${v}"; the model file is damaged.`);
    }
    return n;
  };
  return { location, offset: num("offset") ?? 0, length: num("length") };
}

/** The declared shape of a tensor as numbers. */
export function tensorDims(t: TensorProto): number[] {
  return t.dims.map((d) => Number(d));
}

function viewOf(dtype: DType, bytes: Uint8Array, n: number): TypedArray {
  // Copy into an aligned buffer: raw_data subarrays of the model file can start at any byte.
  const out = allocate(dtype, n);
  new Uint8Array(out.buffer).set(bytes.subarray(0, n * bytesPerElement(dtype)));
  return out;
}

function fromTypedFields(t: TensorProto, dtype: DType, n: number): TypedArray {
  const check = (len: number, field: string) => {
    if (len !== n) {
      throw new UserError(
        "model",
        `Tensor "${t.name || "(unnamed)"}" declares ${n} elements but its ${field} holds ${len}; the file is damaged.`,
      );
    }
  };
  switch (dtype) {
    case "float32":
      check(t.floatData.length, "float_data");
      return Float32Array.from(t.floatData);
    case "float64":
      check(t.doubleData.length, "double_data");
      return Float64Array.from(t.doubleData);
    case "int64":
      check(t.int64Data.length, "int64_data");
      return BigInt64Array.from(t.int64Data);
    case "uint64":
      check(t.uint64Data.length, "uint64_data");
      return BigUint64Array.from(t.uint64Data);
    case "uint32":
      check(t.uint64Data.length, "uint64_data");
      return Uint32Array.from(t.uint64Data, Number);
    case "int32":
      check(t.int32Data.length, "int32_data");
      return Int32Array.from(t.int32Data);
    case "int16":
      check(t.int32Data.length, "int32_data");
      return Int16Array.from(t.int32Data);
    case "int8":
      check(t.int32Data.length, "int32_data");
      return Int8Array.from(t.int32Data);
    case "uint16":
    case "float16":
    case "bfloat16":
      check(t.int32Data.length, "int32_data");
      return Uint16Array.from(t.int32Data);
    case "uint8":
    case "bool":
      check(t.int32Data.length, "int32_data");
      return Uint8Array.from(t.int32Data);
    case "string":
      throw new Error("unreachable");
  }
}

/** Decodes a TensorProto's values into host memory, reading external data through `readExternal`. */
export function tensorFromProto(t: TensorProto, readExternal?: ExternalReader): HostTensor {
  const dtype = dtypeFromOnnx(t.dataType);
  const label = t.name ? `Tensor "${t.name}"` : "The tensor";
  if (!dtype || dtype === "string") {
    throw new UserError(
      "data",
      `${label} has element type ${onnxTypeName(t.dataType)}, which BN Lens cannot read; it reads numeric and bool tensors.`,
    );
  }
  const dims = tensorDims(t);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new UserError("data", `${label} declares an invalid shape [${dims.join(", ")}]; the file is damaged.`);
  }
  const n = sizeOf(dims);
  const need = n * bytesPerElement(dtype);
  const ref = externalRef(t);
  let bytes: Uint8Array | undefined;
  if (ref) {
    if (!readExternal) throw new UserError("model", `${label} stores its data in an external file, which cannot be read here.`);
    if (ref.length !== undefined && ref.length < need) {
      throw new UserError(
        "model",
        `${label} needs ${need} bytes but its external data entry gives only ${ref.length}; the model's data file does not match it.`,
      );
    }
    bytes = readExternal({ ...ref, length: ref.length ?? need }, t.name);
  } else if (t.rawData.length > 0 || (n > 0 && fieldLength(t, dtype) === 0)) {
    bytes = t.rawData;
  }
  if (bytes) {
    if (bytes.length < need) {
      throw new UserError("model", `${label} is truncated: it needs ${need} bytes of data and has ${bytes.length}.`);
    }
    return { dtype, dims, data: viewOf(dtype, bytes, n) };
  }
  return { dtype, dims, data: fromTypedFields(t, dtype, n) };
}

function fieldLength(t: TensorProto, dtype: DType): number {
  switch (dtype) {
    case "float32":
      return t.floatData.length;
    case "float64":
      return t.doubleData.length;
    case "int64":
      return t.int64Data.length;
    case "uint64":
    case "uint32":
      return t.uint64Data.length;
    default:
      return t.int32Data.length;
  }
}

/** Decodes a serialized TensorProto (an ONNX test-data .pb file). */
export function decodeTensorProto(bytes: Uint8Array, what: string): HostTensor {
  let t: TensorProto;
  try {
    t = fromBinary(TensorProtoSchema, bytes, { readUnknownFields: false });
  } catch (e) {
    throw new UserError("data", `${what} is not a serialized ONNX TensorProto (the protobuf bytes are invalid or truncated).`, String(e));
  }
  if (t.dataType === 0) throw new UserError("data", `${what} is not a serialized ONNX TensorProto (it has no data_type).`);
  return tensorFromProto(t);
}
