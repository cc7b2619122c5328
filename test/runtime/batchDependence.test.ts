// How much a training_mode=1 model's outputs depend on which samples share a batch, measured by running it in
// onnxruntime, against an independent computation: the model evaluated by hand in float64 for the same
// batches, and the exact expectation over every possible set of batch partners (enumerated).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProto_DataType, TypeProtoSchema, ValueInfoProtoSchema } from "onnx-buf";
import { checkReport } from "../../src/core/reportSchema";
import { reshuffledBatches } from "../../src/core/stats/batchDependence";
import { measureBatchDependence } from "../../src/runtime/batchDependence";
import { UserError } from "../../src/core/errors";
import { prepareData } from "../../src/runtime/dataSources";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { decodeModel } from "../../src/core/onnx/model";
import { elementBytes, npyBytes } from "../helpers/npyBytes";
import { GraphBuilder } from "../helpers/onnxGraph";
import { FACE_DETECTOR, FACE_IMAGES } from "../helpers/paths";
import { faceDetectorOpset15 } from "../helpers/trainingFace";
import { normals, recalData, recalModelBytes } from "../helpers/recalModels";

const hooks: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };

const C = 2,
  L = 3;
const GAMMA = [1.5, 0.7],
  BETA = [0.2, -0.1],
  EPS = 1e-3;

/** x [N, 2, 3] → BatchNormalization(training_mode=1) → n; Relu(n) → y. Outputs y and n. */
function trainingModel(): Uint8Array {
  const g = new GraphBuilder(15);
  g.node(
    "BatchNormalization",
    ["x", g.init("s", GAMMA), g.init("b", BETA), g.init("m", [0, 0]), g.init("v", [1, 1])],
    ["n", "rm_out", "rv_out"],
    { epsilon: EPS, training_mode: { int: 1 } },
    "bn_train",
  );
  g.node("Relu", ["n"], "y");
  const m = g.model(["y", "n"]);
  const dim = (d: number | string) =>
    typeof d === "number" ? { value: { case: "dimValue" as const, value: BigInt(d) } } : { value: { case: "dimParam" as const, value: d } };
  m.proto.graph!.input = [
    create(ValueInfoProtoSchema, {
      name: "x",
      type: create(TypeProtoSchema, {
        value: { case: "tensorType", value: { elemType: TensorProto_DataType.FLOAT, shape: { dim: ["N", C, L].map(dim) } } },
      }),
    }),
  ];
  return toBinary(ModelProtoSchema, m.proto);
}

/** The model by hand in float64: outputs [y, n] of each sample of a batch, BN with the batch's population statistics. */
function byHand(x: number[][], batch: readonly number[]): { y: number[][]; n: number[][] } {
  const n: number[][] = batch.map(() => []);
  for (let c = 0; c < C; c++) {
    const vals = batch.flatMap((i) => x[i].slice(c * L, (c + 1) * L));
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const v = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
    batch.forEach((i, k) => {
      for (let j = 0; j < L; j++) n[k][c * L + j] = GAMMA[c] * ((x[i][c * L + j] - mean) / Math.sqrt(v + EPS)) + BETA[c];
    });
  }
  return { n, y: n.map((r) => r.map((v) => Math.max(0, v))) };
}

/** All subsets of `k` of `items`. */
function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

describe("batch dependence of training_mode=1 BN outputs", function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-batchdep-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function setup(N: number, seed: number): { model: string; data: string; x: number[][] } {
    const model = path.join(tmp, "train.onnx");
    fs.writeFileSync(model, trainingModel());
    const flat = normals(N * C * L, seed).map((v, k) => v * (1 + (k % 3) * 0.5) + (Math.floor(k / L) % C));
    const f32 = Array.from(Float32Array.from(flat));
    const data = path.join(tmp, `x${N}.npy`);
    fs.writeFileSync(data, npyBytes("<f4", [N, C, L], elementBytes("<f4", f32)));
    const x = Array.from({ length: N }, (_, i) => f32.slice(i * C * L, (i + 1) * C * L));
    return { model, data, x };
  }

  async function measure(modelPath: string, dataPath: string, b: number, reshuffles: number, seed = 3) {
    const bytes = fs.readFileSync(modelPath);
    return measureBatchDependence(
      { modelPath, dataPath, seed },
      { model: decodeModel(bytes), bytes, dir: path.dirname(modelPath) },
      { batchSize: b, batchSizeFrom: "train-batch", layers: ["bn_train"], confidence: 0.95 },
      hooks,
      { reshuffles },
    );
  }

  for (const [N, b] of [
    [6, 2],
    [7, 3],
  ]) {
    it(`${N} samples in batches of ${b}: equal to the model computed by hand for the same batches`, async () => {
      const { model, data, x } = setup(N, 10 + N);
      const K = 3;
      const got = await measure(model, data, b, K);
      // By hand: the same reshuffles, each sample measured once per reshuffle.
      const pop = byHand(
        x,
        x.map((_, i) => i),
      );
      const plan = reshuffledBatches(N, b, K, 3);
      for (const [o, name] of [
        ["y", "y"],
        ["n", "n"],
      ] as const) {
        const a = new Array<number>(N).fill(0);
        const d2 = new Array<number>(N).fill(0);
        for (const r of plan)
          for (const batch of r) {
            const out = byHand(x, batch.samples)[o];
            for (let j = 0; j < batch.counted; j++) {
              const i = batch.samples[j];
              const diff = out[j].map((v, q) => v - pop[o][i][q]);
              a[i] += diff.reduce((s, v) => s + Math.abs(v), 0) / diff.length / K;
              d2[i] += diff.reduce((s, v) => s + v * v, 0) / K;
            }
          }
        const mae = a.reduce((s, v) => s + v, 0) / N;
        const ref2 = pop[o].reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0);
        const rel = Math.sqrt(d2.reduce((s, v) => s + v, 0) / ref2);
        const out = got.outputs.find((g) => g.output === name)!;
        assert.equal(out.samples, N);
        assert.equal(out.valuesPerSample, C * L);
        assert.ok(mae > 0.01, `the batch matters: ${mae}`);
        assert.ok(Math.abs(out.meanAbsChange - mae) < 1e-5 * (1 + mae), `${name}: mean |change| ${out.meanAbsChange} vs ${mae} by hand`);
        assert.ok(Math.abs(out.relativeL2Change! - rel) < 1e-5 * (1 + rel), `${name}: relative L2 ${out.relativeL2Change} vs ${rel}`);
        const [lo, hi] = out.meanAbsChangeInterval!;
        assert.ok(lo <= out.meanAbsChange && out.meanAbsChange <= hi);
      }
    });
  }

  it("over many reshuffles the estimate approaches the exact expectation over every set of batch partners, inside its interval", async () => {
    const N = 6,
      b = 3;
    const { model, data, x } = setup(N, 21);
    const got = await measure(model, data, b, 1000, 9);
    const pop = byHand(
      x,
      x.map((_, i) => i),
    );
    // Exact: each sample's partners are a uniformly random (b-1)-subset of the others; enumerate all of them.
    let expected = 0;
    for (let i = 0; i < N; i++) {
      const others = x.map((_, k) => k).filter((k) => k !== i);
      const sets = subsets(others, b - 1);
      let s = 0;
      for (const p of sets) {
        const out = byHand(x, [i, ...p]).y[0];
        s += out.reduce((t, v, q) => t + Math.abs(v - pop.y[i][q]), 0) / out.length;
      }
      expected += s / sets.length / N;
    }
    const y = got.outputs.find((o) => o.output === "y")!;
    console.log(
      `      mean |change| of y: measured ${y.meanAbsChange.toFixed(5)} (CI ${y.meanAbsChangeInterval!.map((v) => v.toFixed(5)).join(" to ")}), exact ${expected.toFixed(5)}`,
    );
    assert.ok(Math.abs(y.meanAbsChange - expected) < 0.03 * expected, `${y.meanAbsChange} vs exact ${expected}`);
    const [lo, hi] = y.meanAbsChangeInterval!;
    assert.ok(lo <= expected && expected <= hi, `interval ${lo}–${hi} holds ${expected}`);
  });

  it("the face detector with every BN in training mode, on its 16 photos: outputs move, less in batches of 8 than of 2", async () => {
    const original = fs.readFileSync(FACE_DETECTOR);
    const eval15 = path.join(tmp, "face15.onnx");
    const train15 = path.join(tmp, "face15-train.onnx");
    fs.writeFileSync(eval15, faceDetectorOpset15(original, false));
    fs.writeFileSync(train15, faceDetectorOpset15(original, true));
    const request = { dataPath: FACE_IMAGES, imageMean: [127], imageStd: [128], seed: 0 };
    // The opset upgrade alone changes nothing: the inference-mode copy gives the original's outputs.
    const ref = await inspect({ ...request, modelPath: FACE_DETECTOR, batchSize: 16 }, hooks);
    const up = await inspect({ ...request, modelPath: eval15, batchSize: 16 }, hooks);
    assert.deepEqual(
      up.layers.map((l) => l.pre.mean),
      ref.layers.map((l) => l.pre.mean),
    );
    const bytes = fs.readFileSync(train15);
    const loaded = { model: decodeModel(bytes), bytes, dir: tmp };
    const run = (b: number) =>
      measureBatchDependence(
        { ...request, modelPath: train15 },
        loaded,
        { batchSize: b, batchSizeFrom: "train-batch", layers: [], confidence: 0.95 },
        hooks,
        { reshuffles: 2 },
      );
    const [b2, b8] = [await run(2), await run(8)];
    for (const d of [b2, b8]) {
      assert.deepEqual(
        d.outputs.map((o) => o.output),
        ["scores", "boxes"],
      );
      for (const o of d.outputs) {
        console.log(
          `      batch ${d.batchSize}, ${o.output}: mean |change| ${o.meanAbsChange.toPrecision(3)} (${o.meanAbsChangeInterval!.map((v) => v.toPrecision(3)).join("–")}), relative L2 ${(100 * o.relativeL2Change!).toPrecision(3)}% (${o.relativeL2ChangeInterval!.map((v) => (100 * v).toPrecision(3)).join("–")}%), mean |output| ${o.meanAbsReference.toPrecision(3)}`,
        );
        assert.ok(o.meanAbsChange > 0 && o.samples === 16);
      }
    }
    const scores = (d: typeof b2) => d.outputs.find((o) => o.output === "scores")!;
    assert.ok(scores(b8).relativeL2Change! < scores(b2).relativeL2Change!, "larger batches depend less on their members");
    assert.ok(scores(b8).meanAbsChange <= 1, "scores are probabilities");
  });

  it("a failing measurement is a note in the report; the statistics stay", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "fail-"));
    fs.writeFileSync(path.join(dir, "data.npy"), recalData(24));
    const modelPath = path.join(dir, "m.onnx");
    fs.writeFileSync(modelPath, recalModelBytes({ trainingMode: true }));
    // The statistics read batches of 8; the measurement's one read of all 24 samples fails as memory would.
    const openData: typeof prepareData = async (...args) => {
      const opened = await prepareData(...args);
      const read = opened.source.read.bind(opened.source);
      opened.source.read = (start, count) => {
        if (count > 8)
          throw new UserError("resource", "onnxruntime ran out of memory running this model (bad_alloc); try a smaller --batch.");
        return read(start, count);
      };
      return opened;
    };
    const report = await inspect({ modelPath, dataPath: path.join(dir, "data.npy"), batchSize: 8 }, hooks, { openData });
    assert.equal(report.samples, 24);
    assert.ok(
      report.layers.every((l) => l.pre.count.every((n) => n > 0)),
      "the statistics are complete",
    );
    assert.deepEqual(report.batchDependence?.outputs, []);
    assert.equal(
      report.batchDependence?.note,
      "Measuring it failed: onnxruntime ran out of memory running this model (bad_alloc); try a smaller --batch.",
    );
    checkReport(JSON.parse(JSON.stringify(report)), "the report");
  });

  it("a batch that holds every sample: nothing to vary, said in one sentence", async () => {
    const { model, data } = setup(4, 2);
    const got = await measure(model, data, 4, 3);
    assert.deepEqual(got.outputs, []);
    assert.match(got.note!, /A batch of 4 holds all 4 samples measured/);
  });

  it("inspect measures it for a model with training_mode=1 BN on data, into a report the schema accepts; not for inference-mode BN", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "inspect-"));
    fs.writeFileSync(path.join(dir, "data.npy"), recalData(24));
    for (const trainingMode of [true, false]) {
      const modelPath = path.join(dir, `m${trainingMode ? 1 : 0}.onnx`);
      fs.writeFileSync(modelPath, recalModelBytes({ trainingMode }));
      const report = await inspect({ modelPath, dataPath: path.join(dir, "data.npy"), trainBatch: 4, batchSize: 8 }, hooks);
      checkReport(JSON.parse(JSON.stringify(report)), "the report");
      // Stale-statistics findings of a training-mode node say that its stored statistics are not read now.
      const stale = report.layers
        .find((l) => l.node === "bnc")!
        .warnings.filter((w) => w.rule === "mean-shift" || w.rule === "variance-ratio");
      assert.ok(stale.length > 0, "bnc's stored statistics (mean 0, var 1) are stale for this data");
      for (const w of stale) assert.equal(w.message.includes("so the stored ones do not affect its outputs now"), trainingMode, w.message);
      if (!trainingMode) {
        assert.equal(report.batchDependence, undefined);
        continue;
      }
      const dep = report.batchDependence!;
      assert.equal(dep.batchSize, 4);
      assert.equal(dep.batchSizeFrom, "train-batch");
      assert.deepEqual(dep.layers, ["bnc"]);
      assert.equal(dep.samples, 24);
      const y = dep.outputs.find((o) => o.output === "y")!;
      assert.ok(y.meanAbsChange > 0 && y.relativeL2Change! > 0, JSON.stringify(y));
      assert.ok(y.relativeL2ChangeInterval![0] <= y.relativeL2Change! && y.relativeL2Change! <= y.relativeL2ChangeInterval![1]);
    }
  });
});
