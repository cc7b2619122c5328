import { UserError } from "../errors";
import { allocate, bfloat16ToFloat, halfToFloat, type DType, type HostTensor, type TypedArray } from "../tensor";

/** Dtypes whose values are floating point. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}

/** Dtypes whose values are integers. */
export function isInteger(dtype: DType): boolean {
  return (
    dtype === "int8" ||
    dtype === "uint8" ||
    dtype === "int16" ||
    dtype === "uint16" ||
    dtype === "int32" ||
    dtype === "uint32" ||
    dtype === "int64" ||
    dtype === "uint64"
  );
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Encodes a number as IEEE half precision bits, rounding to nearest even (overflow to infinity, NaN kept). */
export function floatToHalf(v: number): number {
  F32[0] = v;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct
  return sign | h;
}

const INT_RANGE: Partial<Record<DType, [bigint, bigint]>> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Reads element i of any tensor as a number (float16/bfloat16 decoded, int64 via Number). */
function numberReader(t: HostTensor): (i: number) => number {
  const d = t.data;
  if (t.dtype === "float16") return (i) => halfToFloat(d[i] as number);
  if (t.dtype === "bfloat16") return (i) => bfloat16ToFloat(d[i] as number);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return (i) => Number(d[i]);
  return (i) => d[i] as number;
}

/**
 * Converts a tensor to another dtype for feeding: any number to a float type, integers between integer types
 * (values out of the target's range are a UserError naming `what`), and any number to bool (non-zero is true).
 */
export function castTensor(t: HostTensor, to: DType, what: string): HostTensor {
  if (t.dtype === to) return t;
  if (to === "string" || t.dtype === "string") throw new Error("strings are not cast");
  const n = t.data.length;
  const read = numberReader(t);
  let out: TypedArray;
  if (to === "float32" || to === "float64") {
    out = allocate(to, n);
    const o = out as Float32Array | Float64Array;
    for (let i = 0; i < n; i++) o[i] = read(i);
  } else if (to === "float16") {
    const o = new Uint16Array(n);
    for (let i = 0; i < n; i++) o[i] = floatToHalf(read(i));
    out = o;
  } else if (to === "bool") {
    const o = new Uint8Array(n);
    for (let i = 0; i < n; i++) o[i] = read(i) !== 0 ? 1 : 0;
    out = o;
  } else if (isInteger(to) && isInteger(t.dtype)) {
    const [lo, hi] = INT_RANGE[to]!;
    const [loN, hiN] = [Number(lo), Number(hi)];
    out = allocate(to, n);
    const src = t.data;
    const o = out as unknown as { [k: number]: number | bigint };
    const dstBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
    const fail = (v: number | bigint, i: number) =>
      new UserError("data", `${what} holds the value ${v} at element ${i}, which does not fit the model's ${to}; save the data as ${to}.`);
    if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (v < lo || v > hi) throw fail(v, i);
        o[i] = dstBig ? v : Number(v);
      }
    } else {
      const s = src as Exclude<TypedArray, BigInt64Array | BigUint64Array>;
      for (let i = 0; i < n; i++) {
        const v = s[i];
        if (v < loN || v > hiN) throw fail(v, i);
        o[i] = dstBig ? BigInt(v) : v;
      }
    }
  } else {
    throw new Error(`cannot cast ${t.dtype} to ${to}`);
  }
  return { dtype: to, dims: t.dims, data: out };
}
