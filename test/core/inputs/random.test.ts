import * as assert from "node:assert/strict";
import { checkRandomInput, checkRandomSpec, randomBatch, SampleRng, type RandomSpec } from "../../../src/core/inputs/random";
import { halfToFloat, type HostTensor } from "../../../src/core/tensor";
import { throwsUser } from "../../helpers/userError";

const vals = (t: HostTensor) => Array.from(t.data as Float64Array);
const normal: RandomSpec = { kind: "normal", mean: 0, std: 1 };

function moments(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length) };
}

describe("seeded random data (core)", () => {
  it("is xoshiro128** (reference outputs for state 1, 2, 3, 4)", () => {
    // Worked by hand from the reference C code: rotl(s1 * 5, 7) * 9, then the state update.
    const rng = SampleRng.fromState(1, 2, 3, 4);
    assert.deepEqual([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()], [11520, 0, 5927040]);
  });

  it("gives sample i of input k the same values whatever the batch size or shard", () => {
    const dims = [3, 5, 7];
    const whole = randomBatch(normal, 42, 1, 0, 10, dims, "float32").data as Float32Array;
    const per = 3 * 5 * 7;
    const pieces: number[] = [];
    for (const [start, count] of [
      [0, 3],
      [3, 1],
      [4, 6],
    ]) {
      const t = randomBatch(normal, 42, 1, start, count, dims, "float32");
      assert.deepEqual(t.dims, [count, ...dims]);
      pieces.push(...(t.data as Float32Array));
    }
    assert.deepEqual(pieces, Array.from(whole));
    // A shard starting at sample 7 reproduces sample 7.
    const shard = randomBatch(normal, 42, 1, 7, 1, dims, "float32").data as Float32Array;
    assert.deepEqual(Array.from(shard), Array.from(whole.subarray(7 * per, 8 * per)));
    // Other seeds, inputs and samples differ.
    const first = Array.from(whole.subarray(0, per));
    assert.notDeepEqual(vals(randomBatch(normal, 43, 1, 0, 1, dims, "float32")), first);
    assert.notDeepEqual(vals(randomBatch(normal, 42, 0, 0, 1, dims, "float32")), first);
    assert.notDeepEqual(Array.from(whole.subarray(per, 2 * per)), first);
    // Sample indices past 2^32 still give distinct, reproducible streams.
    const far = randomBatch(normal, 42, 1, 2 ** 32 + 5, 1, [4], "float64");
    assert.deepEqual(vals(far), vals(randomBatch(normal, 42, 1, 2 ** 32 + 5, 1, [4], "float64")));
    assert.notDeepEqual(vals(far), vals(randomBatch(normal, 42, 1, 5, 1, [4], "float64")));
  });

  it("draws normal values with the requested mean and std", () => {
    const v = randomBatch({ kind: "normal", mean: 2, std: 3 }, 7, 0, 0, 100, [1000], "float64").data as Float64Array;
    const m = moments(v);
    assert.ok(Math.abs(m.mean - 2) < 0.03, `mean ${m.mean}`);
    assert.ok(Math.abs(m.std - 3) < 0.03, `std ${m.std}`);
    // About 68.3% within one std (binomial sd of the fraction is 0.0015 here).
    const inside = v.filter((x) => Math.abs(x - 2) < 3).length / v.length;
    assert.ok(Math.abs(inside - 0.6827) < 0.006, `inside ${inside}`);
  });

  it("draws uniform values in [low, high), even after rounding to float32 or float16", () => {
    const v = randomBatch({ kind: "uniform", low: -1, high: 3 }, 1, 0, 0, 100, [1000], "float32").data as Float32Array;
    const m = moments(v);
    assert.ok(v.every((x) => x >= -1 && x < 3));
    assert.ok(Math.abs(m.mean - 1) < 0.02, `mean ${m.mean}`);
    assert.ok(Math.abs(m.std - 4 / Math.sqrt(12)) < 0.02, `std ${m.std}`);
    // An interval one float32 step wide: every value must round to `low`.
    const step = 2 ** -23;
    const narrow = randomBatch({ kind: "uniform", low: 1, high: 1 + step }, 1, 0, 0, 10, [100], "float32").data as Float32Array;
    assert.ok(narrow.every((x) => x === 1));
    const half = randomBatch({ kind: "uniform", low: 1, high: 1 + 2 ** -10 }, 1, 0, 0, 10, [100], "float16").data as Uint16Array;
    assert.ok(Array.from(half).every((h) => halfToFloat(h) === 1));
  });

  it("writes float16 bits close to the float64 values of the same samples", () => {
    const f64 = randomBatch(normal, 5, 0, 3, 2, [50], "float64").data as Float64Array;
    const f16 = randomBatch(normal, 5, 0, 3, 2, [50], "float16").data as Uint16Array;
    for (let i = 0; i < f64.length; i++) assert.ok(Math.abs(halfToFloat(f16[i]) - f64[i]) <= Math.abs(f64[i]) * 2 ** -11 + 2 ** -24);
  });

  it("asks for real data for integer and bool inputs, and checks its parameters", () => {
    checkRandomInput("x", "float16");
    throwsUser(
      () => checkRandomInput("ids", "int64"),
      'Input "ids" has type int64, and random data is only generated for float inputs; give real data for it with --data.',
    );
    throwsUser(
      () => checkRandomInput("mask", "bool"),
      'Input "mask" has type bool, and random data is only generated for float inputs; give real data for it with --data.',
    );
    throwsUser(
      () => checkRandomSpec({ kind: "uniform", low: 1, high: 1 }),
      "Random uniform data needs finite bounds with low < high, not [1, 1).",
      "usage",
    );
    throwsUser(
      () => checkRandomSpec({ kind: "normal", mean: 0, std: -1 }),
      "Random normal data needs a finite mean and a finite std of at least 0, not mean 0 and std -1.",
      "usage",
    );
  });
});
