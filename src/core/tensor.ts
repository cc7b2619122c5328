/** Element types BN Lens reads; names follow onnxruntime's Tensor.Type strings. */
export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool"
  | "string";

/** The typed array that holds each dtype's elements (float16/bfloat16 as raw bits, bool as 0/1 bytes). */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense tensor in host memory, row-major (C order). */
export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

/** Allocates the typed array for `n` elements of a dtype (float16 as raw bits, bool as bytes). */
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "float16":
    case "bfloat16":
    case "uint16":
      return new Uint16Array(n);
    case "int8":
      return new Int8Array(n);
    case "uint8":
    case "bool":
      return new Uint8Array(n);
    case "int16":
      return new Int16Array(n);
    case "int32":
      return new Int32Array(n);
    case "uint32":
      return new Uint32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "uint64":
      return new BigUint64Array(n);
    case "string":
      throw new Error("no typed array for strings");
  }
}

/** Number of elements of a shape; 1 for a scalar. */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** "1x3x240x320" for messages; absurd ranks are shortened so a message stays one readable line. */
export function formatShape(dims: readonly (number | string)[]): string {
  if (dims.length === 0) return "scalar";
  if (dims.length > 8) return `${dims.slice(0, 4).join("x")}x… (rank ${dims.length})`;
  return dims.join("x");
}

const F16_EXP = 0x7c00;
/** Decodes one IEEE half-precision value from its 16 bits. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h & F16_EXP) >> 10;
  const frac = h & 0x03ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes one bfloat16 value from its 16 bits. */
export function bfloat16ToFloat(h: number): number {
  const buf = new Uint32Array([h << 16]);
  return new Float32Array(buf.buffer)[0];
}

/** Converts any numeric tensor's data to float32 (the dtype BN Lens feeds most models). */
export function toFloat32(t: HostTensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : decodeInto(t, new Float32Array(t.data.length));
}

/** Converts any numeric tensor's data to float64 (for statistics and parameters). */
export function toFloat64(t: HostTensor): Float64Array {
  return t.data instanceof Float64Array ? t.data : decodeInto(t, new Float64Array(t.data.length));
}

function decodeInto<T extends Float32Array | Float64Array>(t: HostTensor, out: T): T {
  const n = t.data.length;
  if (t.dtype === "float16") for (let i = 0; i < n; i++) out[i] = halfToFloat((t.data as Uint16Array)[i]);
  else if (t.dtype === "bfloat16") for (let i = 0; i < n; i++) out[i] = bfloat16ToFloat((t.data as Uint16Array)[i]);
  else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) for (let i = 0; i < n; i++) out[i] = Number(t.data[i]);
  else for (let i = 0; i < n; i++) out[i] = (t.data as Exclude<TypedArray, BigInt64Array | BigUint64Array>)[i];
  return out;
}

/** The rows `samples` of a batch tensor (first dim), in that order: a batch made of chosen samples. */
export function gatherSamples(t: HostTensor, samples: readonly number[]): HostTensor {
  const per = sizeOf(t.dims.slice(1));
  const data = allocate(t.dtype, samples.length * per);
  samples.forEach((s, k) => (data as Float32Array).set((t.data as Float32Array).subarray(s * per, (s + 1) * per), k * per));
  return { dtype: t.dtype, dims: [samples.length, ...t.dims.slice(1)], data };
}
