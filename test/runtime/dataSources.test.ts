import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { zipSync } from "fflate";
import { TensorProtoSchema } from "onnx-buf";
import sharp from "sharp";
import { decodeModel, type ModelInput } from "../../src/core/onnx/model";
import { decodeTensorProto } from "../../src/core/onnx/tensorData";
import { randomBatch } from "../../src/core/inputs/random";
import { resolveInputs } from "../../src/core/inputs/shapes";
import type { HostTensor } from "../../src/core/tensor";
import { naturalSort, prepareData, probeData, type DataOptions } from "../../src/runtime/dataSources";
import { elementBytes, npyBytes } from "../helpers/npyBytes";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS, PADDLE_CLS } from "../helpers/paths";
import { rejectsUser } from "../helpers/userError";

const faceInputs = decodeModel(fs.readFileSync(FACE_DETECTOR)).inputs;
const paddleInputs = decodeModel(fs.readFileSync(PADDLE_CLS)).inputs;
const input = (name: string, dtype: ModelInput["dtype"], dims: ModelInput["dims"]): ModelInput => ({
  name,
  dtype,
  typeName: dtype ?? "complex64",
  dims,
});
const nums = (t: HostTensor) => Array.from(t.data as ArrayLike<number | bigint>, Number);

/** Probes, resolves and opens, then reads [start, start + count). */
async function readSamples(
  options: DataOptions,
  inputs: readonly ModelInput[],
  start: number,
  count: number,
  shapes: { batchSize?: number; inputShapes?: string[] } = {},
): Promise<Record<string, HostTensor>> {
  const { source } = await prepareData(options, inputs, { batchSize: shapes.batchSize ?? count, inputShapes: shapes.inputShapes });
  try {
    return await source.read(start, count);
  } finally {
    await source.close();
  }
}

describe("data sources (runtime)", function () {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-data-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const file = (name: string, bytes: Uint8Array) => {
    const p = path.join(tmp, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, bytes);
    return p;
  };

  describe("random", () => {
    it("makes 64 samples by default, reproducible across batch sizes", async () => {
      const inputs = [input("x", "float32", ["N", 2, 5])];
      const { source, opened } = await prepareData({}, inputs, { batchSize: 8 });
      assert.equal(source.info.sampleCount, 64);
      assert.equal(source.info.description, "64 random samples, normal(mean 0, std 1), seed 0");
      assert.equal(opened.description, "random normal(mean 0, std 1)");
      const whole = await source.read(0, 8);
      const parts = [await source.read(0, 3), await source.read(3, 5)];
      assert.deepEqual(whole.x.dims, [8, 2, 5]);
      assert.deepEqual(nums(whole.x), [...nums(parts[0].x), ...nums(parts[1].x)]);
      await assert.rejects(source.read(60, 5), RangeError);
      await source.close();
    });

    it("honours --samples, the seed and uniform data, and feeds float16 and float64 inputs", async () => {
      const inputs = [input("a", "float16", ["N", 4]), input("b", "float64", [2, 3])];
      const options: DataOptions = { samples: 5, seed: 9, random: { kind: "uniform", low: 0, high: 2 } };
      const { source } = await prepareData(options, inputs, { batchSize: 5 });
      assert.equal(source.info.sampleCount, 5);
      const batch = await source.read(1, 4);
      assert.equal(batch.a.dtype, "float16");
      assert.deepEqual(batch.b.dims, [4, 3]);
      // Input b is the second real input, so it uses stream 1 of the seed.
      assert.deepEqual(nums(batch.b), nums(randomBatch(options.random!, 9, 1, 1, 4, [3], "float64")));
      assert.ok(nums(batch.b).every((v) => v >= 0 && v < 2));
      await source.close();
    });

    it("asks for data when an input is not float", async () => {
      await rejectsUser(
        prepareData({}, [input("x", "float32", ["N", 3]), input("ids", "int64", ["N", 7])], { batchSize: 2 }),
        'Input "ids" has type int64, and random data is only generated for float inputs; give real data for it with --data.',
      );
      await rejectsUser(probeData({ samples: 0 }, faceInputs), "--samples must be a whole number of at least 1, not 0.", "usage");
    });
  });

  describe(".npy", () => {
    it("reads sample ranges of every dtype, converted to the input's dtype", async () => {
      const expected = (s: number, j: number) => s * 10 + j; // 4 samples of 2x3
      const values = Array.from({ length: 24 }, (_, i) => expected(Math.floor(i / 6), i % 6));
      const floatInput = [input("x", "float32", ["N", 2, 3])];
      for (const descr of ["<f4", "<f8", ">f8", "<f2", "|i1", "|u1", "<i2", ">u2", "<i4", "<u4", "<i8", ">u8"]) {
        // float16 bits of small integers: exact, computed from the definition (1.m x 2^e).
        const stored = descr.endsWith("f2") ? values.map(halfBitsOfInteger) : values;
        const p = file(
          `all-${descr.replace(/[<>|]/, "")}${descr[0] === ">" ? "-be" : ""}.npy`,
          npyBytes(descr, [4, 2, 3], elementBytes(descr, stored)),
        );
        const { x } = await readSamples({ path: p }, floatInput, 1, 2);
        assert.equal(x.dtype, "float32", descr);
        assert.deepEqual(x.dims, [2, 2, 3]);
        assert.deepEqual(nums(x), values.slice(6, 18), descr);
      }
      const bools = file("mask.npy", npyBytes("|b1", [3, 2], elementBytes("|b1", [1, 0, 0, 1, 1, 1])));
      const { mask } = await readSamples({ path: bools }, [input("mask", "bool", ["N", 2])], 1, 2);
      assert.deepEqual([mask.dtype, nums(mask)], ["bool", [0, 1, 1, 1]]);
      const ids = file("ids.npy", npyBytes("<i4", [2, 2], elementBytes("<i4", [5, -6, 7, 8])));
      const { tokens } = await readSamples({ path: ids }, [input("tokens", "int64", ["N", 2])], 0, 2);
      assert.deepEqual([tokens.dtype, Array.from(tokens.data as BigInt64Array)], ["int64", [5n, -6n, 7n, 8n]]);
    });

    it("reads Fortran-order files by gathering each batch, and passes NaN and infinity through", async () => {
      // Element (s, i, j) = 100s + 10i + j of shape 50x3x4, written with s fastest.
      const fortran: number[] = [];
      for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++) for (let s = 0; s < 50; s++) fortran.push(100 * s + 10 * i + j);
      const p = file("fortran.npy", npyBytes("<i2", [50, 3, 4], elementBytes("<i2", fortran), { fortran: true }));
      const { x } = await readSamples({ path: p }, [input("x", "float32", ["N", 3, 4])], 10, 5);
      const expected: number[] = [];
      for (let s = 10; s < 15; s++) for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expected.push(100 * s + 10 * i + j);
      assert.deepEqual(nums(x), expected);
      const special = file("special.npy", npyBytes("<f4", [3, 1], elementBytes("<f4", [NaN, Infinity, -Infinity])));
      const { y } = await readSamples({ path: special }, [input("y", "float32", ["N", 1])], 0, 3);
      assert.ok(Number.isNaN(nums(y)[0]));
      assert.deepEqual(nums(y).slice(1), [Infinity, -Infinity]);
    });

    it("streams a large-ish file in ranges and matches values computed from the sample index", async () => {
      const samples = 3000;
      const per = 3 * 32 * 32;
      const value = (s: number, j: number) => s * 0.5 + (j % 97);
      const p = path.join(tmp, "large.npy");
      const fd = fs.openSync(p, "w");
      fs.writeSync(fd, npyBytes("<f4", [samples, 3, 32, 32], new Uint8Array(0)));
      const chunk = new Float32Array(100 * per);
      for (let s0 = 0; s0 < samples; s0 += 100) {
        for (let s = 0; s < 100; s++) for (let j = 0; j < per; j++) chunk[s * per + j] = value(s0 + s, j);
        fs.writeSync(fd, new Uint8Array(chunk.buffer));
      }
      fs.closeSync(fd);
      assert.equal(fs.statSync(p).size, 128 + samples * per * 4); // 36.9 MB
      const { source } = await prepareData({ path: p }, [input("x", "float32", ["N", 3, 32, 32])], { batchSize: 64 });
      assert.equal(source.info.description, "large.npy: 3000 samples of 3x32x32 float32");
      for (const [start, count] of [
        [0, 64],
        [1500, 7],
        [2936, 64],
      ]) {
        const { x } = await source.read(start, count);
        assert.deepEqual(x.dims, [count, 3, 32, 32]);
        const data = x.data as Float32Array;
        for (const s of [0, count - 1]) for (const j of [0, 1, 96, 97, per - 1]) assert.equal(data[s * per + j], value(start + s, j));
      }
      await source.close();
    });

    it("reads ranges of a file over 2 GiB (sparse) by offset, without loading it", async () => {
      const samples = 300_000;
      const per = 2048; // 2.29 GiB of float32 data
      const p = path.join(tmp, "huge.npy");
      const header = npyBytes("<f4", [samples, per], new Uint8Array(0));
      const fd = fs.openSync(p, "w");
      fs.writeSync(fd, header);
      fs.ftruncateSync(fd, header.length + samples * per * 4);
      const known = Float32Array.from({ length: per }, (_, j) => j - 1000.5);
      fs.writeSync(fd, new Uint8Array(known.buffer), 0, per * 4, header.length + 299_998 * per * 4);
      fs.closeSync(fd);
      assert.ok(fs.statSync(p).size > 2 ** 31);
      const { source } = await prepareData({ path: p }, [input("x", "float32", ["N", per])], { batchSize: 3 });
      assert.equal(source.info.sampleCount, samples);
      const { x } = await source.read(299_997, 3);
      const data = x.data as Float32Array;
      assert.ok(data.subarray(0, per).every((v) => v === 0));
      assert.deepEqual(Array.from(data.subarray(per, 2 * per)), Array.from(known));
      assert.ok(data.subarray(2 * per).every((v) => v === 0));
      await source.close();
    });

    it("gathers Fortran-order batches whose runs lie further apart than the read window", async () => {
      const samples = 2_200_000; // a stride of 8.8 MB between the two elements of each sample
      const p = path.join(tmp, "fortran-wide.npy");
      const column = new Float32Array(samples);
      const fd = fs.openSync(p, "w");
      fs.writeSync(fd, npyBytes("<f4", [samples, 2], new Uint8Array(0), { fortran: true }));
      for (const j of [0, 1]) {
        for (let s = 0; s < samples; s++) column[s] = s + j * 0.25;
        fs.writeSync(fd, new Uint8Array(column.buffer));
      }
      fs.closeSync(fd);
      const { x } = await readSamples({ path: p }, [input("x", "float32", ["N", 2])], 1_000_000, 3);
      assert.deepEqual(nums(x), [1_000_000, 1_000_000.25, 1_000_001, 1_000_001.25, 1_000_002, 1_000_002.25]);
    });

    it("caps the samples with --samples and sniffs .npy bytes under another extension", async () => {
      const p = file("renamed.bin", npyBytes("<f4", [10, 1], elementBytes("<f4", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])));
      const { source } = await prepareData({ path: p, samples: 4 }, [input("x", "float32", ["N", 1])], { batchSize: 4 });
      assert.equal(source.info.sampleCount, 4);
      assert.equal(source.info.description, "renamed.bin: 4 samples (the first 4 of 10) of 1 float32");
      assert.deepEqual(nums((await source.read(2, 2)).x), [2, 3]);
      await assert.rejects(source.read(3, 2), RangeError);
      await source.close();
    });

    it("explains truncated, empty, 0-d, mismatched and multi-input cases in one sentence", async () => {
      const full = npyBytes("<f4", [4, 3, 240, 320], new Uint8Array(4 * 3 * 240 * 320 * 4));
      const cut = file("cut.npy", full.subarray(0, 500_000));
      await rejectsUser(
        probeData({ path: cut }, faceInputs),
        '"cut.npy" is truncated: its header declares 4x3x240x320 float32 (3686400 bytes of data) but only 499872 bytes follow the header; save the file again.',
      );
      await rejectsUser(
        probeData({ path: file("tiny.npy", full.subarray(0, 30)) }, faceInputs),
        '"tiny.npy" is truncated: it ends inside its .npy header; save the file again.',
      );
      await rejectsUser(
        probeData({ path: file("none.npy", npyBytes("<f4", [0, 3], new Uint8Array(0))) }, faceInputs),
        '"none.npy" holds no samples (its first axis has length 0); save an array with at least one sample.',
      );
      await rejectsUser(
        probeData({ path: file("scalar.npy", npyBytes("<f4", [], elementBytes("<f4", [1]))) }, faceInputs),
        '"scalar.npy" holds a single value (a 0-d array), not samples; save an array whose first axis holds the samples.',
      );
      const small = file("small.npy", npyBytes("<f4", [2, 3, 224, 224], new Uint8Array(2 * 3 * 224 * 224 * 4)));
      await rejectsUser(
        prepareData({ path: small }, faceInputs, { batchSize: 1 }),
        'Input "input" expects 3x240x320 per sample (model shape 1x3x240x320), but the data has 3x224x224; give data of that shape.',
      );
      await rejectsUser(
        probeData({ path: small }, [input("a", "float32", ["N", 3]), input("b", "float32", ["N", 3])]),
        'A single .npy file can feed only a single-input model, but this model has 2 inputs ("a", "b"); save the arrays in one .npz file named after the inputs, e.g. numpy.savez(path, a=..., b=...).',
      );
      await rejectsUser(
        prepareData({ path: file("floats.npy", npyBytes("<f4", [1, 2], elementBytes("<f4", [1, 2]))) }, [input("ids", "int64", ["N", 2])], {
          batchSize: 1,
        }),
        'Input "ids" has type int64 and needs integer data, but the data is float32; save it as int64.',
      );
      await rejectsUser(
        probeData({ path: path.join(tmp, "missing.npy") }, faceInputs),
        `Data path "${path.join(tmp, "missing.npy")}" does not exist; check the path.`,
      );
      await rejectsUser(
        probeData({ path: file("notes.txt", new TextEncoder().encode("hello")) }, faceInputs),
        '"notes.txt" is not a data file BN Lens reads; give a .npy, .npz or ONNX TensorProto .pb file, a .jpg or .png image, or a folder of images or of test_data_set_* folders.',
      );
    });
  });

  describe(".npz", () => {
    const a = npyBytes("<f8", [3, 2], elementBytes("<f8", [0.5, 1, 1.5, 2, 2.5, 3]));
    const ids = npyBytes("<i4", [3, 1], elementBytes("<i4", [7, 8, 9]));
    const twoInputs = [input("a", "float32", ["N", 2]), input("ids", "int64", ["N", 1])];

    it("feeds arrays by input name, converted, and notes the arrays it ignores", async () => {
      const p = file("pair.npz", zipSync({ "a.npy": a, "ids.npy": [ids, { level: 0 }], "extra.npy": ids }));
      const { source, opened } = await prepareData({ path: p }, twoInputs, { batchSize: 2 });
      assert.equal(source.info.description, "pair.npz: 3 samples; a 2 float64, ids 1 int32");
      assert.deepEqual(opened.notes, [
        "a: float64 data is converted to float32.",
        "ids: int32 data is converted to int64.",
        'pair.npz: array "extra" matches no model input and is ignored.',
      ]);
      const batch = await source.read(1, 2);
      assert.deepEqual([batch.a.dtype, batch.a.dims, nums(batch.a)], ["float32", [2, 2], [1.5, 2, 2.5, 3]]);
      assert.deepEqual([batch.ids.dtype, Array.from(batch.ids.data as BigInt64Array)], ["int64", [8n, 9n]]);
      await source.close();
    });

    it("feeds a single-input model from its only array whatever its name", async () => {
      const p = file("one.npz", zipSync({ "arr_0.npy": a }));
      const { source, opened } = await prepareData({ path: p }, [input("x", "float32", ["N", 2])], { batchSize: 3 });
      assert.deepEqual(opened.notes[1], 'one.npz: its only array "arr_0" feeds input "x".');
      assert.deepEqual(nums((await source.read(0, 1)).x), [0.5, 1]);
      await source.close();
    });

    it("explains missing arrays, unequal sample counts, damaged and oversized archives", async () => {
      await rejectsUser(
        probeData({ path: file("missing.npz", zipSync({ "a.npy": a })) }, twoInputs),
        '"missing.npz" has no array for input "ids"; it holds "a", and every model input needs an array of the same name, e.g. numpy.savez(path, a=..., ids=...).',
      );
      await rejectsUser(
        probeData({ path: file("many.npz", zipSync({ "p.npy": a, "q.npy": a })) }, faceInputs),
        '"many.npz" holds 2 arrays ("p", "q") and none is named after the model\'s input "input"; name the array "input" or save only one.',
      );
      const short = npyBytes("<i4", [2, 1], elementBytes("<i4", [7, 8]));
      await rejectsUser(
        probeData({ path: file("uneven.npz", zipSync({ "a.npy": a, "ids.npy": short })) }, twoInputs),
        'The arrays in "uneven.npz" hold different numbers of samples (a: 3, ids: 2); every array needs the same length along its first axis.',
      );
      await rejectsUser(
        probeData({ path: file("empty.npz", zipSync({})) }, faceInputs),
        '"empty.npz" holds no arrays; save the data with numpy.savez(path, input=array).',
      );
      const zip = zipSync({ "a.npy": [a, { level: 9 }] });
      await assert.rejects(
        probeData({ path: file("cut.npz", zip.subarray(0, zip.length - 30)) }, twoInputs),
        /^UserError: "cut\.npz" is not a readable \.npz archive \(.+\); it is truncated or damaged, save it again with numpy\.savez\.$/,
      );
      const big = path.join(tmp, "big.npz");
      fs.writeFileSync(big, zip);
      fs.truncateSync(big, 2.5 * 2 ** 30);
      await rejectsUser(
        probeData({ path: big }, twoInputs),
        '"big.npz" is 2.5 GiB, and files of this kind over 2 GiB cannot be read; for a single-input model save the array with numpy.save as a .npy file, which is read in ranges, or use ONNX test data sets split into several test_data_set_* folders.',
      );
      fs.rmSync(big);
    });
  });

  describe("ONNX test data", () => {
    const folders = fs.readdirSync(ONNX_BN_TESTS).filter((f) => f.startsWith("test_"));

    it("reads input_0.pb of every backend BatchNorm test, from the set folder, the test folder and the file", async () => {
      assert.equal(folders.length, 5);
      for (const f of folders) {
        const inputs = decodeModel(fs.readFileSync(path.join(ONNX_BN_TESTS, f, "model.onnx"))).inputs;
        const pb = path.join(ONNX_BN_TESTS, f, "test_data_set_0", "input_0.pb");
        const expected = decodeTensorProto(fs.readFileSync(pb), f);
        for (const p of [path.dirname(pb), path.join(ONNX_BN_TESTS, f), pb]) {
          const { source, inputs: resolved } = await prepareData({ path: p }, inputs, { batchSize: expected.dims[0] });
          assert.equal(source.info.kind, "onnx-test-data");
          assert.equal(resolved[0].fixedBatch, expected.dims[0]);
          const batch = await source.read(0, expected.dims[0]);
          assert.deepEqual(batch[inputs[0].name].dims, expected.dims, `${f} via ${p}`);
          assert.deepEqual(nums(batch[inputs[0].name]), nums(expected), `${f} via ${p}`);
          await source.close();
        }
      }
    });

    it("concatenates sets in natural order and reads batches across their boundary", async () => {
      const root = path.join(tmp, "sets");
      const sources = ["test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval", "test_BatchNorm2d_eval"];
      // test_data_set_10 sorts after test_data_set_2 in natural order.
      sources.forEach((src, i) =>
        file(
          path.join("sets", `test_data_set_${[0, 2, 10][i]}`, "input_0.pb"),
          fs.readFileSync(path.join(ONNX_BN_TESTS, src, "test_data_set_0", "input_0.pb")),
        ),
      );
      const expected = sources.map((src) =>
        nums(decodeTensorProto(fs.readFileSync(path.join(ONNX_BN_TESTS, src, "test_data_set_0", "input_0.pb")), src)),
      );
      const per = 3 * 6 * 6;
      const inputs = [input("0", "float32", ["N", 3, 6, 6])];
      const { source } = await prepareData({ path: root }, inputs, { batchSize: 3 });
      assert.equal(source.info.description, "3 ONNX test data sets in sets: 6 samples; 3x6x6 float32");
      const batch = await source.read(1, 4);
      assert.deepEqual(nums(batch["0"]), [...expected[0].slice(per), ...expected[1], ...expected[2].slice(0, per)]);
      await source.close();
    });

    it("maps input_K.pb to the K-th real input and explains missing, extra and damaged files", async () => {
      const tensor = (dims: number[], dataType: number, raw: Uint8Array) =>
        toBinary(TensorProtoSchema, create(TensorProtoSchema, { dims: dims.map(BigInt), dataType, rawData: new Uint8Array(raw) }));
      const two = [input("image", "float32", ["N", 2]), input("ids", "int64", ["N"])];
      file("multi/test_data_set_0/input_0.pb", tensor([2, 2], 1, elementBytes("<f4", [1, 2, 3, 4])));
      file("multi/test_data_set_0/input_1.pb", tensor([2], 7, elementBytes("<i8", [10n, 11n])));
      file("multi/test_data_set_0/output_0.pb", tensor([1], 1, elementBytes("<f4", [0])));
      const batch = await readSamples({ path: path.join(tmp, "multi") }, two, 0, 2);
      assert.deepEqual(
        [nums(batch.image), Array.from(batch.ids.data as BigInt64Array)],
        [
          [1, 2, 3, 4],
          [10n, 11n],
        ],
      );

      file("gap/test_data_set_0/input_0.pb", tensor([2, 2], 1, elementBytes("<f4", [1, 2, 3, 4])));
      await rejectsUser(
        probeData({ path: path.join(tmp, "gap") }, two),
        '"test_data_set_0" has no input_1.pb for model input "ids"; every set needs one file per input.',
      );
      file("extra/test_data_set_0/input_0.pb", tensor([2, 2], 1, elementBytes("<f4", [1, 2, 3, 4])));
      file("extra/test_data_set_0/input_1.pb", tensor([2], 7, elementBytes("<i8", [10n, 11n])));
      file("extra/test_data_set_0/input_2.pb", tensor([2], 7, elementBytes("<i8", [10n, 11n])));
      await rejectsUser(
        probeData({ path: path.join(tmp, "extra") }, two),
        '"test_data_set_0/input_2.pb" has no model input to feed: the model has 2 inputs, so files go from input_0.pb to input_1.pb.',
      );
      file("uneven/test_data_set_0/input_0.pb", tensor([2, 2], 1, elementBytes("<f4", [1, 2, 3, 4])));
      file("uneven/test_data_set_0/input_1.pb", tensor([3], 7, elementBytes("<i8", [10n, 11n, 12n])));
      await rejectsUser(
        probeData({ path: path.join(tmp, "uneven") }, two),
        'In "test_data_set_0", input_0.pb holds 2 samples but input_1.pb holds 3; every input of a set needs the same length along its first axis.',
      );
      file("shapes/test_data_set_0/input_0.pb", tensor([1, 2], 1, elementBytes("<f4", [1, 2])));
      file("shapes/test_data_set_1/input_0.pb", tensor([1, 3], 1, elementBytes("<f4", [1, 2, 3])));
      await rejectsUser(
        probeData({ path: path.join(tmp, "shapes") }, [two[0]]),
        '"test_data_set_1/input_0.pb" holds samples of 3 float32 but the first set has 2 float32 for the same input; every set needs the same per-sample shape and type.',
      );
      const damaged = file("damaged/test_data_set_0/input_0.pb", Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
      await rejectsUser(
        probeData({ path: path.dirname(damaged) }, [two[0]]),
        '"test_data_set_0/input_0.pb" is not a serialized ONNX TensorProto (the protobuf bytes are invalid or truncated).',
      );
      const huge = file("huge/test_data_set_0/input_0.pb", new Uint8Array(0));
      fs.truncateSync(huge, 2.5 * 2 ** 30);
      await rejectsUser(
        probeData({ path: path.join(tmp, "huge") }, [two[0]]),
        '"test_data_set_0/input_0.pb" is 2.5 GiB, and files of this kind over 2 GiB cannot be read; a TensorProto cannot exceed 2 GiB, so split the samples into several test_data_set_* folders.',
      );
      fs.rmSync(huge);
      file("noinputs/test_data_set_0/output_0.pb", tensor([1], 1, elementBytes("<f4", [0])));
      await rejectsUser(
        probeData({ path: path.join(tmp, "noinputs") }, [two[0]]),
        '"noinputs/test_data_set_0" has no input_*.pb files; every test_data_set_* folder needs input_0.pb (and input_1.pb, ... for more inputs).',
      );
    });
  });

  describe("images", () => {
    const order = naturalSort(fs.readdirSync(FACE_IMAGES).filter((f) => f.endsWith(".jpg")));
    const reference = async (name: string, w: number, h: number) =>
      new Uint8Array(await sharp(path.join(FACE_IMAGES, name)).resize(w, h, { fit: "fill" }).raw().toBuffer());

    it("feeds the 16 face photos to the face detector: resized, RGB, (p - 127) / 128, NCHW, in natural order", async () => {
      assert.deepEqual(order.slice(0, 6), ["1.jpg", "2.jpg", "3.jpg", "5.jpg", "6.jpg", "8.jpg"]);
      const { source, opened, inputs } = await prepareData({ path: FACE_IMAGES, image: { mean: [127], std: [128] } }, faceInputs, {
        batchSize: 4,
      });
      assert.equal(source.info.description, "16 images in face-images");
      assert.equal(source.info.sampleCount, 16);
      assert.equal(opened.description, "images resized to 320x240 (width x height), RGB, (p - 127) / 128, NCHW");
      assert.equal(inputs[0].fixedBatch, 1);
      const { input: batch } = await source.read(0, 4);
      assert.deepEqual(batch.dims, [4, 3, 240, 320]);
      const data = batch.data as Float32Array;
      const plane = 240 * 320;
      for (let s = 0; s < 4; s++) {
        const ref = await reference(order[s], 320, 240);
        for (const [y, x] of [
          [0, 0],
          [120, 160],
          [239, 319],
          [17, 301],
        ])
          for (let c = 0; c < 3; c++) {
            assert.equal(
              data[s * 3 * plane + c * plane + y * 320 + x],
              (ref[(y * 320 + x) * 3 + c] - 127) / 128,
              `${order[s]} (${c}, ${y}, ${x})`,
            );
          }
      }
      // The whole of one sample, every pixel.
      const ref = await reference("2.jpg", 320, 240);
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < plane; p++) {
          if (data[3 * plane + c * plane + p] !== (ref[p * 3 + c] - 127) / 128) assert.fail(`2.jpg differs at channel ${c}, pixel ${p}`);
        }
      await source.close();
    });

    it("feeds NHWC in BGR, grayscale, raw uint8 and float16 inputs", async () => {
      const ref = await reference("1.jpg", 64, 48);
      const nhwc = (
        await readSamples(
          { path: FACE_IMAGES, image: { order: "bgr", mean: [0], std: [255] } },
          [input("x", "float32", ["N", 48, 64, 3])],
          0,
          1,
        )
      ).x;
      const d = nhwc.data as Float32Array;
      for (const p of [0, 1000, 48 * 64 - 1]) for (let c = 0; c < 3; c++) assert.equal(d[p * 3 + c], Math.fround(ref[p * 3 + 2 - c] / 255));
      const raw = (await readSamples({ path: FACE_IMAGES }, [input("x", "uint8", [1, 48, 64, 3])], 0, 1)).x;
      assert.deepEqual([raw.dtype, Array.from((raw.data as Uint8Array).subarray(0, 9))], ["uint8", Array.from(ref.subarray(0, 9))]);
      const grayRef = new Uint8Array(
        await sharp(path.join(FACE_IMAGES, "1.jpg")).resize(64, 48, { fit: "fill" }).grayscale().raw().toBuffer(),
      );
      const gray = (await readSamples({ path: path.join(FACE_IMAGES, "1.jpg") }, [input("x", "float32", ["N", 1, 48, 64])], 0, 1)).x;
      assert.deepEqual(nums(gray), Array.from(grayRef));
      // A 16-bit PNG is reduced to 8 bits: 65535 becomes 255.
      const png16 = await sharp(Buffer.alloc(10 * 10 * 3 * 2, 0xff), { raw: { width: 10, height: 10, channels: 3 } })
        .toColourspace("rgb16")
        .png()
        .toBuffer();
      const deep = (await readSamples({ path: file("deep/16bit.png", png16) }, [input("x", "float32", ["N", 3, 4, 4])], 0, 1)).x;
      assert.deepEqual(nums(deep), new Array(48).fill(255));
      const half = (await readSamples({ path: FACE_IMAGES }, [input("x", "float16", ["N", 3, 48, 64])], 2, 1)).x;
      assert.equal(half.dtype, "float16");
    });

    it("needs the size of symbolic image dims, then feeds the PaddleOCR classifier", async () => {
      await rejectsUser(
        prepareData({ path: FACE_IMAGES }, paddleInputs, { batchSize: 2 }),
        'Input "x" has symbolic dims p2o.DynamicDimension.1, p2o.DynamicDimension.2 (p2o.DynamicDimension.0 x 3 x p2o.DynamicDimension.1 x p2o.DynamicDimension.2) that neither the data nor --input-shape gives; give them with --input-shape x:Nx3x<d2>x<d3>, putting numbers for <d2>, <d3>.',
      );
      const { x } = await readSamples({ path: FACE_IMAGES, samples: 2 }, paddleInputs, 0, 2, { inputShapes: ["x:Nx3x48x192"] });
      assert.deepEqual(x.dims, [2, 3, 48, 192]);
    });

    it("names a corrupt or unreadable image, and explains empty, mixed and unusable folders", async () => {
      const jpeg = fs.readFileSync(path.join(FACE_IMAGES, "13.jpg"));
      file("bad/a.jpg", jpeg);
      file("bad/b.jpg", jpeg.subarray(0, jpeg.length >> 1));
      file("bad/c.png", new TextEncoder().encode("not a png at all"));
      file("bad/._a.jpg", new Uint8Array(4)); // a macOS AppleDouble file: skipped
      const { source } = await prepareData({ path: path.join(tmp, "bad") }, faceInputs, { batchSize: 1 });
      assert.equal(source.info.sampleCount, 3);
      assert.equal((await source.read(0, 1)).input.dims[0], 1);
      await rejectsUser(
        source.read(1, 1),
        'Image "bad/b.jpg" cannot be decoded (premature end of JPEG image); the file is damaged or not an image, so fix or remove it.',
      );
      await rejectsUser(
        source.read(2, 1),
        'Image "bad/c.png" cannot be decoded (Input file contains unsupported image format); the file is damaged or not an image, so fix or remove it.',
      );
      await source.close();

      // A PNG header declaring 20000 x 20000 pixels (400 megapixels) with a token of data.
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(20000, 0);
      ihdr.writeUInt32BE(20000, 4);
      ihdr.set([8, 2], 8); // 8-bit RGB
      const huge = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        pngChunk("IHDR", ihdr),
        pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(100))),
        pngChunk("IEND", Buffer.alloc(0)),
      ]);
      await rejectsUser(
        readSamples({ path: file("huge.png", huge) }, faceInputs, 0, 1, { batchSize: 1 }),
        'Image "huge.png" has more pixels than sharp decodes (about 268 megapixels); shrink it or remove it from the folder.',
      );

      fs.mkdirSync(path.join(tmp, "empty"));
      await rejectsUser(
        probeData({ path: path.join(tmp, "empty") }, faceInputs),
        'Folder "empty" is empty; put .jpg or .png images or test_data_set_* folders in it, or point --data at a data file.',
      );
      file("mixed/test_data_set_0/input_0.pb", new Uint8Array(1));
      file("mixed/face.jpg", jpeg);
      await rejectsUser(
        probeData({ path: path.join(tmp, "mixed") }, faceInputs),
        'Folder "mixed" holds both ONNX test data (test_data_set_* folders) and 1 image; point --data at a folder with only one kind.',
      );
      file("other/readme.txt", new Uint8Array(1));
      await rejectsUser(
        probeData({ path: path.join(tmp, "other") }, faceInputs),
        'Folder "other" has no .jpg, .jpeg or .png images and no test_data_set_* folders (it holds 1 other entry); point --data at a folder of images or test data, or at a data file.',
      );
      file("npys/a.npy", new Uint8Array(1));
      await rejectsUser(
        probeData({ path: path.join(tmp, "npys") }, faceInputs),
        'Folder "npys" holds .npy/.npz files but BN Lens reads one such file, not a folder of them; point --data at the file (samples along its first axis).',
      );
      await rejectsUser(
        prepareData({ path: FACE_IMAGES }, [input("x", "float32", ["N", 4, 32, 32])], { batchSize: 1 }),
        'Input "x" takes 4x32x32 per sample, which is not an image with 1 or 3 channels first or last; use .npy, .npz or .pb data for it.',
      );
      await rejectsUser(
        prepareData({ path: FACE_IMAGES }, [input("x", "int32", ["N", 3, 32, 32])], { batchSize: 1 }),
        'Input "x" has type int32, and images can feed only float or uint8 inputs; give .npy, .npz or .pb data for it.',
      );
      await rejectsUser(
        probeData({ path: FACE_IMAGES }, [input("a", "float32", ["N", 3, 32, 32]), input("b", "float32", ["N", 3])]),
        'Images can feed only a single-input model, but this model has 2 inputs ("a", "b"); give an .npz file with one array per input, or ONNX test data sets.',
      );
      await rejectsUser(
        prepareData({ path: FACE_IMAGES, image: { mean: [1, 2] } }, faceInputs, { batchSize: 1 }),
        "The image mean has 2 values but the model's images have 3 channels; give 1 or 3 values.",
        "usage",
      );
    });
  });

  it("resolves shapes from what a probe reports, the way the engine does", async () => {
    const p = file("probe.npy", npyBytes("<f8", [5, 3, 8, 8], new Uint8Array(5 * 3 * 64 * 8)));
    const source = await probeData({ path: p }, paddleInputs);
    assert.deepEqual(source.info.inputs.get("x"), { dims: [3, 8, 8], dtype: "float64", count: 5 });
    const resolved = resolveInputs({ inputs: paddleInputs, batchSize: 2, data: source.info.inputs });
    assert.deepEqual(resolved[0].sampleDims, [3, 8, 8]);
    const opened = await source.open(resolved);
    assert.deepEqual(opened.notes, ["x: float64 data is converted to float32."]);
    assert.deepEqual((await source.read(3, 2)).x.dims, [2, 3, 8, 8]);
    await source.close();
  });
});

/** IEEE half bits of a small non-negative integer (< 2048), from the definition: 1.mantissa x 2^(exponent - 15). */
function halfBitsOfInteger(v: number): number {
  if (v === 0) return 0;
  const e = Math.floor(Math.log2(v));
  const mantissa = (v / 2 ** e - 1) * 1024;
  return ((e + 15) << 10) | mantissa;
}

/** A PNG chunk: length, type, data and the CRC-32 of type and data (computed bit by bit from the polynomial). */
function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  let crc = ~0;
  for (const byte of out.subarray(4, 8 + data.length)) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  out.writeUInt32BE(~crc >>> 0, 8 + data.length);
  return out;
}
