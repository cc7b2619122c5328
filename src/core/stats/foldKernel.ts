import kernelBytes from "bn-lens-wasm:./kernel/foldRuns.ts";
import { BUCKET_COUNT, BUCKET_OF_TOP_BITS, bucketOf } from "./histogram";

/**
 * The float64 pass over BN outputs in WebAssembly with SIMD (kernel/foldRuns.ts): exact mode spends most of its time
 * in it. Measured on runs of 768 values: 10.7 ns per value in the JavaScript loop it replaced, 4.9 ns compiled as
 * scalar code, 3.1 ns with four values per step. Its sums are float64 sums of the same differences in another
 * order (four lanes), so they agree with the loop's to float64 rounding; counts, extremes and buckets are exact.
 *
 * Values are copied into the module's memory a chunk of whole runs at a time, so that memory stays the size of
 * a chunk (or of one run, when a single feature map is larger) however large the batch.
 */
const CHUNK_VALUES = 1 << 20;
const PAGE = 65_536;
const LUT = 0;
const NON_FINITE = 4096;
const HIST = NON_FINITE + 64;

interface Kernel {
  memory: WebAssembly.Memory;
  /** Channels the count region at HIST has room for. */
  histChannels: number;
  /** Whether the count region is known to be all zero. */
  cleared: boolean;
  /** Set during a pass: one that threw leaves counts behind. */
  dirty: boolean;
  foldRuns(
    y: number,
    firstRun: number,
    runs: number,
    channels: number,
    inner: number,
    params: number,
    records: number,
    hist: number,
    lut: number,
    nonFinite: number,
    flatOfMapped: number,
  ): void;
}

let kernel: Kernel | undefined;

function load(): Kernel {
  if (kernel) return kernel;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const abort = () => {
    throw new Error("the statistics kernel stopped");
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes), { env: { memory, abort } });
  new Int16Array(memory.buffer, LUT, 2048).set(BUCKET_OF_TOP_BITS);
  kernel = { memory, histChannels: 0, cleared: true, dirty: false, foldRuns: instance.exports.foldRuns as Kernel["foldRuns"] };
  return kernel;
}

/** A recovered input's bucket, or the end of the range when it is not finite in float32 (not counted anyway). */
function bucketOrEnd(x: number, end: number): number {
  const b = bucketOf(x);
  return b < 0 ? end : b;
}

/** Adds one channel's counts in buckets [from, to] (at `at`) into `into` (at `at + shift`), and clears them for the next pass. */
function flush(hist: Uint32Array, at: number, from: number, to: number, into: Float64Array, shift = 0): void {
  for (let i = at + from; i <= at + to; i++) {
    const n = hist[i];
    if (n) {
      into[i + shift] += n;
      hist[i] = 0;
    }
  }
}

/** Per channel: the inverse map x = mean + (y - beta)·scale and the single flat interval [flo, fhi] to count. */
export interface RunParams {
  mean: ArrayLike<number>;
  beta: ArrayLike<number>;
  scale: ArrayLike<number>;
  flo: ArrayLike<number>;
  fhi: ArrayLike<number>;
}

/** What one pass found: per run (7 numbers: count, shift k, Σ(y-k), Σ(y-k)², min, max, flat count) and in total. */
export interface RunFolds {
  records: Float64Array;
  /** NaN, +inf, -inf among y, then among the recovered x. */
  nonFinite: Float64Array;
}

/**
 * One pass over y [runs·inner] (run j holds channel j % channels): the buckets of y are added to `yHist` and those
 * of the mapped values x = fround(mean + (y - beta)·scale) to `xHist` (both [channels·259]); the per-run sums are
 * returned for the caller to merge. The flat interval counts y, or x with `flatOfMapped` (sampled BN inputs, whose
 * BN outputs are the mapped values). `chunkValues` is for tests (chunk boundaries).
 */
export function foldRuns(
  y: Float32Array,
  channels: number,
  inner: number,
  params: RunParams,
  yHist: Float64Array,
  xHist: Float64Array,
  { flatOfMapped = false, chunkValues = CHUNK_VALUES }: { flatOfMapped?: boolean; chunkValues?: number } = {},
): RunFolds {
  const k = load();
  const runs = inner > 0 ? y.length / inner : 0;
  const perChunk = Math.max(1, Math.floor(chunkValues / Math.max(1, inner)));
  const records = new Float64Array(7 * runs);
  const plane = channels * BUCKET_COUNT;
  // The count region stays where it is and all zero between passes (each pass clears what it counted), so it is
  // cleared whole only when it grows over what the other regions held, or after a pass that did not finish.
  if (k.histChannels < channels || k.dirty) {
    k.histChannels = Math.max(k.histChannels, channels);
    k.cleared = false;
  }
  const paramsAt = HIST + 2 * k.histChannels * BUCKET_COUNT * 4;
  const recordsAt = paramsAt + 5 * channels * 8;
  const yAt = recordsAt + 7 * Math.min(perChunk, runs) * 8;
  const end = yAt + Math.min(perChunk, runs) * inner * 4;
  if (k.memory.buffer.byteLength < end) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / PAGE));
  const buf = k.memory.buffer;
  const hist = new Uint32Array(buf, HIST, 2 * plane);
  if (!k.cleared) {
    new Uint32Array(buf, HIST, 2 * k.histChannels * BUCKET_COUNT).fill(0);
    k.cleared = true;
  }
  const p = new Float64Array(buf, paramsAt, 5 * channels);
  for (let c = 0; c < channels; c++) {
    p[5 * c] = params.mean[c];
    p[5 * c + 1] = params.beta[c];
    p[5 * c + 2] = params.scale[c];
    p[5 * c + 3] = params.flo[c];
    p[5 * c + 4] = params.fhi[c];
  }
  k.dirty = true;
  const nonFinite = new Float64Array(buf, NON_FINITE, 6);
  nonFinite.fill(0);
  const into = new Float32Array(buf, yAt);
  const chunkRecords = new Float64Array(buf, recordsAt, 7 * Math.min(perChunk, runs));
  for (let first = 0; first < runs; first += perChunk) {
    const n = Math.min(perChunk, runs - first);
    into.set(y.subarray(first * inner, (first + n) * inner));
    k.foldRuns(yAt, first, n, channels, inner, paramsAt, recordsAt, HIST, LUT, NON_FINITE, flatOfMapped ? 1 : 0);
    records.set(n === perChunk ? chunkRecords : chunkRecords.subarray(0, 7 * n), 7 * first);
  }
  // Only buckets between those of a channel's extremes can hold counts (buckets are monotone in the value, and so
  // is the map to x): small feature maps fill a few of a channel's 259 buckets, so only those are added and cleared.
  const lo = new Float64Array(channels).fill(Infinity),
    hi = new Float64Array(channels).fill(-Infinity);
  for (let r = 0; r < runs; r++) {
    const c = r % channels;
    if (records[7 * r + 4] < lo[c]) lo[c] = records[7 * r + 4];
    if (records[7 * r + 5] > hi[c]) hi[c] = records[7 * r + 5];
  }
  for (let c = 0; c < channels; c++) {
    if (!(lo[c] <= hi[c])) continue;
    const mu = params.mean[c],
      be = params.beta[c],
      sc = params.scale[c];
    const xa = mu + (lo[c] - be) * sc,
      xb = mu + (hi[c] - be) * sc;
    flush(hist, c * BUCKET_COUNT, bucketOf(lo[c]), bucketOf(hi[c]), yHist);
    flush(hist, plane + c * BUCKET_COUNT, bucketOrEnd(Math.min(xa, xb), 0), bucketOrEnd(Math.max(xa, xb), BUCKET_COUNT - 1), xHist, -plane);
  }
  k.dirty = false;
  return { records, nonFinite: Float64Array.from(nonFinite) };
}
