// The host of the standalone HTML report (bundled into dist/standalone.js, inlined before dist/webview.js):
// it stands in for VS Code's acquireVsCodeApi, so the panel runs unchanged. The report is embedded in the
// page (gzip, base64); the panel's getLayer requests are answered from it here, "Export report…" saves it
// as JSON, and nothing leaves the page. A comparison (kind "bn-lens-comparison") is posted as
// comparisonFinished, as VS Code does after "Compare with Another Data Set..."; its layer details are in it.
import { gunzipSync, strFromU8 } from "fflate";
import { compactReport } from "../src/core/inspect/panelData";
import type { ComparisonReport } from "../src/core/compare/comparisonReport";
import type { Report } from "../src/core/report";
import { RECALIBRATION_KEY, REPORT_DATA_ID } from "../src/core/share/htmlReport";
import type { BeforeAfter } from "../src/core/recalibrate/beforeAfter";
import type { GetLayerResult, HostToWebview } from "../src/protocol/webview";

interface StandaloneApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

function readEmbedded(): Report | ComparisonReport {
  const el = document.getElementById(REPORT_DATA_ID);
  const text = atob((el?.textContent ?? "").trim());
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return JSON.parse(strFromU8(gunzipSync(bytes))) as Report | ComparisonReport;
}

function layerOf(report: Report, kind: unknown, index: unknown): GetLayerResult | undefined {
  if (kind === "bn") {
    const layer = report.layers.find((l) => l.index === index);
    return layer && { kind, layer };
  }
  if (kind === "activation") {
    const layer = report.activations.find((l) => l.index === index);
    return layer && { kind, layer };
  }
  return undefined;
}

function send(m: HostToWebview): void {
  // Asynchronous, as VS Code delivers messages.
  setTimeout(() => window.dispatchEvent(new MessageEvent("message", { data: m })), 0);
}

function download(report: Report): void {
  const blob = new Blob([JSON.stringify(report, null, 1)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${report.model.name.replace(/\.onnx$/i, "")}.bn-lens.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const embedded = readEmbedded();
const comparison = "kind" in embedded && embedded.kind === "bn-lens-comparison" ? embedded : null;
// A recalibrated model's report carries its before/after next to it; the report itself is what Export saves.
const { [RECALIBRATION_KEY]: recalibration, ...reportOnly } = embedded as Report & { [RECALIBRATION_KEY]?: BeforeAfter };
const report = comparison ? null : (reportOnly as Report);
let state: unknown;
const api: StandaloneApi = {
  postMessage(raw) {
    if (typeof raw !== "object" || raw === null) return;
    const m = raw as { type?: unknown; requestId?: unknown; kind?: unknown; index?: unknown };
    if (m.type === "webviewReady") {
      if (comparison) send({ type: "comparisonFinished", comparison });
      else if (report)
        send({
          type: "runFinished",
          report: recalibration ? { ...compactReport(report), recalibration } : compactReport(report),
          restored: state !== undefined,
        });
    } else if (m.type === "getLayer" && typeof m.requestId === "number") {
      const result = report ? layerOf(report, m.kind, m.index) : undefined;
      send(
        result
          ? { type: "replied", requestId: m.requestId, method: "getLayer", result }
          : { type: "replied", requestId: m.requestId, method: "getLayer", result: null, error: "The report has no such layer." },
      );
    } else if (m.type === "exportReport" && report) download(report);
    // runInspection, cancelRun, revealNode: there is no model to run or show here (their buttons are hidden).
  },
  getState: () => state,
  setState(s) {
    state = s;
  },
};
document.body.classList.add("standalone", matchMedia("(prefers-color-scheme: light)").matches ? "vscode-light" : "vscode-dark");
// The panel redraws its charts when the body's theme class changes (webview/theme.ts).
matchMedia("(prefers-color-scheme: light)").addEventListener("change", (e) => {
  document.body.classList.toggle("vscode-light", e.matches);
  document.body.classList.toggle("vscode-dark", !e.matches);
});
document.getElementById("static-summary")?.setAttribute("hidden", "");
(globalThis as unknown as { acquireVsCodeApi: () => StandaloneApi }).acquireVsCodeApi = () => api;
