import * as assert from "node:assert/strict";
import { castTensor, floatToHalf } from "../../../src/core/inputs/convert";
import { halfToFloat, type HostTensor } from "../../../src/core/tensor";
import { throwsUser } from "../../helpers/userError";

const vals = (t: HostTensor) => Array.from(t.data as ArrayLike<number | bigint>);

describe("dtype conversion for feeding (core)", () => {
  it("encodes float16 with round-to-nearest-even, overflow, subnormals and NaN", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001],
      [2 ** -14, 0x0400],
      [0.1, 0x2e66],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [2049, 0x6800],
      [2051, 0x6802],
      [-0, 0x8000],
    ];
    for (const [v, bits] of cases) assert.equal(floatToHalf(v), bits, `floatToHalf(${v})`);
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });

  it("converts any number to float types, integers between integer types, and numbers to bool", () => {
    const f64: HostTensor = { dtype: "float64", dims: [3], data: Float64Array.from([0.5, -1, NaN]) };
    const f32 = castTensor(f64, "float32", "x");
    assert.ok(f32.data instanceof Float32Array);
    assert.deepEqual(Array.from(f32.data).slice(0, 2), [0.5, -1]);
    assert.ok(Number.isNaN(f32.data[2]));
    assert.deepEqual(vals(castTensor(f64, "float16", "x")), [0x3800, 0xbc00, 0x7e00]);
    const i64: HostTensor = { dtype: "int64", dims: [2], data: BigInt64Array.from([3n, -4n]) };
    assert.deepEqual(vals(castTensor(i64, "float32", "x")), [3, -4]);
    assert.deepEqual(vals(castTensor(i64, "int32", "x")), [3, -4]);
    const u8: HostTensor = { dtype: "uint8", dims: [2], data: Uint8Array.from([0, 255]) };
    assert.deepEqual(vals(castTensor(u8, "int64", "x")), [0n, 255n]);
    assert.deepEqual(vals(castTensor(u8, "bool", "x")), [0, 1]);
    const f16: HostTensor = { dtype: "float16", dims: [1], data: Uint16Array.from([0x3e00]) };
    assert.deepEqual(vals(castTensor(f16, "float32", "x")), [1.5]);
    assert.equal(castTensor(f64, "float64", "x"), f64);
  });

  it("refuses integer values that do not fit the input's type", () => {
    const big: HostTensor = { dtype: "int64", dims: [2], data: BigInt64Array.from([1n, 2n ** 40n]) };
    throwsUser(
      () => castTensor(big, "int32", '"ids.npy"'),
      '"ids.npy" holds the value 1099511627776 at element 1, which does not fit the model\'s int32; save the data as int32.',
    );
    const neg: HostTensor = { dtype: "int16", dims: [1], data: Int16Array.from([-1]) };
    throwsUser(
      () => castTensor(neg, "uint8", '"ids.npy"'),
      '"ids.npy" holds the value -1 at element 0, which does not fit the model\'s uint8; save the data as uint8.',
    );
  });
});
