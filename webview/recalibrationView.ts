// The before/after of a recalibration (the report is the check of a model BN Lens just recalibrated):
// a card on top of the overview with the headline and the outputs' change, a page with every layer's worst
// |z|, variance ratio, flat share and dead channels before → after, and in a layer's detail the old and new
// post-BN histograms on the same bins (the comparison mode's overlay chart: before solid, after dashed).
import type { IntervalJson } from "../src/core/report";
import type { BeforeAfterLayer } from "../src/core/recalibrate/beforeAfter";
import type { LayerRow, RecalibrationView } from "../src/protocol/webview";
import { OverlayChart } from "./compareCharts";
import { h, replace } from "./dom";
import { count, num, percent, plural, ratio, sigma } from "./format";
import { RULES } from "./rows";

const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** "a → b" with each side formatted. */
function arrow<T>(a: T | null, b: T | null, f: (x: T | null) => string): string {
  // Nothing on either side (no flat region): one dash, not "– → –".
  return a === null && b === null ? f(null) : `${f(a)} → ${f(b)}`;
}

const z = (x: number | null) => sigma(x, false);
const vr = (x: number | null) => ratio(x);

/** The relative L2 change as a percentage ("3.5%"), "–" when the original output is all zeros. */
function rel(x: number | null): string {
  return x === null ? "–" : percent(x);
}

/** One sentence on what was done: layers, passes, convergence. */
export function recalibrationHeadline(v: RecalibrationView): string {
  const tol = `|z| ≤ ${num(v.tolerance.z)} and variance ratio ≤ ${num(v.tolerance.varRatio)}`;
  return (
    `Recalibrated from ${basename(v.original)}: ${v.recalibratedLayers} of ${plural(v.layers.length, "BN layer")} re-estimated on ` +
    `${plural(v.samples, "sample")} in ${plural(v.passes, "pass", "passes")}, ` +
    (v.converged ? `converged (every re-estimated channel within ${tol}).` : `NOT converged (not every channel within ${tol}).`) +
    (v.blend !== 1 ? ` Blend ${num(v.blend)} of observed with stored statistics.` : "")
  );
}

/** The worst |z| and variance ratio over every layer, before and after. */
function worst(v: RecalibrationView): { z: [number, number]; vr: [number, number] } {
  const m = (pick: (l: BeforeAfterLayer) => number | null) => Math.max(0, ...v.layers.map((l) => pick(l) ?? 0));
  return {
    z: [m((l) => l.before.worstZ), m((l) => l.after.worstZ)],
    vr: [m((l) => l.before.worstVarRatio), m((l) => l.after.worstVarRatio)],
  };
}

function outputsTable(v: RecalibrationView): HTMLElement {
  if (v.outputs.length === 0) return h("p", { class: "muted" }, "The model's outputs were not compared.");
  return h(
    "table",
    { class: "recal-outputs", "data-testid": "recal-outputs" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", null, "Output"),
        h("th", { class: "num", title: "mean |new − original| over every value" }, "Mean |change|"),
        h("th", { class: "num", title: "‖new − original‖₂ / ‖original‖₂ over every value" }, "Relative L2 change"),
        h("th", { class: "num" }, "Values"),
      ),
    ),
    h(
      "tbody",
      null,
      ...v.outputs.map((o) =>
        h(
          "tr",
          null,
          h("th", null, o.output),
          h("td", { class: "num" }, num(o.meanAbsChange)),
          h("td", { class: "num" }, rel(o.relativeL2Change)),
          h("td", { class: "num" }, count(o.values)),
        ),
      ),
    ),
  );
}

/** "scores 3.5%, boxes 1.1%": each output's relative L2 change, for one line. */
function outputsLine(v: RecalibrationView): string {
  return v.outputs.map((o) => `${o.output} ${rel(o.relativeL2Change)}`).join(", ");
}

/** The compact card on top of the overview: what was done, the worst figures before → after, the outputs' change. */
export function recalibrationCard(v: RecalibrationView, openTable: () => void): HTMLElement {
  const w = worst(v);
  return h(
    "section",
    { class: `notice recal-card${v.converged ? "" : " sev-warning"}`, "data-testid": "recal-summary" },
    h(
      "p",
      { "data-testid": "recal-headline" },
      h("strong", null, "Recalibrated model. "),
      recalibrationHeadline(v),
      " ",
      h(
        "button",
        {
          class: "link",
          type: "button",
          "data-testid": "recal-open",
          title: "Every layer's worst |z|, variance ratio, flat share and dead channels on the original model and on this one",
          on: { click: () => openTable() },
        },
        "Every layer before → after",
      ),
    ),
    h(
      "p",
      { class: "figures", "data-testid": "recal-figures" },
      h("span", null, `Worst |z| ${arrow(w.z[0], w.z[1], z)}`),
      h("span", null, `worst variance ratio ${arrow(w.vr[0], w.vr[1], vr)}`),
      h(
        "span",
        { title: "mean-shift and variance-ratio findings of severity warning or error (the Problems panel's warnings)" },
        `stale-statistics warnings ${v.warnings.before.stale} → ${v.warnings.after.stale}`,
      ),
      h("span", null, `all errors and warnings ${v.warnings.before.all} → ${v.warnings.after.all}`),
      v.outputs.length
        ? h(
            "span",
            { title: "‖new − original‖₂ / ‖original‖₂ of each graph output over the data" },
            `outputs changed (relative L2): ${outputsLine(v)}`,
          )
        : null,
    ),
    ...v.notes.map((n) => h("p", { class: "muted" }, n)),
  );
}

function findingsCell(l: BeforeAfterLayer): HTMLElement {
  // The panel's badge words ("stale variance"), each rule once; the rule ids in the tooltip.
  const words = (ws: readonly string[]) =>
    ws.length ? [...new Set(ws.map((w) => RULES[w as keyof typeof RULES]?.badge ?? w))].join(", ") : "none";
  const ids = (ws: readonly string[]) => (ws.length ? [...new Set(ws)].join(", ") : "none");
  return h(
    "td",
    { class: "recal-findings", title: `Before: ${ids(l.before.warnings)}. After: ${ids(l.after.warnings)}.` },
    l.before.warnings.length + l.after.warnings.length === 0 ? "none" : `${words(l.before.warnings)} → ${words(l.after.warnings)}`,
  );
}

/** The page with every layer before → after; a row opens that layer's detail. */
export class BeforeAfterTable {
  readonly element = h("div", { class: "view recal", "data-testid": "recal-view" });

  constructor(v: RecalibrationView, rows: readonly LayerRow[], back: () => void, open: (row: LayerRow) => void) {
    const byIndex = new Map(rows.filter((r) => r.kind === "bn").map((r) => [r.index, r]));
    const table = h(
      "table",
      { class: "channels", "data-testid": "recal-table" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "num recal-index" }, "#"),
          h("th", null, "BN layer"),
          h("th", { class: "num recal-ch" }, "ch"),
          h("th", { class: "num", title: "Largest |running mean − observed mean| / running std over the channels" }, "Worst |z|"),
          h("th", { class: "num", title: "Largest max(observed/running, running/observed) variance over the channels" }, "Var ratio"),
          h("th", { class: "num", title: "Share of post-BN values in the following nonlinearity's flat region" }, "Flat share"),
          h("th", { class: "num" }, "Dead ch"),
          h("th", null, "Findings"),
        ),
      ),
      h(
        "tbody",
        null,
        ...v.layers.map((l) => {
          const row = byIndex.get(l.index);
          const go = () => row && open(row);
          return h(
            "tr",
            {
              "data-testid": "recal-row",
              "data-node": l.node,
              tabindex: 0,
              on: {
                click: go,
                keydown: (e: Event) => {
                  if ((e as KeyboardEvent).key === "Enter") go();
                },
              },
            },
            h("td", { class: "num recal-index" }, String(l.index)),
            h(
              "th",
              null,
              l.node,
              l.recalibrated ? null : h("span", { class: "badge", title: "Left out: its statistics were kept" }, "kept"),
            ),
            h("td", { class: "num recal-ch" }, count(l.channels)),
            h("td", { class: "num" }, arrow(l.before.worstZ, l.after.worstZ, z)),
            h("td", { class: "num" }, arrow(l.before.worstVarRatio, l.after.worstVarRatio, vr)),
            h("td", { class: "num" }, arrow(l.before.flatShare, l.after.flatShare, percent)),
            h("td", { class: "num" }, `${l.before.deadChannels} → ${l.after.deadChannels}`),
            findingsCell(l),
          );
        }),
      ),
    );
    replace(
      this.element,
      h(
        "div",
        { class: "detail-nav" },
        h(
          "vscode-button",
          { secondary: true, "data-testid": "back", title: "Back to the overview (Escape)", on: { click: () => back() } },
          "← All layers",
        ),
      ),
      h("h2", null, "Every layer before → after recalibration"),
      h("p", null, recalibrationHeadline(v)),
      h(
        "p",
        { class: "muted" },
        `Before: ${basename(v.original)} with its stored statistics; after: this model with the re-estimated ones; both measured on ${v.data}. ` +
          "A row opens the layer, with both post-BN histograms.",
      ),
      h("div", { class: "card" }, h("h3", null, "Layers in graph order"), h("div", { class: "table-wrap" }, table)),
      h(
        "div",
        { class: "card" },
        h("h3", null, "The model's outputs, this model against the original, over the same data"),
        h("div", { class: "table-wrap" }, outputsTable(v)),
      ),
      ...v.notes.map((n) => h("p", { class: "notice sev-warning" }, n)),
    );
  }
}

/** The detail's card: this layer's figures before → after and its old and new post-BN histograms overlaid. */
export function beforeAfterSection(
  v: RecalibrationView,
  l: BeforeAfterLayer,
  flat: readonly IntervalJson[],
  activation: string,
): { element: HTMLElement; chart: OverlayChart } {
  const chart = new OverlayChart(
    [
      { label: "before (original statistics)", hist: l.postBefore, color: "post", dashed: false },
      { label: "after (re-estimated)", hist: l.postAfter, color: "post", dashed: true },
    ],
    flat,
  );
  const legend = h(
    "div",
    { class: "legend", "data-testid": "recal-legend" },
    h("span", null, h("i", { class: "sw-line sw-post" }), `leaving BN with the original statistics (${basename(v.original)})`),
    h("span", null, h("i", { class: "sw-line sw-post dashed" }), "leaving BN with the re-estimated statistics (this model)"),
    flat.length ? h("span", null, h("i", { class: "sw sw-flat" }), `flat region of ${activation}`) : null,
  );
  const element = h(
    "section",
    { class: "card", "data-testid": "recal-detail" },
    h("h3", null, l.recalibrated ? "Before and after recalibration" : "Before and after recalibration (this layer kept its statistics)"),
    h(
      "p",
      { class: "figures" },
      h("span", null, `Worst |z| ${arrow(l.before.worstZ, l.after.worstZ, z)}`),
      h("span", null, `variance ratio ${arrow(l.before.worstVarRatio, l.after.worstVarRatio, vr)}`),
      l.before.flatShare !== null || l.after.flatShare !== null
        ? h("span", null, `flat share ${arrow(l.before.flatShare, l.after.flatShare, percent)}`)
        : null,
      h("span", null, `dead channels ${l.before.deadChannels} → ${l.after.deadChannels}`),
    ),
    legend,
    chart.element,
    h(
      "p",
      { class: "caption" },
      "Every channel pooled, both measured on the same data and re-binned onto the same equal-width bins; height: share of all values per bin. " +
        "The curves differ where the old statistics shifted or scaled this layer's output.",
    ),
  );
  return { element, chart };
}
