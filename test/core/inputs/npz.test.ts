import * as assert from "node:assert/strict";
import { zipSync } from "fflate";
import { npzArrayNames, parseNpz } from "../../../src/core/inputs/npz";
import { elementBytes, npyBytes } from "../../helpers/npyBytes";
import { throwsUser } from "../../helpers/userError";

describe("npz parsing (core)", () => {
  const x = npyBytes("<f4", [2, 3], elementBytes("<f4", [1, 2, 3, 4, 5, 6]));
  const ids = npyBytes("<i8", [2], elementBytes("<i8", [10n, -20n]));

  for (const [label, level] of [
    ["stored", 0],
    ["deflated", 6],
  ] as const) {
    it(`reads ${label} entries by array name`, () => {
      const zip = zipSync({ "x.npy": [x, { level }], "ids.npy": [ids, { level }] });
      // The local file header's compression method: 0 stored, 8 deflate.
      assert.equal(zip[8], level === 0 ? 0 : 8);
      assert.deepEqual(npzArrayNames(zip), ["x", "ids"]);
      const arrays = parseNpz(zip);
      assert.deepEqual([...arrays.keys()], ["x", "ids"]);
      assert.deepEqual(arrays.get("x")!.dims, [2, 3]);
      assert.deepEqual(Array.from(arrays.get("x")!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
      assert.equal(arrays.get("ids")!.dtype, "int64");
      assert.deepEqual(Array.from(arrays.get("ids")!.data as BigInt64Array), [10n, -20n]);
    });
  }

  it("decodes only the arrays asked for", () => {
    const zip = zipSync({ "x.npy": x, "broken.npy": new Uint8Array([1, 2, 3]) });
    assert.deepEqual([...parseNpz(zip, "d.npz", (n) => n === "x").keys()], ["x"]);
    throwsUser(
      () => parseNpz(zip, '"d.npz"'),
      'Array "broken" in "d.npz" is not a .npy file (it does not start with the NumPy magic bytes); save it with numpy.save.',
    );
  });

  it("rejects a truncated archive with one sentence", () => {
    const zip = zipSync({ "x.npy": [x, { level: 6 }] });
    assert.throws(
      () => parseNpz(zip.subarray(0, 50), '"d.npz"'),
      (e: Error) =>
        /^"d\.npz" is not a readable \.npz archive \(.+\); it is truncated or damaged, save it again with numpy\.savez\.$/.test(e.message),
    );
  });
});
