// One layer in detail: its findings explained, pre/post-BN histograms overlaid with the flat region of the
// following nonlinearity shaded, and per-channel charts and figures (stored vs observed statistics, gamma,
// beta, saturation). The per-channel data arrives through a getLayer request.
import type { GetLayerResult, LayerRow, CompactReport } from "../src/protocol/webview";
import type { ActivationLayerReport, LayerReport, Thresholds, WarningJson } from "../src/core/report";
import { pooled } from "../src/core/stats/accumulator";
import { layerIntervals, type ChannelInterval, type LayerIntervals } from "../src/core/stats/channelIntervals";
import { h, replace } from "./dom";
import { ChannelCharts, HistogramChart, type ChannelChartSpec, type HistogramSeries } from "./detailCharts";
import { batchChart } from "./batchChart";
import { count, num, percent, plural, ratio, sigma } from "./format";
import { layerHistogram as layerHist } from "../src/core/inspect/panelData";
import { RULES, flatWord, level, ruleExplain } from "./rows";
import { severityBadge } from "./reportView";
import { beforeAfterSection } from "./recalibrationView";
import { STALE_RULES } from "../src/core/recalibrate/recalibration";
import type { Host } from "./vscodeApi";

export interface DetailDeps {
  host: Host;
  report: CompactReport;
  row: LayerRow;
  /** The layers before and after this one in the overview's current order, for previous/next. */
  neighbors: { prev: LayerRow | null; next: LayerRow | null };
  back(): void;
  step(delta: -1 | 1): void;
  load(row: LayerRow): Promise<GetLayerResult>;
}

/** The caption that says how the histogram is drawn, for one series (BN fused away) or the pre/post pair. */
function histCaption(axis: "linear" | "symlog", pair: boolean): string {
  if (axis === "linear") {
    return (
      (pair
        ? "Linear axis: both histograms are re-binned onto the same equal-width bins over the range that holds 99.8% of their values, so their positions and widths compare directly. "
        : "Linear axis: the histogram is re-binned onto equal-width bins over the range that holds 99.8% of its values. ") +
      "(BN Lens stores quarter-octave log buckets; each bucket's count is spread evenly over its range, as TensorBoard does.) Height: share of all values per bin."
    );
  }
  return (
    `Symmetric-log axis: linear near zero, logarithmic beyond, so ${pair ? "a wide pre-BN distribution and a narrow post-BN one both stay visible" : "values of very different sizes stay visible"}. ` +
    "Each bar is one stored quarter-octave bucket, drawn as it is; the values closest to zero share the middle bar. Height: share of all values per quarter octave."
  );
}

/** Channels worth listing first: every channel any finding names, and dead channels. */
function flaggedChannels(ws: readonly WarningJson[], dead: readonly number[]): number[] {
  const s = new Set<number>(dead);
  for (const w of ws) for (const c of w.channels ?? (w.channel !== undefined ? [w.channel] : [])) s.add(c);
  return [...s].sort((a, b) => a - b);
}

export class DetailView {
  readonly element: HTMLElement;
  private readonly body = h(
    "div",
    { class: "detail-body", "aria-busy": "true" },
    h("p", { class: "loading" }, "Loading the layer’s per-channel statistics…"),
  );
  private hist: HistogramChart | null = null;
  private channels: ChannelCharts | null = null;
  private recalChart: { draw(): void } | null = null;
  private width = 0;
  private readonly resize = new ResizeObserver(() => {
    if (this.element.clientWidth === this.width) return;
    this.width = this.element.clientWidth;
    this.redraw();
  });
  private disposed = false;

  constructor(private readonly d: DetailDeps) {
    const r = d.row;
    const back = h(
      "vscode-button",
      { secondary: true, "data-testid": "back", title: "Back to the overview (Escape)", on: { click: () => d.back() } },
      "← All layers",
    );
    // One numbering everywhere: a layer's # is its position in the graph, as in the overview's # column.
    const { prev: before, next: after } = d.neighbors;
    const prev = h(
      "vscode-button",
      {
        secondary: true,
        "data-testid": "prev",
        title: before
          ? `Previous in the overview's order: #${before.index} ${before.node}`
          : "This is the first layer in the overview's order",
        disabled: !before,
        on: { click: () => d.step(-1) },
      },
      before ? `‹ #${before.index}` : "‹ Previous",
    );
    const next = h(
      "vscode-button",
      {
        secondary: true,
        "data-testid": "next",
        title: after ? `Next in the overview's order: #${after.index} ${after.node}` : "This is the last layer in the overview's order",
        disabled: !after,
        on: { click: () => d.step(1) },
      },
      after ? `#${after.index} ›` : "Next ›",
    );
    const reveal = h(
      "button",
      {
        class: "link",
        type: "button",
        "data-testid": "show-node",
        title: `Show the node “${r.node}” in the model`,
        on: { click: () => d.host.post({ type: "revealNode", node: r.node }) },
      },
      "Show node",
    );
    const facts: string[] = [
      r.kind === "bn"
        ? `BN layer #${r.index} of ${d.report.rows.length}`
        : `${r.op} output, layer #${r.index} of ${d.report.rows.length} (BN fused away)`,
      plural(r.channels, "channel"),
      r.kind === "bn" ? `after ${r.op}` : "",
      r.activation.op === "none" ? "no nonlinearity after it" : `then ${r.activation.description}`,
    ].filter(Boolean);
    this.element = h(
      "section",
      { class: "detail", "data-testid": "layer-detail", "aria-labelledby": "detail-title" },
      h("div", { class: "detail-nav" }, back, h("span", { class: "position" }), prev, next),
      h(
        "header",
        { class: "detail-head" },
        h("h2", { id: "detail-title", tabindex: -1 }, r.node),
        h("p", { class: "facts" }, facts.join(" · "), " · ", reveal),
      ),
      this.body,
    );
    this.resize.observe(this.element);
  }

  /** Requests the layer and renders it. */
  async load(): Promise<void> {
    try {
      const result = await this.d.load(this.d.row);
      if (this.disposed) return;
      this.render(result);
    } catch (e) {
      if (this.disposed) return;
      replace(
        this.body,
        h(
          "div",
          { class: "error-box", role: "alert" },
          h("p", null, `BN Lens could not load this layer: ${e instanceof Error ? e.message : String(e)}`),
          h(
            "vscode-button",
            {
              on: {
                click: () => {
                  void this.load();
                },
              },
            },
            "Try again",
          ),
        ),
      );
    } finally {
      this.body.setAttribute("aria-busy", "false");
    }
  }

  focusTitle(): void {
    this.element.querySelector<HTMLElement>("#detail-title")?.focus({ preventScroll: true });
  }

  dispose(): void {
    this.disposed = true;
    this.resize.disconnect();
  }

  /** Redraws the charts (theme change, resize). */
  redraw(): void {
    this.hist?.draw();
    this.recalChart?.draw();
    this.channels?.draw();
  }

  private render(res: GetLayerResult): void {
    const t = this.d.report.thresholds;
    const sections = res.kind === "bn" ? this.bnSections(res.layer, t) : this.activationSections(res.layer, t);
    replace(this.body, ...sections);
    this.redraw();
  }

  private findings(ws: readonly WarningJson[], healthy: string): HTMLElement {
    const list = ws.length
      ? h(
          "ul",
          { class: "findings", "data-testid": "findings" },
          ...ws.map((w) =>
            h(
              "li",
              { class: `finding sev-${w.severity}`, "data-rule": w.rule },
              h(
                "div",
                { class: "finding-head" },
                severityBadge(w.severity, RULES[w.rule]?.badge ?? w.rule),
                h("strong", null, RULES[w.rule]?.title ?? w.rule),
              ),
              h("p", null, w.message),
              ruleExplain(w.rule, this.d.row.kind)
                ? h("details", null, h("summary", null, "What this means"), h("p", null, ruleExplain(w.rule, this.d.row.kind)!))
                : null,
            ),
          ),
        )
      : h("p", { class: "ok", "data-testid": "findings" }, `✓ ${healthy}`);
    // Stale statistics have a fix: one button for the layer, whatever the number of stale findings.
    const fix =
      ws.some((w) => STALE_RULES.has(w.rule)) && !this.d.report.data.synthetic
        ? h(
            "p",
            { class: "finding-action", "data-testid": "recalibrate-action" },
            h(
              "vscode-button",
              {
                "data-testid": "recalibrate",
                title:
                  "Re-estimate the BN layers' running means and variances on data you pick, save them in a new model and see before → after (BN Lens: Recalibrate BN Statistics on Data...)",
                on: { click: () => this.d.host.post({ type: "recalibrateModel" }) },
              },
              "Recalibrate BN statistics on data…",
            ),
            h("span", { class: "muted" }, " re-estimates them on your data and saves a new model; this file is not changed."),
          )
        : null;
    return h("section", { class: "card" }, h("h3", null, "Findings"), list, fix);
  }

  private histogramSection(series: HistogramSeries[], row: LayerRow, stats: HTMLElement): HTMLElement {
    const ui = this.d.host.ui;
    const flat = row.activation.flatRegion.intervals;
    this.hist = new HistogramChart(series, flat, ui.axis, ui.ownPeak);
    const caption = h("p", { class: "caption", "data-testid": "hist-caption" }, histCaption(ui.axis, series.length > 1));
    const axis = h(
      "vscode-single-select",
      { "aria-label": "Histogram axis", "data-testid": "axis" },
      h("vscode-option", { value: "linear" }, "Linear axis"),
      h("vscode-option", { value: "symlog" }, "Symmetric-log axis"),
    );
    axis.value = ui.axis;
    axis.addEventListener("change", () => {
      const a = axis.value === "symlog" ? "symlog" : "linear";
      this.d.host.update({ axis: a });
      caption.textContent = histCaption(a, series.length > 1);
      this.hist?.setAxis(a);
    });
    // Heights: one shared scale, or each series to its own peak (auto picks that when one peak is 4× the other).
    const heights =
      series.length > 1
        ? h(
            "vscode-single-select",
            { "aria-label": "Histogram heights", "data-testid": "heights" },
            h("vscode-option", { value: "auto" }, "Heights: automatic"),
            h("vscode-option", { value: "shared" }, "Heights: one scale"),
            h("vscode-option", { value: "own" }, "Heights: each to its peak"),
          )
        : null;
    if (heights) {
      heights.value = ui.ownPeak === null ? "auto" : ui.ownPeak ? "own" : "shared";
      heights.addEventListener("change", () => {
        const v = heights.value;
        const own = v === "auto" ? null : v === "own";
        this.d.host.update({ ownPeak: own });
        this.hist?.setOwnPeak(own);
      });
    }
    const legend = h(
      "div",
      { class: "legend" },
      ...series.map((s) => h("span", null, h("i", { class: `sw sw-${s.color}` }), s.label)),
      row.activation.op !== "none" && flat.length
        ? h(
            "span",
            null,
            h("i", { class: "sw sw-flat" }),
            `${row.activation.op} is flat here (${row.activation.flatRegion.description})${series.length > 1 ? " — applies to values after BN" : ""}`,
          )
        : h(
            "span",
            { class: "muted" },
            row.activation.op === "none" ? "No nonlinearity follows, so nothing can saturate." : `${row.activation.op} has no flat region.`,
          ),
    );
    return h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h3", null, row.kind === "bn" ? "Values before and after BN" : "Output values"),
        h("div", { class: "chart-controls" }, heights, axis),
      ),
      stats,
      legend,
      this.hist.element,
      caption,
    );
  }

  private bnSections(l: LayerReport, t: Thresholds): HTMLElement[] {
    const row = this.d.row;
    const pre = pooled(l.pre);
    const post = pooled(l.post);
    const sat = l.saturation;
    const stats = h(
      "p",
      { class: "figures" },
      h("span", { class: "fig-pre" }, `Before BN: mean ${num(pre.mean)}, std ${num(Math.sqrt(pre.variance))}`),
      h("span", { class: "fig-post" }, `After BN: mean ${num(post.mean)}, std ${num(Math.sqrt(post.variance))}`),
      sat.kind !== "none"
        ? h(
            "span",
            null,
            `${percent(sat.layerFraction)} of values after BN ${sat.kind === "rectifier" ? `on ${l.activation.op}'s off side` : `where ${l.activation.op} is saturated`}`,
          )
        : null,
      sat.kind !== "none" && l.expected?.flat.length
        ? h(
            "span",
            {
              "data-testid": "expected-vs-observed",
              title:
                "Expected from gamma and beta alone: post-BN values N(beta, gamma²) under the stored statistics (a normal approximation).",
            },
            `expected ${percent(avg(l.expected.flat))} from γ and β`,
          )
        : null,
      h("span", { class: "muted" }, `${count(pre.n)} values per tensor`),
    );
    const intervals = intervalLine(l, t);
    if (intervals) stats.append(intervals);
    const hist = this.histogramSection(
      [
        { label: "before BN", hist: layerHist(l.pre.histogram), color: "pre" },
        { label: "after BN", hist: layerHist(l.post.histogram), color: "post" },
      ],
      row,
      stats,
    );

    const dead = new Set(l.summary.deadChannels);
    const sd = l.pre.var.map((v) => (v === null ? null : Math.sqrt(v)));
    const judged = !this.d.report.data.synthetic;
    const iv = layerIntervals(l, t, judged);
    const level = `${Math.round((t.confidence ?? 0.95) * 100)}%`;
    const hasIntervals = l.compare.zInterval.some((x) => x !== null);
    const specs: ChannelChartSpec[] = [
      {
        kind: "interval",
        title: `Mean shift z per channel${hasIntervals ? ` with its ${level} interval` : " (no intervals: fewer than two samples)"}; dashed lines at ±${num(t.meanShift.warning)} (stale)${verdictNote(iv.counts.z, judged)}`,
        items: iv.z,
        scale: "linear",
        thresholds: [-t.meanShift.warning, t.meanShift.warning],
      },
      {
        kind: "interval",
        title: `Variance ratio per channel (larger over smaller, log scale)${hasIntervals ? ` with its ${level} interval` : ""}; dashed line at ${num(t.varianceRatio.warning)}×${verdictNote(iv.counts.ratio, judged)}`,
        items: iv.ratio,
        scale: "log",
        thresholds: [t.varianceRatio.warning],
      },
      {
        kind: "meanBand",
        title: "Mean before BN: stored running mean (bar) vs the data's mean ± 1 std (blue)",
        stored: l.running.mean,
        mean: l.pre.mean,
        sd,
      },
      {
        kind: "varLog",
        title: `Variance before BN, log scale: stored running variance (bar) vs the data's (blue); red links differ by ${num(t.varianceRatio.warning)}× or more`,
        stored: l.running.var,
        observed: l.pre.var,
        warnRatio: t.varianceRatio.warning,
      },
      { kind: "bars", title: "γ (gamma, learned scale); dead channels in red", values: l.gamma, color: "gamma", marks: dead },
      { kind: "bars", title: "β (beta, learned shift)", values: l.beta, color: "beta" },
    ];
    if (sat.kind !== "none") {
      specs.push({
        kind: "bars",
        color: "post",
        unit: "share",
        marks: dead,
        title:
          sat.kind === "rectifier"
            ? `Share of values after BN on ${l.activation.op}'s off side; line at ${percent(t.rectifierOff.warning)} (mostly off)`
            : `Share of values after BN where ${l.activation.op} is saturated; line at ${percent(t.saturation.warning)}`,
        values: sat.fraction,
        threshold: sat.kind === "rectifier" ? t.rectifierOff.warning : t.saturation.warning,
      });
    }
    const readout = h("div", { class: "readout channel-readout", "aria-live": "polite", "data-testid": "channel-readout" });
    const showChannel = (c: number) => replace(readout, ...this.channelFigures(l, c, dead, iv, level));
    this.channels = new ChannelCharts(l.channels, specs, showChannel);
    // Start on the worst channel of the most severe finding, else the worst mean shift.
    const rank = { error: 3, warning: 2, info: 1 } as const;
    const lead = [...l.warnings].filter((w) => w.channel !== undefined).sort((a, b) => rank[b.severity] - rank[a.severity])[0];
    const start = lead?.channel ?? l.summary.worstZ?.channel ?? 0;
    this.channels.setCursor(start);
    showChannel(start);

    const report = this.d.report;
    const batch = batchChart(
      report.batchStudy?.layers.find((b) => b.layer === l.node),
      report.batchStudy?.tolerance ?? t.batchTolerance,
      report.run.trainBatch ?? null,
      report.batchDependence ?? null,
    );
    return [
      this.findings(
        l.warnings,
        report.data.synthetic
          ? "Nothing flagged from the stored parameters. This run used random inputs, so whether the statistics fit real data was not judged."
          : "Nothing flagged: the stored statistics fit this data, no channel is dead and the nonlinearity is not saturated.",
      ),
      ...this.recalibrationSection(),
      hist,
      ...(batch ? [batch] : []),
      h(
        "section",
        { class: "card" },
        h("h3", null, "Per channel"),
        h(
          "p",
          { class: "caption" },
          "Each column is one channel. The stored values are what BN learned in training; blue is what the data you ran produces. " +
            "Where they disagree, the statistics are stale for this data. Hover a chart, or focus it and use ← →, to read a channel's figures.",
        ),
        intervalLegend(judged),
        readout,
        this.channels.element,
      ),
      this.channelTable(l, t, dead),
    ];
  }

  /** The layer before → after, when this report checks a recalibration. */
  private recalibrationSection(): HTMLElement[] {
    const row = this.d.row;
    const v = this.d.report.recalibration;
    const l = v?.layers.find((x) => x.index === row.index && x.node === row.node);
    if (!v || !l) return [];
    const { element, chart } = beforeAfterSection(v, l, row.activation.flatRegion.intervals, row.activation.op);
    this.recalChart = chart;
    return [element];
  }

  private channelFigures(
    l: LayerReport,
    c: number,
    dead: ReadonlySet<number>,
    iv?: LayerIntervals,
    level = "95%",
  ): (HTMLElement | string)[] {
    const sdv = l.pre.var[c];
    const f = l.saturation.fraction[c];
    return [
      h("strong", null, `Channel ${c}`),
      dead.has(c) ? h("span", { class: "badge sev-warning" }, "dead") : "",
      h(
        "span",
        null,
        `running mean ${num(l.running.mean[c])} vs data ${num(l.pre.mean[c])} ± ${num(sdv === null ? null : Math.sqrt(sdv))}`,
      ),
      h("span", { "data-testid": "channel-z" }, `z ${sigma(l.compare.z[c])}${intervalText(iv?.z[c], level, (v) => sigma(v))}`),
      h(
        "span",
        { "data-testid": "channel-ratio" },
        `running var ${num(l.running.var[c])} vs data ${num(sdv)} (${ratio(l.compare.varRatio[c])}${intervalText(iv?.ratio[c], level, ratio)})`,
      ),
      h("span", null, `γ ${num(l.gamma[c])}, β ${num(l.beta[c])}`),
      l.saturation.kind !== "none" ? h("span", null, `${percent(f)} ${flatWord(l.saturation.kind)}`) : "",
    ];
  }

  private channelTable(l: LayerReport, t: Thresholds, dead: ReadonlySet<number>): HTMLElement {
    const flagged = flaggedChannels(l.warnings, l.summary.deadChannels);
    const tbody = h("tbody");
    const fill = (all: boolean) => {
      const list = all || flagged.length === 0 ? Array.from({ length: l.channels }, (_, c) => c) : flagged;
      replace(
        tbody,
        ...list.map((c) => {
          const z = l.compare.z[c];
          const vr = l.compare.varRatio[c];
          const f = l.saturation.fraction[c];
          const flatCls =
            l.saturation.kind === "saturating" ? level(f, t.saturation) : l.saturation.kind === "rectifier" ? level(f, t.rectifierOff) : "";
          const sdv = l.pre.var[c];
          return h(
            "tr",
            {
              "data-channel": c,
              class: dead.has(c) ? "dead" : null,
              tabindex: 0,
              title: `Show channel ${c} on the charts`,
              on: {
                click: () => this.channels?.setCursor(c),
                keydown: (e: Event) => {
                  const k = (e as KeyboardEvent).key;
                  if (k !== "Enter" && k !== " ") return;
                  e.preventDefault();
                  this.channels?.setCursor(c);
                },
              },
            },
            h("th", { scope: "row" }, String(c)),
            h("td", { class: "num" }, num(l.running.mean[c])),
            h("td", { class: "num" }, `${num(l.pre.mean[c])} ± ${num(sdv === null ? null : Math.sqrt(sdv))}`),
            h("td", { class: `num ${level(z === null ? null : Math.abs(z), t.meanShift)}` }, sigma(z)),
            h("td", { class: "num" }, num(l.running.var[c])),
            h("td", { class: "num" }, num(sdv)),
            h("td", { class: `num ${level(vr, t.varianceRatio)}` }, ratio(vr)),
            h("td", { class: "num" }, num(l.gamma[c])),
            h("td", { class: "num" }, num(l.beta[c])),
            h("td", { class: `num ${flatCls}` }, l.saturation.kind === "none" ? "–" : percent(f)),
            h("td", null, dead.has(c) ? "dead" : ""),
          );
        }),
      );
    };
    const toggle = h("vscode-button", { secondary: true, "data-testid": "all-channels" }, `Show all ${l.channels} channels`);
    let all = flagged.length === 0;
    toggle.hidden = all;
    toggle.addEventListener("click", () => {
      all = !all;
      toggle.textContent = all ? "Show flagged channels only" : `Show all ${l.channels} channels`;
      fill(all);
    });
    fill(all);
    const th = (label: string, title: string, num = true) => h("th", { scope: "col", title, class: num ? "num" : null }, label);
    return h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h3", null, flagged.length ? `Flagged channels (${flagged.length} of ${l.channels})` : "Channels"),
        toggle,
      ),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "channels", "data-testid": "channel-table" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              th("Ch", "Channel", false),
              th("Running mean", "The mean BN stored in training (it subtracts this)."),
              th("Data mean ± std", "The mean and standard deviation of the values entering BN on your data."),
              th("z", "(data mean − running mean) / stored std, in σ. Beyond 1σ the stored mean looks stale."),
              th("Running var", "The variance BN stored in training (it divides by its square root)."),
              th("Data var", "The variance of the values entering BN on your data."),
              th("Ratio", "Larger over smaller of data and stored variance (×). From 2× it looks stale."),
              th("γ", "Gamma: the learned scale applied after normalising. γ ≈ 0 makes the channel constant."),
              th("β", "Beta: the learned shift applied after normalising."),
              th("Flat", "Share of this channel's values after BN where the next nonlinearity is flat."),
              th("", "Dead channels output a constant.", false),
            ),
          ),
          tbody,
        ),
      ),
    );
  }

  private activationSections(a: ActivationLayerReport, t: Thresholds): HTMLElement[] {
    const row = this.d.row;
    const st = pooled(a.stats);
    const sat = a.saturation;
    const stats = h(
      "p",
      { class: "figures" },
      h("span", { class: "fig-post" }, `Output: mean ${num(st.mean)}, std ${num(Math.sqrt(st.variance))}`),
      sat.kind !== "none" ? h("span", null, `${percent(sat.layerFraction)} ${flatWord(sat.kind)}`) : null,
    );
    const hist = this.histogramSection([{ label: "layer output", hist: layerHist(a.stats.histogram), color: "post" }], row, stats);
    const sd = a.stats.var.map((v) => (v === null ? null : Math.sqrt(v)));
    const specs: ChannelChartSpec[] = [
      {
        kind: "meanBand",
        title: "Mean of the output ± 1 std per channel (no stored statistics: BN was fused away)",
        stored: null,
        mean: a.stats.mean,
        sd,
      },
    ];
    if (sat.kind !== "none") {
      specs.push({
        kind: "bars",
        color: "post",
        unit: "share",
        values: sat.fraction,
        threshold: sat.kind === "rectifier" ? t.rectifierOff.warning : t.saturation.warning,
        marks: new Set(a.warnings.find((w) => w.rule === "dead-channel")?.channels ?? []),
        title: `Share of values where ${a.activation.op} is ${sat.kind === "rectifier" ? "off" : "saturated"}; dead channels in red`,
      });
    }
    const readout = h("div", { class: "readout channel-readout", "aria-live": "polite", "data-testid": "channel-readout" });
    const showChannel = (c: number) =>
      replace(
        readout,
        h("strong", null, `Channel ${c}`),
        h("span", null, `mean ${num(a.stats.mean[c])} ± ${num(sd[c])}`),
        h("span", null, `min ${num(a.stats.min[c])}, max ${num(a.stats.max[c])}`),
        sat.kind !== "none" ? h("span", null, `${percent(sat.fraction[c])} ${flatWord(sat.kind)}`) : "",
      );
    this.channels = new ChannelCharts(a.channels, specs, showChannel);
    showChannel(0);
    return [
      this.findings(a.warnings, "Nothing flagged for this layer's output."),
      hist,
      h("section", { class: "card" }, h("h3", null, "Per channel"), readout, this.channels.element),
    ];
  }
}

function avg(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

const VERDICT_WORDS = { crossed: "crossed with confidence", undecided: "undecided", within: "within", skipped: "not judged" } as const;

/** A channel's interval and verdict for the readout: ", 95% CI a to b, undecided". */
function intervalText(it: ChannelInterval | null | undefined, level: string, show: (v: number) => string): string {
  if (!it) return "";
  const ci = it.hasInterval ? `, ${level} CI ${show(it.lo)} to ${show(it.hi)}` : ", no interval";
  return `${ci}: ${VERDICT_WORDS[it.verdict]}`;
}

/** How many channels crossed with confidence and how many are undecided, for a chart title. */
function verdictNote(c: Record<keyof typeof VERDICT_WORDS, number>, judged: boolean): string {
  if (!judged) return "; random data: not judged";
  return `; ${c.crossed} crossed with confidence, ${c.undecided} undecided`;
}

/** The key to the error-bar charts' colours and marks. */
function intervalLegend(judged: boolean): HTMLElement {
  return h(
    "div",
    { class: "legend interval-legend", "data-testid": "interval-legend" },
    ...(judged
      ? [
          h(
            "span",
            null,
            h("i", { class: "mk mk-crossed" }),
            "crossed with confidence (the interval's near end is past the line: the rule fires)",
          ),
          h("span", null, h("i", { class: "mk mk-undecided" }), "undecided (the estimate is past the line, its interval reaches back)"),
          h("span", null, h("i", { class: "mk mk-within" }), "within"),
        ]
      : [h("span", { class: "muted" }, "Random inputs: the intervals are drawn but not judged (grey).")]),
  );
}

/** The confidence intervals of the worst channels and the effective sample size, in one line. */
function intervalLine(l: LayerReport, t: Thresholds): HTMLElement | null {
  const cmp = l.compare;
  if (!cmp?.zInterval) return null;
  const n = cmp.effectiveSamples.length ? Math.min(...cmp.effectiveSamples) : 0;
  const level = `${Math.round((t.confidence ?? 0.95) * 100)}%`;
  const z = l.summary.worstZ;
  const r = l.summary.worstVarRatio;
  const zi = z ? cmp.zInterval[z.channel] : null;
  const ri = r ? cmp.varRatioInterval[r.channel] : null;
  const parts: string[] = [];
  if (z && zi) parts.push(`z ${num(z.value)} in channel ${z.channel}: ${level} CI ${num(zi[0])} to ${num(zi[1])}`);
  if (r && ri) parts.push(`variance ratio ${ratio(r.value)} in channel ${r.channel}: ${level} CI ${ratio(ri[0])} to ${ratio(ri[1])}`);
  const text =
    n < 2
      ? `No confidence intervals: ${plural(n, "sample")} (samples, not values, are the independent units).`
      : `${parts.join("; ")}. Effective sample size ${count(n)} (samples, not values, limit the precision); rules fire only when the interval's near end crosses the threshold.`;
  return h("span", { class: "muted intervals", "data-testid": "intervals" }, text);
}
