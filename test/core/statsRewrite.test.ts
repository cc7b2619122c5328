import * as assert from "node:assert/strict";
import { toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { findBnLayers } from "../../src/core/graph/bnLayers";
import { decodeModel } from "../../src/core/onnx/model";
import { concat, lengthDelimited, scanFields, varint } from "../../src/core/onnx/wire";
import { floatToBfloat16, floatToHalf, rewriteBnStatistics, roundToDtype } from "../../src/core/recalibrate/statsRewrite";
import { bnDepths, deviation, selectLayers } from "../../src/core/recalibrate/recalibration";
import { halfToFloat } from "../../src/core/tensor";
import { GraphBuilder } from "../helpers/onnxGraph";

describe("float16 and bfloat16 encoding of statistics", () => {
  it("every finite half value encodes to itself, and midpoints round to even", () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = halfToFloat(h);
      if (!Number.isFinite(x)) continue;
      const back = floatToHalf(x);
      // +0 and -0 both decode to zero; keep the sign bit.
      assert.equal(back, h, `half 0x${h.toString(16)} = ${x} encoded as 0x${back.toString(16)}`);
    }
    // 1 + 2^-11 lies halfway between 1 (even mantissa) and 1 + 2^-10: ties go to 1.
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(floatToHalf(65520), 0x7c00, "rounds to infinity past the largest half");
    assert.equal(floatToHalf(65519), 0x7bff);
    assert.equal(floatToHalf(2 ** -25), 0, "half of the smallest subnormal rounds to even (0)");
    assert.equal(floatToHalf(3 * 2 ** -25), 2);
  });
  it("bfloat16 keeps the top 16 bits of float32, rounded to nearest even", () => {
    assert.equal(floatToBfloat16(1), 0x3f80);
    assert.equal(floatToBfloat16(1 + 2 ** -8), 0x3f80, "tie to even");
    assert.equal(floatToBfloat16(1 + 3 * 2 ** -8), 0x3f82);
    assert.equal(roundToDtype(1 + 3 * 2 ** -8, "bfloat16"), 1 + 2 ** -6);
  });
});

describe("rewriteBnStatistics at the wire level", () => {
  function model() {
    const g = new GraphBuilder(13);
    g.batchNorm("x", "y", 2);
    return g.model(["y"]);
  }

  it("keeps unknown fields of the model and of the graph, and replaces only the statistics", () => {
    const m = model();
    const base = toBinary(ModelProtoSchema, m.proto);
    // Field 99 (unknown to every ONNX version) at the top level and inside the graph.
    const unknown = concat([varint(99 * 8 + 2), varint(3), Uint8Array.of(1, 2, 3)]);
    const fields = scanFields(base);
    const g = fields.find((f) => f.field === 7)!;
    const graph = concat([base.subarray(g.payloadStart, g.end), unknown]);
    const bytes = concat([base.subarray(0, g.start), ...lengthDelimited(7, graph), base.subarray(g.end), unknown]);
    const decoded = decodeModel(bytes);
    const r = rewriteBnStatistics(bytes, decoded, [{ nodeIndex: 0, mean: Float64Array.of(0.5, -2), var: Float64Array.of(3, 0.25) }], {
      metadata: [{ key: "k", value: "v" }],
    });
    const hex = Buffer.from(r.bytes).toString("hex");
    assert.equal(hex.split(Buffer.from(unknown).toString("hex")).length - 1, 2, "both unknown fields survive");
    const out = decodeModel(r.bytes);
    const [bn] = findBnLayers(out);
    assert.deepEqual([...bn.runningMean], [0.5, -2]);
    assert.deepEqual([...bn.runningVar], [3, 0.25]);
    assert.deepEqual(
      out.proto.metadataProps.map((e) => [e.key, e.value]),
      [["k", "v"]],
    );
    // A second rewrite replaces the entry with the same key instead of adding one.
    const again = rewriteBnStatistics(r.bytes, out, [{ nodeIndex: 0, mean: Float64Array.of(1, 1), var: Float64Array.of(1, 1) }], {
      metadata: [{ key: "k", value: "w" }],
    });
    assert.deepEqual(
      decodeModel(again.bytes).proto.metadataProps.map((e) => [e.key, e.value]),
      [["k", "w"]],
    );
    assert.deepEqual(
      r.changes.map((c) => [c.slot, c.how, c.storage]),
      [
        ["mean", "initializer replaced", "inline"],
        ["var", "initializer replaced", "inline"],
      ],
    );
  });

  it("a tensor that is also a graph output is split: the BN gets a new initializer", () => {
    const g = new GraphBuilder(13);
    g.batchNorm("x", "y", 2);
    const m = g.model(["y", "bn0.m"]);
    const bytes = toBinary(ModelProtoSchema, m.proto);
    const r = rewriteBnStatistics(bytes, decodeModel(bytes), [{ nodeIndex: 0, mean: Float64Array.of(7, 8), var: Float64Array.of(1, 1) }]);
    const out = decodeModel(r.bytes);
    assert.deepEqual(Array.from(out.initializers.get("bn0.m")!.floatData), [0, 0]);
    assert.equal(out.graph.node[0].input[3], "bn0.running_mean.recalibrated");
    assert.deepEqual([...findBnLayers(out)[0].runningMean], [7, 8]);
  });
});

describe("recalibration helpers", () => {
  it("BN depth counts BN layers on the longest path, through Adds", () => {
    const g = new GraphBuilder(13);
    g.batchNorm("x", "a", 2);
    g.batchNorm("a", "b", 2);
    g.node("Add", ["a", "b"], "s");
    g.batchNorm("s", "c", 2);
    g.batchNorm("x", "d", 2);
    const m = g.model(["c", "d"]);
    const layers = findBnLayers(m);
    assert.deepEqual([...bnDepths(m, layers).values()], [0, 1, 2, 0]);
    assert.deepEqual(
      selectLayers(layers, ["bn1", "bn?"]).map((l) => l.name),
      layers.map((l) => l.name),
    );
  });
  it("deviation is |z| and the variance ratio as the report defines them, forgiving only the dtype's rounding", () => {
    const d = deviation(
      { mean: Float64Array.of(1, 0), var: Float64Array.of(4, 1) },
      { mean: Float64Array.of(1.2, 0), var: Float64Array.of(4, 2) },
      0,
    );
    assert.ok(Math.abs(d.worstZ!.value - 0.1) < 1e-12);
    assert.equal(d.worstVarRatio!.value, 2);
    const zero = deviation(
      { mean: Float64Array.of(0), var: Float64Array.of(0) },
      { mean: Float64Array.of(0), var: Float64Array.of(0) },
      1e-5,
    );
    assert.equal(zero.worstVarRatio!.value, 1, "a constant input and a zero stored variance match");
  });
});
