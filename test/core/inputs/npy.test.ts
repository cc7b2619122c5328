import * as assert from "node:assert/strict";
import { parseNpy, parseNpyHeader } from "../../../src/core/inputs/npy";
import { toFloat64 } from "../../../src/core/tensor";
import { elementBytes, headerText, npyBytes } from "../../helpers/npyBytes";
import { throwsUser } from "../../helpers/userError";

describe("npy parsing (core)", () => {
  const values = [0, 1, -2, 3.5, 100, -7.25];

  for (const [descr, dtype, ctor] of [
    ["<f4", "float32", Float32Array],
    ["<f8", "float64", Float64Array],
    [">f4", "float32", Float32Array],
    [">f8", "float64", Float64Array],
  ] as const) {
    it(`reads ${descr} as ${dtype}`, () => {
      const t = parseNpy(npyBytes(descr, [2, 3], elementBytes(descr, values)));
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.dims, [2, 3]);
      assert.ok(t.data instanceof ctor);
      assert.deepEqual(Array.from(t.data as Float32Array), values);
    });
  }

  it("reads every integer type in both byte orders, with extreme values", () => {
    const cases: [string, string, (number | bigint)[]][] = [
      ["|i1", "int8", [-128, -1, 0, 127]],
      ["|u1", "uint8", [0, 1, 200, 255]],
      ["<i2", "int16", [-32768, -1, 2, 32767]],
      [">i2", "int16", [-32768, -1, 2, 32767]],
      ["<u2", "uint16", [0, 1, 40000, 65535]],
      [">u2", "uint16", [0, 1, 40000, 65535]],
      ["<i4", "int32", [-2147483648, -1, 5, 2147483647]],
      [">i4", "int32", [-2147483648, -1, 5, 2147483647]],
      ["<u4", "uint32", [0, 1, 3000000000, 4294967295]],
      [">u4", "uint32", [0, 1, 3000000000, 4294967295]],
      ["<i8", "int64", [-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n]],
      [">i8", "int64", [-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n]],
      ["<u8", "uint64", [0n, 1n, 2n ** 63n, 2n ** 64n - 1n]],
      [">u8", "uint64", [0n, 1n, 2n ** 63n, 2n ** 64n - 1n]],
    ];
    for (const [descr, dtype, v] of cases) {
      const t = parseNpy(npyBytes(descr, [4], elementBytes(descr, v)));
      assert.equal(t.dtype, dtype, descr);
      assert.deepEqual(Array.from(t.data as ArrayLike<number | bigint>), v, descr);
    }
  });

  it("reads float16 as raw bits whose decoded values are the ones written", () => {
    // 1.0, -2.0, 0.333251953125, +inf, smallest subnormal 2^-24, NaN
    const bits = [0x3c00, 0xc000, 0x3555, 0x7c00, 0x0001, 0x7e00];
    for (const descr of ["<f2", ">f2"]) {
      const t = parseNpy(npyBytes(descr, [6], elementBytes(descr, bits)));
      assert.equal(t.dtype, "float16");
      assert.deepEqual(Array.from(t.data as Uint16Array), bits);
      const f = Array.from(toFloat64(t));
      assert.deepEqual(f.slice(0, 5), [1, -2, 0.333251953125, Infinity, 2 ** -24]);
      assert.ok(Number.isNaN(f[5]));
    }
  });

  it("reads bool (|b1) as 0/1 bytes", () => {
    const t = parseNpy(npyBytes("|b1", [2, 2], elementBytes("|b1", [1, 0, 0, 1])));
    assert.equal(t.dtype, "bool");
    assert.deepEqual(Array.from(t.data as Uint8Array), [1, 0, 0, 1]);
  });

  it("transposes Fortran order to C order (2-D and 3-D)", () => {
    // C order [[1,2,3],[4,5,6]] stored column by column.
    const t2 = parseNpy(npyBytes("<f4", [2, 3], elementBytes("<f4", [1, 4, 2, 5, 3, 6]), { fortran: true }));
    assert.deepEqual(Array.from(t2.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    // Element (i, j, k) = 100i + 10j + k, written with i fastest.
    const dims = [2, 3, 4];
    const fortran: number[] = [];
    for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) fortran.push(100 * i + 10 * j + k);
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected.push(100 * i + 10 * j + k);
    const t3 = parseNpy(npyBytes(">i8", dims, elementBytes(">i8", fortran), { fortran: true }));
    assert.deepEqual(t3.dims, dims);
    assert.deepEqual(Array.from(t3.data as BigInt64Array, Number), expected);
  });

  it("reads a 0-d array, header versions 2 and 3, and Python 2 long dims", () => {
    const scalar = parseNpy(npyBytes("<f8", [], elementBytes("<f8", [2.5])));
    assert.deepEqual(scalar.dims, []);
    assert.deepEqual(Array.from(scalar.data as Float64Array), [2.5]);
    for (const version of [2, 3] as const) {
      const t = parseNpy(npyBytes("<i2", [3], elementBytes("<i2", [7, 8, 9]), { version }));
      assert.deepEqual(Array.from(t.data as Int16Array), [7, 8, 9]);
    }
    const longs = parseNpy(
      npyBytes("<u1", [2, 1], elementBytes("<u1", [4, 5]), { header: "{'descr': '<u1', 'fortran_order': False, 'shape': (2L, 1L), }" }),
    );
    assert.deepEqual(longs.dims, [2, 1]);
  });

  it("parses the header alone, with the data offset, from the first bytes of a file", () => {
    const bytes = npyBytes("<f4", [1000, 3, 4], new Uint8Array(0));
    const h = parseNpyHeader(bytes.subarray(0, 128), "big.npy");
    assert.deepEqual(
      { ...h },
      {
        dtype: "float32",
        descr: "<f4",
        shape: [1000, 3, 4],
        fortranOrder: false,
        dataOffset: 128,
        itemSize: 4,
        bigEndian: false,
        dataBytes: 48000,
      },
    );
    assert.equal(headerText("<f4", [5]), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
  });

  it("keeps NaN and infinities (the engine counts them)", () => {
    const t = parseNpy(npyBytes("<f4", [3], elementBytes("<f4", [NaN, Infinity, -Infinity])));
    const v = Array.from(t.data as Float32Array);
    assert.ok(Number.isNaN(v[0]));
    assert.deepEqual(v.slice(1), [Infinity, -Infinity]);
  });

  it("rejects damaged and unsupported files with one sentence", () => {
    throwsUser(
      () => parseNpy(new TextEncoder().encode("PK\u0003\u0004 not npy"), '"x.npy"'),
      '"x.npy" is not a .npy file (it does not start with the NumPy magic bytes); save it with numpy.save.',
    );
    const full = npyBytes("<f4", [2, 3], elementBytes("<f4", values));
    throwsUser(
      () => parseNpy(full.subarray(0, full.length - 5), '"x.npy"'),
      '"x.npy" is truncated: its header declares 2x3 float32 (24 bytes of data) but only 19 bytes follow the header; save the file again.',
    );
    throwsUser(
      () => parseNpy(full.subarray(0, 40), '"x.npy"'),
      '"x.npy" is truncated: it ends inside its .npy header; save the file again.',
    );
    throwsUser(
      () => parseNpy(npyBytes("<c8", [1], new Uint8Array(8)), '"x.npy"'),
      '"x.npy" holds elements of NumPy type "<c8", which BN Lens cannot feed; save it as float32, float64, float16, an integer type or bool.',
    );
    throwsUser(
      () => parseNpy(npyBytes("<U5", [1], new Uint8Array(20)), '"x.npy"'),
      '"x.npy" holds elements of NumPy type "<U5", which BN Lens cannot feed; save it as float32, float64, float16, an integer type or bool.',
    );
    throwsUser(
      () =>
        parseNpy(
          npyBytes("", [1], new Uint8Array(4), { header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }" }),
          '"x.npy"',
        ),
      '"x.npy" holds a structured (record) array, which BN Lens cannot feed; save a plain numeric array.',
    );
    const v9 = npyBytes("<f4", [1], elementBytes("<f4", [1]));
    v9[6] = 9;
    throwsUser(
      () => parseNpy(v9, '"x.npy"'),
      '"x.npy" is .npy format version 9.0, which BN Lens does not read; save it with numpy.save (versions 1 to 3).',
    );
    throwsUser(
      () => parseNpy(npyBytes("<f4", [1], new Uint8Array(4), { header: "{'descr': '<f4', 'shape': (1,), }" }), '"x.npy"'),
      '"x.npy" has a .npy header BN Lens cannot read (no fortran_order); save it again with numpy.save.',
    );
  });
});
