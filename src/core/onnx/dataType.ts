import type { DType } from "../tensor";

/** ONNX TensorProto.DataType codes BN Lens understands, and the dtype name used everywhere else. */
const ONNX_TO_DTYPE: Record<number, DType> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  16: "bfloat16",
};

const ONNX_NAMES: Record<number, string> = {
  0: "undefined",
  14: "complex64",
  15: "complex128",
  17: "float8e4m3fn",
  18: "float8e4m3fnuz",
  19: "float8e5m2",
  20: "float8e5m2fnuz",
  21: "uint4",
  22: "int4",
  23: "float4e2m1",
};

/** The dtype for an ONNX data type code, or undefined for types BN Lens cannot feed or read. */
export function dtypeFromOnnx(code: number): DType | undefined {
  return ONNX_TO_DTYPE[code];
}

/** A readable name for any ONNX data type code, for messages. */
export function onnxTypeName(code: number): string {
  return ONNX_TO_DTYPE[code] ?? ONNX_NAMES[code] ?? `type ${code}`;
}

/** The ONNX code of a dtype. */
export function onnxFromDtype(dtype: DType): number {
  for (const [code, name] of Object.entries(ONNX_TO_DTYPE)) if (name === dtype) return Number(code);
  throw new Error(`no ONNX code for ${dtype}`);
}

/** Bytes per element of a dtype in raw_data (strings have none). */
export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case "float64":
    case "int64":
    case "uint64":
      return 8;
    case "float32":
    case "int32":
    case "uint32":
      return 4;
    case "float16":
    case "bfloat16":
    case "int16":
    case "uint16":
      return 2;
    case "int8":
    case "uint8":
    case "bool":
      return 1;
    case "string":
      return 0;
  }
}

/** Dtypes BN Lens can feed to a model input. */
export const FEEDABLE_DTYPES: readonly DType[] = [
  "float32",
  "float64",
  "float16",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "bool",
];
