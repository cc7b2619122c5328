/**
 * Messages between a host (the extension host or the CLI) and the inference worker thread.
 * Requests carry an `id`; every event about a request repeats it.
 */
import type { UserErrorKind } from "../core/errors";
import type { ModelOverview } from "../core/inspect/overview";
import type { Shard } from "../core/inputs/shard";
import type { Report, Thresholds } from "../core/report";

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
  /** Run only shard index/count of the samples (k mod count = index); see core/inputs/shard.ts. */
  shard?: Shard;
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
}

/** Host → worker. */
export type HostToWorker =
  | { type: "inspect"; id: number; request: InspectRequest }
  | { type: "describeModel"; id: number; modelPath: string; slopeFraction?: number }
  | { type: "cancel"; id: number };

/** Worker → host. */
export type WorkerToHost =
  | { type: "progressed"; id: number; progress: Progress }
  | { type: "logged"; id: number; line: string }
  | { type: "inspected"; id: number; report: Report }
  | { type: "described"; id: number; overview: ModelOverview }
  | { type: "failed"; id: number; error: ErrorInfo };
