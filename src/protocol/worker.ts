/**
 * Messages between a host (the extension host or the CLI) and the inference process (a child process,
 * src/runtime/worker.ts). One request/reply protocol (src/protocol/rpc.ts): to add a method, add it to
 * WorkerMethods and its parameter schema to workerParams; the compiler then asks for its handler in
 * src/runtime/worker.ts and the client calls it with `rpc.request("name", params)`.
 */
import { USER_ERROR_KINDS, type ShapeNeeded, type UserErrorKind } from "../core/errors";
import type { ModelDescription } from "../core/inspect/modelDescription";
import type { RecalibrationJson } from "../core/recalibrate/recalibration";
import type { Shard } from "../core/inputs/shard";
import type { ActivationLayerReport, LayerReport, Report, Thresholds } from "../core/report";
import type { CompareThresholds, ComparisonReport } from "../core/compare/comparisonReport";
import { recalibrationViewSchema, type CompactReport, type LayerRow, type RecalibrationView } from "./webview";
import type { ParamSchemas, RpcCancel, RpcEvent, RpcReply, RpcRequest } from "./rpc";
import { anyNumber, array, bool, check, literal, nullable, optional, str, string, struct, int, type Schema } from "../core/schema";

/** What to inspect and how; every field but modelPath is optional. */
export interface InspectRequest {
  modelPath: string;
  /** File or folder with data; absent means seeded random data. */
  dataPath?: string;
  /** Random data distribution when no data path is given. */
  random?: "normal" | "uniform";
  /**
   * The random inputs are the model's own input distribution (the demo model's statistics were calibrated on
   * them), so they count as data: the report's data kind is "random-domain" and every rule is judged.
   */
  randomIsDomain?: boolean;
  /** Training batch size to judge against the batch-size study (--train-batch, bnLens.trainBatchSize). */
  trainBatch?: number;
  /** Cap on the number of samples (random data: the number generated). */
  samples?: number;
  batchSize?: number;
  seed?: number;
  /** "NAME:D0xD1x..." strings fixing symbolic dims. */
  inputShapes?: string[];
  /** Image preprocessing, in pixel units. */
  imageMean?: number[];
  imageStd?: number[];
  bgr?: boolean;
  thresholds?: Partial<Thresholds>;
  /**
   * "exact": every value, float64; "fast": a systematic spatial sample (exact extremes); "auto" (default):
   * exact unless measuring every value would take longer than AUTO_EXACT_LIMIT_S, then fast.
   */
  mode?: "exact" | "fast" | "auto";
  /** Auto mode's limit in seconds (default AUTO_EXACT_LIMIT_S in src/runtime/engine.ts). */
  autoExactLimitS?: number;
  executionProviders?: string[];
  intraOpNumThreads?: number;
  /** Run only shard index/count of the samples (k mod count = index); see core/inputs/shard.ts. */
  shard?: Shard;
}

/** What to recalibrate: an inspection's data and shape options plus where and how to write the new model. */
export interface RecalibrateRequest extends InspectRequest {
  /** The new model; default `<name>.recalibrated.onnx` next to the model. */
  outPath?: string;
  /** Replace an existing output file. */
  force?: boolean;
  /** BN layer names or globs to recalibrate; all when absent. */
  layers?: string[];
  /** new = blend * observed + (1 - blend) * stored; default 1. */
  blend?: number;
  /** Write BN layers exported in training mode in inference mode. */
  toInference?: boolean;
  /** Measurement passes at most (default: enough for the model's BN depth). */
  maxPasses?: number;
  /** Fewest values per channel to accept (default DEFAULT_MIN_COUNT). */
  minCount?: number;
}

/** Where a run is. */
export interface Progress {
  phase: "loading" | "running" | "finishing";
  samplesDone: number;
  samplesTotal: number;
  elapsedMs: number;
  message: string;
}

/** A failure as the worker reports it: a user error (one sentence) or a bug. */
export interface ErrorInfo {
  kind: UserErrorKind | "bug";
  message: string;
  detail?: string;
  /** The run needs a shape for this input: the editor asks for it and retries (decided on this, never on the text). */
  shapeNeeded?: ShapeNeeded;
}

/** A report the inference process keeps (src/runtime/heldReports.ts): its id and what the panel shows first. */
export interface HeldReport {
  id: number;
  compact: CompactReport;
}

/** How a held report first crosses: the compact report without its rows, and how many rows it has. */
export interface HeldReportHead {
  id: number;
  compact: CompactReport;
  rows: number;
}

/** A held report without its layers, and how many of each kind it has (the host asks for them in pages). */
export interface ReportHead {
  report: Report;
  layers: number;
  activations: number;
}

// A null result is the protocol's mark of an error (src/protocol/rpc.ts): no method answers null itself.
/** The inference process's methods: parameters, result and the events sent while one runs. */
export interface WorkerMethods {
  /** Runs an inspection; inspections run one after another. */
  inspect: { params: { request: InspectRequest }; result: Report; events: { progressed: Progress; logged: string } };
  /** Runs an inspection and keeps its report here; the host gets its id and compact report. */
  inspectHeld: { params: { request: InspectRequest }; result: HeldReportHead; events: { progressed: Progress; logged: string } };
  /** Rows from..from+count of a held report's compact report. */
  compactRows: { params: { id: number; from: number; count: number }; result: LayerRow[] };
  /** A held report without its layers. */
  reportHead: { params: { id: number }; result: ReportHead };
  /** BN layers from..from+count of a held report. */
  reportLayers: { params: { id: number; from: number; count: number }; result: LayerReport[] };
  /** Activation layers from..from+count of a held report. */
  reportActivations: { params: { id: number; from: number; count: number }; result: ActivationLayerReport[] };
  /** One layer of a held report by its index (the panel's layer detail). */
  reportLayer: {
    params: { id: number; kind: "bn" | "activation"; index: number };
    result: { kind: "bn"; layer: LayerReport } | { kind: "activation"; layer: ActivationLayerReport };
  };
  /** Writes the saved copy of a held report (`{ model, report }`, with a recalibration's before/after) atomically. */
  saveHeld: { params: { id: number; path: string; model: string; recalibration?: RecalibrationView }; result: true };
  /**
   * Writes a held report where the user chose, atomically: as the CLI's `--json` writes it, or as the
   * standalone HTML page built from the panel bundle in `extensionDir` (dist/, media/).
   */
  exportHeld: {
    params: { id: number; path: string; format: "json" | "html"; extensionDir?: string; recalibration?: RecalibrationView };
    result: true;
  };
  /** Holds a report the host already has (a recalibration's check, a report read through VS Code's file system). */
  holdReport: { params: { report: Report }; result: HeldReportHead };
  /** Reads and validates a report file (as `inspect --json` writes it) and holds it; errors name the file as `name`. */
  holdReportFile: { params: { path: string; name: string }; result: HeldReportHead };
  /** Compares held report B with held baseline A (src/core/compare/compareReports.ts). */
  compareHeld: {
    params: {
      a: number;
      b: number;
      names: [string, string];
      reportPaths: [string | null, string | null];
      thresholds?: Partial<CompareThresholds>;
    };
    result: ComparisonReport;
  };
  /** Reads and validates a saved copy and holds it; null when there is none or it is another model's. */
  restoreHeld: {
    params: { path: string; model: string };
    result: { held: HeldReportHead | null; recalibration?: RecalibrationView };
  };
  /** Forgets a held report. */
  releaseHeld: { params: { id: number }; result: true };
  /**
   * Reads a model's stored BN parameters without running it. The answer has no layers: they are kept here
   * under `id` and taken in pages ("describedLayers"; the stored parameters of 300 layers of 2,048 channels
   * in one message held the host's thread about a second). `channels` is each layer's channel count.
   */
  describeModel: {
    params: { modelPath: string; slopeFraction?: number; thresholds?: Partial<Thresholds> };
    result: { id: number; description: ModelDescription; channels: number[] };
  };
  /** Layers from..from+count of a description; the page that reaches the last layer forgets it. */
  describedLayers: { params: { id: number; from: number; count: number }; result: ModelDescription["layers"] };
  /** Re-estimates BN statistics and writes a new model; queued with inspections. */
  recalibrate: { params: { request: RecalibrateRequest }; result: RecalibrationJson; events: { progressed: Progress; logged: string } };
}

const modes = ["exact", "fast", "auto"] as const;
// Types only: the engine checks ranges itself and answers with the sentence the user reads.
// Settings may give one half of a pair; the engine's withDefaults fills the other (as Partial<Thresholds> is used today).
const level = struct({ warning: optional(anyNumber), error: optional(anyNumber) }) as Schema<{ warning: number; error: number }>;
const thresholdsSchema: Schema<Partial<Thresholds>> = struct({
  slopeFraction: optional(anyNumber),
  meanShift: optional(level),
  varianceRatio: optional(level),
  saturation: optional(level),
  rectifierOff: optional(struct({ warning: anyNumber })),
  deadGamma: optional(anyNumber),
  deadRunningVar: optional(anyNumber),
  minCount: optional(anyNumber),
  confidence: optional(anyNumber),
  batchTolerance: optional(anyNumber),
});
const inspectFields = {
  modelPath: string(1),
  dataPath: optional(string(1)),
  random: optional(literal("normal", "uniform")),
  randomIsDomain: optional(bool),
  trainBatch: optional(anyNumber),
  samples: optional(anyNumber),
  batchSize: optional(anyNumber),
  seed: optional(anyNumber),
  inputShapes: optional(array(str)),
  imageMean: optional(array(anyNumber)),
  imageStd: optional(array(anyNumber)),
  bgr: optional(bool),
  thresholds: optional(thresholdsSchema),
  mode: optional(literal(...modes)),
  autoExactLimitS: optional(anyNumber),
  executionProviders: optional(array(string(1))),
  intraOpNumThreads: optional(anyNumber),
  shard: optional(struct({ index: int(), count: int() })),
};
const inspectRequest: Schema<InspectRequest> = struct(inspectFields);
const recalibrateRequest: Schema<RecalibrateRequest> = struct({
  ...inspectFields,
  outPath: optional(string(1)),
  force: optional(bool),
  layers: optional(array(string(1))),
  blend: optional(anyNumber),
  toInference: optional(bool),
  maxPasses: optional(anyNumber),
  minCount: optional(anyNumber),
});

/** Parameter schemas the inference process checks every request against. */
export const workerParams: ParamSchemas<WorkerMethods> = {
  inspect: struct({ request: inspectRequest }),
  inspectHeld: struct({ request: inspectRequest }),
  reportHead: struct({ id: int() }),
  compactRows: struct({ id: int(), from: int(), count: int() }),
  reportLayers: struct({ id: int(), from: int(), count: int() }),
  reportActivations: struct({ id: int(), from: int(), count: int() }),
  reportLayer: struct({ id: int(), kind: literal("bn", "activation"), index: int() }),
  saveHeld: struct({ id: int(), path: string(1), model: string(1), recalibration: optional(recalibrationViewSchema) }),
  exportHeld: struct({
    id: int(),
    path: string(1),
    format: literal("json", "html"),
    extensionDir: optional(string(1)),
    recalibration: optional(recalibrationViewSchema),
  }),
  // The inference process validates the report itself (checkReport) before holding it.
  holdReport: struct({ report: check("a BN Lens report", () => undefined) as Schema<Report> }),
  holdReportFile: struct({ path: string(1), name: string(1) }),
  compareHeld: struct({
    a: int(),
    b: int(),
    names: array(str, 2) as Schema<[string, string]>,
    reportPaths: array(nullable(str), 2) as Schema<[string | null, string | null]>,
    thresholds: optional(
      struct({ jsDistance: level, noiseFactor: anyNumber, flatShareChange: level }) as Schema<Partial<CompareThresholds>>,
    ),
  }),
  restoreHeld: struct({ path: string(1), model: string(1) }),
  releaseHeld: struct({ id: int() }),
  describeModel: struct({ modelPath: string(1), slopeFraction: optional(anyNumber), thresholds: optional(thresholdsSchema) }),
  describedLayers: struct({ id: int(), from: int(), count: int() }),
  recalibrate: struct({ request: recalibrateRequest }),
};

/** The schema of a failure the inference process reports. */
export const errorInfoSchema: Schema<ErrorInfo> = struct({
  kind: literal(...USER_ERROR_KINDS, "bug"),
  message: str,
  detail: optional(str),
  shapeNeeded: optional(struct({ input: string(1), suggestion: string(1) })),
});

/** Host → inference process. */
export type HostToWorker = RpcRequest<WorkerMethods> | RpcCancel;

/** Inference process → host. */
export type WorkerToHost = RpcReply<WorkerMethods, ErrorInfo> | RpcEvent<WorkerMethods>;
