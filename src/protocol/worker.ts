/**
 * Messages between a host (the extension host or the CLI) and the inference process (a child process,
 * src/runtime/worker.ts). One request/reply protocol (src/protocol/rpc.ts): to add a method, add it to
 * WorkerMethods and its parameter schema to workerParams; the compiler then asks for its handler in
 * src/runtime/worker.ts and the client calls it with `rpc.request("name", params)`.
 */
import { USER_ERROR_KINDS, type ShapeNeeded, type UserErrorKind } from "../core/errors";
import type { ModelOverview } from "../core/inspect/overview";
import type { Report, Thresholds } from "../core/report";
import type { ParamSchemas, RpcCancel, RpcEvent, RpcReply, RpcRequest } from "./rpc";
import { s, type Schema } from "./schema";

/** What to inspect and how; every field but modelPath is optional. */
export interface InspectRequest {
  modelPath: string;
  /** File or folder with data; absent means seeded random data. */
  dataPath?: string;
  /** Random data distribution when no data path is given. */
  random?: "normal" | "uniform";
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

/** The inference process's methods: parameters, result and the events sent while one runs. */
export interface WorkerMethods {
  /** Runs an inspection; inspections run one after another. */
  inspect: { params: { request: InspectRequest }; result: Report; events: { progressed: Progress; logged: string } };
  /** Reads a model's stored BN parameters without running it. */
  describeModel: { params: { modelPath: string; slopeFraction?: number; thresholds?: Partial<Thresholds> }; result: ModelOverview };
}

const modes = ["exact", "fast", "auto"] as const;
// Types only: the engine checks ranges itself and answers with the sentence the user reads.
const num = s.anyNumber();
// Settings may give one half of a pair; the engine's withDefaults fills the other (as Partial<Thresholds> is used today).
const level = s.object({ warning: s.optional(num), error: s.optional(num) }) as Schema<{ warning: number; error: number }>;
const thresholdsSchema: Schema<Partial<Thresholds>> = s.object({
  slopeFraction: s.optional(num),
  meanShift: s.optional(level),
  varianceRatio: s.optional(level),
  saturation: s.optional(level),
  rectifierOff: s.optional(s.object({ warning: num })),
  deadGamma: s.optional(num),
  deadRunningVar: s.optional(num),
  minCount: s.optional(num),
});
const inspectRequest: Schema<InspectRequest> = s.object({
  modelPath: s.string(1),
  dataPath: s.optional(s.string(1)),
  random: s.optional(s.literal("normal", "uniform")),
  samples: s.optional(num),
  batchSize: s.optional(num),
  seed: s.optional(num),
  inputShapes: s.optional(s.array(s.string())),
  imageMean: s.optional(s.array(num)),
  imageStd: s.optional(s.array(num)),
  bgr: s.optional(s.boolean()),
  thresholds: s.optional(thresholdsSchema),

  mode: s.optional(s.literal(...modes)),
  autoExactLimitS: s.optional(num),
  executionProviders: s.optional(s.array(s.string(1))),
  intraOpNumThreads: s.optional(num),
});

/** Parameter schemas the inference process checks every request against. */
export const workerParams: ParamSchemas<WorkerMethods> = {
  inspect: s.object({ request: inspectRequest }),
  describeModel: s.object({ modelPath: s.string(1), slopeFraction: s.optional(num), thresholds: s.optional(thresholdsSchema) }),
};

/** The schema of a failure the inference process reports. */
export const errorInfoSchema: Schema<ErrorInfo> = s.object({
  kind: s.literal(...USER_ERROR_KINDS, "bug"),
  message: s.string(),
  detail: s.optional(s.string()),
  shapeNeeded: s.optional(s.object({ input: s.string(1), suggestion: s.string(1) })),
});

/** Host → inference process. */
export type HostToWorker = RpcRequest<WorkerMethods> | RpcCancel;

/** Inference process → host. */
export type WorkerToHost = RpcReply<WorkerMethods, ErrorInfo> | RpcEvent<WorkerMethods>;
