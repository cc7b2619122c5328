// The report view: one row per layer with its small pre/post-BN histograms and the figures that answer
// "are my BN statistics stale? which channels are dead? is this sigmoid stuck?". Sortable, filterable,
// virtualised (only the rows in view exist), keyboard-driven.
import type { LayerRow, CompactReport } from "../src/protocol/webview";
import type { Severity } from "../src/core/report";
import type { ChannelInterval, IntervalVerdict } from "../src/core/stats/channelIntervals";
import { h, replace, setAttr, setText } from "./dom";
import { count, num, percent, plural, ratio, sigma } from "./format";
import {
  FILTER_LABELS,
  SORT_LABELS,
  answers,
  badges,
  deadChannels,
  defaultDir,
  flatWord,
  level,
  rowKey,
  rowSeverity,
  visibleRows,
  type SeverityFilter,
  type SortKey,
} from "./rows";
import { drawSpark, rowSparks, sparkTitle } from "./sparkline";
import { palette, setupCanvas } from "./theme";
import { VirtualList } from "./virtualList";
import { recalibrationCard } from "./recalibrationView";
import type { Host } from "./vscodeApi";

const ROW_HEIGHT = 40;
const SPARK_W = 64;
const SPARK_H = 26;
const SPARK_GAP = 14;
/** Rows rendered beyond the view: small reports (up to ~40 layers) are rendered whole. */
const OVERSCAN = 30;

/** Column explanations, shown as header tooltips and in the "How to read this table" section. */
const COLUMN_HELP = {
  index: "Position of the layer in the graph (execution order). Click to sort by graph order.",
  layer: "The BatchNormalization node's name, and the operation that feeds it.",
  channels: "Number of channels this BN normalises.",
  then: "The nonlinearity that follows the BN (what its output feeds). 'none' means no recognised nonlinearity follows.",
  hist:
    "Small histograms of the values entering BN (blue) and leaving it (orange), all channels pooled. " +
    "The shaded part of the orange chart is where the following nonlinearity is flat; the thin line marks zero.",
  z:
    "Worst channel's mean shift: how far the mean of the data you ran lies from the running mean BN stored in training, " +
    "in stored standard deviations (σ). Around 0σ the statistics fit; beyond 1σ they look stale.",
  varRatio:
    "Worst channel's variance mismatch: observed variance vs the stored running variance, the larger over the smaller (×). " +
    "1× fits; from 2× the stored statistics look stale.",
  flat:
    "Share of the values after BN that land where the next nonlinearity is flat. For ReLU-like functions that is their normal 'off' side " +
    "(about half is healthy); for sigmoid, tanh or clip it is saturation, where gradients vanish.",
  dead: "Channels that output a constant: gamma ≈ 0, stored variance ≈ 0, or never outside the flat region on this data.",
  findings: "What BN Lens flags for this layer, worst first. Hover a badge for the full finding; open the layer for details.",
} as const;

/** The same columns explained for a model whose BN was fused away (activation statistics only). */
const COLUMN_HELP_FUSED = {
  hist: "Small histogram of each layer's output values, all channels pooled. The shaded part is where the following nonlinearity is flat; the thin line marks zero.",
  flat:
    "Share of the output values that land where the next nonlinearity is flat. For ReLU-like functions that is their normal 'off' side " +
    "(about half is healthy); for sigmoid, tanh or clip it is saturation.",
  dead: "Channels whose every output value on this data lands where the next nonlinearity is flat, so it passes a constant.",
} as const;

const SEVERITY_WORD: Record<Severity, string> = { error: "Error", warning: "Warning", info: "Info" };
const SEVERITY_GLYPH: Record<Severity, string> = { error: "✖", warning: "▲", info: "ℹ" };

/** A severity badge element. */
export function severityBadge(severity: Severity, label: string, title?: string): HTMLElement {
  return h(
    "span",
    { class: `badge sev-${severity}`, title: title ?? null },
    h("span", { class: "glyph", "aria-hidden": "true" }, SEVERITY_GLYPH[severity]),
    label,
  );
}

/** Splits a node name before its last separator ("BatchNormalization" + "_28", "stage3/block1" + "/bn"). */
function splitName(name: string): [string, string] {
  const cut = Math.max(name.lastIndexOf("/"), name.lastIndexOf("_"), name.lastIndexOf("."), name.lastIndexOf(":"));
  return cut > 0 && name.length - cut <= 16 ? [name.slice(0, cut), name.slice(cut)] : [name, ""];
}

/** Plain-words summary of a row for screen readers. */
function rowLabel(r: LayerRow): string {
  const parts = [
    `${r.node}, ${plural(r.channels, "channel")}`,
    r.activation.op === "none" ? "no nonlinearity after" : `then ${r.activation.op}`,
  ];
  const s = r.summary;
  if (s?.worstZ) parts.push(`worst mean shift ${sigma(s.worstZ.value)} in channel ${s.worstZ.channel}`);
  if (s?.worstVarRatio) parts.push(`worst variance ratio ${ratio(s.worstVarRatio.value)} in channel ${s.worstVarRatio.channel}`);
  if (r.saturation.layerFraction !== null && r.saturation.kind !== "none")
    parts.push(`${percent(r.saturation.layerFraction)} ${flatWord(r.saturation.kind)}`);
  parts.push(plural(deadChannels(r).length, "dead channel"));
  const sev = rowSeverity(r);
  parts.push(
    sev
      ? `${SEVERITY_WORD[sev]}: ${badges(r.warnings)
          .map((b) => b.label)
          .join(", ")}`
      : "no findings",
  );
  return parts.join("; ");
}

interface Cells {
  index: HTMLElement;
  name: HTMLElement;
  nameHead: HTMLElement;
  nameTail: HTMLElement;
  sub: HTMLElement;
  channels: HTMLElement;
  then: HTMLElement;
  hist: HTMLElement;
  z: HTMLElement;
  zc: HTMLElement;
  vr: HTMLElement;
  vrc: HTMLElement;
  flat: HTMLElement;
  dead: HTMLElement;
  findings: HTMLElement;
}

const cellsOf = new WeakMap<HTMLElement, Cells>();

export interface ReportViewDeps {
  host: Host;
  /** Opens a layer's detail view. */
  open(row: LayerRow): void;
  /** Opens the page of every layer before → after (a report that checks a recalibration). */
  openRecalibration(): void;
}

export class ReportView {
  readonly element: HTMLElement;
  private report: CompactReport | null = null;
  private rows: LayerRow[] = [];
  private readonly list: VirtualList<LayerRow>;
  private readonly summary = h("summary", {
    class: "summary",
    "data-testid": "summary",
    title: "Fold the summary away to give the table more room",
  });
  private readonly summaryBox = h("details", { class: "summary-box", "data-testid": "summary-box" });
  private readonly notices = h("div", { class: "notices" });
  private readonly answers = h("ul", { class: "answers", "data-testid": "answers" });
  private readonly recal = h("div", { class: "recal-slot" });
  private readonly toolbar = h("div", { class: "toolbar" });
  private readonly helpRow = h("div", { class: "help-row" });
  private readonly shownCount = h("span", { class: "shown-count", "aria-live": "polite", "data-testid": "shown-count" });
  private readonly search = h("vscode-textfield", {
    placeholder: "Filter by layer name",
    "aria-label": "Filter layers by name",
    "data-testid": "search",
    type: "search",
  });
  private readonly severity = h("vscode-single-select", { "aria-label": "Show layers by severity", "data-testid": "severity-filter" });
  private readonly sortSelect = h("vscode-single-select", { "aria-label": "Sort layers by", "data-testid": "sort" });
  private readonly headerButtons = new Map<SortKey, HTMLElement>();
  private readonly empty = h("div", { class: "empty", "data-testid": "empty", hidden: true });
  private readonly sparkCanvas = h("canvas", { "aria-hidden": "true", "data-testid": "sparklines" });
  private readonly sparkLayer = h("div", { class: "spark-layer" }, this.sparkCanvas);
  private headerHist!: HTMLElement;
  private headerDead!: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly helpList = h("dl", null);
  private sparkGeometryStale = true;
  private scrollSave = 0;

  constructor(private readonly deps: ReportViewDeps) {
    for (const [value, label] of Object.entries(FILTER_LABELS)) this.severity.append(h("vscode-option", { value }, label));
    for (const [value, label] of Object.entries(SORT_LABELS)) this.sortSelect.append(h("vscode-option", { value }, `Sort by ${label}`));
    const ui = deps.host.ui;
    this.search.value = ui.search;
    this.severity.value = ui.filter;
    this.sortSelect.value = ui.sort;
    this.search.addEventListener("input", () => this.update({ search: this.search.value }));
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.search.value) {
        e.stopPropagation();
        this.search.value = "";
        this.update({ search: "" });
      }
      if (e.key === "ArrowDown") {
        e.preventDefault();
        this.list.focus();
      }
    });
    this.severity.addEventListener("change", () => this.update({ filter: this.severity.value as SeverityFilter }));
    this.sortSelect.addEventListener("change", () => {
      const sort = this.sortSelect.value as SortKey;
      this.update({ sort, dir: defaultDir(sort) });
    });

    this.list = new VirtualList<LayerRow>({
      rowHeight: ROW_HEIGHT,
      overscan: OVERSCAN,
      label: "BatchNormalization layers",
      header: this.header(),
      createRow: () => this.createRow(),
      renderRow: (el, r) => this.renderRow(el, r),
      onActivate: (r) => deps.open(r),
      onActiveChange: (r) => deps.host.update({ selected: { kind: r.kind, index: r.index } }),
      onScroll: (top) => this.saveScroll(top),
      overlay: this.sparkLayer,
      onView: (view, rows) => this.drawSparks(view, rows),
    });
    this.list.element.setAttribute("data-testid", "layer-list");
    new ResizeObserver(() => {
      this.sparkGeometryStale = true;
    }).observe(this.headerHist.parentElement!);

    this.legend = h("p", { class: "legend overview-legend", "data-testid": "overview-legend" });
    const help = h("details", { class: "help" }, h("summary", null, "How to read this table"), this.helpList);
    this.summaryBox.append(this.summary, this.recal, this.answers, this.notices);
    this.summaryBox.open = !deps.host.ui.summaryCollapsed;
    this.summaryBox.addEventListener("toggle", () => deps.host.update({ summaryCollapsed: !this.summaryBox.open }));

    this.toolbar.append(this.search, this.severity, this.sortSelect, this.shownCount);
    this.helpRow.append(help, this.legend);
    this.element = h(
      "section",
      { class: "overview", "data-testid": "overview", "aria-label": "Overview of every BN layer" },
      this.summaryBox,
      this.toolbar,
      this.helpRow,
      this.list.element,
      this.empty,
    );
  }

  private header(): HTMLElement {
    const sortable = (key: SortKey, label: string, help: string, cls: string) => {
      const b = h(
        "button",
        { class: `colhead sort ${cls}`, type: "button", title: help, "data-sort": key, on: { click: () => this.toggleSort(key) } },
        label,
        h("span", { class: "arrow", "aria-hidden": "true" }),
      );
      this.headerButtons.set(key, b);
      return h("div", { role: "columnheader", class: `hcell ${cls}` }, b);
    };
    const plain = (label: string, help: string, cls: string) =>
      h("div", { role: "columnheader", class: `hcell ${cls}`, title: help }, h("span", { class: "colhead" }, label));
    return h(
      "div",
      { class: "vlist-header grid-row", role: "row", "aria-rowindex": 1 },
      sortable("order", "#", COLUMN_HELP.index, "c-index"),
      plain("Layer", COLUMN_HELP.layer, "c-layer"),
      plain("Ch", COLUMN_HELP.channels, "c-ch num"),
      plain("Then", COLUMN_HELP.then, "c-then"),
      (this.headerHist = plain("Before → after BN", COLUMN_HELP.hist, "c-hist")),
      sortable("z", "Worst |z|", COLUMN_HELP.z, "c-z num"),
      sortable("varRatio", "Var ratio", COLUMN_HELP.varRatio, "c-vr num"),
      sortable("saturation", "Flat share", COLUMN_HELP.flat, "c-flat num"),
      (this.headerDead = plain("Dead", COLUMN_HELP.dead, "c-dead num")),
      sortable("severity", "Findings", COLUMN_HELP.findings, "c-find"),
    );
  }

  private createRow(): HTMLElement {
    const c: Cells = {
      index: h("div", { class: "cell c-index", role: "gridcell" }),
      name: h("span", { class: "name" }),
      nameHead: h("span", { class: "head" }),
      nameTail: h("span", { class: "tail" }),
      sub: h("span", { class: "sub" }),
      channels: h("div", { class: "cell c-ch num", role: "gridcell" }),
      then: h("div", { class: "cell c-then", role: "gridcell" }),
      hist: h("div", { class: "cell c-hist", role: "gridcell" }),
      z: h("span", { class: "fig" }),
      zc: h("span", { class: "ch" }),
      vr: h("span", { class: "fig" }),
      vrc: h("span", { class: "ch" }),
      flat: h("div", { class: "cell c-flat num", role: "gridcell" }),
      dead: h("div", { class: "cell c-dead num", role: "gridcell" }),
      findings: h("div", { class: "cell c-find", role: "gridcell" }),
    };
    const el = h(
      "div",
      { class: "grid-row layer-row", "data-testid": "layer-row" },
      c.index,
      h("div", { class: "cell c-layer", role: "gridcell" }, c.name, c.sub),
      c.channels,
      c.then,
      c.hist,
      h("div", { class: "cell c-z num", role: "gridcell" }, c.z, c.zc),
      h("div", { class: "cell c-vr num", role: "gridcell" }, c.vr, c.vrc),
      c.flat,
      c.dead,
      c.findings,
    );
    c.name.append(c.nameHead, c.nameTail);
    cellsOf.set(el, c);
    return el;
  }

  private renderRow(el: HTMLElement, r: LayerRow): void {
    const c = cellsOf.get(el)!;
    const t = this.report!.thresholds;
    const s = r.summary;
    const sev = rowSeverity(r);
    el.className = `grid-row layer-row vrow${sev ? ` sev-${sev}` : ""}`;
    el.dataset.key = rowKey(r);
    el.dataset.node = r.node;
    setAttr(el, "aria-label", rowLabel(r));
    setText(c.index, String(r.index));
    // Long names lose their middle, not their end: "BatchNormaliz…_28" still tells the rows apart.
    const [head, tail] = splitName(r.node);
    setText(c.nameHead, head);
    setText(c.nameTail, tail);
    setAttr(c.name, "title", r.node);
    // The sub line repeats channels and the nonlinearity, so narrow tables can drop those columns.
    setText(
      c.sub,
      `${r.kind === "bn" ? `${r.op} → BN` : `${r.op} output`}${r.activation.op === "none" ? "" : ` → ${r.activation.op}`} · ${count(r.channels)} ch`,
    );
    setText(c.channels, count(r.channels));
    setText(c.then, r.activation.op);
    setAttr(
      c.then,
      "title",
      r.activation.op === "none"
        ? "No recognised nonlinearity follows this layer."
        : `${r.activation.description}; flat where ${r.activation.flatRegion.description}`,
    );
    setAttr(c.hist, "title", sparkTitle(r));

    setText(c.z, s?.worstZ ? sigma(Math.abs(s.worstZ.value), false) : "–");
    setText(c.zc, s?.worstZ ? `ch ${s.worstZ.channel}` : "");
    // On random data the figures are measured but not judged: no threshold colours.
    const judged = this.report?.data.synthetic !== true;
    c.z.className = `fig ${judged ? level(s?.worstZ ? Math.abs(s.worstZ.value) : null, t.meanShift) : ""}`;
    setAttr(
      c.z.parentElement!,
      "title",
      s?.worstZ
        ? `Channel ${s.worstZ.channel}: the observed mean is ${sigma(Math.abs(s.worstZ.value), false)} ${s.worstZ.value < 0 ? "below" : "above"} the stored running mean (stale from ${num(t.meanShift.warning)}σ).${intervalTip(r.intervals?.z, r.intervals?.counts.z, (v) => sigma(v), t.confidence)}`
        : r.kind === "activation"
          ? "BN was fused away: there is no stored mean to compare."
          : "No data.",
    );

    setText(c.vr, s?.worstVarRatio ? ratio(s.worstVarRatio.value) : "–");
    setText(c.vrc, s?.worstVarRatio ? `ch ${s.worstVarRatio.channel}` : "");
    c.vr.className = `fig ${judged ? level(s?.worstVarRatio?.value, t.varianceRatio) : ""}`;
    setAttr(
      c.vr.parentElement!,
      "title",
      s?.worstVarRatio
        ? `Channel ${s.worstVarRatio.channel}: observed and stored variance differ by ${ratio(s.worstVarRatio.value)} (stale from ${num(t.varianceRatio.warning)}×).${intervalTip(r.intervals?.ratio, r.intervals?.counts.ratio, ratio, t.confidence)}`
        : r.kind === "activation"
          ? "BN was fused away: there is no stored variance to compare."
          : "No data.",
    );

    const f = r.saturation.layerFraction;
    const kind = r.saturation.kind;
    replace(
      c.flat,
      h("span", { class: `fig ${kind === "saturating" && judged ? level(f, t.saturation) : ""}` }, kind === "none" ? "–" : percent(f)),
      // Second line: the share gamma and beta imply when known (the tooltip says what it is), else the word.
      kind === "none"
        ? null
        : r.expectedFlat === null
          ? h("span", { class: "ch" }, flatWord(kind))
          : h("span", { class: "ch expected", "data-testid": "expected-flat" }, `exp. ${percent(r.expectedFlat)}`),
    );
    setAttr(
      c.flat,
      "title",
      kind === "none"
        ? "No nonlinearity with a flat region follows, so nothing can saturate."
        : kind === "rectifier"
          ? `${percent(f)} of post-BN values are on ${r.activation.op}'s off side (${r.activation.flatRegion.description}). About half is normal for a rectifier.`
          : `${percent(f)} of post-BN values are where ${r.activation.op} is saturated (${r.activation.flatRegion.description}); from ${percent(t.saturation.warning)} it is flagged.`,
    );
    if (r.expectedFlat !== null && kind !== "none")
      setAttr(
        c.flat,
        "title",
        `Observed ${percent(f)}, expected ${percent(r.expectedFlat)} from gamma and beta (post-BN N(beta, gamma²), a normal approximation). ` +
          (c.flat.getAttribute("title") ?? ""),
      );

    const deadList = deadChannels(r);
    const dead = deadList.length;
    replace(c.dead, h("span", { class: `fig ${dead > 0 ? "warn" : "zero"}` }, String(dead)));
    setAttr(c.dead, "title", dead === 0 ? "No dead channels." : `Dead channels: ${deadList.join(", ")}`);

    const bs = badges(r.warnings);
    // Two badges where the column is wide, one where it is narrow (a CSS container query picks); the rest
    // are counted, their messages in the tooltip.
    const shown = bs.slice(0, 2).map((b, i) => {
      const el = severityBadge(b.severity, b.label, b.message);
      if (i === 1) el.classList.add("second");
      return el;
    });
    const more = (from: number, cls: string) =>
      bs.length > from
        ? h(
            "span",
            {
              class: `more ${cls}`,
              title: bs
                .slice(from)
                .map((b) => b.message)
                .join("\n\n"),
            },
            `+${bs.length - from} more`,
          )
        : null;
    replace(c.findings, ...(bs.length ? shown : [h("span", { class: "ok" }, "✓ ok")]), more(2, "wide"), more(1, "narrow"));
  }

  /**
   * Draws the sparklines of the rows in view on the one canvas that overlays the histogram column
   * (a canvas per row costs the compositor a layer each; one canvas redrawn per frame is cheaper).
   */
  private drawSparks(view: { first: number; last: number; scrollTop: number; height: number }, rows: readonly LayerRow[]): void {
    const p = palette();
    const w = SPARK_W * 2 + SPARK_GAP;
    if (this.sparkGeometryStale) {
      // Read layout only when the columns may have moved (resize, new report), not on every scroll frame.
      this.sparkGeometryStale = false;
      this.sparkLayer.style.top = `${this.headerHist.parentElement!.offsetHeight}px`;
      this.sparkCanvas.style.left = `${this.headerHist.offsetLeft}px`;
    }
    const ctx = setupCanvas(this.sparkCanvas, w, view.height);
    ctx.font = `11px ${p.fontFamily}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const y0 = (ROW_HEIGHT - SPARK_H) / 2;
    for (let i = view.first; i < view.last; i++) {
      const y = i * ROW_HEIGHT - view.scrollTop + y0;
      const s = rowSparks(rows[i]);
      if (rows[i].kind === "activation") {
        // No BN, no "before": one chart of the layer's output, as wide as the pair.
        drawSpark(ctx, s.post, 0, y, w, SPARK_H, p.post, p);
        continue;
      }
      drawSpark(ctx, s.pre, 0, y, SPARK_W, SPARK_H, p.pre, p);
      ctx.fillStyle = p.muted;
      ctx.fillText("→", SPARK_W + SPARK_GAP / 2, y + SPARK_H / 2);
      drawSpark(ctx, s.post, SPARK_W + SPARK_GAP, y, SPARK_W, SPARK_H, p.post, p);
    }
    this.sparkCanvas.dataset.rows = `${view.first}-${view.last}`;
  }

  /** Shows a report; restores the row focus and scroll position when asked. */
  show(report: CompactReport, restore: boolean): void {
    this.report = report;
    this.setVocabulary(report.rows.length > 0 && report.rows.every((r) => r.kind === "activation"));
    this.renderSummary();
    this.apply(restore);
  }

  /**
   * Column titles, legend and help in the words of the report: BN layers (values entering and leaving BN,
   * stored statistics) or, when BN was fused away, activation statistics only (no |z|, no variance ratio).
   */
  private setVocabulary(fused: boolean): void {
    this.element.classList.toggle("fused", fused);
    setText(this.headerHist.firstElementChild as HTMLElement, fused ? "Output values" : "Before → after BN");
    setAttr(this.headerHist, "title", fused ? COLUMN_HELP_FUSED.hist : COLUMN_HELP.hist);
    const flatHead = this.headerButtons.get("saturation")!;
    setAttr(flatHead, "title", fused ? COLUMN_HELP_FUSED.flat : COLUMN_HELP.flat);
    setAttr(this.headerDead, "title", fused ? COLUMN_HELP_FUSED.dead : COLUMN_HELP.dead);
    this.list.setLabel(fused ? "Layers (BN fused away)" : "BatchNormalization layers");
    replace(
      this.legend,
      ...(fused
        ? [
            h("span", null, h("i", { class: "sw sw-post" }), "output values of each layer"),
            h("span", null, h("i", { class: "sw sw-flat" }), "where the next nonlinearity is flat"),
            h("span", { class: "muted" }, "%: share of values"),
          ]
        : [
            h("span", null, h("i", { class: "sw sw-pre" }), "values entering BN"),
            h("span", null, h("i", { class: "sw sw-post" }), "values leaving BN"),
            h("span", null, h("i", { class: "sw sw-flat" }), "where the next nonlinearity is flat"),
            h("span", { class: "muted" }, "σ: stored standard deviations · ×: ratio · %: share of values"),
          ]),
    );
    const items: [string, string][] = fused
      ? [
          ["Output values", COLUMN_HELP_FUSED.hist],
          ["Flat share (%)", COLUMN_HELP_FUSED.flat],
          ["Dead", COLUMN_HELP_FUSED.dead],
          ["Findings", COLUMN_HELP.findings],
        ]
      : [
          ["Before → after BN", COLUMN_HELP.hist],
          ["Worst |z| (σ)", COLUMN_HELP.z],
          ["Variance ratio (×)", COLUMN_HELP.varRatio],
          ["Flat share (%)", COLUMN_HELP.flat],
          ["Dead", COLUMN_HELP.dead],
          ["Findings", COLUMN_HELP.findings],
        ];
    replace(
      this.helpList,
      ...items.flatMap(([t, d]) => [h("dt", null, t), h("dd", null, d)]),
      h("dt", null, "Narrow editors"),
      h(
        "dd",
        null,
        "Less important columns give way first (channels, nonlinearity, charts, …); the layer name and the findings always stay.",
      ),
      h("dt", null, "Keys"),
      h("dd", null, "↑/↓ move between layers, Enter opens one, Escape comes back. Click a column title to sort by it."),
    );
  }

  /** Redraws every chart in view (theme change). */
  redraw(): void {
    if (this.report) this.list.refresh();
  }

  /** Focuses the table (the active row). */
  focus(): void {
    this.list.focus();
  }

  private renderSummary(): void {
    const r = this.report!;
    const w = r.summary.warnings;
    const bnRows = r.rows.filter((x) => x.kind === "bn").length;
    const what = bnRows > 0 || r.rows.length === 0 ? plural(bnRows, "BN layer") : `${plural(r.rows.length, "layer")} (BN fused away)`;
    replace(
      this.summary,
      h("span", { class: "lead" }, `${what}, ${plural(r.summary.channels, "channel")}`),
      h(
        "span",
        { class: "counts" },
        w.error ? severityBadge("error", plural(w.error, "error")) : null,
        w.warning ? severityBadge("warning", plural(w.warning, "warning")) : null,
        w.info ? severityBadge("info", `${count(w.info)} info`) : null,
        !w.error && !w.warning && !w.info ? h("span", { class: "ok" }, "✓ nothing flagged") : null,
      ),
    );
    this.renderAnswers();
    replace(this.recal, r.recalibration ? recalibrationCard(r.recalibration, () => this.deps.openRecalibration()) : null);
    const notes = r.model.notes ?? [];
    replace(
      this.notices,
      ...r.warnings.map((wn) =>
        h("p", { class: `notice sev-${wn.severity}` }, severityBadge(wn.severity, SEVERITY_WORD[wn.severity]), " ", wn.message),
      ),
      notes.length
        ? h(
            "div",
            { class: "notice run-notes", "data-testid": "run-notes" },
            h("strong", null, "What BN Lens changed to run this model "),
            h("span", { class: "muted" }, "(the file itself is untouched):"),
            h("ul", null, ...notes.map((n) => h("li", null, n))),
          )
        : null,
    );
  }

  /** One line per question: stale statistics? dead channels? a stuck nonlinearity? Layer names open the layer. */
  private renderAnswers(): void {
    const r = this.report!;
    const a = answers(r.rows);
    const link = (row: LayerRow) =>
      h(
        "button",
        {
          class: "link",
          type: "button",
          title: `Open ${row.node}`,
          on: { click: () => this.deps.open(row) },
        },
        row.node,
      );
    const names = (items: { row: LayerRow; extra?: string }[]) => {
      const out: (HTMLElement | string)[] = [];
      items.slice(0, 4).forEach((it, i) => {
        if (i) out.push(", ");
        out.push(link(it.row));
        if (it.extra) out.push(it.extra);
      });
      if (items.length > 4) out.push(` and ${items.length - 4} more`);
      return out;
    };
    const total = r.rows.length;
    // An answer is bad (▲), good (✓) or not judged (–: random inputs say nothing either way).
    const item = (q: string, bad: boolean | "unjudged", ...answer: (HTMLElement | string)[]) =>
      h(
        "li",
        { class: bad === "unjudged" ? "unjudged" : bad ? "bad" : "good" },
        h("span", { class: "q" }, q),
        " ",
        h("span", { class: bad === "unjudged" ? "muted" : bad ? "warn" : "ok" }, bad === "unjudged" ? "–" : bad ? "▲" : "✓"),
        " ",
        ...answer,
      );
    const deadTotal = a.dead.reduce((s, d) => s + d.channels, 0);
    // Random inputs are no evidence about statistics: the data-comparing questions are not answered.
    const notJudged =
      'Not judged: this run used random inputs, which check that the model runs and what its stored parameters imply, not whether its statistics fit real data. Run "BN Lens: Inspect Model with Data..." to check them.';
    const synthetic = r.data.synthetic === true;
    const sat = (row: LayerRow) => ` (${row.activation.op}, ${percent(row.saturation.layerFraction)})`;
    replace(
      this.answers,
      ...(total === 0
        ? []
        : [
            a.hasStored && synthetic
              ? item("Stale BN statistics for this data?", "unjudged", h("span", { "data-testid": "random-data" }, notJudged))
              : a.hasStored
                ? item(
                    "Stale BN statistics for this data?",
                    a.stale.length > 0,
                    ...(a.stale.length
                      ? [`Yes, in ${a.stale.length} of ${plural(total, "layer")}: `, ...names(a.stale.map((row) => ({ row })))]
                      : ["No: the stored running means and variances fit this data in every layer."]),
                  )
                : item("Stale BN statistics?", false, "Nothing to check: BN was fused away, so no running statistics are stored."),
            item(
              "Dead channels?",
              deadTotal > 0,
              ...(deadTotal
                ? [
                    `${plural(deadTotal, "channel")} in ${plural(a.dead.length, "layer")}: `,
                    ...names(a.dead.map((d) => ({ row: d.row, extra: ` (${d.channels})` }))),
                  ]
                : ["None."]),
            ),
            synthetic
              ? item("Saturated or stuck nonlinearity?", "unjudged", "Not judged on random inputs (see above).")
              : item(
                  "Saturated or stuck nonlinearity?",
                  a.saturated.length + a.mostlyOff.length > 0,
                  ...(a.saturated.length ? ["Saturated after ", ...names(a.saturated.map((row) => ({ row, extra: sat(row) })))] : []),
                  ...(a.saturated.length && a.mostlyOff.length ? ["; "] : []),
                  ...(a.mostlyOff.length
                    ? [`${a.saturated.length ? "c" : "C"}hannels almost always off after `, ...names(a.mostlyOff.map((row) => ({ row })))]
                    : []),
                  ...(a.saturated.length + a.mostlyOff.length ? [] : ["No."]),
                ),
          ]),
    );
  }

  private toggleSort(key: SortKey): void {
    const ui = this.deps.host.ui;
    const dir = ui.sort === key ? (ui.dir === "asc" ? "desc" : "asc") : defaultDir(key);
    this.sortSelect.value = key;
    this.update({ sort: key, dir });
  }

  private update(change: Parameters<Host["update"]>[0]): void {
    this.deps.host.update(change);
    this.apply(false, true);
  }

  /** Sorts, filters and renders the rows; keeps the selected layer active when it is still listed. */
  private apply(restore: boolean, resetScroll = false): void {
    const r = this.report;
    if (!r) return;
    const ui = this.deps.host.ui;
    this.rows = visibleRows(r.rows, { sort: ui.sort, dir: ui.dir, filter: ui.filter, search: ui.search });
    for (const [key, b] of this.headerButtons) {
      const on = key === ui.sort;
      b.classList.toggle("sorted", on);
      setText(b.querySelector(".arrow")!, on ? (ui.dir === "asc" ? " ▲" : " ▼") : "");
      setAttr(b.parentElement!, "aria-sort", on ? (ui.dir === "asc" ? "ascending" : "descending") : null);
    }
    this.sparkGeometryStale = true;
    const sel = ui.selected;
    const active = sel ? this.rows.findIndex((x) => x.kind === sel.kind && x.index === sel.index) : -1;
    // A report without layers shows only its statement: no table, no tools.
    for (const el of [this.list.element, this.toolbar, this.helpRow, this.notices]) el.hidden = r.rows.length === 0;
    this.list.setItems(this.rows, Math.max(0, active), restore ? ui.scrollTop : resetScroll ? 0 : undefined);
    setText(
      this.shownCount,
      this.rows.length === r.rows.length
        ? `${plural(r.rows.length, "layer")}`
        : `${count(this.rows.length)} of ${plural(r.rows.length, "layer")} shown`,
    );
    this.list.element.dataset.rows = String(this.rows.length);
    this.empty.hidden = this.rows.length > 0;
    if (r.rows.length === 0) {
      replace(
        this.empty,
        h("h2", null, "No layers to show"),
        h("p", null, r.model.statement),
        h(
          "p",
          { class: "muted" },
          "BN Lens measures BatchNormalization layers, or, when BN was fused into the convolutions, the outputs of Conv/Gemm/MatMul nodes. This report has neither, so there is nothing to show.",
        ),
      );
    } else if (this.rows.length === 0) {
      replace(
        this.empty,
        h("p", null, `No layer matches ${ui.search ? `“${ui.search}” and ` : ""}the filter “${FILTER_LABELS[ui.filter]}”.`),
        h("vscode-button", { secondary: true, on: { click: () => this.clearFilters() } }, "Show all layers"),
      );
    }
  }

  private clearFilters(): void {
    this.search.value = "";
    this.severity.value = "all";
    this.update({ search: "", filter: "all" });
    this.list.focus();
  }

  /** The rows as shown (sorted and filtered), for previous/next navigation in the detail view. */
  get shownRows(): readonly LayerRow[] {
    return this.rows;
  }

  private saveScroll(top: number): void {
    clearTimeout(this.scrollSave);
    this.scrollSave = window.setTimeout(() => this.deps.host.update({ scrollTop: top }), 150);
  }
}

const VERDICT_WORDS: Record<IntervalVerdict, string> = {
  crossed: "crossed with confidence",
  undecided: "undecided",
  within: "within",
  skipped: "not judged",
};

/** A tooltip's interval part: " 95% CI a to b: verdict. N channels crossed with confidence, M undecided." */
function intervalTip(
  it: ChannelInterval | null | undefined,
  counts: Record<IntervalVerdict, number> | undefined,
  show: (v: number) => string,
  confidence = 0.95,
): string {
  if (!it || !counts) return "";
  const ci = it.hasInterval
    ? ` ${Math.round(confidence * 100)}% CI ${show(it.lo)} to ${show(it.hi)}: ${VERDICT_WORDS[it.verdict]}.`
    : " No interval (one sample).";
  return `${ci} ${plural(counts.crossed, "channel")} crossed with confidence, ${counts.undecided} undecided.`;
}
