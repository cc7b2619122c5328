import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { findBnLayers } from "../../src/core/graph/bnLayers";
import { decodeModel } from "../../src/core/onnx/model";
import { scanFields } from "../../src/core/onnx/wire";
import { toFloat64, type HostTensor } from "../../src/core/tensor";
import type { RecalibrateRequest } from "../../src/protocol/worker";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { externalReader } from "../../src/runtime/modelFile";
import { recalibrate } from "../../src/runtime/recalibrate";
import { FACE_DETECTOR, FACE_IMAGES, PADDLE_CLS } from "../helpers/paths";
import { externalize, recalData, recalModelBytes, type RecalModelOptions } from "../helpers/recalModels";
import { rejectsUser } from "../helpers/userError";

const logs: string[] = [];
const hooks = (captured?: EngineHooks["captured"]): EngineHooks => ({
  progress: () => undefined,
  log: (l) => logs.push(l),
  cancelled: () => false,
  captured,
});

const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/**
 * Runs the saved model on the data, keeps every BN input tensor it produces, and checks in float64,
 * by hand, that each BN's stored statistics (read back from the file) are the population mean and
 * variance of that input: |z| <= 0.01 and variance ratio <= 1.01 for every channel.
 */
async function checkExact(modelPath: string, request: Omit<RecalibrateRequest, "modelPath">): Promise<{ worstZ: number; worstR: number }> {
  const bytes = fs.readFileSync(modelPath);
  const model = decodeModel(bytes);
  const layers = findBnLayers(model, externalReader(path.dirname(modelPath)));
  const sums = new Map(
    layers.map((l) => [l.input, { n: new Float64Array(l.channels), s: new Float64Array(l.channels), batches: [] as HostTensor[] }]),
  );
  await inspect(
    { ...request, modelPath, mode: "exact" },
    hooks((t) => {
      for (const l of layers) sums.get(l.input)!.batches.push(t[l.input]);
    }),
    { captureInputs: true },
  );
  let worstZ = 0;
  let worstR = 1;
  for (const l of layers) {
    const acc = sums.get(l.input)!;
    const C = l.channels;
    const mean = new Float64Array(C);
    const sq = new Float64Array(C);
    const n = new Float64Array(C);
    for (const t of acc.batches) {
      const x = toFloat64(t);
      const S = x.length / (t.dims[0] * C);
      for (let b = 0; b < t.dims[0]; b++)
        for (let c = 0; c < C; c++)
          for (let k = 0; k < S; k++) {
            mean[c] += x[(b * C + c) * S + k];
            n[c]++;
          }
    }
    for (let c = 0; c < C; c++) mean[c] /= n[c];
    for (const t of acc.batches) {
      const x = toFloat64(t);
      const S = x.length / (t.dims[0] * C);
      for (let b = 0; b < t.dims[0]; b++)
        for (let c = 0; c < C; c++) for (let k = 0; k < S; k++) sq[c] += (x[(b * C + c) * S + k] - mean[c]) ** 2;
    }
    for (let c = 0; c < C; c++) {
      const v = sq[c] / n[c];
      const z = Math.abs(mean[c] - l.runningMean[c]) / Math.sqrt(l.runningVar[c] + l.epsilon);
      const r = v === 0 && l.runningVar[c] === 0 ? 1 : Math.max(v / l.runningVar[c], l.runningVar[c] / v);
      worstZ = Math.max(worstZ, z);
      worstR = Math.max(worstR, r);
      assert.ok(z <= 0.01, `${l.name} channel ${c}: |z| ${z}`);
      assert.ok(r <= 1.01, `${l.name} channel ${c}: variance ratio ${r} (observed ${v}, stored ${l.runningVar[c]})`);
    }
  }
  return { worstZ, worstR };
}

/** Top-level and graph fields of a model as byte strings, keyed by position. */
function fields(bytes: Uint8Array): { top: string[]; graph: string[] } {
  const hex = (a: number, b: number) => Buffer.from(bytes.subarray(a, b)).toString("hex");
  const top = scanFields(bytes);
  const g = top.find((f) => f.field === 7)!;
  return {
    top: top.filter((f) => f !== g).map((f) => `${f.field}:${hex(f.start, f.end)}`),
    graph: scanFields(bytes, g.payloadStart, g.end).map((f) => `${f.field}:${hex(f.start, f.end)}`),
  };
}

describe("recalibrate on models the tests build", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-recal-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const setup = (o: RecalModelOptions, samples = 24) => {
    const model = path.join(dir, "model.onnx");
    fs.writeFileSync(model, recalModelBytes(o));
    const data = path.join(dir, "data.npy");
    fs.writeFileSync(data, recalData(samples));
    return { model, data };
  };

  const variants: [string, RecalModelOptions][] = [
    ["Conv-BN-Relu chain with a residual Add", {}],
    ["a statistics tensor shared by two BN nodes and read by a graph output", { shared: true }],
    ["statistics in Constant nodes", { constantStats: true }],
    ["float16 statistics", { float16: true }],
    ["float64 statistics read through Cast", { float64ViaCast: true }],
  ];
  for (const [what, o] of variants) {
    it(`${what}: the saved model's stored statistics are its BN inputs' population statistics`, async () => {
      const { model, data } = setup(o);
      const originalSha = sha(model);
      const originalBytes = fs.readFileSync(model);
      const result = await recalibrate({ modelPath: model, dataPath: data, batchSize: 5 }, hooks());
      assert.equal(result.out, path.join(dir, "model.recalibrated.onnx"));
      assert.ok(result.converged);
      assert.equal(sha(model), originalSha, "the original file is unchanged");
      const before = result.before.layers.map((l) => l.summary.worstZ!.value);
      assert.ok(Math.max(...before.map(Math.abs)) > 0.5, `the test model's statistics are stale to begin with: ${before}`);
      await checkExact(result.out, { dataPath: data, batchSize: 7 });

      // Everything but the statistics, the rewired BN nodes and the metadata is byte for byte the same.
      const a = fields(originalBytes);
      const b = fields(fs.readFileSync(result.out));
      const newOnes = result.changes.filter((c) => c.how === "new initializer").length;
      assert.equal(b.graph.length, a.graph.length + newOnes);
      const changedInit = new Set(result.changes.filter((c) => c.how !== "new initializer").map((c) => c.from));
      const rewired = new Set(result.changes.filter((c) => c.how === "new initializer").map((c) => c.node));
      const m0 = decodeModel(originalBytes);
      let node = 0;
      let init = 0;
      a.graph.forEach((f, i) => {
        if (f.startsWith("1:")) {
          const n = m0.graph.node[node++];
          const touched = rewired.has(m0.nodeName.get(n)!) || (n.opType === "Constant" && changedInit.has(n.output[0]));
          if (!touched) assert.equal(b.graph[i], f, `node ${m0.nodeName.get(n)} unchanged`);
          else assert.notEqual(b.graph[i], f);
        } else if (f.startsWith("5:")) {
          const t = m0.graph.initializer[init++];
          if (!changedInit.has(t.name)) assert.equal(b.graph[i], f, `initializer ${t.name} unchanged`);
          else assert.notEqual(b.graph[i], f);
        } else assert.equal(b.graph[i], f);
      });
      assert.deepEqual(b.top.slice(0, a.top.length), a.top, "other model fields unchanged, in order");
      const meta = fromBinary(ModelProtoSchema, fs.readFileSync(result.out)).metadataProps;
      const kv = new Map(meta.map((e) => [e.key, e.value]));
      assert.equal(kv.get("author"), "bn-lens tests");
      assert.match(kv.get("bn_lens.recalibration.tool")!, /^bn-lens \d/);
      assert.equal(kv.get("bn_lens.recalibration.samples"), "24");
      assert.match(kv.get("bn_lens.recalibration.data")!, /data\.npy/);
      assert.ok(!Number.isNaN(Date.parse(kv.get("bn_lens.recalibration.date")!)));

      // Dtypes kept; shared tensors split; graph output still reads the old values.
      const m1 = decodeModel(fs.readFileSync(result.out));
      for (const t of m0.graph.initializer) {
        const t1 = m1.initializers.get(t.name)!;
        assert.equal(t1.dataType, t.dataType, `dtype of ${t.name}`);
      }
      if (o.shared) {
        assert.equal(newOnes, 4, "BN b and BN c each get their own mean and variance");
        assert.deepEqual(
          m1.initializers.get("shared.v")!.rawData,
          m0.initializers.get("shared.v")!.rawData,
          "the shared tensor itself is untouched",
        );
      }
      // The model's own outputs changed, and the change is reported per output.
      assert.equal(result.outputs[0].output, "y");
      assert.ok(result.outputs[0].meanAbsChange > 0 && result.outputs[0].relativeL2Change! > 0);
    });
  }

  it("external data: statistics stay inline (small) and the original data file is untouched; large ones go to a new data file", async () => {
    for (const channels of [4, 300]) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      const [bytes, weights] = externalize(recalModelBytes({ channels }), (b) => fromBinary(ModelProtoSchema, b));
      const model = path.join(dir, "model.onnx");
      fs.writeFileSync(model, bytes);
      fs.writeFileSync(path.join(dir, "weights.bin"), weights);
      const data = path.join(dir, "data.npy");
      fs.writeFileSync(data, recalData(24));
      const wsha = sha(path.join(dir, "weights.bin"));
      const result = await recalibrate({ modelPath: model, dataPath: data, minCount: 1 }, hooks());
      assert.equal(sha(path.join(dir, "weights.bin")), wsha);
      const storage = new Set(result.changes.map((c) => c.storage));
      if (channels === 4) {
        assert.deepEqual([...storage], ["inline"]);
        assert.equal(result.externalData, null);
      } else {
        assert.deepEqual([...storage], ["external"], "300 float32 values = 1200 bytes, over ONNX's 1024-byte threshold");
        assert.equal(result.externalData, path.join(dir, "model.recalibrated.onnx.data"));
        assert.ok(fs.existsSync(result.externalData));
      }
      await checkExact(result.out, { dataPath: data });
      await rejectsUser(
        recalibrate({ modelPath: model, dataPath: data, outPath: path.join(os.tmpdir(), "elsewhere.onnx") }, hooks()),
        "The model keeps its weights in external data files, which the new model reads from where they are (unchanged); write the new model into the model's own folder (--out there).",
        "usage",
      );
    }
  });

  it("--layers recalibrates only the named layers; --blend mixes observed and stored statistics", async () => {
    const { model, data } = setup({});
    const r = await recalibrate({ modelPath: model, dataPath: data, layers: ["bnc"], outPath: path.join(dir, "c.onnx") }, hooks());
    assert.deepEqual(
      r.layers.map((l) => l.recalibrated),
      [false, false, true],
    );
    const m = decodeModel(fs.readFileSync(r.out));
    const ls = findBnLayers(m);
    assert.deepEqual([...ls[0].runningMean], [0, 0, 0, 0]);
    assert.deepEqual([...ls[1].runningVar], [1, 1, 1, 1]);
    // bnc is exact against its input as the (unchanged) upstream produces it.
    const obs = r.after.layers[2];
    obs.pre.mean.forEach((v, c) => assert.ok(Math.abs(v! - ls[2].runningMean[c]) / Math.sqrt(ls[2].runningVar[c] + 1e-5) <= 0.01));

    const half = await recalibrate(
      { modelPath: model, dataPath: data, blend: 0.5, layers: ["bn?"], outPath: path.join(dir, "h.onnx") },
      hooks(),
    );
    const mh = findBnLayers(decodeModel(fs.readFileSync(half.out)));
    // Fixed point of the blend: stored = 0.5 * (its input's statistics in the new model) + 0.5 * original.
    half.after.layers.forEach((l, i) =>
      l.pre.mean.forEach((v, c) => {
        const want = 0.5 * v! + 0.5 * 0;
        assert.ok(Math.abs(want - mh[i].runningMean[c]) / Math.sqrt(mh[i].runningVar[c] + 1e-5) <= 0.01, `${l.node} ${c}`);
        const wantVar = 0.5 * l.pre.var[c]! + 0.5 * 1;
        assert.ok(Math.max(wantVar / mh[i].runningVar[c], mh[i].runningVar[c] / wantVar) <= 1.01);
      }),
    );
    await rejectsUser(
      recalibrate({ modelPath: model, dataPath: data, layers: ["conv*"] }, hooks()),
      '--layers "conv*" matches no BatchNormalization layer of this model (its 3 layers are named like "bna", "bnb", "bnc").',
      "usage",
    );
  });

  it("training-mode BN: refused without --to-inference; with it, written in inference mode and exact", async () => {
    const { model, data } = setup({ trainingMode: true });
    await rejectsUser(
      recalibrate({ modelPath: model, dataPath: data }, hooks()),
      '1 of the selected BN layers ("bnc") were exported in training mode (training_mode=1): they normalise every batch with its own statistics and never read the stored ones. Pass --to-inference to write them in inference mode with the re-estimated statistics; this changes what the model computes (outputs stop depending on the batch).',
      "usage",
    );
    assert.ok(!fs.existsSync(path.join(dir, "model.recalibrated.onnx")));
    const r = await recalibrate({ modelPath: model, dataPath: data, toInference: true }, hooks());
    assert.deepEqual(r.toInference, ["bnc"]);
    const m = decodeModel(fs.readFileSync(r.out));
    const bn = m.graph.node.find((n) => n.name === "bnc")!;
    assert.equal(bn.output.length, 1);
    assert.ok(!bn.attribute.some((a) => a.name === "training_mode"));
    assert.ok(r.notes.some((n) => /changes what the model computes/.test(n)));
    await checkExact(r.out, { dataPath: data });
  });

  it("refuses: the model itself as output, an existing output without --force, too little data, no BN", async () => {
    const { model, data } = setup({});
    await rejectsUser(
      recalibrate({ modelPath: model, dataPath: data, outPath: model }, hooks()),
      "The output must be a new file, not the model itself; choose another --out.",
      "usage",
    );
    const out = path.join(dir, "taken.onnx");
    fs.writeFileSync(out, "mine");
    await rejectsUser(
      recalibrate({ modelPath: model, dataPath: data, outPath: out }, hooks()),
      `The output model ${out} already exists; choose another --out or pass --force to replace it.`,
      "usage",
    );
    assert.equal(fs.readFileSync(out, "utf8"), "mine");
    const forced = await recalibrate({ modelPath: model, dataPath: data, outPath: out, force: true }, hooks());
    assert.equal(forced.out, out);
    assert.notEqual(fs.readFileSync(out, "utf8"), "mine");

    fs.writeFileSync(data, recalData(2));
    await rejectsUser(
      recalibrate({ modelPath: model, dataPath: data, outPath: path.join(dir, "small.onnx") }, hooks()),
      'The data gives only 72 values per channel at BN layer "bna" (2 samples × 36 positions); re-estimating statistics needs at least 100 per channel, because a variance estimated from n values is off by about sqrt(2/n) (17% here); give more samples (or lower --min-count, or leave that layer out with --layers).',
    );
    assert.ok(!fs.existsSync(path.join(dir, "small.onnx")));
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith(".")),
      [],
      "no temporary files left behind",
    );

    const g = await import("../helpers/onnxGraph");
    const b = new g.GraphBuilder(13);
    b.node("Relu", ["x"], "y");
    const noBn = b.model(["y"]);
    const { toBinary } = await import("@bufbuild/protobuf");
    const fused = path.join(dir, "fused.onnx");
    fs.writeFileSync(fused, toBinary(ModelProtoSchema, noBn.proto));
    await rejectsUser(
      recalibrate({ modelPath: fused, dataPath: data }, hooks()),
      "The model has no BatchNormalization layers (BN was fused into the convolutions at export, or never used), so there are no statistics to re-estimate.",
      "model",
    );
  });

  it("cancel stops between batches, writes nothing and leaves no temporary file", async () => {
    const { model, data } = setup({});
    let batches = 0;
    await rejectsUser(
      recalibrate(
        { modelPath: model, dataPath: data, batchSize: 4 },
        { progress: () => batches++, log: () => undefined, cancelled: () => batches > 8 },
      ),
      "The recalibration was cancelled; no model was written.",
      "cancelled",
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ["data.npy", "model.onnx"]);
  });
});

describe("recalibrate on real models", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-recal-real-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const stale = (r: { layers: { warnings: { rule: string }[] }[] }) =>
    r.layers.flatMap((l) => l.warnings.filter((w) => w.rule === "mean-shift" || w.rule === "variance-ratio"));

  it("face detector on its 16 photos: no stale-statistics warnings remain; exact by an independent float64 check; output change reported", async () => {
    const out = path.join(dir, "face.recalibrated.onnx");
    const request = { dataPath: FACE_IMAGES, imageMean: [127], imageStd: [128] };
    const r = await recalibrate({ ...request, modelPath: FACE_DETECTOR, outPath: out }, hooks());
    assert.ok(stale(r.before).length > 0, "the stored statistics are stale for these photos");
    assert.deepEqual(stale(r.after), []);
    const again = await inspect({ ...request, modelPath: out, mode: "exact" }, hooks());
    assert.deepEqual(stale(again), []);
    assert.equal(r.layers.length, 35);
    assert.deepEqual(
      r.outputs.map((o) => o.output),
      ["scores", "boxes"],
    );
    for (const o of r.outputs) assert.ok(o.relativeL2Change! > 0 && o.relativeL2Change! < 1, JSON.stringify(o));
    const { worstZ, worstR } = await checkExact(out, request);
    assert.ok(worstZ < 1e-3 && worstR < 1.001, `${worstZ} ${worstR}`);
  });

  it("PaddleOCR classifier: no stale-statistics warnings remain; output change reported", async () => {
    const out = path.join(dir, "cls.recalibrated.onnx");
    const request = { dataPath: FACE_IMAGES, imageMean: [127.5], imageStd: [127.5], inputShapes: ["x:Nx3x48x192"] };
    const r = await recalibrate({ ...request, modelPath: PADDLE_CLS, outPath: out }, hooks());
    assert.ok(stale(r.before).length > 0);
    assert.deepEqual(stale(r.after), []);
    assert.equal(r.outputs.length, 1);
    assert.ok(r.outputs[0].meanAbsChange > 0);
    await checkExact(out, request);
  });
});

describe("recalibrate without the one-batch solve", function () {
  this.timeout(120_000);
  it("full passes alone converge within BN depth + 2 passes and are exact", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-recal-passes-"));
    try {
      const model = path.join(dir, "model.onnx");
      fs.writeFileSync(model, recalModelBytes({}));
      const data = path.join(dir, "data.npy");
      fs.writeFileSync(data, recalData(24));
      const r = await recalibrate({ modelPath: model, dataPath: data }, hooks(), { solve: false });
      assert.equal(r.method, "passes");
      assert.ok(r.converged);
      // bna has depth 0, bnb 1, bnc 2 (it reads r1 and r2 through the Add): at most 2 + 2 passes.
      assert.ok(r.passes.length <= 4, `${r.passes.length} passes`);
      await checkExact(r.out, { dataPath: data });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
