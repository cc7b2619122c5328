/**
 * Every class of bad input named in issue #6, fed through the engine the CLI and the extension use, with
 * the exact sentence the user reads. NaN/Inf are not errors: they are counted per layer.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ModelProtoSchema,
  NodeProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorShapeProto_DimensionSchema,
  type ModelProto,
} from "onnx-buf";
import { buildDemoModel } from "../../src/core/demo/demoModel";
import { isUserError } from "../../src/core/errors";
import type { InspectRequest } from "../../src/protocol/worker";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS } from "../helpers/paths";
import { npyBytes } from "../helpers/npyBytes";

const quiet: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-bad-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function write(bytes: Uint8Array, name = `m${counter++}.onnx`, dir = tmp): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}

function demo(edit: (m: ModelProto) => void): string {
  const m = fromBinary(ModelProtoSchema, buildDemoModel());
  edit(m);
  return write(toBinary(ModelProtoSchema, m));
}

/** Runs the engine and returns the UserError message (failing the test on success or on a bug). */
async function message(request: Partial<InspectRequest> & { modelPath: string }): Promise<string> {
  try {
    await inspect({ samples: 4, batchSize: 2, ...request }, quiet);
  } catch (e) {
    assert.ok(isUserError(e), `expected a UserError, got ${(e as Error).stack}`);
    assert.doesNotMatch(e.message, /\n/);
    return e.message;
  }
  assert.fail("expected an error");
}

describe("bad models: one plain sentence each", () => {
  it("empty file", async () => {
    assert.equal(
      await message({ modelPath: write(new Uint8Array(0)) }),
      "The model file is empty (0 bytes); choose a .onnx file exported from your framework.",
    );
  });

  it("not a protobuf", async () => {
    assert.equal(
      await message({ modelPath: write(new TextEncoder().encode("not a model, just some text\n")) }),
      "The file is not a readable ONNX model: its bytes are not a valid protobuf message (truncated or not an .onnx file).",
    );
  });

  it("truncated model", async () => {
    const bytes = fs.readFileSync(FACE_DETECTOR);
    assert.equal(
      await message({ modelPath: write(bytes.subarray(0, Math.floor(bytes.length / 2))) }),
      "The file is not a readable ONNX model: its bytes are not a valid protobuf message (truncated or not an .onnx file).",
    );
  });

  it("valid protobuf that is not a model (an ONNX tensor file)", async () => {
    const pb = fs.readFileSync(path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval", "test_data_set_0", "input_0.pb"));
    assert.equal(
      await message({ modelPath: write(pb) }),
      "The file is an ONNX tensor (a TensorProto, like test_data_set_0/input_0.pb), not a model; choose the model's .onnx file and pass tensors with --data.",
    );
  });

  it("graph reading a tensor nobody provides", async () => {
    const p = demo((m) => (m.graph!.node[2].input[0] = "ghost"));
    assert.equal(
      await message({ modelPath: p }),
      `Node "relu1" (Relu) reads tensor "ghost", which no earlier node, graph input or initializer provides; the model is damaged or incomplete.`,
    );
  });

  it("custom operator from an unknown domain", async () => {
    const p = demo((m) => {
      m.graph!.node[2].domain = "com.example.custom";
      m.opsetImport.push({ ...m.opsetImport[0], domain: "com.example.custom", version: 1n });
    });
    assert.equal(
      await message({ modelPath: p }),
      `Node "relu1" uses operator Relu from domain "com.example.custom", a custom operator onnxruntime does not provide; BN Lens cannot run models that need custom-op libraries.`,
    );
  });

  it("unknown operator in the standard domain", async () => {
    const p = demo((m) => (m.graph!.node[2].opType = "Frobnicate"));
    const msg = await message({ modelPath: p });
    assert.equal(
      msg,
      `This model uses operator Frobnicate (node "relu1"), which onnxruntime 1.30.0 does not know at opset 13; the model is damaged or needs custom operators.`,
    );
  });

  it("opset newer than the runtime", async () => {
    const p = demo((m) => (m.opsetImport[0].version = 99n));
    assert.equal(
      await message({ modelPath: p }),
      "The model uses ONNX opset 99, newer than the opset 26 this onnxruntime supports; re-export it with opset 26 or older.",
    );
  });

  it("string input", async () => {
    const p = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") t.value.elemType = 8;
    });
    assert.equal(
      await message({ modelPath: p }),
      `Input "image" has type string, which BN Lens cannot feed; it feeds float, integer and bool inputs.`,
    );
  });

  it("complex input", async () => {
    const p = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") t.value.elemType = 14;
    });
    assert.equal(
      await message({ modelPath: p }),
      `Input "image" has type complex64, which BN Lens cannot feed; it feeds float, integer and bool inputs.`,
    );
  });

  it("input with no shape", async () => {
    const p = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") t.value.shape = undefined;
    });
    assert.equal(
      await message({ modelPath: p }),
      `Input "image" declares no shape and the data does not give one; give it with --input-shape image:NxD1xD2..., using numbers for D1, D2 and so on.`,
    );
  });

  it("absurd declared dims", async () => {
    const p = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") {
        t.value.shape!.dim[2] = create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: 100000n } });
        t.value.shape!.dim[3] = create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: 100000n } });
      }
    });
    assert.equal(
      await message({ modelPath: p }),
      `Input "image" would take 223.5 GiB per batch of 2 (3x100000x100000 float32 per sample), more than BN Lens can hold in memory; lower --batch or give smaller dims with --input-shape.`,
    );
  });

  it("missing external data file", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "ext-"));
    const m = fromBinary(ModelProtoSchema, buildDemoModel());
    const w = m.graph!.initializer.find((t) => t.name === "conv2.weight")!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = TensorProto_DataLocation.EXTERNAL;
    w.externalData = [
      create(StringStringEntryProtoSchema, { key: "location", value: "weights.bin" }),
      create(StringStringEntryProtoSchema, { key: "offset", value: "0" }),
      create(StringStringEntryProtoSchema, { key: "length", value: "256" }),
    ];
    const p = write(toBinary(ModelProtoSchema, m), "model.onnx", dir);
    assert.equal(
      await message({ modelPath: p }),
      `Tensor "conv2.weight" keeps its data in "weights.bin", which is missing next to the model; copy the model's external data files into ${fs.realpathSync(dir)}.`,
    );
    fs.writeFileSync(path.join(dir, "weights.bin"), new Uint8Array(100));
    assert.equal(
      await message({ modelPath: p }),
      `Tensor "conv2.weight" needs bytes 0–256 of "weights.bin", but that file has only 100 bytes (truncated or from another export).`,
    );
  });

  it("external data that points outside the model's folder", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "esc-"));
    const m = fromBinary(ModelProtoSchema, buildDemoModel());
    const w = m.graph!.initializer.find((t) => t.name === "conv2.weight")!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = TensorProto_DataLocation.EXTERNAL;
    w.externalData = [create(StringStringEntryProtoSchema, { key: "location", value: "../../etc/passwd" })];
    const p = write(toBinary(ModelProtoSchema, m), "model.onnx", dir);
    assert.equal(
      await message({ modelPath: p }),
      `Tensor "conv2.weight" points to external data "../../etc/passwd" outside the model's folder; BN Lens only reads external data files inside the model's folder.`,
    );
    // A symlink inside the folder that leads out is refused too.
    fs.symlinkSync("/etc/hostname", path.join(dir, "link.bin"));
    w.externalData = [create(StringStringEntryProtoSchema, { key: "location", value: "link.bin" })];
    fs.writeFileSync(p, toBinary(ModelProtoSchema, m));
    assert.equal(
      await message({ modelPath: p }),
      `Tensor "conv2.weight" points to external data "link.bin" that resolves outside the model's folder; BN Lens only reads external data files inside the model's folder.`,
    );
  });

  it("a model that needs more memory than there is", async function () {
    this.timeout(60_000);
    // Expand a scalar to 1e12 floats (4 TB): onnxruntime's allocation fails.
    const p = demo((m) => {
      const g = m.graph!;
      g.initializer.push({
        ...g.initializer[0],
        name: "huge_shape",
        dims: [2n],
        dataType: 7,
        rawData: new Uint8Array(new BigInt64Array([1000000n, 1000000n]).buffer),
      });
      g.node.push(create(NodeProtoSchema, { opType: "Expand", input: ["bn1.weight", "huge_shape"], output: ["huge"], name: "expand" }));
      g.output.push({ ...g.output[0], name: "huge", type: undefined });
      // The original outputs still need to be computed; make the huge tensor one of them.
    });
    const msg = await message({ modelPath: p });
    assert.match(msg, /^onnxruntime (ran out of memory running this model|failed while running the model|cannot load this model)/);
  });
});

describe("bad data: one plain sentence each", () => {
  it("data whose shape does not match", async () => {
    const data = write(npyBytes("<f4", [2, 3, 16, 16], new Uint8Array(new Float32Array(2 * 3 * 256).buffer)), "wrong.npy");
    assert.equal(
      await message({ modelPath: write(buildDemoModel()), dataPath: data }),
      `Input "image" expects 3x8x8 per sample (model shape N x 3 x 8 x 8), but the data has 3x16x16; give data of that shape.`,
    );
  });

  it("data whose dtype cannot feed the input", async () => {
    const ids = demo((m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === "tensorType") t.value.elemType = 7;
    });
    const data = write(npyBytes("<f4", [2, 3, 8, 8], new Uint8Array(new Float32Array(2 * 3 * 64).buffer)), "floats.npy");
    assert.equal(
      await message({ modelPath: ids, dataPath: data }),
      `Input "image" has type int64 and needs integer data, but the data is float32; save it as int64.`,
    );
  });

  it("corrupt image", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "img-"));
    const photo = fs.readFileSync(path.join(FACE_IMAGES, "1.jpg"));
    fs.writeFileSync(path.join(dir, "a.jpg"), photo.subarray(0, 600));
    const msg = await message({ modelPath: FACE_DETECTOR, dataPath: dir, imageMean: [127], imageStd: [128] });
    assert.match(msg, /^Image "img-\w+\/a\.jpg" cannot be decoded \(.+\); the file is damaged or not an image, so fix or remove it\.$/);
  });

  it("empty data folder", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "empty-"));
    assert.equal(
      await message({ modelPath: FACE_DETECTOR, dataPath: dir }),
      `Folder "${path.basename(dir)}" is empty; put .jpg or .png images or test_data_set_* folders in it, or point --data at a data file.`,
    );
  });

  it("NaN and infinity in the data are counted per layer, not folded into the statistics", async () => {
    const values = new Float32Array(4 * 3 * 64).map((_, i) => Math.sin(i));
    values[5] = NaN;
    values[200] = Infinity;
    const report = await inspect(
      {
        modelPath: write(buildDemoModel()),
        dataPath: write(npyBytes("<f4", [4, 3, 8, 8], new Uint8Array(values.buffer)), "nan.npy"),
        batchSize: 2,
      },
      quiet,
    );
    const l = report.layers[0];
    const nf = l.pre.nonFinite.nan + l.pre.nonFinite.posInf + l.pre.nonFinite.negInf;
    assert.ok(nf > 0, "non-finite pre-BN values counted");
    for (const v of [...l.pre.mean, ...l.pre.var, ...l.post.mean]) assert.ok(v === null || Number.isFinite(v));
    assert.equal(l.warnings.find((w) => w.rule === "non-finite")?.severity, "error");
    assert.equal(l.pre.count.reduce((a, b) => a + b, 0) + nf, 4 * 8 * 64);
  });
});
