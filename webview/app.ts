// The panel's states and views: model described (not run), running, finished (overview and detail),
// failed, cancelled, model unreadable. Host messages drive it; UI state persists through the Host wrapper.
import type { HostToWebview, LayerRow, RerunOffer, CompactReport } from "../src/protocol/webview";
import type { ModelDescription } from "../src/core/inspect/modelDescription";
import type { Progress } from "../src/protocol/worker";
import { BeforeAfterTable } from "./recalibrationView";
import { CompareView } from "./compareView";
import { DetailView } from "./detail";
import { h, replace } from "./dom";
import { count, duration, plural } from "./format";
import { ModelView } from "./modelView";
import { ReportView } from "./reportView";
import { RequestClient } from "./request";
import { rowKey } from "./rows";
import type { Host } from "./vscodeApi";

type Phase = "waiting" | "described" | "asking" | "running" | "finished" | "failed" | "cancelled" | "modelFailed";

/** What to do after a failed run, by the kind of failure. */
const ADVICE: Record<string, string> = {
  data: "Check the data you picked (an image folder, .npy/.npz files or an ONNX test data set that matches the model's input), or run on random data to check the model itself.",
  model: "The model could not be run as it is: check that it loads in onnxruntime, or re-export it.",
  resource: "The run needed more memory or time than was available: try fewer samples or a smaller batch.",
  usage: "Check the settings of this run (input shapes, batch size, preprocessing).",
  cancelled: "The run was stopped before it finished.",
  untrusted: "Trust the workspace (Manage Workspace Trust) to run the model; until then BN Lens only shows what the file stores.",
  bug: "This is a bug in BN Lens, not a problem with your model. Please report it with the message above.",
};

const PHASE_WORDS: Record<Progress["phase"], string> = {
  loading: "Loading the model",
  running: "Running",
  finishing: "Computing statistics",
};

/** The per-sample shapes a run fed, where the model left dims open ("input 3 × 480 × 640"). */
export function fedShapes(r: Pick<CompactReport, "model">): string {
  const open = r.model.inputs.filter((i) => i.declared === null || i.declared.slice(1).some((d) => typeof d !== "number" || d <= 0));
  return open.map((i) => `${i.name} N × ${i.fed.join(" × ")}`).join(", ");
}

/** A report's creation time as the user's locale writes it. */
function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export class App {
  private phase: Phase = "waiting";
  private model: ModelDescription | null = null;
  private trusted = true;
  private report: CompactReport | null = null;
  /** Rows the host sent ahead of a large report's runFinished. */
  private rowsAhead: CompactReport["rows"] = [];
  private layersAhead: ModelDescription["layers"] = [];
  private runDescription = "";
  private progress: Progress | null = null;
  private failure: { message: string; kind: string } | null = null;
  private modelError = "";
  /** The file name of a model that could not be read (kept as the heading). */
  private modelName = "";
  /** A run tried on a model that could not be read, and why it failed too (when it said something new). */
  private runAfterModelError = "";
  private rerun: RerunOffer | null = null;
  private rerunFromHost = false;
  private restored = false;
  private question = "";
  /** A layer the host asked to show before its report arrived. */
  private pendingReveal: { kind: "bn" | "activation"; index: number } | null = null;
  private readonly requests: RequestClient;
  private readonly overview: ReportView;
  private detail: DetailView | null = null;
  private modelView: ModelView | null = null;
  private compare: CompareView | null = null;
  /** The page of every layer before → after a recalibration, and whether the open detail came from it. */
  private recal: BeforeAfterTable | null = null;
  private detailFromRecal = false;
  private readonly top = h("header", { class: "topbar" });
  private readonly status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  /** Holds the current view other than the overview. */
  private readonly other = h("div", { class: "view" });
  private readonly main = h("main", { class: "main" });
  private readonly shell = h("div", { class: "app" }, this.top, this.status, this.main);
  private bar: HTMLElement | null = null;
  private progressText: HTMLElement | null = null;

  constructor(
    root: HTMLElement,
    private readonly host: Host,
  ) {
    this.requests = new RequestClient((m) => host.post(m));
    this.overview = new ReportView({ host, open: (r) => this.openLayer(r), openRecalibration: () => this.openRecalibration() });
    // The overview stays in the DOM (hidden until a report arrives), so its components are rendered once,
    // at startup, not on the first report's paint.
    this.overview.element.hidden = true;
    replace(this.main, this.overview.element, this.other);
    replace(root, this.shell);
    this.render();
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || (!this.detail && !this.recal)) return;
      // Escape inside a drop-down closes the drop-down, not the detail view.
      if (e.composedPath().some((n) => n instanceof HTMLElement && n.tagName === "VSCODE-SINGLE-SELECT")) return;
      e.preventDefault();
      if (this.detail) this.closeDetail();
      else this.closeRecalibration();
    });
  }

  /** Handles one message from the host. */
  receive(m: HostToWebview): void {
    switch (m.type) {
      case "describedLayers":
        for (const layer of m.layers) this.layersAhead.push(layer);
        return;
      case "modelDescribed": {
        const ahead = this.layersAhead;
        this.layersAhead = [];
        this.model = ahead.length ? { ...m.overview, layers: ahead } : m.overview;
        this.trusted = m.trusted;
        // A report of another model no longer applies; a run, its failure or cancellation stays on screen.
        if (this.report && this.report.model.path !== m.overview.model.path) this.report = null;
        if (this.phase === "waiting" || this.phase === "modelFailed" || (this.phase === "finished" && !this.report))
          this.phase = "described";
        this.render();
        return;
      }
      case "comparisonFinished":
        this.closeCompare(false);
        this.closeDetail(false);
        this.compare = new CompareView(m.comparison, () => this.closeCompare());
        this.render();
        return;
      case "shapeAsked":
        this.phase = "asking";
        this.question = m.question;
        this.closeDetail(false);
        this.render();
        return;
      case "rerunOffered":
        this.rerun = m.rerun;
        this.rerunFromHost = true;
        this.renderTop();
        return;
      case "layerRevealed": {
        const row = this.report?.rows.find((r) => r.kind === m.kind && r.index === m.index);
        if (row && (this.phase === "finished" || this.phase === "cancelled" || this.phase === "failed")) {
          this.pendingReveal = null;
          this.openLayer(row);
        } else this.pendingReveal = { kind: m.kind, index: m.index };
        return;
      }
      case "runStarted":
        this.closeCompare(false);
        if (this.phase === "modelFailed" || (this.model === null && this.modelError)) {
          // A model that cannot be read keeps its heading and advice; the run shows as progress only.
          this.runAfterModelError = "";
        }
        this.phase = "running";
        this.runDescription = m.description;
        this.progress = null;
        this.failure = null;
        this.closeDetail(false);
        this.closeRecalibration(false);
        this.render();
        return;
      case "runProgressed":
        // Progress that arrives after the run ended (cancelled, failed) is stale.
        if (this.phase !== "running") return;
        this.progress = m.progress;
        this.renderProgress();
        return;
      case "reportRows":
        for (const row of m.rows) this.rowsAhead.push(row);
        return;
      case "runFinished": {
        const ahead = this.rowsAhead;
        this.rowsAhead = [];
        this.finished(ahead.length ? { ...m.report, rows: ahead } : m.report, m.restored, performance.now());
        return;
      }
      case "runFailed":
        if (this.model === null && this.modelError && !this.report) {
          // Running a model that could not be read fails for the same reason: keep the specific advice.
          this.phase = "modelFailed";
          this.runAfterModelError = m.message === this.modelError ? "" : m.message;
          this.render();
          return;
        }
        this.phase = "failed";
        this.failure = { message: m.message, kind: m.kind };
        this.render();
        return;
      case "runCancelled":
        this.phase = "cancelled";
        this.render();
        return;
      case "modelFailed":
        this.phase = "modelFailed";
        this.modelError = m.message;
        if (m.name) this.modelName = m.name;
        this.runAfterModelError = "";
        this.model = null;
        this.report = null;
        this.closeDetail(false);
        this.render();
        return;
      case "replied":
        this.requests.handleReply(m);
        return;
    }
  }

  /** A report arrived: draw the overview, report the first-paint time, then restore the detail view if asked. */
  private finished(report: CompactReport, restored: boolean, t0: number): void {
    const ui = this.host.ui;
    const restoreDetail =
      restored && ui.view === "detail" && ui.selected
        ? (report.rows.find((r) => r.kind === ui.selected!.kind && r.index === ui.selected!.index) ?? null)
        : null;
    this.requests.cancelAll("A new report replaced the one this layer belonged to.");
    this.closeDetail(false);
    this.closeRecalibration(false);
    this.report = report;
    this.restored = restored;
    this.phase = "finished";
    // Until the host says what Re-run repeats, the report's own data description stands in (its first clause).
    if (!this.rerunFromHost)
      this.rerun = report.data.kind.startsWith("random") ? null : { withData: true, description: report.data.description.split(";")[0] };
    const pending = this.pendingReveal;
    this.pendingReveal = null;
    const revealRow = pending ? (report.rows.find((r) => r.kind === pending.kind && r.index === pending.index) ?? null) : null;
    const openAfter = revealRow ?? restoreDetail;
    if (!openAfter) this.host.update({ view: "overview" });
    this.render();
    requestAnimationFrame(() => {
      // The frame after this callback is painted; a message-channel task runs right after it.
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        this.host.post({
          type: "overviewRendered",
          rows: report.rows.length,
          firstPaintMs: Math.round((performance.now() - t0) * 10) / 10,
        });
        if (openAfter && this.report === report) this.openLayer(openAfter);
      };
      ch.port2.postMessage(null);
    });
  }

  /** Redraws every chart (theme change). */
  redraw(): void {
    this.overview.redraw();
    this.detail?.redraw();
    this.modelView?.redraw();
    this.compare?.redraw();
  }

  private run(withData: boolean): void {
    this.host.update({ lastWithData: withData });
    this.host.post({ type: "runInspection", withData });
  }

  private render(): void {
    this.renderTop();
    this.renderStatus();
    this.renderMain();
  }

  private renderTop(): void {
    const r = this.report;
    // A comparison can arrive with no model described (the standalone HTML page of a comparison).
    const name =
      r?.model.name ??
      this.model?.model.name ??
      this.compare?.modelName ??
      (this.modelName || (this.phase === "modelFailed" ? "Model not readable" : "BN Lens"));
    let sub: (HTMLElement | string)[] = [];
    if (this.phase === "finished" && r) {
      const samples = r.data.description.includes(String(r.samples)) ? "" : ` · ${plural(r.samples, "sample")}`;
      // Fast mode samples: say which numbers come from the sample, so "max" is not read as the max of every value.
      const fast =
        r.run.precision.mode === "fast"
          ? ` · fast: histograms, saturation, min and max from a ${(r.run.precision.histogramSampling * 100).toFixed(1)}% spatial sample; mean and variance from every value`
          : "";
      const shapes = fedShapes(r);
      sub = [
        `${r.data.description}${samples}${shapes ? ` · ${shapes}` : ""} · ${duration(r.run.elapsedMs)}${r.run.runs > 1 ? ` · ${r.run.runs} runs merged` : ""}${fast}`,
        this.restored
          ? h(
              "span",
              {
                class: "restored-mark",
                "data-testid": "restored",
                title: "This report was saved by an earlier session and restored; run again to measure anew.",
              },
              `Restored · from ${when(r.createdAt)}`,
            )
          : null,
      ].filter((x): x is HTMLElement | string => x !== null);
    } else if (this.phase === "described") sub = ["Not run yet: showing what the model stores"];
    const canRun =
      this.trusted &&
      this.phase !== "running" &&
      this.phase !== "asking" &&
      this.phase !== "modelFailed" &&
      (this.model !== null || r !== null);
    const runTitle = this.trusted ? "" : "This workspace is untrusted: BN Lens does not run models here.";
    const rerun = this.rerun;
    const randomButton = (primary: boolean) =>
      h(
        "vscode-button",
        {
          "data-testid": "run-random",
          secondary: !primary,
          disabled: !canRun,
          title:
            runTitle ||
            "Feed seeded random inputs shaped like the model's inputs (checks the model itself; statistics will not match real data).",
          on: { click: () => this.run(false) },
        },
        r ? "Run again on random data" : "Run on random data",
      );
    const dataButton = (primary: boolean) =>
      h(
        "vscode-button",
        {
          "data-testid": "run-data",
          secondary: !primary,
          disabled: !canRun,
          title: runTitle || "Pick images, .npy/.npz files or an ONNX test data set to feed the model.",
          on: { click: () => this.run(true) },
        },
        rerun?.withData ? "Run on other data…" : "Run on data…",
      );
    const actions = h(
      "div",
      { class: "actions" },
      // After a run on data, repeating it is one click; otherwise choosing data comes first, random data second.
      rerun?.withData
        ? h(
            "vscode-button",
            {
              "data-testid": "rerun",
              class: "rerun",
              disabled: !canRun,
              title: runTitle || `Run again on the same data with the same preprocessing: ${rerun.description}`,
              on: { click: () => this.host.post({ type: "rerunInspection" }) },
            },
            h("span", { class: "rerun-label" }, `Re-run on ${rerun.description}`),
          )
        : null,
      rerun?.withData ? dataButton(false) : r && !rerun ? randomButton(true) : dataButton(true),
      rerun?.withData ? randomButton(false) : r && !rerun ? dataButton(false) : randomButton(false),
      r && this.phase === "finished"
        ? h(
            "vscode-button",
            {
              "data-testid": "export",
              secondary: true,
              title: "Save this report as JSON",
              on: { click: () => this.host.post({ type: "exportReport" }) },
            },
            "Export report…",
          )
        : null,
      r && this.phase === "finished" && this.trusted
        ? h(
            "vscode-button",
            {
              "data-testid": "compare-data",
              secondary: true,
              title: "Run the model on a second data set, or pick a saved report, and see where the activations shift",
              on: { click: () => this.host.post({ type: "compareData" }) },
            },
            "Compare with…",
          )
        : null,
    );
    replace(
      this.top,
      h(
        "div",
        { class: "title" },
        h("h1", { "data-testid": "title" }, h("span", { class: "brand" }, "BN Lens"), name ? " " : "", name),
        sub.length ? h("p", { class: "subtitle muted", "data-testid": "subtitle" }, ...sub) : null,
      ),
      this.phase === "modelFailed" ? null : actions,
    );
  }

  private renderStatus(): void {
    this.bar = null;
    this.progressText = null;
    const parts: HTMLElement[] = [];
    if (!this.trusted && this.phase !== "modelFailed") {
      parts.push(
        h(
          "div",
          { class: "notice sev-warning", "data-testid": "untrusted" },
          h("strong", null, "This workspace is untrusted. "),
          "BN Lens shows what the model file stores but does not run it, because running executes the model with onnxruntime. " +
            "Trust the workspace (Manage Workspace Trust) to measure it on data.",
        ),
      );
    }
    switch (this.phase) {
      case "waiting":
        if (!this.compare) parts.push(h("p", { class: "muted", "data-testid": "waiting" }, "Opening the model…"));
        break;
      case "asking":
        parts.push(
          h(
            "div",
            { class: "card asking", "data-testid": "shape-question" },
            h("h3", null, "BN Lens needs a shape before it can run"),
            h("p", { "data-testid": "shape-question-text" }, this.question),
            h("p", { class: "muted" }, "Type it in the box at the top of the window and press Enter (Escape stops here)."),
          ),
        );
        break;
      case "running": {
        this.bar = h("vscode-progress-bar", { "aria-label": "Inspection progress" });
        this.progressText = h("p", { class: "progress-text", "data-testid": "progress-text" });
        parts.push(
          h(
            "div",
            { class: "card running", "data-testid": "running" },
            h(
              "div",
              { class: "card-head" },
              h("h3", null, "Running the model"),
              h(
                "vscode-button",
                { secondary: true, "data-testid": "cancel", on: { click: () => this.host.post({ type: "cancelRun" }) } },
                "Cancel",
              ),
            ),
            this.runDescription ? h("p", null, this.runDescription) : null,
            this.bar,
            this.progressText,
          ),
        );
        this.renderProgress();
        break;
      }
      case "failed": {
        const f = this.failure!;
        const withData = this.host.ui.lastWithData;
        // Retrying cannot help when the model itself cannot run, in an untrusted workspace, or after a bug
        // nothing changed; other data (or random data) can help when the data was the problem.
        const retry = f.kind === "usage" || f.kind === "resource";
        const otherData = f.kind === "data";
        parts.push(
          h(
            "div",
            { class: "error-box", role: "alert", "data-testid": "error" },
            h("h3", null, "The run failed"),
            h("p", { class: "message", "data-testid": "error-message" }, f.message),
            h("p", { class: "advice" }, ADVICE[f.kind] ?? ADVICE.bug),
            h(
              "div",
              { class: "actions" },
              retry
                ? h(
                    "vscode-button",
                    { "data-testid": "retry", disabled: !this.trusted, on: { click: () => this.run(withData) } },
                    withData ? "Retry on data…" : "Retry on random data",
                  )
                : null,
              otherData
                ? h(
                    "vscode-button",
                    { "data-testid": "retry-other-data", disabled: !this.trusted, on: { click: () => this.run(true) } },
                    "Pick other data…",
                  )
                : null,
              otherData || (retry && withData)
                ? h(
                    "vscode-button",
                    { secondary: true, disabled: !this.trusted, on: { click: () => this.run(false) } },
                    "Run on random data instead",
                  )
                : null,
            ),
          ),
        );
        break;
      }
      case "cancelled":
        parts.push(
          h(
            "div",
            { class: "notice", "data-testid": "cancelled" },
            h("strong", null, "Run cancelled. "),
            this.report ? "Showing the previous results. " : "Nothing was measured; below is what the model stores. ",
            "Start a new run with the buttons above.",
          ),
        );
        break;
      case "modelFailed":
        parts.push(
          h(
            "div",
            { class: "error-box", role: "alert", "data-testid": "error" },
            h("h3", null, "BN Lens could not read this model"),
            h("p", { class: "message", "data-testid": "error-message" }, this.modelError),
            this.runAfterModelError
              ? h("p", { "data-testid": "run-error" }, `Running it failed as well: ${this.runAfterModelError}`)
              : null,
            h(
              "p",
              { class: "advice" },
              "Check that the file is a complete ONNX model (an interrupted download or a Git LFS pointer is not), and that any external data files sit next to it; then reopen it.",
            ),
          ),
        );
        break;
      default:
        break;
    }
    replace(this.status, ...parts);
  }

  private renderProgress(): void {
    const p = this.progress;
    if (!this.bar || !this.progressText) return;
    const bar = this.bar as HTMLElement & { value?: number; max: number; indeterminate: boolean };
    if (p && p.samplesTotal > 0 && p.phase === "running") {
      bar.max = p.samplesTotal;
      bar.value = p.samplesDone;
      bar.indeterminate = false;
    } else {
      bar.indeterminate = true;
    }
    const words = p ? (PHASE_WORDS[p.phase] ?? p.phase) : "Starting";
    const counts = p && p.samplesTotal > 0 ? `: ${count(p.samplesDone)} of ${plural(p.samplesTotal, "sample")}` : "";
    const time = p ? ` · ${duration(p.elapsedMs)}` : "";
    replace(this.progressText, `${words}${counts}${time}`, p?.message ? h("span", { class: "muted" }, ` — ${p.message}`) : null);
  }

  /** The overview scrolls inside its virtual list; every other view scrolls the page. */
  private setMain(el: HTMLElement | null): void {
    const overview = el === this.overview.element;
    this.shell.classList.toggle("page-scroll", !overview);
    this.overview.element.hidden = !overview;
    if (overview || !el) replace(this.other);
    else if (this.other.firstChild !== el || this.other.childNodes.length !== 1) replace(this.other, el);
  }

  private renderMain(): void {
    const showReport = this.report && (this.phase === "finished" || this.phase === "cancelled" || this.phase === "failed");
    this.modelView?.dispose();
    this.modelView = null;
    if (this.compare) {
      this.setMain(this.compare.element);
      return;
    }
    if (showReport) {
      if (this.detail) this.setMain(this.detail.element);
      else if (this.recal) this.setMain(this.recal.element);
      else {
        this.setMain(this.overview.element);
        this.overview.show(this.report!, true);
      }
      return;
    }
    if (this.model && this.phase !== "modelFailed") {
      this.modelView = new ModelView(this.model);
      this.setMain(this.modelView.element);
      return;
    }
    this.setMain(null);
  }

  /** Opens the page of every layer before → after (the report checks a recalibration). */
  private openRecalibration(): void {
    const v = this.report?.recalibration;
    if (!v) return;
    this.recal = new BeforeAfterTable(
      v,
      this.report!.rows,
      () => this.closeRecalibration(),
      (row) => this.openLayer(row, true),
    );
    this.setMain(this.recal.element);
    window.scrollTo(0, 0);
    this.main.scrollTop = 0;
    this.recal.element.querySelector<HTMLElement>("h2")?.focus({ preventScroll: true });
  }

  private closeRecalibration(show = true): void {
    if (!this.recal) return;
    this.recal = null;
    if (show && this.report) {
      this.setMain(this.overview.element);
      this.overview.show(this.report, true);
      this.overview.focus();
    }
  }

  private openLayer(row: LayerRow, fromRecal = false): void {
    const report = this.report;
    if (!report) return;
    this.detailFromRecal = fromRecal || (this.detail !== null && this.detailFromRecal);
    this.detail?.dispose();
    this.host.update({ view: "detail", selected: { kind: row.kind, index: row.index } });
    this.host.post({ type: "layerOpened", kind: row.kind, index: row.index });
    const shown = this.overview.shownRows;
    const at = shown.findIndex((r) => rowKey(r) === rowKey(row));
    const detail = new DetailView({
      host: this.host,
      report,
      row,
      neighbors: at >= 0 ? { prev: shown[at - 1] ?? null, next: shown[at + 1] ?? null } : { prev: null, next: null },
      back: () => this.closeDetail(),
      step: (delta) => {
        const next = shown[at + delta];
        if (next) this.openLayer(next);
      },
      load: (r) => this.requests.request("getLayer", { kind: r.kind, index: r.index }),
    });
    this.detail = detail;
    this.setMain(detail.element);
    window.scrollTo(0, 0);
    this.main.scrollTop = 0;
    detail.focusTitle();
    void detail.load();
  }

  private closeCompare(show = true): void {
    if (!this.compare) return;
    this.compare.dispose();
    this.compare = null;
    if (show) this.render();
  }

  private closeDetail(show = true): void {
    if (!this.detail) return;
    this.detail.dispose();
    this.detail = null;
    this.host.update({ view: "overview" });
    // A layer opened from the before → after page goes back there.
    if (show && this.recal && this.detailFromRecal) {
      this.detailFromRecal = false;
      this.setMain(this.recal.element);
      return;
    }
    this.detailFromRecal = false;
    if (!show) return;
    this.closeRecalibration(false);
    if (this.report) {
      this.setMain(this.overview.element);
      this.overview.show(this.report, true);
      this.overview.focus();
    }
  }
}
