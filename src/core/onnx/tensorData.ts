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

/** The repeated field that holds a dtype's values when raw_data is not used (onnx.proto's table). */
function typedField(t: TensorProto, dtype: DType): { field: string; values: readonly number[] | readonly bigint[] } {
  switch (dtype) {
    case "float32":
      return { field: "float_data", values: t.floatData };
    case "float64":
      return { field: "double_data", values: t.doubleData };
    case "int64":
      return { field: "int64_data", values: t.int64Data };
    case "uint64":
    case "uint32":
      return { field: "uint64_data", values: t.uint64Data };
    default:
      // int32, int16, int8, uint16, uint8, bool, and float16/bfloat16 as their bits.
      return { field: "int32_data", values: t.int32Data };
  }
}

function fromTypedFields(t: TensorProto, dtype: DType, n: number): TypedArray {
  const { field, values } = typedField(t, dtype);
  if (values.length !== n) {
    throw new UserError(
      "model",
      `Tensor "${t.name || "(unnamed)"}" declares ${n} elements but its ${field} holds ${values.length}; the file is damaged.`,
    );
  }
  const out = allocate(dtype, n);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) out.set(values as readonly bigint[]);
  // uint32 lives in uint64_data, so its values arrive as bigints.
  else if (dtype === "uint32") out.set(Array.from(values as readonly bigint[], Number));
  else out.set(values as readonly number[]);
  return out;
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
  } else if (t.rawData.length > 0 || (n > 0 && typedField(t, dtype).values.length === 0)) {
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
