/**
 * BN Lens's settings (package.json contributes.configuration, bnLens.*), read at the moment of each run so
 * a change applies to the next run without a reload.
 */
import * as vscode from "vscode";
import type { Thresholds } from "../core/report";
import { IMAGE_PRESETS } from "../core/inputs/presets";
import type { InspectRequest } from "../protocol/worker";

/** What the run settings give an inspection request (everything but the model and the data). */
export type RunSettings = Pick<
  InspectRequest,
  "batchSize" | "samples" | "seed" | "random" | "thresholds" | "mode" | "executionProviders" | "intraOpNumThreads" | "trainBatch"
>;

/** The image preprocessing setting: "ask", a preset id, or "custom" (bnLens.image.mean/std). */
export type PreprocessingSetting = "ask" | "custom" | (typeof IMAGE_PRESETS)[number]["id"];

function config(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("bnLens", scope);
}

function positiveInt(v: unknown, min: number): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min ? v : undefined;
}

function finite(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Reads the run settings now (no caching: settings may change between runs). */
export function runSettings(scope?: vscode.Uri): RunSettings {
  const c = config(scope);
  const samples = positiveInt(c.get("sampleLimit"), 1);
  const threads = positiveInt(c.get("intraOpNumThreads"), 1);
  const providers = c.get<unknown>("executionProviders");
  const mode = c.get("statisticsMode");
  return {
    batchSize: positiveInt(c.get("batchSize"), 1),
    samples,
    seed: positiveInt(c.get("seed"), 0),
    random: c.get("randomDistribution") === "uniform" ? "uniform" : "normal",
    thresholds: thresholdSettings(c),
    mode: mode === "fast" || mode === "exact" ? mode : "auto",
    executionProviders:
      Array.isArray(providers) && providers.every((p) => typeof p === "string") && providers.length ? (providers as string[]) : undefined,
    intraOpNumThreads: threads,
    trainBatch: positiveInt(c.get("trainBatchSize"), 1),
  };
}

/** Every threshold field, from bnLens.thresholds.* and bnLens.slopeFraction; unset or invalid fields are left out. */
function thresholdSettings(c: vscode.WorkspaceConfiguration): Partial<Thresholds> {
  const t: Partial<Thresholds> = {};
  const pair = (key: string) => {
    const w = finite(c.get(`thresholds.${key}.warning`));
    const e = finite(c.get(`thresholds.${key}.error`));
    return { ...(w !== undefined ? { warning: w } : {}), ...(e !== undefined ? { error: e } : {}) };
  };
  t.meanShift = pair("meanShift") as Thresholds["meanShift"];
  t.varianceRatio = pair("varianceRatio") as Thresholds["varianceRatio"];
  t.saturation = pair("saturation") as Thresholds["saturation"];
  const off = finite(c.get("thresholds.rectifierOff.warning"));
  if (off !== undefined) t.rectifierOff = { warning: off };
  const dg = finite(c.get("thresholds.deadGamma"));
  if (dg !== undefined) t.deadGamma = dg;
  const dv = finite(c.get("thresholds.deadRunningVar"));
  if (dv !== undefined) t.deadRunningVar = dv;
  const mc = finite(c.get("thresholds.minCount"));
  if (mc !== undefined) t.minCount = mc;
  const cl = finite(c.get("thresholds.confidence"));
  if (cl !== undefined && cl > 0 && cl < 1) t.confidence = cl;
  const bt = finite(c.get("thresholds.batchTolerance"));
  if (bt !== undefined && bt > 0) t.batchTolerance = bt;
  const sf = finite(c.get("slopeFraction"));
  if (sf !== undefined && sf > 0 && sf <= 1) t.slopeFraction = sf;
  return t;
}

/** Image preprocessing from the settings: undefined when the user wants to be asked. */
export function imageSettings(scope?: vscode.Uri): { preset: PreprocessingSetting; mean?: number[]; std?: number[]; bgr: boolean } {
  const c = config(scope);
  const preset = c.get<string>("image.preprocessing") ?? "ask";
  const bgr = c.get<boolean>("image.bgr") === true;
  const nums = (v: unknown, positive: boolean) =>
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isFinite(x) && (!positive || x > 0))
      ? (v as number[])
      : undefined;
  if (preset === "custom")
    return { preset, mean: nums(c.get("image.mean"), false) ?? [0], std: nums(c.get("image.std"), true) ?? [1], bgr };
  const p = IMAGE_PRESETS.find((x) => x.id === preset);
  return p ? { preset: p.id, mean: p.mean, std: p.std, bgr } : { preset: "ask", bgr };
}
