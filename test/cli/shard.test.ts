import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { TensorProtoSchema } from "onnx-buf";
import { checkShards, parseShard, shardSize } from "../../src/core/inputs/shard";
import type { Report } from "../../src/core/report";
import { assertSameLayerStatistics } from "../helpers/mergeCheck";
import { npyBytes } from "../helpers/npyBytes";
import { CLI, bnLens } from "../helpers/cli";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS } from "../helpers/paths";
import { throwsUser } from "../helpers/userError";
import { mergeReportFiles } from "../../src/cli/mergeFiles";
import { readReportFile } from "../../src/cli/reportFiles";
import { formatReport } from "../../src/cli/table";
import { reportJson } from "../../src/core/inspect/reportJson";
import { activationOutline, layerOutline } from "../../src/core/inspect/reportOutline";
import { mergeReports } from "../../src/core/inspect/shardMerge";

const BN2D = path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval", "model.onnx");

/** Runs the n shards as n processes at once, as n machines of a job array would. */
async function runShards(n: number, args: string[], outOf: (i: number) => string): Promise<Report[]> {
  const runs = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, [CLI, "inspect", ...args, "--shard", `${i}/${n}`, "--json", outOf(i)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    return new Promise<void>((resolve, reject) =>
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`shard ${i}/${n} exited ${code}: ${err}`)))),
    );
  });
  await Promise.all(runs);
  return Array.from({ length: n }, (_, i) => JSON.parse(fs.readFileSync(outOf(i), "utf8")) as Report);
}

/** Seeded values with a per-channel offset and scale, so each channel's statistics differ. */
function sampleValues(samples: number, channels: number, hw: number, seed: number): Float32Array {
  const out = new Float32Array(samples * channels * hw);
  let s = seed >>> 0;
  for (let k = 0; k < out.length; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const c = Math.floor(k / hw) % channels;
    out[k] = (s / 2 ** 32 - 0.5) * (1 + c) + 0.3 * c;
  }
  return out;
}

/** Float64 mean and population variance per channel over the samples k with k mod n = i, by hand. */
function shardMoments(values: Float32Array, channels: number, hw: number, n: number, i: number): { mean: number[]; var: number[] } {
  const per = channels * hw;
  const samples = values.length / per;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let c = 0; c < channels; c++) {
    const xs: number[] = [];
    for (let k = i; k < samples; k += n) for (let p = 0; p < hw; p++) xs.push(values[k * per + c * hw + p]);
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    mean.push(m);
    variance.push(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
  }
  return { mean, var: variance };
}

function assertMergeEqualsSingle(merged: Report, full: Report): void {
  assert.equal(merged.samples, full.samples);
  assert.equal(merged.data.description, full.data.description);
  assert.equal(merged.run.shard, undefined);
  assertSameLayerStatistics(merged, full);
}

describe("sharded runs: inspect --shard i/n and merge", function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-shard-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("parses i/n, sizes shards and checks a merge's set of shards", () => {
    assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
    for (const bad of ["3/3", "1", "-1/3", "0/0", "a/b", "1/2/3"])
      throwsUser(
        () => parseShard(bad),
        `--shard takes i/n with 0 <= i < n (shard i of n, counted from 0), like 0/4, not "${bad}".`,
        "usage",
      );
    // 16 samples in 3 shards: k = 0,3,...,15 (6); 1,4,...,13 (5); 2,5,...,14 (5).
    assert.deepEqual(
      [0, 1, 2].map((i) => shardSize(16, { index: i, count: 3 })),
      [6, 5, 5],
    );
    assert.equal(shardSize(2, { index: 2, count: 3 }), 0);
    const s = (index: number) => ({ index, count: 3, samplesTotal: 16 });
    assert.equal(checkShards([s(2), s(0), s(1)], ["c", "a", "b"]), "");
    assert.equal(checkShards([s(0), s(2)], ["a", "c"]), "shards 0, 2 of 3 only");
    throwsUser(() => checkShards([s(1), s(1)], ["a", "b"]), "b and a are both shard 1/3; each shard may be merged once.");
    throwsUser(
      () => checkShards([s(0), { index: 1, count: 4, samplesTotal: 16 }], ["a", "b"]),
      "b is shard 1/4 of 16 samples but a is shard 0/3 of 16; merge shards of one split only.",
    );
  });

  it("npy: 3 shard processes at once; each takes k mod 3 = i (checked by hand), their merge equals the single run", async () => {
    const [N, C, HW] = [31, 3, 36];
    const values = sampleValues(N, C, HW, 7);
    const npy = path.join(tmp, "data.npy");
    fs.writeFileSync(npy, npyBytes("<f4", [N, C, 6, 6], new Uint8Array(values.buffer)));
    const args = [BN2D, "--data", npy, "--batch", "4", "--mode", "exact"];
    const shards = await runShards(3, args, (i) => path.join(tmp, `npy-${i}.json`));
    assert.deepEqual(
      shards.map((r) => [r.samples, r.run.shard]),
      [0, 1, 2].map((i) => [[11, 10, 10][i], { index: i, count: 3, samplesTotal: N }]),
    );
    // The model is one BN: its input is the data, so each shard's pre-BN moments are the data's over k mod 3 = i.
    shards.forEach((r, i) => {
      const want = shardMoments(values, C, HW, 3, i);
      for (let c = 0; c < C; c++) {
        assert.ok(Math.abs(r.layers[0].pre.mean[c]! - want.mean[c]) < 1e-12, `shard ${i} mean[${c}]`);
        assert.ok(Math.abs(r.layers[0].pre.var[c]! - want.var[c]) < 1e-12 * Math.max(1, want.var[c]), `shard ${i} var[${c}]`);
      }
    });
    const full = path.join(tmp, "npy-full.json");
    assert.equal(bnLens("inspect", ...args, "--json", full).code, 0);
    const out = path.join(tmp, "npy-merged.json");
    const m = bnLens("merge", ...[2, 0, 1].map((i) => path.join(tmp, `npy-${i}.json`)), "--json", out);
    assert.equal(m.code, 0, m.stderr);
    assertMergeEqualsSingle(JSON.parse(fs.readFileSync(out, "utf8")) as Report, JSON.parse(fs.readFileSync(full, "utf8")) as Report);
    // A shard given twice is refused; a partial set merges and says which shards it holds.
    const twice = bnLens("merge", path.join(tmp, "npy-0.json"), path.join(tmp, "npy-0.json"), "--json", path.join(tmp, "x.json"));
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /^error: .*npy-0\.json is given twice; give each report once, or its samples are counted twice\./);
    // A copy of a shard under another name is the same run (same id).
    const copy = path.join(tmp, "npy-0-copy.json");
    fs.copyFileSync(path.join(tmp, "npy-0.json"), copy);
    const again = bnLens("merge", path.join(tmp, "npy-0.json"), copy, "--json", path.join(tmp, "y.json"));
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /^error: .*cover the same run \(id [0-9a-f]{12}…: same model, data and seed\); merging them would count those samples twice\./,
    );
    const part = bnLens("merge", path.join(tmp, "npy-0.json"), path.join(tmp, "npy-2.json"), "--json", path.join(tmp, "part.json"));
    assert.equal(part.code, 0, part.stderr);
    assert.match(part.stdout, /shards 0, 2 of 3 only/);
  });

  it("ONNX TensorProto test data sets: 3 shard processes at once, merge equals the single run", async () => {
    const [C, HW] = [3, 36];
    // Three sets of 7, 1 and 5 samples: shards cut across set boundaries.
    const sizes = [7, 1, 5];
    const root = path.join(tmp, "sets");
    sizes.forEach((n, s) => {
      const dir = path.join(root, `test_data_set_${s}`);
      fs.mkdirSync(dir, { recursive: true });
      const values = sampleValues(n, C, HW, 100 + s);
      const t = create(TensorProtoSchema, {
        dims: [BigInt(n), 3n, 6n, 6n],
        dataType: 1,
        rawData: new Uint8Array(values.buffer as ArrayBuffer),
      });
      fs.writeFileSync(path.join(dir, "input_0.pb"), toBinary(TensorProtoSchema, t));
    });
    const args = [BN2D, "--data", root, "--batch", "2", "--mode", "exact"];
    const shards = await runShards(3, args, (i) => path.join(tmp, `pb-${i}.json`));
    assert.deepEqual(
      shards.map((r) => r.samples),
      [5, 4, 4],
    );
    const full = path.join(tmp, "pb-full.json");
    assert.equal(bnLens("inspect", ...args, "--json", full).code, 0);
    const out = path.join(tmp, "pb-merged.json");
    assert.equal(bnLens("merge", ...[0, 1, 2].map((i) => path.join(tmp, `pb-${i}.json`)), "--json", out).code, 0);
    assertMergeEqualsSingle(JSON.parse(fs.readFileSync(out, "utf8")) as Report, JSON.parse(fs.readFileSync(full, "utf8")) as Report);
  });

  it("image folder (the face detector on its 16 photos): 3 shard processes at once, merge equals the single run", async () => {
    const args = [FACE_DETECTOR, "--data", FACE_IMAGES, "--mean", "127", "--std", "128", "--batch", "4", "--mode", "exact"];
    const shards = await runShards(3, args, (i) => path.join(tmp, `img-${i}.json`));
    assert.deepEqual(
      shards.map((r) => r.samples),
      [6, 5, 5],
    );
    const full = path.join(tmp, "img-full.json");
    assert.equal(bnLens("inspect", ...args, "--json", full).code, 0);
    const out = path.join(tmp, "img-merged.json");
    assert.equal(bnLens("merge", ...[0, 1, 2].map((i) => path.join(tmp, `img-${i}.json`)), "--json", out).code, 0);
    assertMergeEqualsSingle(JSON.parse(fs.readFileSync(out, "utf8")) as Report, JSON.parse(fs.readFileSync(full, "utf8")) as Report);
  });

  it("npz and random data: 3 shard processes at once, merge equals the single run", async () => {
    const { zipSync } = await import("fflate");
    const values = sampleValues(20, 3, 36, 11);
    const npz = path.join(tmp, "data.npz");
    fs.writeFileSync(npz, zipSync({ "0.npy": npyBytes("<f4", [20, 3, 6, 6], new Uint8Array(values.buffer as ArrayBuffer)) }));
    const demoDir = path.join(tmp, "demo");
    assert.equal(bnLens("demo", "--out", demoDir).code, 0);
    const demo = path.join(demoDir, "bn-lens-demo.onnx");
    for (const [name, args] of [
      ["npz", [BN2D, "--data", npz, "--batch", "3", "--mode", "exact"]],
      ["random", [demo, "--samples", "40", "--seed", "5", "--batch", "8", "--mode", "exact"]],
    ] as const) {
      const shards = await runShards(3, [...args], (i) => path.join(tmp, `${name}-${i}.json`));
      assert.equal(
        shards.reduce((s, r) => s + r.samples, 0),
        name === "npz" ? 20 : 40,
      );
      const full = path.join(tmp, `${name}-full.json`);
      assert.equal(bnLens("inspect", ...args, "--json", full).code, 0);
      const out = path.join(tmp, `${name}-merged.json`);
      assert.equal(bnLens("merge", ...[0, 1, 2].map((i) => path.join(tmp, `${name}-${i}.json`)), "--json", out).code, 0);
      assertMergeEqualsSingle(JSON.parse(fs.readFileSync(out, "utf8")) as Report, JSON.parse(fs.readFileSync(full, "utf8")) as Report);
    }
  });

  it("the streaming merge writes, byte for byte, what the in-memory merge of the whole reports gives", async () => {
    // One more set, with --train-batch: batch-size findings are made per layer from the merged study.
    const trainArgs = [BN2D, "--data", path.join(tmp, "data.npy"), "--batch", "4", "--mode", "exact", "--train-batch", "2"];
    await runShards(2, trainArgs, (i) => path.join(tmp, `train-${i}.json`));
    const createdAt = "2026-12-01T00:00:00.000Z";
    for (const [name, n] of [
      ["npy", 3],
      ["pb", 3],
      ["img", 3],
      ["npz", 3],
      ["random", 3],
      ["train", 2],
    ] as const) {
      const files = [...Array(n).keys()].map((i) => path.join(tmp, `${name}-${i}.json`)).reverse();
      const out = path.join(tmp, `${name}-streamed.json`);
      const outline = mergeReportFiles(files, out, createdAt);
      const text = fs.readFileSync(out, "utf8");
      const whole = mergeReports(files.map(readReportFile), files, createdAt);
      assert.equal(text, reportJson(whole), `${name}: the same text`);
      assert.deepEqual(JSON.parse(text), whole, `${name}: the same value`);
      // What the CLI prints and gates on comes from the outline the streaming merge keeps.
      assert.deepEqual(outline, {
        ...whole,
        layers: whole.layers.map(layerOutline),
        activations: whole.activations.map(activationOutline),
      });
      assert.equal(formatReport(outline), formatReport(whole));
      if (name === "img") assert.ok(whole.batchStudy && whole.batchStudy.layers.length === whole.layers.length, "img: the study is merged");
      if (name === "train")
        assert.ok(
          whole.layers.some((l) => l.warnings.some((w) => w.rule === "batch-size")),
          "train: a batch-size finding is merged",
        );
    }
  });

  it("a shard with no samples is one plain sentence", () => {
    const dir = path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval", "test_data_set_0");
    const r = bnLens("inspect", BN2D, "--data", dir, "--shard", "2/3");
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), "error: Shard 2/3 has no samples: the data holds 2 samples, fewer than 3; use at most 2 shards.");
  });
});
