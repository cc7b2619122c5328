import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeModel } from "../../src/core/onnx/model";
import { decodeTensorProto } from "../../src/core/onnx/tensorData";
import { FACE_DETECTOR, ONNX_BN_TESTS } from "../helpers/paths";

describe("ONNX decoding (core)", () => {
  it("lists only real inputs of an old PyTorch export whose weights appear among the graph inputs", () => {
    const model = decodeModel(fs.readFileSync(FACE_DETECTOR));
    assert.equal(model.opset, 9);
    assert.equal(model.graph.input.length, 245);
    assert.deepEqual(
      model.inputs.map((i) => i.name),
      ["input"],
    );
    assert.deepEqual(model.inputs[0].dims, [1, 3, 240, 320]);
    assert.equal(model.inputs[0].dtype, "float32");
    assert.equal(model.graph.node.filter((n) => n.opType === "BatchNormalization").length, 35);
  });

  it("reads an ONNX test-data TensorProto", () => {
    const t = decodeTensorProto(
      fs.readFileSync(path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval", "test_data_set_0", "input_0.pb")),
      "input_0.pb",
    );
    assert.equal(t.dtype, "float32");
    assert.deepEqual(t.dims, [2, 3, 6, 6]);
    assert.equal(t.data.length, 216);
  });

  it("rejects an empty file and random bytes with a plain sentence", () => {
    assert.throws(() => decodeModel(new Uint8Array(0)), /empty/);
    assert.throws(() => decodeModel(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])), /not a readable ONNX model|not an ONNX model/);
  });
});
