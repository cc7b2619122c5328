// .npz: arrays by input name (or the only array for a single-input model); read whole, so limited to 2 GiB.
import { UserError } from "../../core/errors";
import { castTensor } from "../../core/inputs/convert";
import { isZip, npzArrayNames, parseNpz } from "../../core/inputs/npz";
import type { DataSampleInfo, ResolvedInput } from "../../core/inputs/shapes";
import type { ModelInput } from "../../core/onnx/model";
import type { HostTensor } from "../../core/tensor";
import type { DataInfo, DataSource, DataReader } from "./dataSource";
import { display, readWhole, checkRange, checkOpened, nameList, describeArrays, samplesWord, capNote, sliceSamples } from "./files";

/** A .npz file (by extension, or a zip archive by its magic bytes). */
export const npzReader: DataReader = {
  kind: "npz",
  extensions: [".npz"],
  match: (t) => (t.file && (t.file.ext === ".npz" || (!t.file.knownExtension && isZip(t.file.head))) ? ".npz file" : false),
  open: (t, c) => npzSource(t.path!, t.file!.sizeBytes, c.modelInputs, c.cap),
};

async function npzSource(p: string, sizeBytes: number, modelInputs: readonly ModelInput[], cap: number | undefined): Promise<DataSource> {
  const shown = display(p);
  const what = `"${shown}"`;
  if (modelInputs.length === 0) throw new UserError("model", "The model has no inputs to feed; choose a model that takes an input.");
  let bytes: Uint8Array | undefined = await readWhole(
    p,
    sizeBytes,
    shown,
    "for a single-input model save the array with numpy.save as a .npy file, which is read in ranges, or use ONNX test data sets split into several test_data_set_* folders",
  );
  const names = npzArrayNames(bytes, what);
  if (names.length === 0)
    throw new UserError("data", `${what} holds no arrays; save the data with numpy.savez(path, ${modelInputs[0].name}=array).`);
  // Which array feeds which input.
  const chosen = new Map<string, string>();
  if (modelInputs.length === 1 && !names.includes(modelInputs[0].name)) {
    if (names.length !== 1) {
      throw new UserError(
        "data",
        `${what} holds ${names.length} arrays (${nameList(names)}) and none is named after the model's input "${modelInputs[0].name}"; name the array "${modelInputs[0].name}" or save only one.`,
      );
    }
    chosen.set(modelInputs[0].name, names[0]);
  } else {
    const missing = modelInputs.filter((i) => !names.includes(i.name)).map((i) => i.name);
    if (missing.length) {
      throw new UserError(
        "data",
        `${what} has no array for input${missing.length > 1 ? "s" : ""} ${nameList(missing)}; it holds ${nameList(names)}, and every model input needs an array of the same name, e.g. numpy.savez(path, ${modelInputs.map((i) => `${i.name}=...`).join(", ")}).`,
      );
    }
    for (const i of modelInputs) chosen.set(i.name, i.name);
  }
  const wanted = new Set(chosen.values());
  const arrays = parseNpz(bytes, what, (name) => wanted.has(name));
  bytes = undefined; // only the decoded arrays are kept
  const tensors = new Map<string, HostTensor>();
  const facts = new Map<string, DataSampleInfo>();
  let available: number | undefined;
  for (const [inputName, arrayName] of chosen) {
    const t = arrays.get(arrayName)!;
    if (t.dims.length === 0) {
      throw new UserError(
        "data",
        `Array "${arrayName}" in ${what} holds a single value (a 0-d array), not samples; save an array whose first axis holds the samples.`,
      );
    }
    if (available !== undefined && t.dims[0] !== available) {
      const counts = [...chosen.values()].map((a) => `${a}: ${arrays.get(a)!.dims[0]}`).join(", ");
      throw new UserError(
        "data",
        `The arrays in ${what} hold different numbers of samples (${counts}); every array needs the same length along its first axis.`,
      );
    }
    available = t.dims[0];
    tensors.set(inputName, t);
    facts.set(inputName, { dims: t.dims.slice(1), dtype: t.dtype, count: t.dims[0] });
  }
  if (!available)
    throw new UserError(
      "data",
      `${what} holds no samples (the first axis of its arrays has length 0); save arrays with at least one sample.`,
    );
  const count = Math.min(available, cap ?? Infinity);
  const ignored = names.filter((n) => !wanted.has(n));
  const info: DataInfo = {
    kind: "npz",
    sampleCount: count,
    inputs: facts,
    description: `${shown}: ${samplesWord(count)}${capNote(available, cap)}; ${describeArrays([...facts])}`,
  };
  let feeds: readonly ResolvedInput[] = [];
  return {
    info,
    async open(inputs) {
      const opened = checkOpened(info, inputs);
      feeds = inputs;
      if (ignored.length)
        opened.notes.push(
          `${shown}: array${ignored.length > 1 ? "s" : ""} ${nameList(ignored)} match${ignored.length > 1 ? "" : "es"} no model input and ${ignored.length > 1 ? "are" : "is"} ignored.`,
        );
      if (modelInputs.length === 1 && chosen.get(modelInputs[0].name) !== modelInputs[0].name) {
        opened.notes.push(`${shown}: its only array "${chosen.get(modelInputs[0].name)}" feeds input "${modelInputs[0].name}".`);
      }
      return { ...opened, description: `${shown} decoded in memory` };
    },
    async read(start, n) {
      checkRange(info, start, n);
      const out: Record<string, HostTensor> = {};
      for (const r of feeds)
        out[r.name] = castTensor(sliceSamples(tensors.get(r.name)!, start, n), r.dtype, `Array "${chosen.get(r.name)}" in ${what}`);
      return out;
    },
    async close() {
      tensors.clear();
    },
  };
}
