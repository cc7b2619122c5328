// ONNX test data: test_data_set_N/input_K.pb; input_K feeds the K-th real input, sets are concatenated in order.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { UserError } from "../../core/errors";
import { castTensor } from "../../core/inputs/convert";
import type { DataSampleInfo, ResolvedInput } from "../../core/inputs/shapes";
import type { ModelInput } from "../../core/onnx/model";
import { decodeTensorProto } from "../../core/onnx/tensorData";
import { formatShape, type HostTensor } from "../../core/tensor";
import type { DataInfo, DataSource, DataTarget, DataReader } from "./dataSource";
import {
  naturalSort,
  display,
  fsCall,
  readWhole,
  checkRange,
  onlyInput,
  checkOpened,
  nameList,
  describeArrays,
  samplesWord,
  capNote,
  sliceSamples,
  concatSamples,
} from "./files";

const isInputPb = (f: string) => /^input_\d+\.pb$/i.test(f);
const setsOf = (t: DataTarget) =>
  naturalSort((t.folder?.entries ?? []).filter((e) => e.isDirectory() && /^test_data_set_/.test(e.name)).map((e) => e.name));

/** ONNX TensorProto files: one input_K.pb, a folder of them, or a folder of test_data_set_* folders. */
export const testDataReader: DataReader = {
  kind: "onnx-test-data",
  extensions: [".pb"],
  match: (t) => {
    if (t.file) return t.file.ext === ".pb" ? "TensorProto file" : false;
    if (!t.folder) return false;
    if (setsOf(t).length > 0) return "ONNX test data (test_data_set_* folders)";
    return t.folder.files.some(isInputPb) ? "ONNX test data (input_*.pb files)" : false;
  },
  open: async (t, c) => {
    const p = t.path!;
    if (t.file) return testDataSource(path.dirname(p), [[p]], display(p), c.modelInputs, c.cap);
    const dir = p;
    const shown = display(dir);
    const sets = setsOf(t);
    const pbs = naturalSort(t.folder!.files.filter(isInputPb));
    if (sets.length > 0 && pbs.length > 0) {
      throw new UserError(
        "data",
        `Folder "${shown}" holds both test_data_set_* folders and input_*.pb files; point --data at one test_data_set_* folder or at a folder of them.`,
      );
    }
    if (sets.length > 0) {
      const groups: string[][] = [];
      for (const s of sets) {
        const inner = await fsCall(() => fs.readdir(path.join(dir, s)), path.join(dir, s));
        const inputs = naturalSort(inner.filter(isInputPb));
        if (inputs.length === 0) {
          throw new UserError(
            "data",
            `"${shown}/${s}" has no input_*.pb files; every test_data_set_* folder needs input_0.pb (and input_1.pb, ... for more inputs).`,
          );
        }
        groups.push(inputs.map((f) => path.join(dir, s, f)));
      }
      return testDataSource(
        dir,
        groups,
        `${sets.length} ONNX test data set${sets.length > 1 ? "s" : ""} in ${shown}`,
        c.modelInputs,
        c.cap,
      );
    }
    return testDataSource(dir, [pbs.map((f) => path.join(dir, f))], `ONNX test data in ${shown}`, c.modelInputs, c.cap);
  },
};

interface TestSet {
  /** File per model input index. */
  files: string[];
  count: number;
}

async function readPb(file: string, dir: string): Promise<HostTensor> {
  const shown = display(file, dir);
  const size = (await fsCall(() => fs.stat(file), file)).size;
  const bytes = await readWhole(
    file,
    size,
    shown,
    "a TensorProto cannot exceed 2 GiB, so split the samples into several test_data_set_* folders",
  );
  if (bytes.length === 0) throw new UserError("data", `"${shown}" is empty (0 bytes); save the tensor again or remove the file.`);
  return decodeTensorProto(bytes, `"${shown}"`);
}

async function testDataSource(
  dir: string,
  groups: string[][],
  description: string,
  modelInputs: readonly ModelInput[],
  cap: number | undefined,
): Promise<DataSource> {
  if (modelInputs.length === 0) throw new UserError("model", "The model has no inputs to feed; choose a model that takes an input.");
  const sets: TestSet[] = [];
  let facts: DataSampleInfo[] | undefined;
  for (const group of groups) {
    const files: string[] = [];
    for (const file of group) {
      const m = /^input_(\d+)\.pb$/i.exec(path.basename(file));
      const k = m ? Number(m[1]) : 0;
      if (!m)
        onlyInput(
          modelInputs,
          `"${path.basename(file)}" (not named input_K.pb)`,
          "name the files input_0.pb, input_1.pb, ... in model input order",
        );
      if (k >= modelInputs.length) {
        throw new UserError(
          "data",
          `"${display(file, path.dirname(file))}" has no model input to feed: the model has ${modelInputs.length} input${modelInputs.length > 1 ? "s" : ""}, so files go from input_0.pb to input_${modelInputs.length - 1}.pb.`,
        );
      }
      files[k] = file;
    }
    const setName = display(path.dirname(group[0]));
    const missing = modelInputs.map((_, k) => k).filter((k) => files[k] === undefined);
    if (missing.length) {
      throw new UserError(
        "data",
        `"${setName}" has no ${missing.map((k) => `input_${k}.pb`).join(", ")} for model input${missing.length > 1 ? "s" : ""} ${nameList(missing.map((k) => modelInputs[k].name))}; every set needs one file per input.`,
      );
    }
    // Decode each file once to learn its shape; only one decoded tensor is alive at a time.
    let count: number | undefined;
    const setFacts: DataSampleInfo[] = [];
    for (let k = 0; k < files.length; k++) {
      const t = await readPb(files[k], path.dirname(files[k]));
      const shown = display(files[k], path.dirname(files[k]));
      if (t.dims.length === 0) {
        throw new UserError(
          "data",
          `"${shown}" holds a single value (a 0-d tensor), not samples; save a tensor whose first axis holds the samples.`,
        );
      }
      if (count !== undefined && t.dims[0] !== count) {
        throw new UserError(
          "data",
          `In "${setName}", input_0.pb holds ${count} samples but input_${k}.pb holds ${t.dims[0]}; every input of a set needs the same length along its first axis.`,
        );
      }
      count = t.dims[0];
      setFacts.push({ dims: t.dims.slice(1), dtype: t.dtype });
      const first = facts?.[k];
      if (first && (formatShape(first.dims!) !== formatShape(t.dims.slice(1)) || first.dtype !== t.dtype)) {
        throw new UserError(
          "data",
          `"${shown}" holds samples of ${formatShape(t.dims.slice(1))} ${t.dtype} but the first set has ${formatShape(first.dims!)} ${first.dtype} for the same input; every set needs the same per-sample shape and type.`,
        );
      }
    }
    facts ??= setFacts;
    sets.push({ files, count: count! });
  }
  const available = sets.reduce((s, t) => s + t.count, 0);
  if (available === 0)
    throw new UserError(
      "data",
      `The ONNX test data in "${display(dir)}" holds no samples (the first axis of its tensors has length 0); save tensors with at least one sample.`,
    );
  const count = Math.min(available, cap ?? Infinity);
  const inputFacts = new Map(modelInputs.map((mi, k) => [mi.name, { ...facts![k], count: sets[0].count }]));
  const info: DataInfo = {
    kind: "onnx-test-data",
    sampleCount: count,
    inputs: inputFacts,
    description: `${description}: ${samplesWord(count)}${capNote(available, cap)}; ${describeArrays([...inputFacts])}`,
  };
  let feeds: readonly ResolvedInput[] = [];
  // The one decoded set kept between reads (a batch usually falls inside one set).
  let cached: { set: number; tensors: HostTensor[] } | undefined;
  const loadSet = async (s: number) => {
    if (cached?.set !== s) {
      cached = undefined;
      const tensors: HostTensor[] = [];
      for (const f of sets[s].files) tensors.push(await readPb(f, path.dirname(f)));
      cached = { set: s, tensors };
    }
    return cached.tensors;
  };
  return {
    info,
    async open(inputs) {
      const opened = checkOpened(info, inputs);
      feeds = inputs;
      return { ...opened, description: "ONNX TensorProto files decoded one set at a time" };
    },
    async read(start, n) {
      checkRange(info, start, n);
      const parts: HostTensor[][] = feeds.map(() => []);
      let s = 0;
      let base = 0;
      while (base + sets[s].count <= start) base += sets[s++].count;
      let at = start;
      while (at < start + n) {
        const tensors = await loadSet(s);
        const from = at - base;
        const take = Math.min(sets[s].count - from, start + n - at);
        feeds.forEach((r, j) => parts[j].push(sliceSamples(tensors[r.index], from, take)));
        at += take;
        base += sets[s++].count;
      }
      const out: Record<string, HostTensor> = {};
      feeds.forEach((r, j) => (out[r.name] = castTensor(concatSamples(parts[j]), r.dtype, `The ONNX test data for input "${r.name}"`)));
      return out;
    },
    async close() {
      cached = undefined;
    },
  };
}
