/**
 * How a run captures values, as one object per mode instead of branches in the engine: every value
 * (exact), a systematic sample after a first exact batch (fast), or exact unless measuring every value
 * would take too long at the first batch's pace (auto). The engine asks the strategy at its two decision
 * points: how big the first batch is, and whether to switch to the sampled capture after it.
 */

/** The capture modes a request may name. */
export type CaptureMode = "exact" | "fast" | "auto";

/** What the engine knows after the first batch, measured exactly. */
export interface FirstBatchPace {
  /** Projected seconds to measure every remaining value exactly at the first batch's pace. */
  projectedExactS: number;
}

/** One capture mode's decisions. */
export interface CaptureStrategy {
  readonly mode: CaptureMode;
  /** Whether the first batch may be a single sample (it is measured exactly only to learn feature-map sizes). */
  readonly probeWithOneSample: boolean;
  /** After the first exact batch (when batches remain): switch to the sampled capture, and the note saying why. */
  afterFirstBatch(pace: FirstBatchPace): { switchToFast: boolean; note?: string };
}

/** Every value, float64. */
export const exactCapture: CaptureStrategy = {
  mode: "exact",
  probeWithOneSample: false,
  afterFirstBatch: () => ({ switchToFast: false }),
};

/** A systematic spatial sample from the second batch on (moments and extremes over every value). */
export const fastCapture: CaptureStrategy = {
  mode: "fast",
  probeWithOneSample: true,
  afterFirstBatch: () => ({ switchToFast: true }),
};

/** Exact, unless measuring every value would take longer than `limitS` seconds; then fast, saying why. */
export function autoCapture(limitS: number): CaptureStrategy {
  return {
    mode: "auto",
    probeWithOneSample: false,
    afterFirstBatch: ({ projectedExactS }) =>
      projectedExactS > limitS
        ? {
            switchToFast: true,
            note: `Auto mode: measuring every value would take about ${Math.round(projectedExactS)} s more, so BN Lens switched to fast mode; use --mode exact to measure every value.`,
          }
        : { switchToFast: false },
  };
}

/** The strategy of a mode. */
export function captureStrategy(mode: CaptureMode, autoExactLimitS: number): CaptureStrategy {
  return mode === "exact" ? exactCapture : mode === "fast" ? fastCapture : autoCapture(autoExactLimitS);
}
