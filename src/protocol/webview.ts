/**
 * Messages between the extension host and the BN Lens webview (panel and .onnx custom editor).
 * Only summaries and histograms cross: every layer's row at once (CompactReport), a layer's per-channel detail
 * on request (paged by layer). Requests are verbNoun, events nounPastTense. Requests go through the one
 * request/reply layer (src/protocol/rpc.ts): to add one, add it to WebviewMethods and its parameter schema
 * to webviewParams; the compiler then asks for its handler in src/extension/webviewHandlers.ts, and the
 * webview calls it with `requests.request("name", params)`. Notifications (no reply) are listed in
 * webviewNotifications with their schema.
 */
import type { ComparisonReport } from "../core/compare/comparisonReport";
import type { ModelDescription } from "../core/inspect/modelDescription";
import type { BeforeAfter } from "../core/recalibrate/beforeAfter";
import type { RowIntervals } from "../core/stats/channelIntervals";
import type {
  ActivationJson,
  ActivationLayerReport,
  HistogramScheme,
  LayerReport,
  LayerSummaryJson,
  Report,
  SaturationJson,
  Thresholds,
  WarningJson,
} from "../core/report";
import { isRequestType, readRequest, type ParamSchemas, type RpcCancel, type RpcReply, type RpcRequest } from "./rpc";
import {
  SchemaError,
  anyNumber,
  array,
  bool,
  describeValue,
  int,
  literal,
  nullable,
  num,
  string,
  struct,
  type Infer,
  type Schema,
} from "../core/schema";
import type { Progress } from "./worker";

/** A layer-level histogram: bucket counts from bucket `first` (see HistogramScheme). */
export interface LayerHistogram {
  first: number;
  counts: number[];
}

/** One row of the report view's layers table: everything the table and its sparklines need, no per-channel arrays. */
export interface LayerRow {
  kind: "bn" | "activation";
  index: number;
  node: string;
  /** The producing op for BN layers ("Conv"), the layer's own op for activation layers. */
  op: string;
  channels: number;
  activation: Pick<ActivationJson, "op" | "description" | "flatRegion">;
  /** Pre-BN (absent for activation layers) and post-BN / output histograms, all channels pooled. */
  pre?: LayerHistogram;
  post: LayerHistogram;
  /** Value range seen (for axis limits). */
  min: number | null;
  max: number | null;
  saturation: Pick<SaturationJson, "kind" | "layerFraction">;
  /** Flat share gamma and beta imply, mean over channels (BN layers with a flat region; else null). */
  expectedFlat: number | null;
  summary: LayerSummaryJson | null;
  warnings: WarningJson[];
  /** BN layers: the worst channels' confidence intervals and how many channels crossed or are undecided. */
  intervals?: RowIntervals;
}

/** The report without per-channel arrays: what the report view (webview/reportView.ts) shows. */
export interface CompactReport {
  /** When the report was made (ISO 8601); a restored report shows it. */
  createdAt: string;
  model: Report["model"];
  data: Report["data"];
  samples: number;
  run: Report["run"];
  thresholds: Thresholds;
  histogram: HistogramScheme;
  rows: LayerRow[];
  warnings: WarningJson[];
  summary: Report["summary"];
  batchStudy: Report["batchStudy"];
  /**
   * When this report is the check of a model BN Lens just recalibrated (the new model on the same data):
   * per layer before (the original model) and after, and the outputs' change. Absent for any other run.
   */
  recalibration?: RecalibrationView;
  /** Training-mode BN only: how much the outputs depend on which samples share a batch. */
  batchDependence: NonNullable<Report["batchDependence"]> | null;
}

/** A recalibration's before/after as the panel shows it (built by core's beforeAfter). */
export type RecalibrationView = BeforeAfter;

const buckets = struct({ first: int(), counts: array(num()) });
const side = struct({
  worstZ: nullable(anyNumber),
  worstVarRatio: nullable(anyNumber),
  flatShare: nullable(num()),
  deadChannels: int(),
  warnings: array(string()),
});
const warningCounts = struct({ stale: int(), all: int() });

/** Checks a before/after read back from the extension's storage (a window reload restores it with its report). */
export const recalibrationViewSchema: Schema<RecalibrationView> = struct({
  original: string(),
  out: string(),
  data: string(),
  samples: int(),
  passes: int(),
  converged: bool,
  method: literal("one-batch solve", "passes"),
  blend: num(),
  tolerance: struct({ z: num(), varRatio: num() }),
  recalibratedLayers: int(),
  warnings: struct({ before: warningCounts, after: warningCounts }),
  outputs: array(struct({ output: string(), values: int(), meanAbsChange: anyNumber, relativeL2Change: nullable(anyNumber) })),
  notes: array(string()),
  layers: array(
    struct({
      index: int(),
      node: string(),
      channels: int(),
      recalibrated: bool,
      before: side,
      after: side,
      postBefore: buckets,
      postAfter: buckets,
    }),
  ),
});

/** Which kind of layer a row is: a BN layer, or a Conv/Gemm/MatMul output when BN was fused away. */
export type LayerKind = "bn" | "activation";

/** The last run of a model, as "Re-run" repeats it. */
export interface RerunOffer {
  /** Whether that run fed the user's data (false: random data). */
  withData: boolean;
  /** What it ran on, e.g. "16 images in photos, (p − 127) / 128". */
  description: string;
}

/** What getLayer answers: one layer's full per-channel report. */
export type GetLayerResult = { kind: "bn"; layer: LayerReport } | { kind: "activation"; layer: ActivationLayerReport };

/** Requests from the webview: parameters and result. */
export interface WebviewMethods {
  /** One layer's full per-channel report (the compact report carries no per-channel arrays). */
  getLayer: { params: { kind: LayerKind; index: number }; result: GetLayerResult };
}

const layerKind = literal("bn", "activation");

/** Parameter schemas the host checks every webview request against. */
export const webviewParams: ParamSchemas<WebviewMethods> = {
  getLayer: struct({ kind: layerKind, index: int() }),
};

/** Webview → host notifications (no reply), each with its schema. */
export const webviewNotifications = {
  webviewReady: struct({}),
  runInspection: struct({ withData: bool }),
  /** Repeat the last run (same data, same preprocessing). */
  rerunInspection: struct({}),
  cancelRun: struct({}),
  exportReport: struct({}),
  revealNode: struct({ node: string(1, 4095) }),
  overviewRendered: struct({ rows: int(), firstPaintMs: num() }),
  layerOpened: struct({ kind: layerKind, index: int() }),
  compareData: struct({}),
  /** "Recalibrate BN statistics on data..." for this model (a stale-statistics finding's button). */
  recalibrateModel: struct({}),
} satisfies Record<string, Schema<object>>;

type Notifications = typeof webviewNotifications;
/** A notification from the webview. */
export type WebviewNotification = { [K in keyof Notifications]: { type: K } & Infer<Notifications[K]> }[keyof Notifications];

/** A reply to a webview request; the error is one sentence. */
export type WebviewReply = RpcReply<WebviewMethods, string>;

/** Host → webview events. */
export type HostToWebview =
  | { type: "modelDescribed"; overview: ModelDescription; trusted: boolean }
  /**
   * Layers of the next modelDescribed, sent ahead in parts when a model has many (src/extension/modelView.ts):
   * one message with the stored parameters of 10,000 BN layers held the extension host's thread 0.26 s.
   * That modelDescribed then has no layers.
   */
  | { type: "describedLayers"; layers: ModelDescription["layers"] }
  | { type: "runStarted"; description: string }
  | { type: "runProgressed"; progress: Progress }
  | { type: "runFinished"; report: CompactReport; restored: boolean }
  /**
   * Rows of the next runFinished, sent ahead in parts when a report has many (src/extension/modelView.ts): one
   * 15 MB message of 10,000 rows held the extension host's thread 0.35 s. That runFinished then has no rows.
   */
  | { type: "reportRows"; rows: LayerRow[] }
  | { type: "runFailed"; message: string; kind: string }
  | { type: "runCancelled" }
  | { type: "comparisonFinished"; comparison: ComparisonReport }
  | { type: "modelFailed"; message: string; /** The file's name, kept as the heading. */ name?: string }
  /** The host waits for the user to give a symbolic input dim (an input box is open). */
  | { type: "shapeAsked"; question: string }
  /** What "Re-run" would repeat for this model (null: nothing ran yet, the primary action runs on random data). */
  | { type: "rerunOffered"; rerun: RerunOffer | null }
  /** Open one layer's detail (a Problems entry or a command asked for it). */
  | { type: "layerRevealed"; kind: LayerKind; index: number }
  | WebviewReply;

/** Webview → host messages. */
export type WebviewToHost = WebviewNotification | RpcRequest<WebviewMethods> | RpcCancel;

const messageHead = struct({ type: string(1, 200) }, "a message object");

/**
 * Reads a message from the webview before the host acts on it (the webview renders model-derived text, so
 * its messages are treated as untrusted): the message with only the fields its type has. Throws SchemaError
 * naming the field that does not fit, or the type when it is not one.
 */
export function readWebviewMessage(raw: unknown): WebviewToHost {
  const { type } = messageHead(raw);
  if (isRequestType(webviewParams, type)) return readRequest(webviewParams, raw);
  if (!Object.prototype.hasOwnProperty.call(webviewNotifications, type)) {
    throw new SchemaError("type", "a BN Lens webview message type", describeValue(type));
  }
  const body = (webviewNotifications[type as keyof Notifications] as Schema<object>)(raw);
  return { ...body, type } as WebviewNotification;
}

/** The message if it is a valid one from the webview, else undefined (see readWebviewMessage). */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  try {
    return readWebviewMessage(raw);
  } catch (e) {
    if (e instanceof SchemaError) return undefined;
    throw e;
  }
}

/** Why a message from the webview is refused (the SchemaError's sentence), or undefined when it is valid. */
export function webviewMessageProblem(raw: unknown): string | undefined {
  try {
    readWebviewMessage(raw);
    return undefined;
  } catch (e) {
    if (e instanceof SchemaError) return e.message;
    throw e;
  }
}

/** Compile-time check that core's compactReport builder produces exactly the protocol's shape. */
export type _CheckCompactReport = ReturnType<typeof import("../core/inspect/panelData").compactReport> extends CompactReport ? true : never;
