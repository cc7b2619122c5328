/**
 * Models BN Lens used to misread (issue #10): BN inside If/Loop subgraphs, invalid stored statistics,
 * zero-sized dims, BN on a rank-1 input, cyclic graphs that `describe` accepted. Each with the exact sentence.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from "onnx-buf";
import { buildDemoModel } from "../../src/core/demo/demoModel";
import { isUserError } from "../../src/core/errors";
import type { InspectRequest } from "../../src/protocol/worker";
import { describeModel, inspect, type EngineHooks } from "../../src/runtime/engine";
import { tensorInfo } from "../helpers/onnxGraph";

const quiet: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-misread-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function write(m: ModelProto): string {
  const p = path.join(tmp, `m${counter++}.onnx`);
  fs.writeFileSync(p, toBinary(ModelProtoSchema, m));
  return p;
}

function demo(edit: (m: ModelProto) => void): string {
  const m = fromBinary(ModelProtoSchema, buildDemoModel());
  edit(m);
  return write(m);
}

function floats(name: string, values: number[], dims = [values.length]): TensorProto {
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: 1, floatData: values });
}

/** Replaces an initializer's values (the demo stores them as raw float32 bytes). */
function setInit(m: ModelProto, name: string, edit: (v: Float32Array) => void): void {
  const t = m.graph!.initializer.find((x) => x.name === name)!;
  const v = new Float32Array(t.rawData.slice().buffer);
  edit(v);
  t.rawData = new Uint8Array(v.buffer);
}

function model(nodes: NodeProto[], inits: TensorProto[], input: (number | string)[], output = "y", opset = 13): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: "bn-lens-test",
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(opset) })],
    graph: create(GraphProtoSchema, {
      name: "g",
      node: nodes,
      initializer: inits,
      input: [tensorInfo("x", input)],
      output: [tensorInfo(output, [])],
    }),
  });
}

const C = 4;
function bnInits(p: string): TensorProto[] {
  return [floats(`${p}.s`, [1, 1, 1, 1]), floats(`${p}.b`, [0, 0, 0, 0]), floats(`${p}.m`, [0, 0, 0, 0]), floats(`${p}.v`, [1, 1, 1, 1])];
}
function bnNode(p: string, input: string, output: string): NodeProto {
  return create(NodeProtoSchema, {
    opType: "BatchNormalization",
    name: p,
    input: [input, `${p}.s`, `${p}.b`, `${p}.m`, `${p}.v`],
    output: [output],
  });
}

/** x → If(true) { then: BN(x), else: Identity(x) } → Relu → y: the only BN sits in a subgraph. */
function ifModel(): ModelProto {
  const branch = (name: string, nodes: NodeProto[], inits: TensorProto[]) =>
    create(GraphProtoSchema, { name, node: nodes, initializer: inits, output: [tensorInfo("b_out", [])] });
  const thenBranch = branch("then", [bnNode("sub_bn", "x", "b_out")], bnInits("sub_bn"));
  const elseBranch = branch("else", [create(NodeProtoSchema, { opType: "Identity", input: ["x"], output: ["b_out"] })], []);
  const cond = create(TensorProtoSchema, { name: "cond", dims: [], dataType: 9, int32Data: [1] });
  const graphAttr = (name: string, g: typeof thenBranch) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.GRAPH, g });
  return model(
    [
      create(NodeProtoSchema, {
        opType: "If",
        name: "branch",
        input: ["cond"],
        output: ["branched"],
        attribute: [graphAttr("then_branch", thenBranch), graphAttr("else_branch", elseBranch)],
      }),
      create(NodeProtoSchema, { opType: "Relu", name: "relu", input: ["branched"], output: ["y"] }),
    ],
    [cond],
    ["N", C, 6, 6],
  );
}

async function message(request: Partial<InspectRequest> & { modelPath: string }): Promise<string> {
  try {
    await inspect({ samples: 4, batchSize: 2, ...request }, quiet);
  } catch (e) {
    assert.ok(isUserError(e), `expected a UserError, got ${(e as Error).stack}`);
    return e.message;
  }
  assert.fail("expected an error");
}

function describeMessage(modelPath: string): string {
  try {
    describeModel(modelPath);
  } catch (e) {
    assert.ok(isUserError(e), `expected a UserError, got ${(e as Error).stack}`);
    return e.message;
  }
  assert.fail("expected an error");
}

describe("models BN Lens used to misread", () => {
  it("BN only inside an If branch: said to be in a subgraph, never 'folded at export'", async () => {
    const p = write(ifModel());
    const expected =
      'The model has no BatchNormalization node in its main graph, but 1 inside the subgraphs of If/Loop/Scan nodes ("sub_bn" in If "branch"), which BN Lens does not measure; ' +
      "BN Lens shows activation statistics of the main graph's 0 Conv/Gemm/MatMul outputs instead.";
    const report = await inspect({ modelPath: p, samples: 4, batchSize: 2 }, quiet);
    assert.equal(report.model.statement, expected);
    assert.doesNotMatch(report.model.statement, /folded/);
    assert.deepEqual(
      // Random inputs add their own statement first (test/runtime/randomData.test.ts checks its words).
      report.warnings.map((w) => [w.rule, w.severity, w.message]),
      [
        ["random-data", "info", report.warnings[0].message],
        ["bn-in-subgraph", "warning", expected],
      ],
    );
    assert.equal(report.model.fusedAway, false);
    assert.equal(describeModel(p).model.statement, expected);
  });

  it("BN in the main graph and in a Loop body: the main one is measured, the other named", async () => {
    const body = create(GraphProtoSchema, {
      name: "body",
      node: [bnNode("loop_bn", "v_in", "v_out"), create(NodeProtoSchema, { opType: "Identity", input: ["cond_in"], output: ["cond_out"] })],
      initializer: bnInits("loop_bn"),
      input: [tensorInfo("iter", [], 7), tensorInfo("cond_in", [], 9), tensorInfo("v_in", ["N", C, 6, 6])],
      output: [tensorInfo("cond_out", [], 9), tensorInfo("v_out", ["N", C, 6, 6])],
    });
    const m = model(
      [
        bnNode("main_bn", "x", "bn_out"),
        create(NodeProtoSchema, {
          opType: "Loop",
          name: "loop",
          input: ["trip", "", "bn_out"],
          output: ["y"],
          attribute: [create(AttributeProtoSchema, { name: "body", type: AttributeProto_AttributeType.GRAPH, g: body })],
        }),
      ],
      [...bnInits("main_bn"), create(TensorProtoSchema, { name: "trip", dims: [], dataType: 7, int64Data: [2n] })],
      ["N", C, 6, 6],
    );
    const report = await inspect({ modelPath: write(m), samples: 4, batchSize: 2 }, quiet);
    assert.deepEqual(
      report.layers.map((l) => l.node),
      ["main_bn"],
    );
    assert.equal(
      report.model.statement,
      '1 BatchNormalization layer: 1 not followed by a recognised nonlinearity. 1 more BatchNormalization node sits inside the subgraphs of If/Loop/Scan nodes ("loop_bn" in Loop "loop"), which BN Lens does not measure.',
    );
    assert.deepEqual(
      report.warnings.map((w) => w.rule),
      ["random-data", "bn-in-subgraph"],
    );
  });

  it("invalid stored statistics: named as the model's invalid BN parameters, per layer, without data", async () => {
    const p = demo((m) => {
      setInit(m, "bn1.running_var", (v) => ((v[2] = -0.5), (v[6] = -2)));
      setInit(m, "bn2.weight", (v) => (v[1] = NaN));
      setInit(m, "bn3.running_mean", (v) => (v[0] = Infinity));
      setInit(m, "bn4.bias", (v) => (v[7] = -Infinity));
      const bn4 = m.graph!.node.find((n) => n.name === "bn4")!;
      bn4.attribute.find((a) => a.name === "epsilon")!.f = -1e-3;
    });
    const report = await inspect({ modelPath: p, samples: 8, batchSize: 4 }, quiet);
    const invalid = report.layers.map((l) => l.warnings.find((w) => w.rule === "invalid-parameters")?.message);
    assert.deepEqual(invalid, [
      "The model stores invalid BN parameters in this layer: running variance below 0 in 2 of 8 channels (2, 6; lowest -2 in channel 6). BN computes NaN or meaningless values here whatever the data; the model file is damaged or was exported from a broken checkpoint.",
      "The model stores invalid BN parameters in this layer: gamma NaN in 1 of 8 channels (1). BN computes NaN or meaningless values here whatever the data; the model file is damaged or was exported from a broken checkpoint.",
      "The model stores invalid BN parameters in this layer: running mean infinite in 1 of 8 channels (0). BN computes NaN or meaningless values here whatever the data; the model file is damaged or was exported from a broken checkpoint.",
      "The model stores invalid BN parameters in this layer: epsilon -0.001 (below 0); beta infinite in 1 of 8 channels (7). BN computes NaN or meaningless values here whatever the data; the model file is damaged or was exported from a broken checkpoint.",
    ]);
    for (const l of report.layers) {
      assert.equal(l.warnings.find((w) => w.rule === "invalid-parameters")?.severity, "error");
      for (const w of l.warnings.filter((x) => x.rule === "non-finite"))
        assert.doesNotMatch(w.message, /input data/, `${l.node}: ${w.message}`);
    }
    // bn1's negative variances give NaN after BN: the finding blames the stored parameters, not the data.
    const nf = report.layers[0].warnings.find((w) => w.rule === "non-finite");
    assert.ok(nf, "bn1 has NaN after BN");
    assert.match(nf.message, /Cause: the model stores invalid BN parameters in this layer \(see invalid-parameters\)\.$/);
    // The same finding without any data.
    const described = describeModel(p);
    assert.deepEqual(
      described.warnings.map((w) => [w.layer, w.message]),
      report.layers.map((l, i) => [l.node, invalid[i]]),
    );
  });

  it("a zero-sized dim is refused with a sentence", async () => {
    const p = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") t.value.shape!.dim[2].value = { case: "dimValue", value: 0n };
    });
    assert.equal(
      await message({ modelPath: p }),
      'Input "image" would have no values: its dims are 3x0x8 per sample, and a dim of size 0 leaves nothing to measure; give every dim a size of at least 1 (with --input-shape for symbolic dims).',
    );
    // --input-shape already refuses a 0 in its own words.
    assert.equal(
      await message({
        modelPath: demo((m) => {
          const t = m.graph!.input[0].type!.value;
          if (t.case === "tensorType") t.value.shape!.dim[2].value = { case: "dimParam", value: "H" };
        }),
        inputShapes: ["image:Nx3x0x8"],
      }),
      '--input-shape "image:Nx3x0x8" is not NAME:D0xD1x... (for example x:Nx3x48x192, with N or ? for the batch dim): "0" is not a positive whole number.',
    );
  });

  it("a negative declared dim is refused (fuzz seed 20261201, case 5580: it crashed the random data generator)", async () => {
    const p = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") t.value.shape!.dim[3].value = { case: "dimValue", value: -(2n ** 31n) };
    });
    assert.equal(
      await message({ modelPath: p }),
      'Input "image" declares dims 3x8x-2147483648 per sample, and a dim below 0 cannot be fed; the model is damaged (give the shape with --input-shape if the dim is meant to be symbolic).',
    );
  });

  it("a BN with no channels is refused", async () => {
    const p = write(
      model(
        [bnNode("bn", "x", "y")],
        [floats("bn.s", [], [0]), floats("bn.b", [], [0]), floats("bn.m", [], [0]), floats("bn.v", [], [0])],
        ["N", 0, 4, 4],
      ),
    );
    assert.equal(
      describeMessage(p),
      'BatchNormalization node "bn" has 0 channels (its gamma, beta, mean and variance are empty), so there is nothing to measure; the model is damaged.',
    );
  });

  it("BN on a rank-1 input: said in BN terms", async () => {
    const p = write(model([bnNode("bn", "x", "y")], bnInits("bn"), [C]));
    assert.equal(
      await message({ modelPath: p }),
      'BatchNormalization node "bn" reads "x", which has 1 dim (4); BN needs at least 2 (N x C, then optional spatial dims) because it normalises along the channel axis 1, so the model is malformed or its input shape is wrong.',
    );
  });

  it("describe and inspect refuse a cyclic graph with the same sentence", async () => {
    const p = demo((m) => {
      // relu1 now reads the output of conv2, which reads relu1's output: a cycle.
      m.graph!.node.find((n) => n.name === "relu1")!.input[0] = "conv2";
    });
    const inspected = await message({ modelPath: p });
    assert.equal(
      inspected,
      'Node "relu1" (Relu) reads tensor "conv2", which no earlier node, graph input or initializer provides; the model is damaged or incomplete.',
    );
    assert.equal(describeMessage(p), inspected);
  });
});
