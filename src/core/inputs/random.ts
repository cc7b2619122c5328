import { UserError } from "../errors";
import { halfToFloat, sizeOf, type DType, type HostTensor } from "../tensor";
import { floatToHalf, isFloat } from "./convert";

/** How random samples are drawn: normal(mean, std) or uniform in [low, high). */
export type RandomSpec = { kind: "normal"; mean: number; std: number } | { kind: "uniform"; low: number; high: number };

/** The default random data: standard normal. */
export const DEFAULT_RANDOM: RandomSpec = { kind: "normal", mean: 0, std: 1 };

/** "normal(mean 0, std 1)" / "uniform [0, 1)" for descriptions. */
export function describeRandom(spec: RandomSpec): string {
  return spec.kind === "normal" ? `normal(mean ${spec.mean}, std ${spec.std})` : `uniform [${spec.low}, ${spec.high})`;
}

/** Checks a random spec's numbers; bad values are a usage error. */
export function checkRandomSpec(spec: RandomSpec): void {
  const ok =
    spec.kind === "normal"
      ? Number.isFinite(spec.mean) && Number.isFinite(spec.std) && spec.std >= 0
      : Number.isFinite(spec.low) && Number.isFinite(spec.high) && spec.low < spec.high;
  if (!ok) {
    throw new UserError(
      "usage",
      spec.kind === "normal"
        ? `Random normal data needs a finite mean and a finite std of at least 0, not mean ${spec.mean} and std ${spec.std}.`
        : `Random uniform data needs finite bounds with low < high, not [${spec.low}, ${spec.high}).`,
    );
  }
}

/** Random data can feed float inputs only; anything else needs real data. */
export function checkRandomInput(name: string, dtype: DType): void {
  if (!isFloat(dtype) || dtype === "bfloat16") {
    throw new UserError(
      "data",
      `Input "${name}" has type ${dtype}, and random data is only generated for float inputs; give real data for it with --data.`,
    );
  }
}

// murmur3's 32-bit finalizer: a bijective mix with good avalanche, used to derive independent streams.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function splitWords(v: number): [number, number] {
  return [v >>> 0, Math.floor(v / 4294967296) >>> 0];
}

/**
 * A xoshiro128** generator whose state depends only on (seed, input index, sample index):
 * sample i of input k is the same whatever the batch size or shard that reads it.
 */
export class SampleRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, inputIndex: number, sampleIndex: number) {
    const [seedLo, seedHi] = splitWords(seed);
    const [iLo, iHi] = splitWords(sampleIndex);
    let h = fmix32(seedLo ^ 0x9e3779b9);
    h = fmix32(h ^ seedHi ^ 0x85ebca6b);
    h = fmix32(h ^ Math.imul(inputIndex + 1, 0x27d4eb2f));
    h = fmix32(h ^ iLo);
    h = fmix32(h ^ Math.imul(iHi + 1, 0x165667b1));
    // splitmix32 expands the 32-bit key into the 128-bit state (never all zero).
    let x = h;
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator with a given 128-bit state (for checking against xoshiro128**'s reference outputs). */
  static fromState(s0: number, s1: number, s2: number, s3: number): SampleRng {
    const rng = new SampleRng(0, 0, 0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = [s0 | 0, s1 | 0, s2 | 0, s3 | 0];
    return rng;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Fills `out` with values of the spec drawn from one generator. */
function fillValues(rng: SampleRng, spec: RandomSpec, out: Float64Array): void {
  const n = out.length;
  if (spec.kind === "uniform") {
    for (let i = 0; i < n; i++) out[i] = spec.low + rng.nextDouble() * (spec.high - spec.low);
    return;
  }
  // Marsaglia's polar method: a point uniform in the unit disc gives two independent normals with one log and
  // one sqrt (no trigonometry). 32-bit uniforms suffice for values stored as float32.
  const scale = 2 ** -31;
  for (let i = 0; i < n; i += 2) {
    let u: number, v: number, q: number;
    do {
      u = (rng.nextUint32() + 0.5) * scale - 1;
      v = (rng.nextUint32() + 0.5) * scale - 1;
      q = u * u + v * v;
    } while (q >= 1);
    const m = spec.std * Math.sqrt((-2 * Math.log(q)) / q);
    out[i] = spec.mean + u * m;
    if (i + 1 < n) out[i + 1] = spec.mean + v * m;
  }
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
/** The largest float32 strictly below a float32 value (for keeping uniform values under `high`). */
function float32Below(v: number): number {
  F32[0] = v;
  if (v > 0) I32[0] -= 1;
  else if (v < 0) I32[0] += 1;
  else return -(2 ** -149);
  return F32[0];
}

/**
 * A batch of random samples [start, start + count) for input number `inputIndex`, shaped [count, ...sampleDims],
 * in a float dtype (float32, float64 or float16 as bits); uniform values stay below `high` after rounding.
 */
export function randomBatch(
  spec: RandomSpec,
  seed: number,
  inputIndex: number,
  start: number,
  count: number,
  sampleDims: readonly number[],
  dtype: DType,
): HostTensor {
  const per = sizeOf(sampleDims);
  const scratch = new Float64Array(per);
  const total = count * per;
  const f64 = dtype === "float64" ? new Float64Array(total) : undefined;
  const f32 = dtype === "float32" ? new Float32Array(total) : undefined;
  const f16 = dtype === "float16" ? new Uint16Array(total) : undefined;
  if (!f64 && !f32 && !f16) throw new Error(`random data cannot be ${dtype}`);
  // Rounding to float32 or float16 must not push a uniform value up to `high`.
  let limit32 = Infinity;
  if (spec.kind === "uniform") {
    limit32 = Math.fround(spec.high);
    if (limit32 >= spec.high) limit32 = float32Below(limit32);
  }
  const high16 = spec.kind === "uniform" ? spec.high : Infinity;
  for (let s = 0; s < count; s++) {
    fillValues(new SampleRng(seed, inputIndex, start + s), spec, scratch);
    const base = s * per;
    if (f64) {
      f64.set(scratch, base);
    } else if (f32) {
      for (let j = 0; j < per; j++) f32[base + j] = Math.min(scratch[j], limit32);
    } else if (f16) {
      for (let j = 0; j < per; j++) {
        let h = floatToHalf(scratch[j]);
        if (halfToFloat(h) >= high16) h = h & 0x8000 ? h + 1 : h === 0 ? 0x8001 : h - 1;
        f16[base + j] = h;
      }
    }
  }
  return { dtype, dims: [count, ...sampleDims], data: (f64 ?? f32 ?? f16)! };
}
