// The overview's small pre/post-BN histograms. Each is re-binned once per row (cached) onto equal-width
// bins over the range that holds 99.8% of its values, then drawn as filled bars on the row's one canvas.
import type { LayerRow } from "../src/protocol/webview";
import { clipIntervals, linearShares, quantileRange, unionRange, type Hist } from "./histogramView";
import { num } from "./format";
import { withAlpha, type Palette } from "./theme";

const SPARK_BINS = 28;

interface Spark {
  lo: number;
  hi: number;
  shares: Float64Array;
  max: number;
  flat: [number, number][];
}

interface RowSparks {
  pre: Spark | null;
  post: Spark | null;
}

const cache = new WeakMap<LayerRow, RowSparks>();

function spark(h: Hist | undefined, flat: LayerRow["activation"]["flatRegion"]["intervals"] | null): Spark | null {
  if (!h || h.counts.length === 0) return null;
  const [lo, hi] = unionRange([quantileRange(h)]);
  const shares = linearShares(h, lo, hi, SPARK_BINS);
  let max = 0;
  for (const s of shares) max = Math.max(max, s);
  return { lo, hi, shares, max, flat: flat ? clipIntervals(flat, lo, hi) : [] };
}

/** The cached sparkline data of a row. */
export function rowSparks(r: LayerRow): RowSparks {
  let s = cache.get(r);
  if (!s) {
    s = { pre: spark(r.pre, null), post: spark(r.post, r.activation.flatRegion.intervals) };
    cache.set(r, s);
  }
  return s;
}

/** A tooltip for the sparklines: the ranges they show. */
export function sparkTitle(r: LayerRow): string {
  const s = rowSparks(r);
  const parts: string[] = [];
  if (s.pre) parts.push(`Before BN: values from ${num(s.pre.lo)} to ${num(s.pre.hi)}`);
  else if (r.kind === "bn") parts.push("Before BN: no values");
  if (s.post) parts.push(`${r.kind === "bn" ? "After BN" : "Layer output"}: values from ${num(s.post.lo)} to ${num(s.post.hi)}`);
  if (r.activation.op !== "none" && r.activation.flatRegion.intervals.length) {
    parts.push(`Shaded: where ${r.activation.op} is flat (${r.activation.flatRegion.description})`);
  }
  parts.push("Each chart covers 99.8% of its values; open the layer to compare both on one axis.");
  return parts.join("\n");
}

/** Draws one sparkline into [x, x+w] × [y, y+h]. */
export function drawSpark(
  ctx: CanvasRenderingContext2D,
  s: Spark | null,
  x: number,
  y: number,
  w: number,
  h: number,
  color: string,
  p: Palette,
): void {
  ctx.strokeStyle = withAlpha(p.grid, 0.9);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x, y + h - 0.5);
  ctx.lineTo(x + w, y + h - 0.5);
  ctx.stroke();
  if (!s) {
    ctx.fillStyle = p.muted;
    ctx.fillRect(x + w / 2 - 6, y + h / 2, 12, 1);
    return;
  }
  const sx = (v: number) => x + ((v - s.lo) / (s.hi - s.lo)) * w;
  ctx.fillStyle = withAlpha(p.flat, p.highContrast ? 0.35 : 0.18);
  for (const [a, b] of s.flat) ctx.fillRect(sx(a), y, Math.max(1, sx(b) - sx(a)), h - 1);
  if (s.lo < 0 && s.hi > 0) {
    ctx.fillStyle = withAlpha(p.fg, 0.35);
    ctx.fillRect(Math.round(sx(0)), y, 1, h - 1);
  }
  const bw = w / s.shares.length;
  ctx.fillStyle = color;
  if (s.max > 0) {
    for (let i = 0; i < s.shares.length; i++) {
      const v = s.shares[i];
      if (v <= 0) continue;
      const bh = Math.max(1, (v / s.max) * (h - 2));
      ctx.fillRect(x + i * bw + 0.25, y + h - 1 - bh, Math.max(0.5, bw - 0.5), bh);
    }
  }
}
