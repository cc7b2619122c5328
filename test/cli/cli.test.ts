import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Report } from "../../src/core/report";
import { assertCleanError, bnLens } from "../helpers/cli";
import { assertSameLayerStatistics } from "../helpers/mergeCheck";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS } from "../helpers/paths";
import { recalData, recalModelBytes } from "../helpers/recalModels";

describe("bn-lens CLI", function () {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-cli-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("inspects ONNX's BatchNorm2d test model and writes a versioned JSON report", () => {
    const out = path.join(tmp, "bn2d.json");
    const dir = path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval");
    const r = bnLens("inspect", path.join(dir, "model.onnx"), "--data", path.join(dir, "test_data_set_0"), "--json", out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 BatchNormalization layer/);
    assert.match(r.stdout, /Report written to/);
    const report = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
    assert.equal(report.schemaVersion, 2);
    assert.equal(report.samples, 2);
    const l = report.layers[0];
    for (const key of [
      "node",
      "input",
      "output",
      "channels",
      "epsilon",
      "gamma",
      "beta",
      "running",
      "pre",
      "post",
      "saturation",
      "warnings",
    ]) {
      assert.ok(key in l, key);
    }
    assert.equal(l.channels, 3);
    assert.equal(l.gamma.length, 3);
    assert.equal(l.pre.histogram.perChannel.length, 3);
    assert.equal(l.activation.op, "none");
  });

  it("exits 2 with one error line for bad usage and bad input", () => {
    assertCleanError(bnLens("frobnicate"), /unknown command "frobnicate"/);
    assertCleanError(bnLens("inspect"), /needs a model file/);
    assertCleanError(bnLens("inspect", FACE_DETECTOR, "--batch", "0"), /--batch must be a whole number of at least 1/);
    assertCleanError(bnLens("inspect", FACE_DETECTOR, "--bogus"), /Unknown option '--bogus'/);
    assertCleanError(bnLens("inspect", path.join(tmp, "missing.onnx")), /does not exist/);
    const junk = path.join(tmp, "junk.onnx");
    fs.writeFileSync(junk, Buffer.from("this is not a model at all, just text\n"));
    assertCleanError(bnLens("inspect", junk), /not (a readable|an) ONNX model/);
    const empty = path.join(tmp, "empty.onnx");
    fs.writeFileSync(empty, "");
    assertCleanError(bnLens("inspect", empty), /empty/);
    assertCleanError(bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, "--input-shape", "input:Nx3x100x100"), /input/);
    assertCleanError(bnLens("merge", "--json", path.join(tmp, "x.json")), /at least one report/);
  });

  it("merges reports of two disjoint shards into the report of one run over all the data", function () {
    this.timeout(180_000);
    const photos = fs
      .readdirSync(FACE_IMAGES)
      .filter((f) => f.endsWith(".jpg"))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    assert.equal(photos.length, 16);
    const shardA = path.join(tmp, "shardA");
    const shardB = path.join(tmp, "shardB");
    fs.mkdirSync(shardA);
    fs.mkdirSync(shardB);
    // Shards of 8 and 8 keep every batch identical to the full run's two batches of 8.
    photos.forEach((f, i) => fs.symlinkSync(path.join(FACE_IMAGES, f), path.join(i < 8 ? shardA : shardB, f)));
    const common = ["--mean", "127", "--std", "128", "--batch", "8"];
    const run = (data: string, out: string) => {
      const r = bnLens("inspect", FACE_DETECTOR, "--data", data, ...common, "--json", out);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(fs.readFileSync(out, "utf8")) as Report;
    };
    const full = run(FACE_IMAGES, path.join(tmp, "full.json"));
    run(shardA, path.join(tmp, "a.json"));
    run(shardB, path.join(tmp, "b.json"));
    const m = bnLens("merge", path.join(tmp, "a.json"), path.join(tmp, "b.json"), "--json", path.join(tmp, "merged.json"));
    assert.equal(m.code, 0, m.stderr);
    const merged = JSON.parse(fs.readFileSync(path.join(tmp, "merged.json"), "utf8")) as Report;
    assert.equal(merged.samples, 16);
    assert.equal(merged.run.runs, 2);
    assertSameLayerStatistics(merged, full);
  });

  it("refuses to merge reports of different models", () => {
    const a = path.join(tmp, "bn1d.json");
    const b = path.join(tmp, "bn3d.json");
    for (const [name, out] of [
      ["test_BatchNorm1d_3d_input_eval", a],
      ["test_BatchNorm3d_eval", b],
    ]) {
      const dir = path.join(ONNX_BN_TESTS, name);
      assert.equal(bnLens("inspect", path.join(dir, "model.onnx"), "--data", path.join(dir, "test_data_set_0"), "--json", out).code, 0);
    }
    assertCleanError(bnLens("merge", a, b, "--json", path.join(tmp, "m.json")), /different model/);
    const notReport = path.join(tmp, "not-report.json");
    fs.writeFileSync(notReport, '{"hello": 1}');
    assertCleanError(bnLens("merge", notReport, "--json", path.join(tmp, "m.json")), /not a BN Lens report/);
  });

  it("demo: the planted problems are found", () => {
    const out = path.join(tmp, "demo.json");
    const r = bnLens("demo", "--out", tmp, "--json", out);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
    const [bn1, bn2, bn3, bn4] = report.layers;
    const rules = (l: Report["layers"][number]) => l.warnings.map((w) => w.rule).sort();
    // bn1: channel 5 has gamma = 0.
    assert.deepEqual(bn1.summary.deadChannels, [5]);
    assert.match(bn1.warnings.find((w) => w.rule === "dead-channel")!.message, /5 \(gamma 0/);
    // bn2: gamma = 8 pushes post-BN values past the sigmoid's flat boundary |x| = 5.288.
    assert.equal(bn2.activation.op, "Sigmoid");
    assert.ok(bn2.saturation.layerFraction! > 0.25);
    assert.ok(rules(bn2).includes("saturation"));
    // bn3: running mean 2.5 std off in channels 0-3, running var 20x in channels 4-7.
    const z = bn3.compare.z.map((v) => Math.abs(v!));
    for (let c = 0; c < 4; c++) assert.ok(Math.abs(z[c] - 2.5) < 0.3, `bn3 z[${c}] = ${z[c]}`);
    for (let c = 4; c < 8; c++) assert.ok(Math.abs(bn3.compare.varRatio[c]! - 20) < 3, `bn3 r[${c}] = ${bn3.compare.varRatio[c]}`);
    assert.deepEqual(bn3.warnings.find((w) => w.rule === "mean-shift")!.channels!.sort(), [0, 1, 2, 3]);
    assert.deepEqual(bn3.warnings.find((w) => w.rule === "variance-ratio")!.channels!.sort(), [4, 5, 6, 7]);
    // bn4 is healthy and its hard-swish (written as Add/Clip/Mul/Div) is recognised.
    assert.equal(bn4.activation.op, "HardSwish");
    assert.deepEqual(rules(bn4), []);
    assert.match(r.stdout, /bn3 \[variance-ratio\]/);
  });

  it("--batch-study on a training_mode=1 model: how much the outputs depend on the batch, per output with intervals, and in the JSON", () => {
    const model = path.join(tmp, "train-mode.onnx");
    fs.writeFileSync(model, recalModelBytes({ trainingMode: true }));
    const data = path.join(tmp, "train-mode.npy");
    fs.writeFileSync(data, recalData(32));
    const out = path.join(tmp, "train-mode.json");
    const r = bnLens("inspect", model, "--data", data, "--train-batch", "4", "--batch-study", "--json", out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Training-mode BN \(1 layer\) makes the outputs depend on which samples share a batch: in random batches of 4 \(the training batch size\) output y moves by [\d.]+% of its size \(relative L2, 95% CI [\d.]+% to [\d.]+%\) from its output under population statistics; 32 samples, each in 4 random batches\.$/m,
    );
    assert.match(r.stdout, /^y +[\d.]+ \([\d.]+–[\d.]+\) +[\d.]+% \([\d.]+% to [\d.]+%\) +[\d.]+$/m);
    const report = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
    assert.equal(report.batchDependence?.batchSize, 4);
    assert.deepEqual(
      report.batchDependence?.outputs.map((o) => o.output),
      ["y"],
    );
    // Without --batch-study: the one sentence.
    const plain = bnLens("inspect", model, "--data", data, "--train-batch", "4");
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^Training-mode BN \(1 layer\) makes the outputs depend .* \(--batch-study shows every output\.\)$/m);
    // Random inputs: named, not measured.
    const random = bnLens("inspect", model, "--samples", "16", "--batch-study");
    assert.equal(random.code, 0, random.stderr);
    assert.match(
      random.stdout,
      /1 BN layer is exported with training_mode=1, but how much the outputs depend on the batch was not measured: random inputs/,
    );
  });

  it("random data: says so instead of judging stale statistics; --train-batch and --batch-study on the demo's own distribution", () => {
    const model = path.join(tmp, "bn-lens-demo.onnx");
    if (!fs.existsSync(model)) assert.equal(bnLens("demo", "--out", tmp).code, 0);
    const random = bnLens("inspect", model, "--samples", "32");
    assert.equal(random.code, 0, random.stderr);
    assert.match(random.stdout, /^Random inputs: this run checks that the model runs/m);
    assert.match(random.stdout, /\[random-data\] This run used random inputs/);
    assert.doesNotMatch(random.stdout, /\[(mean-shift|variance-ratio|saturation|rectifier-off)\]/);
    assert.match(random.stdout, /bn1 \[dead-channel\] 1 of 8 channels is dead: 5 \(gamma 0\)/);

    const out = path.join(tmp, "study.json");
    const study = bnLens("inspect", model, "--samples", "64", "--random-is-domain", "--train-batch", "2", "--batch-study", "--json", out);
    assert.equal(study.code, 0, study.stderr);
    assert.match(study.stdout, /^Batch-size study over 64 samples/m);
    assert.match(study.stdout, /^bn4 .* b=1|^BN layer +b=1/m);
    const report = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
    assert.equal(report.run.trainBatch, 2);
    assert.equal(report.data.synthetic, false);
    const layer = report.batchStudy!.layers.find((l) => l.layer === "bn4")!;
    assert.deepEqual(layer.sizes, [1, 2, 4, 8, 16, 32]);
    // A batch-size finding exactly where the study needs more than 2 samples per batch.
    for (const l of report.batchStudy!.layers) {
      const flagged = report.layers.find((x) => x.node === l.layer)!.warnings.some((w) => w.rule === "batch-size");
      assert.equal(flagged, l.minBatch === null || l.minBatch > 2, l.layer);
    }
    assertCleanError(bnLens("inspect", model, "--train-batch", "0"), /--train-batch must be a whole number of at least 1/);
  });
});
