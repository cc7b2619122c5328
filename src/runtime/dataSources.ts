// The data entry point: finds which reader reads --data (each format is a module in src/runtime/data/ with
// `match` and `open`, tried in turn), resolves the model's input shapes against what the data gives, and opens
// the source with the resolved shapes; the engine then reads one batch at a time. No source holds more than the
// current batch (and, for .npz and ONNX test data, the decoded file it reads from).
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { UserError } from "../core/errors";
import { resolveInputs, type ResolvedInput } from "../core/inputs/shapes";
import type { ModelInput } from "../core/onnx/model";
import type { DataOptions, DataReader, DataSource, DataTarget, OpenedData } from "./data/dataSource";
import { display, fsCall, readHead } from "./data/files";
import { imageReader } from "./data/imageReader";
import { npyReader } from "./data/npyReader";
import { npzReader } from "./data/npzReader";
import { randomReader } from "./data/randomReader";
import { testDataReader } from "./data/testDataReader";

export type { DataInfo, DataKind, DataOptions, DataSource, OpenedData } from "./data/dataSource";
export { naturalSort, WHOLE_FILE_LIMIT_BYTES } from "./data/files";
export { DEFAULT_RANDOM_SAMPLES } from "./data/randomReader";

/** Every reader, in the order they are tried (a new format is one module and one line here). */
export const DATA_READERS: readonly DataReader[] = [randomReader, npyReader, npzReader, testDataReader, imageReader];

/** Finds and checks the data (without reading samples) and returns a source to open and read. */
export async function probeData(options: DataOptions, modelInputs: readonly ModelInput[]): Promise<DataSource> {
  const cap = checkSamples(options.samples);
  const context = { options, modelInputs, cap };
  const p = options.path === "" ? undefined : options.path;
  const target: DataTarget = { path: p };
  if (p !== undefined) {
    const stat = await fsCall(() => fs.stat(p), p);
    if (stat.isDirectory()) {
      const entries = await fsCall(() => fs.readdir(p, { withFileTypes: true }), p);
      const files = entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith(".")).map((e) => e.name);
      target.folder = { entries, files };
    } else {
      const ext = path.extname(p).toLowerCase();
      const knownExtension = DATA_READERS.some((r) => r.extensions.includes(ext));
      // Only a file no reader claims by name is sniffed.
      target.file = { sizeBytes: stat.size, ext, knownExtension, head: knownExtension ? new Uint8Array(0) : await readHead(p, 8) };
    }
  }
  const found = DATA_READERS.map((reader) => ({ reader, what: reader.match(target) })).filter((f) => f.what !== false);
  if (target.folder && found.length > 1) {
    throw new UserError(
      "data",
      `Folder "${display(p!)}" holds both ${found[0].what} and ${found[1].what}; point --data at a folder with only one kind.`,
    );
  }
  if (found.length > 0) return found[0].reader.open(target, context);
  if (target.folder) throw folderError(p!, target.folder.entries.length, target.folder.files);
  throw new UserError(
    "data",
    `"${display(p!)}" is not a data file BN Lens reads; give a .npy, .npz or ONNX TensorProto .pb file, a .jpg or .png image, or a folder of images or of test_data_set_* folders.`,
  );
}

/** Why no reader reads a folder, in one sentence. */
function folderError(dir: string, entryCount: number, files: string[]): UserError {
  const shown = display(dir);
  if (entryCount === 0) {
    return new UserError(
      "data",
      `Folder "${shown}" is empty; put .jpg or .png images or test_data_set_* folders in it, or point --data at a data file.`,
    );
  }
  if (files.some((f) => /\.np[yz]$/i.test(f))) {
    return new UserError(
      "data",
      `Folder "${shown}" holds .npy/.npz files but BN Lens reads one such file, not a folder of them; point --data at the file (samples along its first axis).`,
    );
  }
  return new UserError(
    "data",
    `Folder "${shown}" has no .jpg, .jpeg or .png images and no test_data_set_* folders (it holds ${entryCount} other entr${entryCount === 1 ? "y" : "ies"}); point --data at a folder of images or test data, or at a data file.`,
  );
}

/** Probes, resolves the model's input shapes against the data, and opens the source: everything before the first batch. */
export async function prepareData(
  options: DataOptions,
  modelInputs: readonly ModelInput[],
  shapes: { batchSize: number; inputShapes?: readonly string[] },
): Promise<{ source: DataSource; inputs: ResolvedInput[]; opened: OpenedData }> {
  const source = await probeData(options, modelInputs);
  try {
    const inputs = resolveInputs({
      inputs: modelInputs,
      overrides: shapes.inputShapes ?? [],
      batchSize: shapes.batchSize,
      data: source.info.inputs,
    });
    const opened = await source.open(inputs);
    return { source, inputs, opened };
  } catch (e) {
    await source.close();
    throw e;
  }
}

function checkSamples(samples: number | undefined): number | undefined {
  if (samples === undefined) return undefined;
  if (!Number.isSafeInteger(samples) || samples < 1) {
    throw new UserError("usage", `--samples must be a whole number of at least 1, not ${samples}.`);
  }
  return samples;
}
