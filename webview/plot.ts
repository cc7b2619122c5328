// Drawing pieces the panel's canvas charts share: the plot box inside a chart's margins and the step
// curve of a histogram re-binned on equal-width bins.
import { setupCanvas } from "./theme";

/** Space around a chart's plot box, in CSS pixels (axis labels live there). */
export interface Margins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** A cleared canvas sized to its container, and the plot box's width and height (CSS pixels) inside the margins. */
export interface PlotBox {
  ctx: CanvasRenderingContext2D;
  pw: number;
  ph: number;
}

/** Width available to a chart inside its container. */
export function widthOf(el: HTMLElement, min = 240): number {
  return Math.max(min, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 600));
}

/** Sizes and clears `canvas` to the width of `container` and `height`, and measures the plot box. */
export function plotBox(canvas: HTMLCanvasElement, container: HTMLElement, height: number, m: Margins): PlotBox {
  const W = widthOf(container);
  const ctx = setupCanvas(canvas, W, height);
  return { ctx, pw: W - m.left - m.right, ph: height - m.top - m.bottom };
}

/**
 * Strokes equal-width bins as a step curve that starts and ends on the baseline (y of share 0), across
 * `width` pixels from `left`; stroke style and dashes are the caller's.
 */
export function strokeSteps(
  ctx: CanvasRenderingContext2D,
  shares: ArrayLike<number>,
  left: number,
  width: number,
  toY: (share: number) => number,
): void {
  const bw = width / shares.length;
  ctx.beginPath();
  ctx.moveTo(left, toY(0));
  for (let i = 0; i < shares.length; i++) {
    const y = toY(shares[i]);
    ctx.lineTo(left + i * bw, y);
    ctx.lineTo(left + (i + 1) * bw, y);
  }
  ctx.lineTo(left + width, toY(0));
  ctx.stroke();
}
