/**
 * Messages between the extension host and the BN Lens webview (panel and .onnx custom editor).
 * Only summaries and histograms cross: the overview of every layer at once, a layer's per-channel detail
 * on request (paged by layer). Requests are verbNoun, events nounPastTense. Requests go through the one
 * request/reply layer (src/protocol/rpc.ts): to add one, add it to WebviewMethods and its parameter schema
 * to webviewParams; the compiler then asks for its handler in src/extension/webviewHandlers.ts, and the
 * webview calls it with `requests.request("name", params)`. Notifications (no reply) are listed in
 * webviewNotifications with their schema.
 */
import type { ComparisonReport } from "../core/compare/comparisonReport";
import type { ModelOverview } from "../core/inspect/overview";
import type { BeforeAfter } from "../core/recalibrate/beforeAfter";
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
import { isRequestType, parseRequest, type ParamSchemas, type RpcCancel, type RpcReply, type RpcRequest } from "./rpc";
import { parse, s, type Infer, type Schema } from "./schema";
import type { Progress } from "./worker";

/** A layer-level histogram: bucket counts from bucket `first` (see HistogramScheme). */
export interface LayerHistogram {
  first: number;
  counts: number[];
}

/** One row of the overview: everything the table and its sparklines need, no per-channel arrays. */
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
}

/** The report without per-channel arrays: what the overview shows. */
export interface ReportOverview {
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
}

/** A recalibration's before/after as the panel shows it (built by core's beforeAfter). */
export type RecalibrationView = BeforeAfter;

const nullable =
  <T>(schema: Schema<T>): Schema<T | null> =>
  (v) =>
    v === null ? null : schema(v);
const buckets = s.object({ first: s.int(), counts: s.array(s.number()) });
const side = s.object({
  worstZ: nullable(s.anyNumber()),
  worstVarRatio: nullable(s.anyNumber()),
  flatShare: nullable(s.number()),
  deadChannels: s.int(),
  warnings: s.array(s.string()),
});
const warningCounts = s.object({ stale: s.int(), all: s.int() });

/** Checks a before/after read back from the extension's storage (a window reload restores it with its report). */
export const recalibrationViewSchema: Schema<RecalibrationView> = s.object({
  original: s.string(),
  out: s.string(),
  data: s.string(),
  samples: s.int(),
  passes: s.int(),
  converged: s.boolean(),
  method: s.literal("one-batch solve", "passes"),
  blend: s.number(),
  tolerance: s.object({ z: s.number(), varRatio: s.number() }),
  recalibratedLayers: s.int(),
  warnings: s.object({ before: warningCounts, after: warningCounts }),
  outputs: s.array(
    s.object({ output: s.string(), values: s.int(), meanAbsChange: s.anyNumber(), relativeL2Change: nullable(s.anyNumber()) }),
  ),
  notes: s.array(s.string()),
  layers: s.array(
    s.object({
      index: s.int(),
      node: s.string(),
      channels: s.int(),
      recalibrated: s.boolean(),
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
  /** One layer's full per-channel report (the overview carries no per-channel arrays). */
  getLayer: { params: { kind: LayerKind; index: number }; result: GetLayerResult };
}

const layerKind = s.literal("bn", "activation");

/** Parameter schemas the host checks every webview request against. */
export const webviewParams: ParamSchemas<WebviewMethods> = {
  getLayer: s.object({ kind: layerKind, index: s.int() }),
};

/** Webview → host notifications (no reply), each with its schema. */
export const webviewNotifications = {
  webviewReady: s.object({}),
  runInspection: s.object({ withData: s.boolean() }),
  /** Repeat the last run (same data, same preprocessing). */
  rerunInspection: s.object({}),
  cancelRun: s.object({}),
  exportReport: s.object({}),
  revealNode: s.object({ node: s.string(1, 4095) }),
  overviewRendered: s.object({ rows: s.int(), firstPaintMs: s.number() }),
  layerOpened: s.object({ kind: layerKind, index: s.int() }),
  compareData: s.object({}),
  /** "Recalibrate BN statistics on data..." for this model (a stale-statistics finding's button). */
  recalibrateModel: s.object({}),
} satisfies Record<string, Schema<object>>;

type Notifications = typeof webviewNotifications;
/** A notification from the webview. */
export type WebviewNotification = { [K in keyof Notifications]: { type: K } & Infer<Notifications[K]> }[keyof Notifications];

/** A reply to a webview request; the error is one sentence. */
export type WebviewReply = RpcReply<WebviewMethods, string>;

/** Host → webview events. */
export type HostToWebview =
  | { type: "modelDescribed"; overview: ModelOverview; trusted: boolean }
  | { type: "runStarted"; description: string }
  | { type: "runProgressed"; progress: Progress }
  | { type: "runFinished"; report: ReportOverview; restored: boolean }
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

/**
 * Checks a message from the webview before the host acts on it (the webview renders model-derived text,
 * so its messages are treated as untrusted). Returns undefined for anything malformed.
 */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const type = (raw as { type?: unknown }).type;
  if (isRequestType(webviewParams, type)) return parseRequest(webviewParams, raw);
  if (typeof type !== "string" || !Object.prototype.hasOwnProperty.call(webviewNotifications, type)) return undefined;
  const body = parse(webviewNotifications[type as keyof Notifications] as Schema<object>, raw);
  return body ? ({ ...body, type } as WebviewNotification) : undefined;
}

/** Compile-time check that core's overview builder produces exactly the protocol's shape. */
export type _CheckOverview = ReturnType<typeof import("../core/inspect/panelData").reportOverview> extends ReportOverview ? true : never;
