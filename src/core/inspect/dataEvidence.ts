import type { BatchStudyJson, BatchStudyLayerJson, LayerReport, Severity, WarningJson } from "../report";
import { fmt } from "../stats/judge";

/** True when a data kind (or a merged "a+b" kind) includes random inputs. */
export function isSyntheticKind(kind: string): boolean {
  return kind.split("+").includes("random");
}

/** The plain statement a random-data run carries instead of stale-statistics findings. */
export const RANDOM_DATA_MESSAGE =
  'This run used random inputs, not your data. It checks that the model runs and shows what its stored parameters imply (gamma ≈ 0, running variance ≈ 0, invalid stored values, training-mode or fused BN, channels training left mostly off or saturated), not whether its BN statistics fit real data: the rules that compare observed with stored statistics (mean shift, variance ratio, saturation, rectifier off, never-active channels) were not judged. To check the statistics, run on data: bn-lens inspect MODEL --data <.npy, .npz, test_data_set folder or images>, or in VS Code "BN Lens: Inspect Model with Data...".';

/** The model-level finding of a random-data run. */
export function randomDataWarning(): WarningJson {
  return { rule: "random-data", severity: "info", message: RANDOM_DATA_MESSAGE };
}

const RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

/**
 * Adds a `batch-size` finding to every layer whose batch-size study needs larger batches than the training
 * batch the user gave; the layer's severity is updated. Returns the layers (new objects where changed).
 */
export function withBatchFindings(layers: LayerReport[], study: BatchStudyJson | null, trainBatch: number | null): LayerReport[] {
  if (!study || trainBatch === null) return layers;
  const byNode = new Map(study.layers.map((l) => [l.layer, l]));
  return layers.map((l) => withBatchFinding(l, byNode.get(l.node), study.tolerance, trainBatch));
}

/** Layer `l` with a `batch-size` finding when its study `s` needs larger batches than `trainBatch` (withBatchFindings). */
export function withBatchFinding(l: LayerReport, s: BatchStudyLayerJson | undefined, tol: number, trainBatch: number | null): LayerReport {
  if (trainBatch === null || !s || s.sizes.length === 0 || (s.minBatch !== null && trainBatch >= s.minBatch)) return l;
  // Beyond the largest size studied without an answer, this data cannot tell.
  if (s.minBatch === null && trainBatch > s.sizes[s.sizes.length - 1]) return l;
  const at = s.sizes.findIndex((b) => b >= trainBatch);
  const k = at < 0 ? s.sizes.length - 1 : at;
  const need =
    s.minBatch === null
      ? `no batch of up to ${s.sizes[s.sizes.length - 1]} samples (half of this data) keeps them within ±${fmt(tol)}; run on more samples to find the size that does`
      : `batches of ${s.minBatch} or more keep them within ±${fmt(tol)}`;
  const w: WarningJson = {
    rule: "batch-size",
    severity: "warning",
    layer: l.node,
    ...(s.worstChannel !== null ? { channel: s.worstChannel } : {}),
    value: trainBatch,
    ...(s.minBatch !== null ? { threshold: s.minBatch } : {}),
    message: `Training batches of ${trainBatch} are too small for stable batch statistics here: in 5% of random batches of ${s.sizes[k]} the batch mean strays ${fmt(s.d95[k])} std or more from this data's mean (d) and the batch std lies outside ${fmt(s.rLow[k])}–${fmt(s.rHigh[k])} times its std (r)${s.worstChannel !== null ? `, worst channel ${s.worstChannel}` : ""}; ${need}. Noisy batch statistics during training make the running statistics and the learned gamma/beta fit batches that differ from the population; consider larger batches, batch renormalization, or GroupNorm.`,
  };
  const warnings = [...l.warnings, w];
  const severity = warnings.reduce<Severity | null>((x, v) => (!x || RANK[v.severity] > RANK[x] ? v.severity : x), null);
  return { ...l, warnings, summary: { ...l.summary, severity } };
}
