// The detail view's charts: pre/post-BN histograms overlaid on one axis, and per-channel charts that
// share a channel cursor (mouse or arrow keys).
import type { IntervalJson } from "../src/core/report";
import type { ChannelInterval } from "../src/core/stats/channelIntervals";
import {
  clipIntervals,
  linearShares,
  niceTicks,
  quantileRange,
  symlog,
  symlogBars,
  symlogThreshold,
  symlogTicks,
  unionRange,
  type Hist,
} from "./histogramView";
import { num, percent } from "./format";
import { plotBox, strokeSteps, widthOf } from "./plot";
import { palette, setupCanvas, withAlpha, type Palette } from "./theme";

const M = { left: 52, right: 10, top: 10, bottom: 24 };

const HOVER_HINT = "Hover the chart (or focus it and use ← →) to read the share of values in a bin.";

function axisText(ctx: CanvasRenderingContext2D, p: Palette): void {
  ctx.fillStyle = p.muted;
  ctx.font = `11px ${p.fontFamily}`;
}

export interface HistogramSeries {
  label: string;
  hist: Hist;
  color: "pre" | "post";
}

/** Pre- and post-BN histograms on one axis, linear (re-binned) or symmetric-log (stored buckets). */
export class HistogramChart {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLElement;
  private geometry: {
    lo: number;
    hi: number;
    toX(v: number): number;
    fromX(x: number): number;
    bins?: Float64Array[];
    binW?: number;
    /** Symmetric-log axis: each series' stored buckets as drawn. */
    bars?: { lo: number; hi: number; share: number }[][];
  } | null = null;
  /** The value under the pointer (or moved to with the arrow keys), marked on the chart. */
  private hoverValue: number | null = null;
  /** Whether the last drawing scaled each series to its own peak. */
  ownPeakInEffect = false;

  constructor(
    private readonly series: HistogramSeries[],
    private readonly flat: readonly IntervalJson[],
    private axis: "linear" | "symlog",
    /** true/false: the user's choice; null: each to its own peak when one peak is 4 or more times the other. */
    private ownPeak: boolean | null = null,
    private readonly height = 220,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.tabIndex = 0;
    this.canvas.dataset.testid = "histogram";
    this.readout = document.createElement("div");
    this.readout.className = "readout";
    this.readout.setAttribute("aria-live", "polite");
    this.readout.dataset.testid = "hist-readout";
    this.readout.textContent = HOVER_HINT;
    this.element = document.createElement("div");
    this.element.className = "chart hist-chart";
    this.element.append(this.canvas, this.readout);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e.offsetX));
    this.canvas.addEventListener("mouseleave", () => this.clearHover());
    this.canvas.addEventListener("blur", () => this.clearHover());
    this.canvas.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      this.stepHover(e.key === "ArrowRight" ? 1 : -1);
    });
  }

  setAxis(axis: "linear" | "symlog"): void {
    this.axis = axis;
    this.hoverValue = null;
    this.readout.textContent = HOVER_HINT;
    this.draw();
  }

  setOwnPeak(own: boolean | null): void {
    this.ownPeak = own;
    this.draw();
  }

  private clearHover(): void {
    if (this.hoverValue === null) return;
    this.hoverValue = null;
    this.readout.textContent = HOVER_HINT;
    this.draw();
  }

  /** Moves the marked bin (linear) or bucket (symmetric-log) by one, from the middle when none is marked. */
  private stepHover(dir: 1 | -1): void {
    const g = this.geometry;
    if (!g) return;
    if (g.binW) {
      const v = this.hoverValue ?? (g.lo + g.hi) / 2;
      const i = Math.min(g.bins![0].length - 1, Math.max(0, Math.floor((v - g.lo) / g.binW) + (this.hoverValue === null ? 0 : dir)));
      this.hoverValue = g.lo + (i + 0.5) * g.binW;
    } else if (g.bars) {
      const edges = [...new Set(g.bars.flat().map((b) => (b.lo + b.hi) / 2))].sort((a, b) => a - b);
      if (!edges.length) return;
      const v = this.hoverValue ?? 0;
      const at = edges.findIndex((e) => e >= v);
      const i = this.hoverValue === null ? Math.max(0, at) : Math.min(edges.length - 1, Math.max(0, (at < 0 ? edges.length : at) + dir));
      this.hoverValue = edges[i];
    }
    this.draw();
    this.describeHover();
  }

  draw(): void {
    const p = palette();
    const { ctx, pw, ph } = plotBox(this.canvas, this.element, this.height, M);
    const [lo, hi] = unionRange(this.series.map((s) => quantileRange(s.hist)));
    const colorOf = (s: HistogramSeries) => (s.color === "pre" ? p.pre : p.post);

    let toX: (v: number) => number;
    let fromX: (x: number) => number;
    let ticks: number[];
    let ymax = 0;
    const peaks = this.series.map(() => 0);
    // A tall pre-BN spike must not flatten the post-BN curve: then each series gets its own height scale.
    const lowPeak = () => Math.min(...peaks.filter((v) => v > 0));
    const own = () => this.series.length > 1 && (this.ownPeak ?? (peaks.every((v) => v > 0) && Math.max(...peaks) >= 4 * lowPeak()));
    const scaleOf = (k: number) => (this.ownPeakInEffect ? peaks[k] || 1 : ymax);
    let markBin: (v: number) => [number, number] | null = () => null;
    const draws: (() => void)[] = [];
    if (this.axis === "linear") {
      const bins = Math.max(30, Math.min(120, Math.floor(pw / 6)));
      toX = (v) => M.left + ((v - lo) / (hi - lo)) * pw;
      fromX = (x) => lo + ((x - M.left) / pw) * (hi - lo);
      ticks = niceTicks(lo, hi, Math.max(3, Math.floor(pw / 90)));
      const shares = this.series.map((s) => linearShares(s.hist, lo, hi, bins));
      shares.forEach((sh, k) => {
        for (const v of sh) peaks[k] = Math.max(peaks[k], v);
      });
      const bw = pw / bins;
      this.series.forEach((s, k) =>
        draws.push(() => {
          const sh = shares[k];
          const color = colorOf(s);
          const ymax = scaleOf(k);
          ctx.fillStyle = withAlpha(color, 0.35);
          for (let i = 0; i < bins; i++) {
            if (sh[i] <= 0) continue;
            const bh = Math.min(1, sh[i] / ymax) * ph;
            ctx.fillRect(M.left + i * bw, M.top + ph - bh, bw, bh);
          }
          // Outline as a step line so the two distributions stay readable where they overlap.
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5;
          strokeSteps(ctx, sh, M.left, pw, (v) => M.top + ph - Math.min(1, v / ymax) * ph);
        }),
      );
      this.geometry = { lo, hi, toX, fromX, bins: shares, binW: (hi - lo) / bins };
      markBin = (v) => {
        const i = Math.floor((v - lo) / ((hi - lo) / bins));
        return i >= 0 && i < bins ? [lo + (i * (hi - lo)) / bins, lo + ((i + 1) * (hi - lo)) / bins] : null;
      };
    } else {
      const ax = symlog(symlogThreshold(this.series.map((s) => s.hist)));
      const u0 = ax.to(lo);
      const u1 = ax.to(hi);
      toX = (v) => M.left + ((ax.to(v) - u0) / (u1 - u0)) * pw;
      fromX = (x) => ax.from(u0 + ((x - M.left) / pw) * (u1 - u0));
      ticks = symlogTicks(lo, hi, ax, Math.max(3, Math.floor(pw / 60)));
      // Height is share per quarter octave (a stored bucket's width on the log part of the axis), so the
      // wider pooled bar around zero is not overstated.
      const height = (b: { lo: number; hi: number; share: number }) => b.share / Math.max(1e-9, (ax.to(b.hi) - ax.to(b.lo)) / 0.25);
      const bars = this.series.map((s) => symlogBars(s.hist, ax.c));
      bars.forEach((bs, k) => {
        for (const b of bs) peaks[k] = Math.max(peaks[k], height(b));
      });
      this.series.forEach((s, k) =>
        draws.push(() => {
          const color = colorOf(s);
          const ymax = scaleOf(k);
          ctx.fillStyle = withAlpha(color, 0.35);
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.25;
          for (const b of bars[k]) {
            const x0 = Math.max(M.left, toX(b.lo));
            const x1 = Math.min(M.left + pw, toX(b.hi));
            if (x1 <= x0) continue;
            const bh = Math.min(1, height(b) / ymax) * ph;
            ctx.fillRect(x0, M.top + ph - bh, x1 - x0, bh);
            ctx.strokeRect(x0 + 0.5, M.top + ph - bh + 0.5, Math.max(0, x1 - x0 - 1), bh);
          }
        }),
      );
      this.geometry = { lo, hi, toX, fromX, bars };
      markBin = (v) => {
        for (const bs of bars) {
          const b = bs.find((x) => v >= x.lo && v < x.hi);
          if (b) return [b.lo, b.hi];
        }
        return null;
      };
    }
    ymax = Math.max(0, ...peaks);
    if (!(ymax > 0)) ymax = 1;

    // Flat region of the nonlinearity (in post-BN units).
    for (const [a, b] of clipIntervals(this.flat, lo, hi)) {
      const x0 = toX(a);
      const x1 = toX(b);
      ctx.fillStyle = withAlpha(p.flat, p.highContrast ? 0.3 : 0.14);
      ctx.fillRect(x0, M.top, Math.max(1, x1 - x0), ph);
      ctx.strokeStyle = withAlpha(p.flat, 0.7);
      ctx.setLineDash([3, 3]);
      ctx.lineWidth = 1;
      for (const x of [x0, x1])
        if (x > M.left + 1 && x < M.left + pw - 1) {
          ctx.beginPath();
          ctx.moveTo(x + 0.5, M.top);
          ctx.lineTo(x + 0.5, M.top + ph);
          ctx.stroke();
        }
      ctx.setLineDash([]);
    }

    // Axes.
    axisText(ctx, p);
    ctx.strokeStyle = p.grid;
    ctx.lineWidth = 1;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticks) {
      const x = Math.round(toX(t)) + 0.5;
      if (x < M.left - 1 || x > M.left + pw + 1) continue;
      ctx.beginPath();
      ctx.moveTo(x, M.top + ph);
      ctx.lineTo(x, M.top + ph + 4);
      ctx.stroke();
      ctx.fillText(num(t), x, M.top + ph + 6);
    }
    if (lo < 0 && hi > 0) {
      ctx.strokeStyle = withAlpha(p.fg, 0.45);
      const x = Math.round(toX(0)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, M.top);
      ctx.lineTo(x, M.top + ph);
      ctx.stroke();
    }
    ctx.strokeStyle = p.grid;
    ctx.beginPath();
    ctx.moveTo(M.left, M.top + ph + 0.5);
    ctx.lineTo(M.left + pw, M.top + ph + 0.5);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    this.ownPeakInEffect = own();
    if (this.ownPeakInEffect) {
      // Heights are per series: a shared % axis would lie, so the peaks are written out instead.
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      ctx.fillText(
        `Each to its own peak: ${this.series.map((s, k) => `${s.label} ${percent(peaks[k])}`).join(", ")} at the top`,
        M.left + 4,
        M.top + 2,
      );
    }
    for (const t of this.ownPeakInEffect ? [] : niceTicks(0, ymax * 100, 4)) {
      const y = M.top + ph - (t / 100 / ymax) * ph;
      if (y < M.top - 1) continue;
      ctx.fillText(`${num(t)}%`, M.left - 6, y);
      ctx.strokeStyle = withAlpha(p.grid, 0.5);
      ctx.beginPath();
      ctx.moveTo(M.left, Math.round(y) + 0.5);
      ctx.lineTo(M.left + pw, Math.round(y) + 0.5);
      ctx.stroke();
    }
    for (const d of draws) d();
    const marked = this.hoverValue === null ? null : markBin(this.hoverValue);
    if (marked) {
      const x0 = Math.max(M.left, toX(marked[0]));
      const x1 = Math.min(M.left + pw, toX(marked[1]));
      ctx.fillStyle = withAlpha(p.focus, 0.25);
      ctx.fillRect(x0, M.top, Math.max(2, x1 - x0), ph);
      ctx.strokeStyle = p.focus;
      ctx.lineWidth = 1;
      ctx.strokeRect(Math.round(x0) + 0.5, M.top + 0.5, Math.max(2, Math.round(x1 - x0) - 1), ph - 1);
    }
    this.canvas.dataset.marked = marked ? `${marked[0]},${marked[1]}` : "";
    this.canvas.setAttribute(
      "aria-label",
      `Histogram of ${this.series.map((s) => s.label).join(" and ")} from ${num(lo)} to ${num(hi)}, ${this.axis === "linear" ? "linear" : "symmetric-log"} axis.`,
    );
  }

  private hover(x: number): void {
    const g = this.geometry;
    if (!g) return;
    const v = g.fromX(x);
    if (v < g.lo || v > g.hi) return;
    this.hoverValue = v;
    this.draw();
    this.describeHover();
  }

  /** Writes the marked bin's range and each series' share of values in it. */
  private describeHover(): void {
    const g = this.geometry;
    const v = this.hoverValue;
    if (!g || v === null) return;
    if (g.bins && g.binW) {
      const i = Math.min(g.bins[0].length - 1, Math.max(0, Math.floor((v - g.lo) / g.binW)));
      const a = g.lo + i * g.binW;
      const parts = this.series.map((s, k) => `${s.label} ${percent(g.bins![k][i])}`);
      this.readout.textContent = `${num(a)} to ${num(a + g.binW)}: ${parts.join(", ")} of values.`;
    } else if (g.bars) {
      const parts = this.series.map((s, k) => {
        const b = g.bars![k].find((x) => v >= x.lo && v < x.hi);
        return { s, b };
      });
      const b = parts.find((p) => p.b)?.b;
      this.readout.textContent = b
        ? `${num(b.lo)} to ${num(b.hi)}: ${parts.map((p) => `${p.s.label} ${percent(p.b?.share ?? 0)}`).join(", ")} of values.`
        : `x ≈ ${num(v)}: no values stored here.`;
    }
  }
}

/** 1, 2, 5, 10, 20, … up to `max`, at most five of them. */
function ratioTicks(max: number): number[] {
  const out: number[] = [];
  for (let e = 1; e <= max * 1.0001 && out.length < 40; e *= 10) for (const k of [1, 2, 5]) if (k * e <= max * 1.0001) out.push(k * e);
  while (out.length > 5) {
    const keep = out.filter((_, i) => i % 2 === 0);
    out.splice(0, out.length, ...keep);
  }
  return out;
}

const VERDICT_RANK = { skipped: 0, within: 1, undecided: 2, crossed: 3 } as const;

/** Per-channel data of one chart. */
export type ChannelChartSpec =
  | { kind: "meanBand"; title: string; stored: readonly number[] | null; mean: readonly (number | null)[]; sd: readonly (number | null)[] }
  | { kind: "varLog"; title: string; stored: readonly number[]; observed: readonly (number | null)[]; warnRatio: number }
  | {
      /** Each channel's estimate with its confidence interval as an error bar, coloured by its verdict. */
      kind: "interval";
      title: string;
      items: readonly (ChannelInterval | null)[];
      scale: "linear" | "log";
      /** Where the rule's thresholds are drawn (dashed): ±warning for z, warning for the ratio. */
      thresholds: readonly number[];
    }
  | {
      kind: "bars";
      title: string;
      values: readonly (number | null)[];
      color: "gamma" | "beta" | "post";
      unit?: "share";
      threshold?: number;
      marks?: ReadonlySet<number>;
    };

/** Per-channel charts stacked with one channel axis and a shared cursor. */
export class ChannelCharts {
  readonly element: HTMLElement;
  private readonly canvases: HTMLCanvasElement[] = [];
  private cursor = 0;

  constructor(
    private readonly channels: number,
    private readonly specs: ChannelChartSpec[],
    private readonly onCursor: (channel: number) => void,
    private readonly height = 110,
  ) {
    this.element = document.createElement("div");
    this.element.className = "channel-charts";
    this.element.tabIndex = 0;
    this.element.setAttribute("role", "group");
    this.element.setAttribute(
      "aria-label",
      `Per-channel charts for ${channels} channels. Use the left and right arrow keys to move between channels.`,
    );
    for (const s of specs) {
      const title = document.createElement("div");
      title.className = "chart-title";
      title.textContent = s.title;
      const c = document.createElement("canvas");
      c.setAttribute("aria-hidden", "true");
      c.addEventListener("mousemove", (e) => this.setCursor(this.channelAt(e.offsetX)));
      c.addEventListener("click", (e) => this.setCursor(this.channelAt(e.offsetX)));
      this.canvases.push(c);
      this.element.append(title, c);
    }
    this.element.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 10 : 1;
      const next =
        e.key === "ArrowRight"
          ? this.cursor + step
          : e.key === "ArrowLeft"
            ? this.cursor - step
            : e.key === "Home"
              ? 0
              : e.key === "End"
                ? this.channels - 1
                : null;
      if (next === null) return;
      e.preventDefault();
      this.setCursor(Math.min(this.channels - 1, Math.max(0, next)));
    });
  }

  setCursor(c: number): void {
    if (c === this.cursor) return;
    this.cursor = c;
    this.draw();
    this.onCursor(c);
  }

  private plotWidth(): number {
    return widthOf(this.element) - M.left - M.right;
  }

  private channelAt(x: number): number {
    const slot = this.plotWidth() / this.channels;
    return Math.min(this.channels - 1, Math.max(0, Math.floor((x - M.left) / slot)));
  }

  draw(): void {
    const p = palette();
    const W = widthOf(this.element);
    this.specs.forEach((s, k) => this.drawOne(this.canvases[k], s, W, p));
  }

  private drawOne(canvas: HTMLCanvasElement, s: ChannelChartSpec, W: number, p: Palette): void {
    const H = this.height;
    const ctx = setupCanvas(canvas, W, H);
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const n = this.channels;
    const slot = pw / n;
    const cx = (c: number) => M.left + (c + 0.5) * slot;
    const dot = Math.max(1.5, Math.min(4, slot * 0.35));

    // Y domain.
    const log = s.kind === "varLog" || (s.kind === "interval" && s.scale === "log");
    const vals: number[] = [];
    if (s.kind === "meanBand") {
      s.mean.forEach((m, c) => {
        if (m !== null) {
          const sd = s.sd[c] ?? 0;
          vals.push(m - sd, m + sd);
        }
      });
      if (s.stored) vals.push(...s.stored);
    } else if (s.kind === "varLog") {
      for (const v of [...s.stored, ...s.observed]) if (v !== null && v > 0) vals.push(v);
    } else if (s.kind === "interval") {
      for (const it of s.items) if (it) vals.push(it.lo, it.hi);
      vals.push(...s.thresholds);
      if (s.scale === "log") vals.push(1);
      else vals.push(0);
    } else {
      for (const v of s.values) if (v !== null) vals.push(v);
      if (s.unit === "share") vals.push(0, 1);
      else vals.push(0);
    }
    let y0 = vals.length ? Math.min(...vals) : 0;
    let y1 = vals.length ? Math.max(...vals) : 1;
    if (log) {
      y0 = Math.log10(y0 || 1e-12);
      y1 = Math.log10(y1 || 1);
      y0 = Math.floor(y0 * 2) / 2;
      y1 = Math.ceil(y1 * 2) / 2;
      if (s.kind === "interval") {
        // Folded ratios are at least 1: the axis starts there.
        y0 = 0;
        y1 = Math.max(y1, 0.5);
      } else if (y1 - y0 < 1) {
        y0 -= 0.5;
        y1 += 0.5;
      }
    } else {
      if (y1 - y0 < 1e-12) {
        y0 -= 1;
        y1 += 1;
      }
      const pad = (y1 - y0) * 0.06;
      if (!(s.kind === "bars" && s.unit === "share")) {
        y0 = y0 === 0 ? 0 : y0 - pad;
        y1 += pad;
      }
    }
    const floor = log ? 10 ** y0 : 0;
    const Y = (v: number) => {
      const t = log ? Math.log10(Math.max(v, floor)) : v;
      return M.top + ph - ((t - y0) / (y1 - y0)) * ph;
    };

    // Grid and y labels.
    axisText(ctx, p);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const yt =
      s.kind === "interval" && log
        ? ratioTicks(10 ** y1)
        : log
          ? Array.from({ length: Math.floor(y1) - Math.ceil(y0) + 1 }, (_, i) => 10 ** (Math.ceil(y0) + i))
          : s.kind === "bars" && s.unit === "share"
            ? [0, 0.5, 1]
            : niceTicks(y0, y1, 3);
    const thin = log && s.kind !== "interval" && yt.length > 4 ? Math.ceil(yt.length / 4) : 1;
    yt.forEach((t, i) => {
      if (i % thin) return;
      const y = Math.round(Y(t)) + 0.5;
      ctx.strokeStyle = withAlpha(p.grid, t === 0 && !log ? 1 : 0.45);
      ctx.beginPath();
      ctx.moveTo(M.left, y);
      ctx.lineTo(M.left + pw, y);
      ctx.stroke();
      ctx.fillText(
        s.kind === "bars" && s.unit === "share" ? percent(t) : s.kind === "interval" && log ? `${num(t)}×` : num(t),
        M.left - 6,
        y,
      );
    });

    // Cursor.
    ctx.fillStyle = withAlpha(p.focus, 0.22);
    ctx.fillRect(M.left + this.cursor * slot, M.top, Math.max(1, slot), ph);

    // The stored value of each channel as a short horizontal bar.
    const storedMarks = (stored: ArrayLike<number>) => {
      ctx.strokeStyle = p.stored;
      ctx.lineWidth = 2;
      const half = Math.max(2, Math.min(7, slot * 0.45));
      for (let c = 0; c < n; c++) {
        const y = Math.round(Y(stored[c])) + 0.5;
        ctx.beginPath();
        ctx.moveTo(cx(c) - half, y);
        ctx.lineTo(cx(c) + half, y);
        ctx.stroke();
      }
    };
    if (s.kind === "meanBand") {
      for (let c = 0; c < n; c++) {
        const m = s.mean[c];
        if (m === null) continue;
        const sd = s.sd[c] ?? 0;
        ctx.strokeStyle = withAlpha(p.pre, 0.75);
        ctx.lineWidth = Math.max(1, Math.min(3, slot * 0.3));
        ctx.beginPath();
        ctx.moveTo(cx(c), Y(m - sd));
        ctx.lineTo(cx(c), Y(m + sd));
        ctx.stroke();
        ctx.fillStyle = p.pre;
        ctx.beginPath();
        ctx.arc(cx(c), Y(m), dot, 0, Math.PI * 2);
        ctx.fill();
      }
      if (s.stored) storedMarks(s.stored);
    } else if (s.kind === "varLog") {
      for (let c = 0; c < n; c++) {
        const o = s.observed[c];
        const st = s.stored[c];
        if (o === null) continue;
        const r = Math.max(o, st) / Math.max(Math.min(o, st), 1e-300);
        ctx.strokeStyle = r >= s.warnRatio ? p.error : withAlpha(p.muted, 0.8);
        ctx.lineWidth = Math.max(1, Math.min(2, slot * 0.25));
        ctx.beginPath();
        ctx.moveTo(cx(c), Y(st));
        ctx.lineTo(cx(c), Y(o));
        ctx.stroke();
        ctx.fillStyle = p.pre;
        ctx.beginPath();
        ctx.arc(cx(c), Y(o), dot, 0, Math.PI * 2);
        ctx.fill();
      }
      storedMarks(s.stored);
    } else if (s.kind === "interval") {
      ctx.strokeStyle = p.warning;
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      for (const th of s.thresholds) {
        const y = Math.round(Y(th)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(M.left, y);
        ctx.lineTo(M.left + pw, y);
        ctx.stroke();
      }
      ctx.setLineDash([]);
      const cap = Math.max(0, Math.min(4, slot * 0.35));
      // Quiet channels first, so a crossed channel's bar is never hidden under a neighbour's.
      const order = [...s.items.keys()].sort(
        (a, b) => VERDICT_RANK[s.items[a]?.verdict ?? "skipped"] - VERDICT_RANK[s.items[b]?.verdict ?? "skipped"],
      );
      for (const c of order) {
        const it = s.items[c];
        if (!it) continue;
        const color =
          it.verdict === "crossed"
            ? p.error
            : it.verdict === "undecided"
              ? p.warning
              : withAlpha(p.muted, it.verdict === "within" ? 0.85 : 0.45);
        const x = cx(c);
        ctx.strokeStyle = color;
        ctx.lineWidth = Math.max(1, Math.min(2, slot * 0.25));
        if (it.hasInterval) {
          const ylo = Y(it.lo);
          const yhi = Y(it.hi);
          ctx.beginPath();
          ctx.moveTo(x, ylo);
          ctx.lineTo(x, yhi);
          if (cap >= 1.5)
            for (const y of [ylo, yhi]) {
              ctx.moveTo(x - cap, y);
              ctx.lineTo(x + cap, y);
            }
          ctx.stroke();
        }
        // Undecided estimates are hollow: the verdict reads without telling colours apart.
        ctx.beginPath();
        ctx.arc(x, Y(it.estimate), it.verdict === "undecided" ? Math.max(2, dot) : dot, 0, Math.PI * 2);
        if (it.verdict === "undecided") {
          ctx.fillStyle = p.bg;
          ctx.fill();
          ctx.lineWidth = 1.5;
          ctx.stroke();
        } else {
          ctx.fillStyle = color;
          ctx.fill();
        }
      }
    } else {
      const color = s.color === "gamma" ? p.gamma : s.color === "beta" ? p.beta : p.post;
      const base = Y(Math.max(y0, Math.min(0, y1)));
      const bw = Math.max(1, slot * 0.8);
      for (let c = 0; c < n; c++) {
        const v = s.values[c];
        if (v === null) continue;
        const y = Y(v);
        ctx.fillStyle = s.marks?.has(c) ? p.error : color;
        ctx.fillRect(cx(c) - bw / 2, Math.min(y, base), bw, Math.max(1, Math.abs(base - y)));
      }
      if (s.threshold !== undefined) {
        const y = Math.round(Y(s.threshold)) + 0.5;
        ctx.strokeStyle = p.warning;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(M.left, y);
        ctx.lineTo(M.left + pw, y);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }

    // Channel axis labels.
    axisText(ctx, p);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(pw / 40))));
    const nice = [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 512, 1000].find((k) => k >= every) ?? every;
    for (let c = 0; c < n; c += nice) ctx.fillText(String(c), cx(c), M.top + ph + 5);
  }
}
