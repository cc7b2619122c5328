/**
 * Recalibration: re-estimates BN running statistics on the user's data and writes a new model whose
 * stored statistics equal the population statistics of each BN's own input, in inference mode, as the
 * corrected upstream layers produce it (a fixed point: changing one layer changes what those below see).
 *
 * Pass 1 measures the model as stored (exact mode). Then the one-batch solve (batchSolve.ts) runs a
 * copy of the model on all the data as one batch with every recalibrated BN normalising with its own
 * input's statistics computed in the graph: that is the fixed point, in one run, in float32. Every later
 * pass writes a candidate with the latest statistics and measures it exactly (float64) on the same data;
 * the first candidate whose own measurement shows every recalibrated channel within |z| <= 0.01 and
 * variance ratio <= 1.01 is the result, so what is verified is the very file written.
 *
 * Without the solve (data too large for one batch, or NaN in it) each candidate takes the previous
 * pass's observations. That terminates: a BN's input depends only on the BN layers upstream of it, so
 * after pass k every BN with at most k - 2 BN ancestors is exact, and all are after BN depth + 2 passes
 * (the default bound). Well-conditioned models need far fewer.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UserError, isUserError } from "../core/errors";
import { findBnLayers, type BnLayer } from "../core/graph/bnLayers";
import { decodeModel, type OnnxModel } from "../core/onnx/model";
import {
  DEFAULT_MAX_PASSES,
  bnDepths,
  DEFAULT_MIN_COUNT,
  TOLERANCE,
  blendStats,
  checkCounts,
  deviation,
  layerSide,
  observed,
  selectLayers,
  withinTolerance,
  type PassJson,
  type RecalibrationJson,
} from "../core/recalibrate/recalibration";
import { rewriteBnStatistics, statRounding, type StatsChange, type StatsUpdate } from "../core/recalibrate/statsRewrite";
import type { Report } from "../core/report";
import { VERSION } from "../core/version";
import type { RecalibrateRequest } from "../protocol/worker";
import { inspect, type EngineHooks, type EngineOptions } from "./engine";
import { externalReader, readFileChunked } from "./modelFile";
import { checkWritable, commitFile, removeQuietly, tempPathFor, writeBytes } from "./newFile";
import { solveInOneBatch } from "./batchSolve";
import { compareOutputs } from "./outputChange";

/** `<name>.recalibrated.onnx` next to the model. */
export function defaultOutPath(modelPath: string): string {
  const dir = path.dirname(modelPath);
  const base = path.basename(modelPath).replace(/\.onnx$/i, "");
  return path.join(dir, `${base}.recalibrated.onnx`);
}

function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

type Stats = { mean: Float64Array; var: Float64Array };

/** Peak memory the one-batch solve may take, estimated from the BN inputs' sizes. */
function solveBudgetBytes(): number {
  return Math.min(8 * 2 ** 30, os.totalmem() / 4);
}

async function trySolve(
  request: RecalibrateRequest,
  loaded: { model: OnnxModel; bytes: Uint8Array; dir: string },
  selected: readonly BnLayer[],
  before: Report,
  blend: number,
  hooks: EngineHooks,
  options: EngineOptions,
): Promise<Map<string, Stats> | undefined> {
  let values = 0;
  for (const l of before.layers) for (const n of l.pre.count) values += n;
  // Every BN input once in float32, plus a quarter for the centred squares of the largest ones and
  // onnxruntime's other buffers (measured: face detector, 256 samples, 2.9 GB of BN inputs, 3.3 GB peak).
  const estimate = values * 4 * 1.25;
  if (estimate > solveBudgetBytes()) {
    hooks.log(
      `The one-batch solve would need about ${(estimate / 2 ** 30).toFixed(1)} GiB for ${before.samples} samples; iterating full passes instead.`,
    );
    return undefined;
  }
  const ranks = new Map(before.layers.map((l) => [l.node, l.rank]));
  try {
    return await solveInOneBatch(request, loaded, selected, ranks, blend, hooks, options);
  } catch (e) {
    if (isUserError(e) && e.kind === "cancelled") throw e;
    hooks.log(`The one-batch solve failed (${e instanceof Error ? e.message : String(e)}); iterating full passes instead.`);
    return undefined;
  }
}

/** Engine options, and whether to try the one-batch solve (tests turn it off to exercise the passes alone). */
export interface RecalibrateOptions extends EngineOptions {
  solve?: boolean;
}

/** Runs a recalibration; see the module comment. */
export async function recalibrate(
  request: RecalibrateRequest,
  hooks: EngineHooks,
  options: RecalibrateOptions = {},
): Promise<RecalibrationJson> {
  const modelPath = path.resolve(request.modelPath);
  const out = path.resolve(request.outPath ?? defaultOutPath(modelPath));
  const force = !!request.force;
  const blend = request.blend ?? 1;
  if (!(blend > 0 && blend <= 1)) throw new UserError("usage", `--blend takes a number in (0, 1], not ${blend}.`);
  if (request.maxPasses !== undefined && (!Number.isSafeInteger(request.maxPasses) || request.maxPasses < 2))
    throw new UserError(
      "usage",
      `--max-passes must be a whole number of at least 2 (one to measure, one to verify), not ${request.maxPasses}.`,
    );
  const minCount = request.minCount ?? DEFAULT_MIN_COUNT;
  if (sameFile(out, modelPath)) throw new UserError("usage", "The output must be a new file, not the model itself; choose another --out.");
  if (!fs.existsSync(modelPath)) throw new UserError("data", `The model file ${modelPath} does not exist.`);
  checkWritable(out, force, "The output model");

  const file = readFileChunked(modelPath, "The model file");
  const model = decodeModel(file.bytes);
  const dir = path.dirname(modelPath);
  const layers = findBnLayers(model, externalReader(dir));
  if (layers.length === 0) {
    throw new UserError(
      "model",
      "The model has no BatchNormalization layers (BN was fused into the convolutions at export, or never used), so there are no statistics to re-estimate.",
    );
  }
  const selected = selectLayers(layers, request.layers);
  const selectedNames = new Set(selected.map((l) => l.name));
  // Enough passes for the iteration to be exact level by level even if the one-batch solve is not possible.
  const depth = Math.max(...bnDepths(model, layers).values());
  const maxPasses = request.maxPasses ?? Math.max(DEFAULT_MAX_PASSES, depth + 2);

  const training = selected.filter((l) => l.trainingMode);
  if (training.length && !request.toInference) {
    throw new UserError(
      "usage",
      `${training.length} of the selected BN layers (${training
        .slice(0, 3)
        .map((l) => `"${l.name}"`)
        .join(
          ", ",
        )}${training.length > 3 ? ", ..." : ""}) were exported in training mode (training_mode=1): they normalise every batch with its own statistics and never read the stored ones. ` +
        "Pass --to-inference to write them in inference mode with the re-estimated statistics; this changes what the model computes (outputs stop depending on the batch).",
    );
  }
  for (const l of training) {
    if (l.node.output.slice(1).some((o) => o && model.consumers.has(o))) {
      throw new UserError(
        "model",
        `BN layer "${l.name}" is in training mode and other nodes read its running-statistics outputs, so it cannot be written in inference mode.`,
      );
    }
  }

  const hasExternal = model.graph.initializer.some((t) => t.dataLocation === 1);
  if (hasExternal && fs.realpathSync(path.dirname(out)) !== fs.realpathSync(dir)) {
    throw new UserError(
      "usage",
      "The model keeps its weights in external data files, which the new model reads from where they are (unchanged); write the new model into the model's own folder (--out there).",
    );
  }
  const externalName = `${path.basename(out)}.data`;
  const externalPath = path.join(path.dirname(out), externalName);

  const original = new Map<string, Stats>(selected.map((l) => [l.name, { mean: l.runningMean, var: l.runningVar }]));
  const rounding = new Map(selected.map((l) => [l.name, statRounding(model, l.node)]));
  const toInference = new Set(training.map((l) => l.name));
  const date = new Date().toISOString();

  const temps: string[] = [];
  let wroteExternal = false;
  let lastChanges: StatsChange[] = [];
  const build = (stats: ReadonlyMap<string, Stats>, metadata: { key: string; value: string }[]) => {
    const updates: StatsUpdate[] = selected.map((l) => ({
      nodeIndex: model.nodeIndex.get(l.node)!,
      mean: stats.get(l.name)!.mean,
      var: stats.get(l.name)!.var,
      toInference: toInference.has(l.name),
    }));
    const result = rewriteBnStatistics(file.bytes, model, updates, { metadata, externalLocation: hasExternal ? externalName : undefined });
    const temp = tempPathFor(out, `pass${temps.length + 1}`);
    writeBytes(temp, result.bytes);
    temps.push(temp);
    if (result.externalData) {
      if (!wroteExternal) checkWritable(externalPath, force, "The output data file");
      fs.writeFileSync(externalPath, result.externalData);
      wroteExternal = true;
    }
    lastChanges = result.changes;
    return temp;
  };

  const passes: PassJson[] = [];
  const measure = async (modelFile: string, pass: number): Promise<Report> => {
    const started = performance.now();
    const report = await inspect(
      { ...request, modelPath: modelFile, mode: "exact" },
      {
        ...hooks,
        progress: (p) => hooks.progress({ ...p, message: `Pass ${pass} (at most ${maxPasses}): ${p.message}` }),
      },
      options,
    );
    hooks.log(`Pass ${pass} measured ${report.samples} samples in ${Math.round(performance.now() - started)} ms.`);
    return report;
  };
  const score = (report: Report, stored: ReadonlyMap<string, Stats>, pass: number, startedMs: number) => {
    let worstZ = 0;
    let worstR = 1;
    let worstLayer: string | null = null;
    let ok = true;
    const targets = new Map<string, Stats>();
    for (const l of report.layers) {
      if (!selectedNames.has(l.node)) continue;
      const target = blendStats(observed(l), original.get(l.node)!, blend);
      targets.set(l.node, target);
      const r = rounding.get(l.node)!;
      const dm = deviation({ mean: stored.get(l.node)!.mean, var: stored.get(l.node)!.var }, target, l.epsilon, r.mean);
      const dv = deviation({ mean: stored.get(l.node)!.mean, var: stored.get(l.node)!.var }, target, l.epsilon, r.var);
      const d = { worstZ: dm.worstZ, worstVarRatio: dv.worstVarRatio };
      if (!withinTolerance(d)) ok = false;
      if ((d.worstZ?.value ?? 0) > worstZ) {
        worstZ = d.worstZ!.value;
        worstLayer = l.node;
      }
      worstR = Math.max(worstR, d.worstVarRatio?.value ?? 1);
    }
    passes.push({ pass, worstZ, worstVarRatio: worstR, worstLayer, elapsedMs: Math.round(performance.now() - startedMs) });
    hooks.log(
      `Pass ${pass}: max |z| ${worstZ.toPrecision(3)}${worstLayer ? ` (${worstLayer})` : ""}, max variance ratio ${worstR.toPrecision(4)}.`,
    );
    return { ok, targets };
  };

  try {
    let t0 = performance.now();
    // Pass 1: the model as stored (in inference mode when asked to convert training-mode layers).
    const first = toInference.size ? build(original, []) : modelPath;
    const measured = await measure(first, 1);
    // Pass 1 may have run a temporary inference-mode copy; the report is about the user's model.
    const before = { ...measured, model: { ...measured.model, path: modelPath, name: path.basename(modelPath) } };
    checkCounts(before, selectedNames, minCount);
    let stored: ReadonlyMap<string, Stats> = original;
    let { targets } = score(before, stored, 1, t0);
    const solved =
      options.solve === false
        ? undefined
        : await trySolve(request, { model, bytes: file.bytes, dir }, selected, before, blend, hooks, options);
    if (solved) targets = solved;
    hooks.log(
      solved
        ? "Solved the statistics of every layer in one run on all the data as one batch; the next pass verifies them."
        : `Iterating full passes (at most ${maxPasses}; this model's BN depth is ${depth}).`,
    );
    const metadata = [
      { key: "bn_lens.recalibration.tool", value: `bn-lens ${VERSION}` },
      { key: "bn_lens.recalibration.data", value: before.data.description },
      { key: "bn_lens.recalibration.samples", value: String(before.samples) },
      { key: "bn_lens.recalibration.date", value: date },
      { key: "bn_lens.recalibration.blend", value: String(blend) },
      { key: "bn_lens.recalibration.layers", value: selected.map((l) => l.name).join(",") },
    ];
    let after = before;
    let candidate = "";
    let converged = false;
    for (let pass = 2; pass <= maxPasses; pass++) {
      if (hooks.cancelled()) throw new UserError("cancelled", "The recalibration was cancelled; no model was written.");
      t0 = performance.now();
      stored = targets;
      candidate = build(stored, metadata);
      after = await measure(candidate, pass);
      const s = score(after, stored, pass, t0);
      targets = s.targets;
      if (s.ok) {
        converged = true;
        break;
      }
    }

    const notes: string[] = [];
    if (!converged) {
      const last = passes[passes.length - 1];
      notes.push(
        `Not converged: after ${passes.length} passes the largest |z| is ${last.worstZ.toPrecision(3)} (${last.worstLayer}) and the largest variance ratio ${last.worstVarRatio.toPrecision(4)}; the model written is the last one measured. Run again with more --max-passes.`,
      );
    }
    if (toInference.size) {
      notes.push(
        `${toInference.size} BN layers exported in training mode were written in inference mode: they now normalise with the re-estimated statistics instead of each batch's own, which changes what the model computes (its outputs no longer depend on the batch).`,
      );
    }
    if (blend !== 1) notes.push(`Blend ${blend}: each recalibrated layer stores ${blend} × observed + ${1 - blend} × stored statistics.`);

    const outputs = await compareOutputs(request, modelPath, candidate, hooks, options);
    commitFile(candidate, out, force);
    temps.splice(temps.indexOf(candidate), 1);
    after = { ...after, model: { ...after.model, path: out, name: path.basename(out) } };

    const byName = new Map(after.layers.map((l) => [l.node, l]));
    return {
      schemaVersion: 1,
      kind: "bn-lens-recalibration",
      generator: { name: "bn-lens", version: VERSION },
      model: modelPath,
      out,
      externalData: wroteExternal ? externalPath : null,
      data: before.data.description,
      samples: before.samples,
      blend,
      tolerance: TOLERANCE,
      converged,
      method: solved ? "one-batch solve" : "passes",
      passes,
      toInference: [...toInference],
      changes: lastChanges.map((c) => ({ ...c })),
      layers: before.layers.map((b) => {
        const a = byName.get(b.node) ?? b;
        const rec = selectedNames.has(b.node);
        return {
          node: b.node,
          channels: b.channels,
          recalibrated: rec,
          old: b.running,
          new: a.running,
          before: layerSide(b),
          after: layerSide(a),
        };
      }),
      outputs,
      notes,
      before,
      after,
    };
  } catch (e) {
    if (wroteExternal) removeQuietly(externalPath);
    if (isUserError(e) && e.kind === "cancelled")
      throw new UserError("cancelled", "The recalibration was cancelled; no model was written.");
    throw e;
  } finally {
    for (const t of temps) removeQuietly(t);
  }
}
