import type * as ort from "onnxruntime-node";
import type { BnLayer } from "../core/graph/bnLayers";
import type { OnnxModel } from "../core/onnx/model";
import { rewriteModel } from "../core/onnx/rewrite";
import { planBatchStatistics } from "../core/recalibrate/batchStatsGraph";
import { toFloat64 } from "../core/tensor";
import type { InspectRequest } from "../protocol/worker";
import { prepareData } from "./dataSources";
import { planEdits, type EngineHooks, type EngineOptions } from "./engine";
import { dataOptionsOf } from "./outputChange";
import { createSession, releaseSession, runBatch } from "./session";

/**
 * Runs the measuring copy of planBatchStatistics on all the data as one batch and returns each layer's
 * statistics (float64 copies of the float32 results): the recalibrated statistics in one run.
 */
export async function solveInOneBatch(
  request: InspectRequest,
  loaded: { model: OnnxModel; bytes: Uint8Array; dir: string },
  layers: readonly BnLayer[],
  ranks: ReadonlyMap<string, number>,
  blend: number,
  hooks: EngineHooks,
  options: EngineOptions = {},
): Promise<Map<string, { mean: Float64Array; var: Float64Array }> | undefined> {
  const { model } = loaded;
  const taken = new Set<string>([...model.initializers.keys(), ...model.graph.input.map((v) => v.name)]);
  for (const n of model.graph.node) for (const o of n.output) taken.add(o);
  const plan = planBatchStatistics(model, layers, ranks, blend, taken);
  const fetch = [...plan.outputs.values()].flatMap((o) => [o.mean, o.var]);
  const { source, inputs } = await (options.openData ?? prepareData)(dataOptionsOf(request), model.inputs, {
    batchSize: request.batchSize ?? 8,
    inputShapes: request.inputShapes,
  });
  let session: ort.InferenceSession | undefined;
  try {
    const total = source.info.sampleCount;
    const { edits } = planEdits(model, fetch, inputs, [total]);
    if (edits.replaceNodes) return undefined;
    const bytes = rewriteModel(loaded.bytes, model, { ...edits, replaceNodes: plan.nodes, addInitializers: plan.initializers });
    hooks.progress({
      phase: "running",
      samplesDone: 0,
      samplesTotal: total,
      elapsedMs: 0,
      message: `Solving on all ${total} samples as one batch`,
    });
    const feeds = await source.read(0, total);
    if (hooks.cancelled()) return undefined;
    session = await createSession(bytes, loaded.dir, request);
    const out = await runBatch(session, feeds, fetch);
    const result = new Map<string, { mean: Float64Array; var: Float64Array }>();
    for (const [name, o] of plan.outputs) {
      const mean = out[o.mean];
      const v = out[o.var];
      if (!mean || !v) return undefined;
      const m = toFloat64(mean);
      const vv = toFloat64(v);
      // NaN or infinity in the data reach the in-graph sums; the passes measure without them instead.
      if (!m.every(Number.isFinite) || !vv.every(Number.isFinite)) return undefined;
      result.set(name, { mean: m, var: vv });
    }
    return result;
  } finally {
    await releaseSession(session);
    await source.close();
  }
}
