// The panel's comparison mode: two data sets (A, the baseline, and B) on one model. The overview marks every
// layer's drift in graph order with the shift's starting layer called out, and ranks the layers in a table;
// a layer's detail overlays A's and B's pre- and post-BN histograms and compares per-channel statistics with
// the stored running ones. It shows what the core decided (src/core/compare), it computes no rule itself.
import type { ComparisonReport, LayerComparisonJson } from "../src/core/compare/comparisonReport";
import { ChannelCompareChart, DriftChart, OverlayChart, type OverlaySeries } from "./compareCharts";
import { h, replace } from "./dom";
import { channelList, num, percent, plural, ratio, sigma } from "./format";
import { onThemeChange } from "./theme";

type Order = "graph" | "drift";

function sevBadge(l: LayerComparisonJson): HTMLElement | null {
  if (!l.severity) return null;
  return h("span", { class: `badge sev-${l.severity}` }, l.severity === "error" ? "error" : l.severity);
}

function flatCell(l: LayerComparisonJson): string {
  return l.layerFlatShareChange === null ? "–" : `${percent(l.a.layerFlatShare)} → ${percent(l.b.layerFlatShare)}`;
}

/** The comparison overview and layer detail. */
export class CompareView {
  readonly element = h("div", { class: "view compare", "data-testid": "compare" });
  private order: Order = "graph";
  private charts: { draw(): void }[] = [];
  private readonly offTheme: () => void;
  private layer: LayerComparisonJson | null = null;

  constructor(
    private readonly c: ComparisonReport,
    private readonly back: (() => void) | null,
  ) {
    this.offTheme = onThemeChange(() => this.redraw());
    this.showOverview();
  }

  dispose(): void {
    this.offTheme();
  }

  redraw(): void {
    for (const ch of this.charts) ch.draw();
  }

  /** Draws charts once they are in the document (they size to their container). */
  private drawSoon(): void {
    requestAnimationFrame(() => this.redraw());
  }

  private header(): HTMLElement {
    const c = this.c;
    const start = c.shiftStart ? c.layers.find((l) => l.index === c.shiftStart!.index)! : null;
    const f = c.summary.findings;
    const lead = start
      ? h(
          "p",
          { class: "lead", "data-testid": "shift-start" },
          h("strong", null, `The shift starts at layer ${start.index} (${start.node}): `),
          `${start.shiftedChannels.length} of ${plural(start.channels, "channel")} shifted, worst Jensen-Shannon distance ${num(start.pre.score)} ` +
            `(noise floor ${num(start.pre.scoreNoiseFloor)}); ${c.summary.drifting} of ${plural(c.summary.layers, "layer")} drift.`,
        )
      : h(
          "p",
          { class: "lead", "data-testid": "shift-start" },
          h("strong", null, "No drift: "),
          `no channel of any layer crosses a Jensen-Shannon distance of ${num(c.thresholds.jsDistance.warning)} and ${num(c.thresholds.noiseFactor)}× its noise floor.`,
        );
    return h(
      "div",
      { class: "card summary" },
      h(
        "div",
        { class: "card-head" },
        h("h2", null, "Comparing two data sets"),
        this.back
          ? h(
              "vscode-button",
              { secondary: true, "data-testid": "compare-back", on: { click: () => this.back!() } },
              "Back to the inspection",
            )
          : null,
      ),
      h("p", null, h("strong", null, "A (baseline): "), `${c.a.data.description} · ${plural(c.a.samples, "sample")}`),
      h("p", null, h("strong", null, "B: "), `${c.b.data.description} · ${plural(c.b.samples, "sample")}`),
      lead,
      h(
        "p",
        { class: "muted counts" },
        `Findings: ${f.error} error${f.error === 1 ? "" : "s"}, ${f.warning} warning${f.warning === 1 ? "" : "s"}.`,
      ),
    );
  }

  private showOverview(): void {
    this.layer = null;
    const c = this.c;
    const chart = new DriftChart(c.layers, c.thresholds.jsDistance, c.shiftStart?.index ?? null, (l) => this.showLayer(l));
    this.charts = [chart];
    const rows = [...c.layers];
    if (this.order === "drift") rows.sort((a, b) => (b.pre.score ?? -1) - (a.pre.score ?? -1) || a.index - b.index);
    const kind = c.model.fusedAway ? "Layer" : "BN layer";
    const table = h(
      "table",
      { class: "channels", "data-testid": "compare-table" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "num" }, "#"),
          h("th", null, kind),
          h("th", { class: "num" }, "ch"),
          h("th", { class: "num", title: "Largest Jensen-Shannon distance of a channel's histograms on A and B" }, "drift"),
          h("th", { class: "num", title: "That channel's noise floor" }, "noise"),
          h("th", { class: "num", title: "Channels with distance ≥ threshold and 3× their noise floor" }, "shifted"),
          h("th", null, "worst channel"),
          h("th", { class: "num" }, "flat A → B"),
          h("th", { class: "num" }, "dead on B"),
          h("th", null, ""),
        ),
      ),
      h(
        "tbody",
        null,
        ...rows.map((l) => {
          const w = l.worst[0];
          return h(
            "tr",
            {
              "data-testid": "compare-row",
              "data-node": l.node,
              class: l.severity ? `sev-${l.severity}` : "",
              tabindex: 0,
              on: {
                click: () => this.showLayer(l),
                keydown: (e: Event) => {
                  if ((e as KeyboardEvent).key === "Enter") this.showLayer(l);
                },
              },
            },
            h("td", { class: "num" }, String(l.index)),
            h(
              "th",
              null,
              l.node,
              c.shiftStart?.index === l.index ? h("span", { class: "badge sev-info", "data-testid": "start-badge" }, "shift starts") : null,
            ),
            h("td", { class: "num" }, String(l.channels)),
            h("td", { class: "num" }, num(l.pre.score)),
            h("td", { class: "num" }, num(l.pre.scoreNoiseFloor)),
            h("td", { class: "num" }, String(l.shiftedChannels.length)),
            h("td", null, w ? `c${w.channel}: mean ${sigma(w.smd)} of A, var ${ratio(w.varRatio)}` : "–"),
            h("td", { class: "num" }, flatCell(l)),
            h("td", { class: "num" }, l.newDead.length ? channelList(l.newDead) : "–"),
            h("td", null, sevBadge(l)),
          );
        }),
      ),
    );
    const orderButton = h(
      "vscode-button",
      {
        secondary: true,
        "data-testid": "compare-order",
        on: {
          click: () => {
            this.order = this.order === "graph" ? "drift" : "graph";
            this.showOverview();
          },
        },
      },
      this.order === "graph" ? "Rank by drift" : "Graph order",
    );
    replace(
      this.element,
      this.header(),
      h(
        "div",
        { class: "card" },
        h("div", { class: "card-head" }, h("h3", null, "Drift by layer, in graph order")),
        h(
          "p",
          { class: "caption muted" },
          "Bar: the largest Jensen-Shannon distance (0 same, 1 disjoint) between a channel's pre-BN histograms on A and B; " +
            `tick: that channel's noise floor; dashed lines: warning ${num(c.thresholds.jsDistance.warning)} and error ${num(c.thresholds.jsDistance.error)}.`,
        ),
        chart.element,
      ),
      h(
        "div",
        { class: "card" },
        h(
          "div",
          { class: "card-head" },
          h("h3", null, this.order === "graph" ? "Layers in graph order" : "Layers ranked by drift"),
          orderButton,
        ),
        h("div", { class: "table-wrap" }, table),
      ),
    );
    this.drawSoon();
  }

  private showLayer(l: LayerComparisonJson): void {
    this.layer = l;
    const what = l.kind === "bn" ? "pre-BN" : `${l.op ?? "layer"} output`;
    const series: OverlaySeries[] = [
      { label: `A ${what}`, hist: l.a.preHistogram, color: "pre", dashed: false },
      { label: `B ${what}`, hist: l.b.preHistogram, color: "pre", dashed: true },
    ];
    if (l.a.postHistogram && l.b.postHistogram)
      series.push(
        { label: "A post-BN", hist: l.a.postHistogram, color: "post", dashed: false },
        { label: "B post-BN", hist: l.b.postHistogram, color: "post", dashed: true },
      );
    const overlay = new OverlayChart(series, l.flatRegion);
    const stored = l.running;
    const means = new ChannelCompareChart("Mean", l.a.mean, l.b.mean, stored?.mean ?? null, false);
    const vars = new ChannelCompareChart("Variance", l.a.var, l.b.var, stored?.var ?? null, true);
    this.charts = [overlay, means, vars];
    const legend = h(
      "div",
      { class: "legend", "data-testid": "overlay-legend" },
      ...series.map((s) => h("span", null, h("i", { class: `sw-line sw-${s.color}${s.dashed ? " dashed" : ""}` }), s.label)),
      l.flatRegion.length
        ? h("span", null, h("i", { class: "sw sw-flat" }), `flat region of ${l.activation}${l.kind === "bn" ? " (post-BN units)" : ""}`)
        : null,
    );
    const chLegend = h(
      "div",
      { class: "legend" },
      h("span", null, h("i", { class: "mk mk-a" }), "A"),
      h("span", null, h("i", { class: "mk mk-b" }), "B"),
      stored ? h("span", null, h("i", { class: "mk mk-stored" }), "stored running value") : null,
    );
    const d = l.pre;
    const figures = h(
      "div",
      { class: "figures" },
      h("span", null, `drift ${num(d.score)} (noise floor ${num(d.scoreNoiseFloor)})`),
      h("span", null, `mean JS ${num(d.meanJs)}`),
      h("span", null, `pooled JS ${num(d.pooledJs)}`),
      l.post ? h("span", null, `post-BN drift ${num(l.post.score)}`) : null,
      h("span", null, `flat ${flatCell(l)}`),
      h("span", null, `shifted ${l.shiftedChannels.length ? channelList(l.shiftedChannels) : "none"}`),
      l.newDead.length ? h("span", { class: "err" }, `dead on B only: ${channelList(l.newDead)}`) : null,
    );
    const worst = h(
      "table",
      { class: "channels", "data-testid": "compare-worst" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "num" }, "channel"),
          h("th", { class: "num" }, "JS"),
          h("th", { class: "num" }, "noise"),
          h("th", { class: "num" }, "SMD"),
          h("th", { class: "num" }, "var B/A"),
          h("th", { class: "num" }, "mean A"),
          h("th", { class: "num" }, "mean B"),
          h("th", { class: "num" }, "flat A → B"),
        ),
      ),
      h(
        "tbody",
        null,
        ...l.worst.map((w) =>
          h(
            "tr",
            null,
            h("th", { class: "num" }, String(w.channel)),
            h("td", { class: "num" }, num(w.js)),
            h("td", { class: "num" }, num(d.jsNoiseFloor[w.channel])),
            h("td", { class: "num" }, sigma(w.smd)),
            h("td", { class: "num" }, ratio(w.varRatio)),
            h("td", { class: "num" }, num(l.a.mean[w.channel])),
            h("td", { class: "num" }, num(l.b.mean[w.channel])),
            h("td", { class: "num" }, `${percent(l.a.flatShare[w.channel])} → ${percent(l.b.flatShare[w.channel])}`),
          ),
        ),
      ),
    );
    replace(
      this.element,
      h(
        "div",
        { class: "detail-nav" },
        h(
          "vscode-button",
          { secondary: true, "data-testid": "compare-layer-back", on: { click: () => this.showOverview() } },
          "← All layers",
        ),
      ),
      h(
        "div",
        { class: "detail-head" },
        h("h2", { "data-testid": "compare-layer-title" }, `${l.index} · ${l.node}`),
        h(
          "p",
          { class: "muted" },
          `${plural(l.channels, "channel")} · ${l.op ?? "?"} → ${l.kind === "bn" ? "BatchNormalization → " : ""}${l.activation}`,
        ),
      ),
      l.findings.length
        ? h(
            "div",
            { class: "findings" },
            ...l.findings.map((f) => h("div", { class: `finding sev-${f.severity}` }, h("strong", null, `${f.rule} `), f.message)),
          )
        : h("p", { class: "muted" }, "No comparison finding for this layer."),
      h("div", { class: "card" }, h("h3", null, "A and B on the same bins"), legend, overlay.element, figures),
      h(
        "div",
        { class: "card" },
        h(
          "h3",
          null,
          l.kind === "bn" ? "Per channel: pre-BN statistics of A and B against the running statistics" : "Per channel: A and B",
        ),
        chLegend,
        h("p", { class: "chart-title" }, "Mean"),
        means.element,
        h("p", { class: "chart-title" }, "Variance (log scale)"),
        vars.element,
      ),
      h("div", { class: "card" }, h("h3", null, "Channels with the largest distance"), h("div", { class: "table-wrap" }, worst)),
    );
    window.scrollTo(0, 0);
    this.drawSoon();
  }

  /** The compared model's file name. */
  get modelName(): string {
    return this.c.model.name;
  }

  /** The layer shown in detail, or null on the overview. */
  get shownLayer(): LayerComparisonJson | null {
    return this.layer;
  }
}
