import * as path from "node:path";
import type * as ort from "onnxruntime-node";
import { UserError } from "../core/errors";
import { decodeModel } from "../core/onnx/model";
import { rewriteModel } from "../core/onnx/rewrite";
import type { OutputChangeJson } from "../core/recalibrate/recalibration";
import { toFloat64 } from "../core/tensor";
import type { InspectRequest } from "../protocol/worker";
import { prepareData } from "./dataSources";
import { DEFAULT_BATCH_SIZE, batchPlan, planEdits, type EngineHooks, type EngineOptions } from "./engine";
import { readFileChunked } from "./modelFile";
import { createSession, releaseSession, runBatch } from "./session";

/** The data options of an inspect request, as the engine builds them. */
export function dataOptionsOf(request: InspectRequest): Parameters<typeof prepareData>[0] {
  const image =
    request.imageMean || request.imageStd || request.bgr
      ? { mean: request.imageMean ?? [0], std: request.imageStd ?? [1], order: request.bgr ? ("bgr" as const) : ("rgb" as const) }
      : undefined;
  return {
    path: request.dataPath,
    samples: request.samples,
    seed: request.seed ?? 0,
    random: request.random === "uniform" ? { kind: "uniform", low: 0, high: 1 } : { kind: "normal", mean: 0, std: 1 },
    image,
  };
}

/**
 * Runs two models with the same inputs on the same data, batch by batch, and measures how much every
 * graph output changed: mean |new - old| and ||new - old|| / ||old|| over all values, in float64.
 */
export async function compareOutputs(
  request: InspectRequest,
  originalPath: string,
  newPath: string,
  hooks: EngineHooks,
  options: EngineOptions = {},
): Promise<OutputChangeJson[]> {
  const batchSize = request.batchSize ?? DEFAULT_BATCH_SIZE;
  const models = [originalPath, newPath].map((p) => {
    const file = readFileChunked(p, "The model file");
    return { model: decodeModel(file.bytes), bytes: file.bytes, dir: path.dirname(path.resolve(p)) };
  });
  const { model } = models[0];
  const { source, inputs } = await (options.openData ?? prepareData)(dataOptionsOf(request), model.inputs, {
    batchSize,
    inputShapes: request.inputShapes,
  });
  const sessions: ort.InferenceSession[] = [];
  try {
    const total = source.info.sampleCount;
    const batches = batchPlan(total, batchSize, false);
    const counts = [...new Set(batches.map((b) => b.count))];
    for (const m of models) {
      const { edits } = planEdits(m.model, [], inputs, counts);
      sessions.push(await createSession(rewriteModel(m.bytes, m.model, edits), m.dir, request));
    }
    const outputs = model.outputs;
    const acc = outputs.map(() => ({ n: 0, abs: 0, diff2: 0, ref2: 0 }));
    for (const { start, count } of batches) {
      if (hooks.cancelled()) throw new UserError("cancelled", "The recalibration was cancelled; no model was written.");
      const feeds = await source.read(start, count);
      const [a, b] = [await runBatch(sessions[0], feeds, outputs), await runBatch(sessions[1], feeds, outputs)];
      outputs.forEach((name, k) => {
        const x = a[name];
        const y = b[name];
        if (!x || !y || x.dtype === "string" || y.dtype === "string") return;
        const u = toFloat64(x);
        const v = toFloat64(y);
        const s = acc[k];
        for (let i = 0; i < u.length; i++) {
          const d = v[i] - u[i];
          s.abs += Math.abs(d);
          s.diff2 += d * d;
          s.ref2 += u[i] * u[i];
        }
        s.n += u.length;
      });
      hooks.progress({
        phase: "finishing",
        samplesDone: start + count,
        samplesTotal: total,
        elapsedMs: 0,
        message: `Comparing model outputs: ${start + count} of ${total} samples`,
      });
    }
    return outputs.map((output, k) => ({
      output,
      values: acc[k].n,
      meanAbsChange: acc[k].n ? acc[k].abs / acc[k].n : 0,
      relativeL2Change: acc[k].ref2 > 0 ? Math.sqrt(acc[k].diff2 / acc[k].ref2) : null,
    }));
  } finally {
    for (const s of sessions) await releaseSession(s);
    await source.close();
  }
}
