/**
 * Messages between the extension host and the BN Lens webview (panel and .onnx custom editor).
 * Only summaries and histograms cross: the overview of every layer at once, a layer's per-channel detail
 * on request (paged by layer). Requests are verbNoun, events nounPastTense; requests carry a requestId
 * and get exactly one `replied` event back.
 */
import type { ModelOverview } from "../core/inspect/overview";
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
}

/** Host → webview events. */
export type HostToWebview =
  | { type: "modelDescribed"; overview: ModelOverview; trusted: boolean }
  | { type: "runStarted"; description: string }
  | { type: "runProgressed"; progress: Progress }
  | { type: "runFinished"; report: ReportOverview; restored: boolean }
  | { type: "runFailed"; message: string; kind: string }
  | { type: "runCancelled" }
  | { type: "modelFailed"; message: string; /** The file's name, kept as the heading. */ name?: string }
  /** The host waits for the user to give a symbolic input dim (an input box is open). */
  | { type: "shapeAsked"; question: string }
  /** What "Re-run" would repeat for this model (null: nothing ran yet, the primary action runs on random data). */
  | { type: "rerunOffered"; rerun: RerunOffer | null }
  /** Open one layer's detail (a Problems entry or a command asked for it). */
  | { type: "layerRevealed"; kind: "bn" | "activation"; index: number }
  | { type: "replied"; requestId: number; result: GetLayerResult | null; error?: string };

/** The last run of a model, as "Re-run" repeats it. */
export interface RerunOffer {
  /** Whether that run fed the user's data (false: random data). */
  withData: boolean;
  /** What it ran on, e.g. "16 images in photos, (p − 127) / 128". */
  description: string;
}

/** What getLayer answers: one layer's full per-channel report. */
export type GetLayerResult = { kind: "bn"; layer: LayerReport } | { kind: "activation"; layer: ActivationLayerReport };

/** Webview → host messages. */
export type WebviewToHost =
  | { type: "webviewReady" }
  | { type: "runInspection"; withData: boolean }
  /** Repeat the last run (same data, same preprocessing). */
  | { type: "rerunInspection" }
  | { type: "cancelRun" }
  | { type: "exportReport" }
  | { type: "revealNode"; node: string }
  | { type: "getLayer"; requestId: number; kind: "bn" | "activation"; index: number }
  | { type: "overviewRendered"; rows: number; firstPaintMs: number }
  | { type: "layerOpened"; kind: "bn" | "activation"; index: number };

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isKind = (v: unknown): v is "bn" | "activation" => v === "bn" || v === "activation";

/**
 * Checks a message from the webview before the host acts on it (the webview renders model-derived text,
 * so its messages are treated as untrusted). Returns undefined for anything malformed.
 */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case "webviewReady":
    case "cancelRun":
    case "exportReport":
    case "rerunInspection":
      return { type: m.type };
    case "runInspection":
      return typeof m.withData === "boolean" ? { type: "runInspection", withData: m.withData } : undefined;
    case "revealNode":
      return typeof m.node === "string" && m.node.length > 0 && m.node.length < 4096 ? { type: "revealNode", node: m.node } : undefined;
    case "getLayer":
      return isInt(m.requestId) && isKind(m.kind) && isInt(m.index)
        ? { type: "getLayer", requestId: m.requestId, kind: m.kind, index: m.index }
        : undefined;
    case "overviewRendered":
      return isInt(m.rows) && typeof m.firstPaintMs === "number" && Number.isFinite(m.firstPaintMs)
        ? { type: "overviewRendered", rows: m.rows, firstPaintMs: m.firstPaintMs }
        : undefined;
    case "layerOpened":
      return isKind(m.kind) && isInt(m.index) ? { type: "layerOpened", kind: m.kind, index: m.index } : undefined;
    default:
      return undefined;
  }
}

/** Compile-time check that core's overview builder produces exactly the protocol's shape. */
export type _CheckOverview = ReturnType<typeof import("../core/inspect/panelData").reportOverview> extends ReportOverview ? true : never;
