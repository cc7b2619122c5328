// The comparison mode's charts: drift by layer in graph order (threshold and the shift's start marked),
// A's and B's pre- and post-BN histograms as four step curves on the same bins (colour: pre or post; line
// style: A solid, B dashed), and per-channel means or variances of A and B against the stored running values.
import type { LayerComparisonJson } from "../src/core/compare/comparisonReport";
import type { IntervalJson } from "../src/core/report";
import { clipIntervals, linearShares, niceTicks, quantileRange, unionRange, type Hist } from "./histogramView";
import { num, percent } from "./format";
import { plotBox, strokeSteps, widthOf } from "./plot";
import { palette, withAlpha, type Palette } from "./theme";

const M = { left: 52, right: 12, top: 14, bottom: 26 };

function yAxis(
  ctx: CanvasRenderingContext2D,
  p: Palette,
  ticks: number[],
  toY: (v: number) => number,
  x0: number,
  x1: number,
  label: (v: number) => string,
) {
  ctx.font = `11px ${p.fontFamily}`;
  ctx.fillStyle = p.muted;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of ticks) {
    const y = Math.round(toY(t)) + 0.5;
    ctx.fillText(label(t), x0 - 6, y);
    ctx.strokeStyle = withAlpha(p.grid, 0.5);
    ctx.beginPath();
    ctx.moveTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.stroke();
  }
}

/** One canvas with its readout line below. */
abstract class Chart {
  readonly element: HTMLElement;
  protected readonly canvas: HTMLCanvasElement;
  protected readonly readout: HTMLElement;
  constructor(
    protected readonly height: number,
    private readonly hint: string,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.readout = document.createElement("div");
    this.readout.className = "readout";
    this.readout.textContent = hint;
    this.element = document.createElement("div");
    this.element.className = "chart";
    this.element.append(this.canvas, this.readout);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e.offsetX));
    this.canvas.addEventListener("mouseleave", () => (this.readout.textContent = this.hint));
  }
  abstract draw(): void;
  protected abstract hover(x: number): void;
}

/** Drift score by layer in graph order: bars, the warning and error thresholds, the starting layer called out. */
export class DriftChart extends Chart {
  private step = 0;
  constructor(
    private readonly layers: readonly LayerComparisonJson[],
    private readonly thresholds: { warning: number; error: number },
    private readonly startIndex: number | null,
    private readonly open: (l: LayerComparisonJson) => void,
  ) {
    super(160, "Hover a bar to read a layer's drift; click it to open the layer.");
    this.canvas.addEventListener("click", (e) => {
      const l = this.at(e.offsetX);
      if (l) this.open(l);
    });
  }

  private at(x: number): LayerComparisonJson | undefined {
    if (!this.step) return undefined;
    return this.layers[Math.floor((x - M.left) / this.step)];
  }

  draw(): void {
    const p = palette();
    const { ctx, pw, ph } = plotBox(this.canvas, this.element, this.height, M);
    const ymax = Math.max(this.thresholds.error * 1.25, ...this.layers.map((l) => l.pre.score ?? 0)) * 1.05;
    const toY = (v: number) => M.top + ph - (v / ymax) * ph;
    yAxis(ctx, p, niceTicks(0, ymax, 4), toY, M.left, M.left + pw, num);
    this.step = pw / Math.max(1, this.layers.length);
    const bw = Math.max(1, Math.min(24, this.step * 0.7));
    this.layers.forEach((l, i) => {
      const v = l.pre.score ?? 0;
      const x = M.left + i * this.step + (this.step - bw) / 2;
      const color = !l.drifting ? p.muted : l.severity === "error" ? p.error : p.warning;
      ctx.fillStyle = withAlpha(color, l.drifting ? 0.75 : 0.45);
      ctx.fillRect(x, toY(v), bw, M.top + ph - toY(v));
      // The noise floor of the worst channel, times the noise factor, as a short tick: below it a bar is noise.
      if (l.pre.scoreNoiseFloor !== null) {
        ctx.strokeStyle = p.fg;
        ctx.lineWidth = 1;
        const y = Math.round(toY(Math.min(ymax, l.pre.scoreNoiseFloor))) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x - 1, y);
        ctx.lineTo(x + bw + 1, y);
        ctx.stroke();
      }
    });
    for (const [t, color] of [
      [this.thresholds.warning, p.warning],
      [this.thresholds.error, p.error],
    ] as const) {
      ctx.strokeStyle = color;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(M.left, Math.round(toY(t)) + 0.5);
      ctx.lineTo(M.left + pw, Math.round(toY(t)) + 0.5);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.font = `11px ${p.fontFamily}`;
    ctx.fillStyle = p.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const every = Math.max(1, Math.ceil(this.layers.length / Math.max(1, Math.floor(pw / 28))));
    this.layers.forEach((l, i) => {
      if (i % every === 0) ctx.fillText(String(l.index), M.left + (i + 0.5) * this.step, M.top + ph + 6);
    });
    const s = this.layers.findIndex((l) => l.index === this.startIndex);
    if (s >= 0) {
      const x = M.left + (s + 0.5) * this.step;
      const y = toY(this.layers[s].pre.score ?? 0);
      ctx.strokeStyle = p.fg;
      ctx.fillStyle = p.fg;
      ctx.beginPath();
      ctx.moveTo(x, Math.max(M.top, y - 14));
      ctx.lineTo(x, y - 3);
      ctx.stroke();
      ctx.textAlign = x > M.left + pw - 90 ? "right" : "left";
      ctx.textBaseline = "bottom";
      ctx.font = `600 11px ${p.fontFamily}`;
      ctx.fillText("shift starts", x + (ctx.textAlign === "left" ? 4 : -4), Math.max(M.top + 10, y - 6));
    }
    this.canvas.setAttribute(
      "aria-label",
      `Drift by layer in graph order, ${this.layers.length} layers; ${this.layers.filter((l) => l.drifting).length} drift` +
        (s >= 0 ? `; the shift starts at layer ${this.layers[s].index}, ${this.layers[s].node}.` : "."),
    );
  }

  protected hover(x: number): void {
    const l = this.at(x);
    if (!l) return;
    this.readout.textContent =
      `Layer ${l.index} ${l.node}: drift ${num(l.pre.score)} (worst channel's Jensen-Shannon distance; noise floor ${num(l.pre.scoreNoiseFloor)}), ` +
      `${l.shiftedChannels.length} of ${l.channels} channels shifted.`;
  }
}

/** One curve of the histogram overlay. */
export interface OverlaySeries {
  label: string;
  hist: Hist;
  color: "pre" | "post";
  dashed: boolean;
}

/** A's and B's histograms as step curves on the same linear display bins (re-binned from the shared buckets). */
export class OverlayChart extends Chart {
  private geometry: { lo: number; hi: number; bins: number; shares: Float64Array[] } | null = null;

  constructor(
    private readonly series: OverlaySeries[],
    private readonly flat: readonly IntervalJson[],
  ) {
    super(240, "Hover the chart to read the share of values at a point.");
  }

  draw(): void {
    const p = palette();
    const { ctx, pw, ph } = plotBox(this.canvas, this.element, this.height, M);
    const [lo, hi] = unionRange(this.series.map((s) => quantileRange(s.hist)));
    const bins = Math.max(30, Math.min(120, Math.floor(pw / 6)));
    const shares = this.series.map((s) => linearShares(s.hist, lo, hi, bins));
    let ymax = 0;
    for (const sh of shares) for (const v of sh) ymax = Math.max(ymax, v);
    if (!(ymax > 0)) ymax = 1;
    const toX = (v: number) => M.left + ((v - lo) / (hi - lo)) * pw;
    const toY = (v: number) => M.top + ph - (v / ymax) * ph;
    for (const [a, b] of clipIntervals(this.flat, lo, hi)) {
      ctx.fillStyle = withAlpha(p.flat, p.highContrast ? 0.3 : 0.12);
      ctx.fillRect(toX(a), M.top, Math.max(1, toX(b) - toX(a)), ph);
    }
    yAxis(
      ctx,
      p,
      niceTicks(0, ymax * 100, 4),
      (t) => toY(t / 100),
      M.left,
      M.left + pw,
      (t) => `${num(t)}%`,
    );
    ctx.fillStyle = p.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.strokeStyle = p.grid;
    for (const t of niceTicks(lo, hi, Math.max(3, Math.floor(pw / 90)))) {
      const x = Math.round(toX(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, M.top + ph);
      ctx.lineTo(x, M.top + ph + 4);
      ctx.stroke();
      ctx.fillText(num(t), x, M.top + ph + 6);
    }
    this.series.forEach((s, k) => {
      ctx.strokeStyle = s.color === "pre" ? p.pre : p.post;
      ctx.lineWidth = s.dashed ? 2 : 1.75;
      ctx.setLineDash(s.dashed ? [6, 4] : []);
      strokeSteps(ctx, shares[k], M.left, pw, toY);
    });
    ctx.setLineDash([]);
    this.geometry = { lo, hi, bins, shares };
    this.canvas.setAttribute(
      "aria-label",
      `Histograms of ${this.series.map((s) => s.label).join(", ")} from ${num(lo)} to ${num(hi)} on the same bins.`,
    );
  }

  protected hover(x: number): void {
    const g = this.geometry;
    if (!g) return;
    const W = widthOf(this.element);
    const pw = W - M.left - M.right;
    const v = g.lo + ((x - M.left) / pw) * (g.hi - g.lo);
    if (v < g.lo || v > g.hi) return;
    const w = (g.hi - g.lo) / g.bins;
    const i = Math.min(g.bins - 1, Math.max(0, Math.floor((v - g.lo) / w)));
    const a = g.lo + i * w;
    this.readout.textContent = `${num(a)} to ${num(a + w)}: ${this.series.map((s, k) => `${s.label} ${percent(g.shares[k][i])}`).join(", ")} of values.`;
  }
}

/** Per-channel values of A and B against the stored running value (means on a linear axis, variances on log). */
export class ChannelCompareChart extends Chart {
  private step = 0;
  constructor(
    private readonly title: string,
    private readonly a: readonly (number | null)[],
    private readonly b: readonly (number | null)[],
    private readonly stored: readonly number[] | null,
    private readonly log: boolean,
  ) {
    super(170, "Hover a channel to read A, B and the stored value.");
  }

  draw(): void {
    const p = palette();
    const { ctx, pw, ph } = plotBox(this.canvas, this.element, this.height, M);
    const f = (v: number | null) => (v === null || !Number.isFinite(v) ? null : this.log ? (v > 0 ? Math.log10(v) : null) : v);
    const all = [...this.a, ...this.b, ...(this.stored ?? [])].map(f).filter((v): v is number => v !== null);
    let lo = Math.min(...all);
    let hi = Math.max(...all);
    if (!all.length) [lo, hi] = [0, 1];
    if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
    const pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    const toY = (u: number) => M.top + ph - ((u - lo) / (hi - lo)) * ph;
    const ticks = this.log ? niceTicks(lo, hi, 4).filter((t) => Number.isInteger(t)) : niceTicks(lo, hi, 6);
    yAxis(ctx, p, ticks, toY, M.left, M.left + pw, (t) => (this.log ? num(10 ** t) : num(t)));
    const C = this.a.length;
    this.step = pw / Math.max(1, C);
    const cx = (c: number) => M.left + (c + 0.5) * this.step;
    const r = Math.max(1.5, Math.min(3.5, this.step / 3));
    for (let c = 0; c < C; c++) {
      const s = this.stored ? f(this.stored[c]) : null;
      if (s !== null) {
        ctx.strokeStyle = p.fg;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(cx(c) - Math.max(2, this.step * 0.4), toY(s));
        ctx.lineTo(cx(c) + Math.max(2, this.step * 0.4), toY(s));
        ctx.stroke();
      }
      const va = f(this.a[c]);
      if (va !== null) {
        ctx.fillStyle = p.pre;
        ctx.beginPath();
        ctx.arc(cx(c), toY(va), r, 0, 2 * Math.PI);
        ctx.fill();
      }
      const vb = f(this.b[c]);
      if (vb !== null) {
        ctx.strokeStyle = p.gamma;
        ctx.lineWidth = 1.5;
        ctx.strokeRect(cx(c) - r, toY(vb) - r, 2 * r, 2 * r);
      }
    }
    ctx.fillStyle = p.muted;
    ctx.font = `11px ${p.fontFamily}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const every = Math.max(1, Math.ceil(C / Math.max(1, Math.floor(pw / 28))));
    for (let c = 0; c < C; c += every) ctx.fillText(String(c), cx(c), M.top + ph + 6);
    this.canvas.setAttribute("aria-label", `${this.title} of ${C} channels: A, B and the stored running value.`);
  }

  protected hover(x: number): void {
    if (!this.step) return;
    const c = Math.floor((x - M.left) / this.step);
    if (c < 0 || c >= this.a.length) return;
    this.readout.textContent = `Channel ${c}: A ${num(this.a[c])}, B ${num(this.b[c])}${this.stored ? `, running ${num(this.stored[c])}` : ""}.`;
  }
}
