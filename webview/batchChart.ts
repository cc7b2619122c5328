// The batch-size chart of one layer: 95% ranges of batch renormalization's d and r against the batch size
// (log axis), the tolerance band and the training batch size. SVG built with DOM calls (no inline styles).
import type { BatchDependenceJson, BatchStudyLayerJson } from "../src/core/report";
import { describeBatchDependence } from "../src/core/stats/batchDependence";
import { h } from "./dom";
import { num } from "./format";

const NS = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A card with the chart and one sentence; null when the layer has no study. */
export function batchChart(
  study: BatchStudyLayerJson | undefined,
  tolerance: number,
  trainBatch: number | null,
  dependence: BatchDependenceJson | null = null,
): HTMLElement | null {
  if (!study || study.sizes.length === 0) return null;
  const W = 420,
    H = 180,
    L = 44,
    R = 12,
    T = 10,
    B = 30;
  const maxB = Math.max(study.sizes[study.sizes.length - 1], trainBatch ?? 1);
  const xMax = Math.max(1, Math.log2(maxB));
  const x = (b: number) => L + ((W - L - R) * Math.log2(b)) / xMax;
  // Deviations from the population: |d| and |r - 1| at the 95% point of random batches.
  const dev = study.sizes.map((_, k) => Math.max(study.rHigh[k] - 1, 1 - study.rLow[k]));
  const yMax = Math.max(tolerance * 2, ...study.d95, ...dev) * 1.05;
  const y = (v: number) => T + (H - T - B) * (1 - Math.min(v, yMax) / yMax);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "batch-chart", role: "img" });
  root.append(svg("title", {}, "95% ranges of d and r against batch size"));
  root.append(svg("rect", { x: L, y: y(tolerance), width: W - L - R, height: y(0) - y(tolerance), class: "band" }));
  root.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }));
  root.append(svg("line", { x1: L, x2: L, y1: T, y2: y(0), class: "axis" }));
  for (const b of study.sizes) root.append(svg("text", { x: x(b), y: H - 12, class: "tick", "text-anchor": "middle" }, String(b)));
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 1, class: "tick", "text-anchor": "middle" }, "batch size (log scale)"));
  for (const v of [0, tolerance, yMax / 1.05])
    root.append(svg("text", { x: L - 4, y: y(v) + 3, class: "tick", "text-anchor": "end" }, num(v)));
  const line = (values: number[], cls: string) =>
    root.append(svg("polyline", { points: study.sizes.map((b, k) => `${x(b)},${y(values[k])}`).join(" "), class: cls }));
  line(study.d95, "d-line");
  line(dev, "r-line");
  if (trainBatch !== null) {
    root.append(svg("line", { x1: x(trainBatch), x2: x(trainBatch), y1: T, y2: y(0), class: "train" }));
    root.append(svg("text", { x: x(trainBatch) + 3, y: T + 10, class: "tick" }, `training batch ${trainBatch}`));
  }
  const need =
    study.minBatch === null
      ? `No batch of up to ${study.sizes[study.sizes.length - 1]} samples keeps both within ±${num(tolerance)}.`
      : `Batches of ${study.minBatch} or more keep both within ±${num(tolerance)} in every channel.`;
  return h(
    "section",
    { class: "card", "data-testid": "batch-chart" },
    h("div", { class: "card-head" }, h("h3", null, "Batch size and BN")),
    h(
      "p",
      { class: "figures" },
      h("span", { class: "fig-pre" }, "|d| = |batch mean − mean| / std"),
      h("span", { class: "fig-post" }, "|r − 1|, r = batch std / std"),
      h("span", { class: "muted" }, "95% of random batches (worst channel); shaded: tolerance"),
    ),
    root as unknown as HTMLElement,
    h("p", { class: "muted" }, need),
    dependence
      ? h(
          "p",
          { "data-testid": "batch-dependence", title: dependence.method },
          describeBatchDependence(dependence),
          study.layer && dependence.layers.includes(study.layer) ? " This layer is one of them." : "",
        )
      : null,
  );
}
