// What every data reader is: a module with `match` (does it read this path?) and `open` (a streaming source
// for it), tried in turn by src/runtime/dataSources.ts, in the manner of netron's model factories.
import type { Dirent } from "node:fs";
import type { ImageNormalization } from "../../core/inputs/image";
import type { RandomSpec } from "../../core/inputs/random";
import type { DataSampleInfo, ResolvedInput } from "../../core/inputs/shapes";
import type { ModelInput } from "../../core/onnx/model";
import type { HostTensor } from "../../core/tensor";

/** What to read: a file or folder, or seeded random data when no path is given. */
export interface DataOptions {
  /** A .npy, .npz or .pb file, an image, a folder of images, or a folder of ONNX test data sets. */
  path?: string;
  /** Caps the number of samples read; random data makes this many (default 64). */
  samples?: number;
  /** Seed of random data (default 0). */
  seed?: number;
  random?: RandomSpec;
  /** Normalization of images (default: pixels as they are, RGB). */
  image?: Partial<ImageNormalization>;
  /** Images decoded at once while reading a batch (default 4). */
  imageConcurrency?: number;
}

/** The formats BN Lens reads. */
export type DataKind = "random" | "npy" | "npz" | "onnx-test-data" | "images";

/** What the data provides, known before the model's input shapes are resolved. */
export interface DataInfo {
  kind: DataKind;
  /** Samples that will be read (after the --samples cap). */
  sampleCount: number;
  /** Per-sample dims and dtype by model input name; empty for random data and images, which follow the model. */
  inputs: Map<string, DataSampleInfo>;
  /** One line for people, e.g. "data.npy: 1000 samples of 3x224x224 float32". */
  description: string;
}

/** What an opened source will feed. */
export interface OpenedData {
  /** One line for people about how samples are made, e.g. "resized to 320x240, RGB, (p - 127) / 128, NCHW". */
  description: string;
  /** Conversions and choices worth telling the user (dtype conversions, a guessed image layout, ignored arrays). */
  notes: string[];
}

/** One streaming reader, used the same way for every format; read() calls must not overlap. */
export interface DataSource {
  readonly info: DataInfo;
  /** Checks the data against the resolved inputs; must precede read(). */
  open(inputs: readonly ResolvedInput[]): Promise<OpenedData>;
  /** Samples [start, start + count) of every input, shaped [count, ...sampleDims], in the dtype each input takes. */
  read(start: number, count: number): Promise<Record<string, HostTensor>>;
  close(): Promise<void>;
}

/** What is known about the data path before a reader is chosen. */
export interface DataTarget {
  /** The path as given; undefined for seeded random data. */
  path?: string;
  /** A file: its size, lower-case extension, and (when no reader claims the extension) its first 8 bytes. */
  file?: { sizeBytes: number; ext: string; knownExtension: boolean; head: Uint8Array };
  /** A folder: its entries; `files` leaves out dot files ("._name.jpg" AppleDouble files look like images but are not). */
  folder?: { entries: Dirent[]; files: string[] };
}

/** What opening needs besides the target. */
export interface OpenContext {
  options: DataOptions;
  modelInputs: readonly ModelInput[];
  /** The --samples cap, if any. */
  cap: number | undefined;
}

/** One data format. */
export interface DataReader {
  readonly kind: DataKind;
  /** File extensions the format claims (lower case, with the dot). */
  readonly extensions: readonly string[];
  /** False when the reader does not read the target; otherwise a phrase naming what it found ("3 images"). */
  match(target: DataTarget): string | false;
  /** Checks the data (without reading samples) and returns a source to open and read. */
  open(target: DataTarget, context: OpenContext): Promise<DataSource>;
}
