import type * as ort from "onnxruntime-node";
import { UserError } from "../core/errors";
import type { OnnxModel } from "../core/onnx/model";
import { rewriteModel } from "../core/onnx/rewrite";
import type { BatchDependenceJson } from "../core/report";
import { BatchDependenceAccumulator, batchDependenceJson, reshuffledBatches } from "../core/stats/batchDependence";
import { gatherSamples, sizeOf, toFloat64, type HostTensor } from "../core/tensor";
import type { InspectRequest } from "../protocol/worker";
import { prepareData } from "./dataSources";
import { planEdits, type EngineHooks, type EngineOptions } from "./engine";
import { dataOptionsOf } from "./outputChange";
import { createSession, releaseSession, runBatch } from "./session";

/** The measurement holds its samples in memory and runs them as one batch for the reference: at most this many. */
export const BATCH_DEPENDENCE_MAX_SAMPLES = 256;
/** The measured samples' inputs are held in memory and fed as one batch: at most this many bytes of them. */
export const BATCH_DEPENDENCE_MAX_INPUT_BYTES = 256 * 1024 * 1024;
/** Random batches each sample is run in. */
export const BATCH_DEPENDENCE_RESHUFFLES = 4;

/**
 * Measures how much each graph output of a model with training_mode=1 BN depends on which samples share its
 * batch (src/core/stats/batchDependence.ts): onnxruntime's CPU kernel runs training-mode BN with the batch's
 * own statistics, so the model runs as it is; the reference is the same model on all measured samples as
 * one batch (population statistics).
 */
export async function measureBatchDependence(
  request: InspectRequest,
  loaded: { model: OnnxModel; bytes: Uint8Array; dir: string },
  settings: { batchSize: number; batchSizeFrom: BatchDependenceJson["batchSizeFrom"]; layers: string[]; confidence: number },
  hooks: EngineHooks,
  options: EngineOptions & { reshuffles?: number; maxSamples?: number } = {},
): Promise<BatchDependenceJson> {
  const { model } = loaded;
  const b = settings.batchSize;
  const K = options.reshuffles ?? BATCH_DEPENDENCE_RESHUFFLES;
  const seed = request.seed ?? 0;
  const { source, inputs } = await (options.openData ?? prepareData)(dataOptionsOf(request), model.inputs, {
    batchSize: b,
    inputShapes: request.inputShapes,
  });
  let session: ort.InferenceSession | undefined;
  try {
    const total = source.info.sampleCount;
    // float64 and int64 inputs take 8 bytes a value, the others at most 4.
    const sampleBytes = inputs.reduce((s, i) => s + sizeOf(i.sampleDims) * (/64$/.test(i.dtype) ? 8 : 4), 0);
    const n = Math.min(
      total,
      options.maxSamples ?? BATCH_DEPENDENCE_MAX_SAMPLES,
      Math.max(1, Math.floor(BATCH_DEPENDENCE_MAX_INPUT_BYTES / Math.max(1, sampleBytes))),
    );
    const outputs = model.outputs;
    const base = { batchSize: b, batchSizeFrom: settings.batchSizeFrom, reshuffles: K, seed, samplesTotal: total, layers: settings.layers };
    if (b >= n) {
      const acc = new BatchDependenceAccumulator([], n);
      return {
        ...batchDependenceJson(acc, base, settings.confidence),
        reshuffles: 0,
        note:
          n < total
            ? `A batch of ${b} holds all ${n} samples that fit the ${BATCH_DEPENDENCE_MAX_INPUT_BYTES / 2 ** 20} MiB the measurement may hold, so which samples share a batch cannot vary here.`
            : `A batch of ${b} holds all ${n} samples measured, so which samples share a batch cannot vary; give more samples than the batch size.`,
      };
    }
    const { edits } = planEdits(model, [], inputs, [b, n]);
    session = await createSession(rewriteModel(loaded.bytes, model, edits), loaded.dir, request);
    const feeds = await source.read(0, n);
    const run = async (samples: readonly number[]) => {
      if (hooks.cancelled()) throw new UserError("cancelled", "The inspection was cancelled; no report was written.");
      const batch: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(feeds))
        batch[name] = samples.length === n && samples.every((s, i) => s === i) ? t : gatherSamples(t, samples);
      return runBatch(session!, batch, outputs);
    };
    const all = Array.from({ length: n }, (_, i) => i);
    const refOut = await run(all);
    // Only float outputs with the batch as their first dim can be compared sample by sample.
    const kept = outputs.filter((o) => {
      const t = refOut[o];
      return t && t.dtype.startsWith("float") && t.dims[0] === n;
    });
    const acc = new BatchDependenceAccumulator(kept, n);
    const ref = kept.map((o) => toFloat64(refOut[o]));
    const per = kept.map((o) => sizeOf(refOut[o].dims.slice(1)));
    kept.forEach((_, k) => {
      for (let i = 0; i < n; i++) acc.reference(k, i, ref[k].subarray(i * per[k], (i + 1) * per[k]));
    });
    const plan = reshuffledBatches(n, b, K, seed);
    let done = 0;
    const runs = plan.reduce((s, r) => s + r.length, 0);
    for (const reshuffle of plan) {
      for (const batch of reshuffle) {
        const out = await run(batch.samples);
        kept.forEach((o, k) => {
          const y = toFloat64(out[o]);
          for (let j = 0; j < batch.counted; j++) {
            const i = batch.samples[j];
            acc.add(k, i, y.subarray(j * per[k], (j + 1) * per[k]), ref[k].subarray(i * per[k], (i + 1) * per[k]));
          }
        });
        done++;
        hooks.progress({
          phase: "finishing",
          samplesDone: done,
          samplesTotal: runs,
          elapsedMs: 0,
          message: `Measuring how outputs depend on the batch: ${done} of ${runs} random batches`,
        });
      }
    }
    return batchDependenceJson(acc, base, settings.confidence);
  } finally {
    await releaseSession(session);
    await source.close();
  }
}
