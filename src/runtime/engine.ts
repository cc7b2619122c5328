import * as os from "node:os";
import * as path from "node:path";
import type * as ort from "onnxruntime-node";
import { UserError } from "../core/errors";
import { activationFinder } from "../core/inspect/activationJson";
import { buildReport } from "../core/inspect/buildReport";
import { Inspection } from "../core/inspect/inspection";
import { modelOverview, type ModelOverview } from "../core/inspect/overview";
import { formatDeclared, type ResolvedInput } from "../core/inputs/shapes";
import { decodeModel, type Dim, type OnnxModel } from "../core/onnx/model";
import { rewriteModel, upgradeNodesToOpset7, type ModelEdits } from "../core/onnx/rewrite";
import { validateGraph } from "../core/onnx/validate";
import type { Report } from "../core/report";
import { withDefaults } from "../core/stats/judge";
import { sizeOf, type HostTensor } from "../core/tensor";
import { bytesPerElement } from "../core/onnx/dataType";
import type { InspectRequest, Progress } from "../protocol/worker";
import { prepareData, type DataSource } from "./dataSources";
import { externalReader, readFileChunked } from "./modelFile";
import { createSession, ORT_VERSION, releaseSession, runBatch } from "./session";
import { VERSION } from "../core/version";

/** How the engine talks back while it runs. */
export interface EngineHooks {
  progress(p: Progress): void;
  log(line: string): void;
  /** Checked between batches; true stops the run with a "cancelled" UserError. */
  cancelled(): boolean;
  /** Sees every batch's fed and captured tensors (tests compare them with reference outputs). */
  captured?(tensors: Readonly<Record<string, HostTensor>>): void;
}

export const DEFAULT_BATCH_SIZE = 8;
const DYNAMIC_BATCH = "bnlens_batch";

function checkBatchSize(batch: number | undefined): number {
  const b = batch ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(b) || b < 1) throw new UserError("usage", `--batch must be a whole number of at least 1, not ${batch}.`);
  return b;
}

interface LoadedModel {
  model: OnnxModel;
  bytes: Uint8Array;
  sha256: string;
  sizeBytes: number;
  dir: string;
}

function loadModel(modelPath: string): LoadedModel {
  const file = readFileChunked(modelPath, "The model file");
  const model = decodeModel(file.bytes);
  return { model, bytes: file.bytes, sha256: file.sha256, sizeBytes: file.sizeBytes, dir: path.dirname(path.resolve(modelPath)) };
}

/** Reads a model and what it stores, without running it. */
export function describeModel(modelPath: string): ModelOverview {
  const { model, sizeBytes, dir } = loadModel(modelPath);
  const readExternal = externalReader(dir);
  return modelOverview(model, { path: modelPath, name: path.basename(modelPath), sizeBytes }, activationFinder(readExternal), readExternal);
}

/**
 * Model edits for a run: expose captured tensors, upgrade opset < 7, and free a fixed batch dim when
 * the run feeds other batch sizes. Returns the notes the report carries about them.
 */
function planEdits(model: OnnxModel, capture: readonly string[], inputs: readonly ResolvedInput[], batchSize: number, total: number): { edits: ModelEdits; notes: string[] } {
  const notes: string[] = [];
  const edits: ModelEdits = { addOutputs: capture.filter((n) => !model.inputs.some((i) => i.name === n)) };
  if (model.opset < 7) {
    edits.replaceNodes = upgradeNodesToOpset7(model);
    edits.defaultOpset = 7;
    notes.push(`The model uses ONNX opset ${model.opset}; BN Lens ran it as opset 7 (dropping the BatchNormalization attributes is_test/consumed_inputs that opset 7 removed).`);
  }
  // The batch sizes this run feeds: full batches and a last, shorter one.
  const fed = new Set(total <= batchSize ? [total] : [batchSize, total % batchSize || batchSize]);
  const needsFree = inputs.filter((i) => i.fixedBatch !== undefined && [...fed].some((n) => n !== i.fixedBatch));
  if (needsFree.length) {
    const dims = new Map<string, Dim[]>();
    for (const i of needsFree) dims.set(i.name, [DYNAMIC_BATCH, ...i.sampleDims]);
    edits.inputDims = dims;
    edits.dropShapeHints = true;
    notes.push(`The model fixes its batch dim (${needsFree.map((i) => `${i.name}: ${i.declared}`).join("; ")}); BN Lens made it dynamic to run batches of ${batchSize}.`);
  }
  return { edits, notes };
}

/** Refuses batches that cannot fit in memory (absurd declared dims) before anything is allocated. */
function checkFeedSize(inputs: readonly ResolvedInput[], batch: number): void {
  const limit = Math.min(4 * 2 ** 30, os.totalmem() / 4);
  let total = 0;
  for (const i of inputs) {
    const bytes = batch * sizeOf(i.sampleDims) * bytesPerElement(i.dtype);
    total += bytes;
    if (!Number.isFinite(bytes) || total > limit) {
      throw new UserError(
        "resource",
        `Input "${i.name}" would take ${(bytes / 2 ** 30).toFixed(1)} GiB per batch of ${batch} (${i.sampleDims.join("x")} ${i.dtype} per sample), more than BN Lens can hold in memory; lower --batch or give smaller dims with --input-shape.`,
      );
    }
  }
}

/** Runs a whole inspection: load, check data, rewrite, run in batches, measure, judge. */
export async function inspect(request: InspectRequest, hooks: EngineHooks): Promise<Report> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const batchSize = checkBatchSize(request.batchSize);
  const seed = request.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UserError("usage", `--seed must be a whole number of at least 0, not ${request.seed}.`);
  hooks.progress({ phase: "loading", samplesDone: 0, samplesTotal: 0, elapsedMs: 0, message: "Reading the model" });

  const loaded = loadModel(request.modelPath);
  const { model } = loaded;
  validateGraph(model);
  const readExternal = externalReader(loaded.dir);
  const thresholds = withDefaults(request.thresholds);
  const inspection = new Inspection(model, thresholds, activationFinder(readExternal), readExternal);
  hooks.log(`Model ${request.modelPath}: opset ${model.opset}, ${model.graph.node.length} nodes, ${inspection.layers.length} BatchNormalization layers.`);
  if (model.inputs.length === 0) throw new UserError("model", "The model has no inputs to feed (every graph input has an initializer), so there is nothing to run it on.");

  const image = request.imageMean || request.imageStd || request.bgr
    ? { mean: request.imageMean ?? [0], std: request.imageStd ?? [1], order: request.bgr ? ("bgr" as const) : ("rgb" as const) }
    : undefined;
  const { source, inputs, opened } = await prepareData(
    { path: request.dataPath, samples: request.samples, seed, random: request.random === "uniform" ? { kind: "uniform", low: 0, high: 1 } : { kind: "normal", mean: 0, std: 1 }, image },
    model.inputs,
    { batchSize, inputShapes: request.inputShapes },
  );
  let session: ort.InferenceSession | undefined;
  try {
    const total = source.info.sampleCount;
    if (total === 0) throw new UserError("data", "The data holds no samples; give a file or folder with at least one.");
    hooks.log(`Data: ${source.info.description}; ${opened.description}.`);
    checkFeedSize(inputs, Math.min(batchSize, total));
    const capture = inspection.captureNames();
    const { edits, notes } = planEdits(model, capture, inputs, batchSize, total);
    notes.push(...opened.notes);
    for (const n of notes) hooks.log(n);
    const bytes = rewriteModel(loaded.bytes, model, edits);
    session = await createSession(bytes, loaded.dir, request);
    const fetch = capture.filter((n) => !model.inputs.some((i) => i.name === n));

    for (let start = 0; start < total; start += batchSize) {
      if (hooks.cancelled()) throw new UserError("cancelled", "The inspection was cancelled; no report was written.");
      const count = Math.min(batchSize, total - start);
      const feeds = await source.read(start, count);
      const outputs = await runBatch(session, feeds, fetch);
      inspection.addBatch((name) => outputs[name] ?? (feeds as Record<string, HostTensor | undefined>)[name], count);
      hooks.captured?.({ ...feeds, ...outputs });
      hooks.progress({
        phase: "running", samplesDone: start + count, samplesTotal: total, elapsedMs: elapsed(),
        message: `${start + count} of ${total} samples`,
      });
    }
    hooks.progress({ phase: "finishing", samplesDone: total, samplesTotal: total, elapsedMs: elapsed(), message: "Judging the statistics" });
    return buildReport(inspection, {
      generatorVersion: VERSION,
      onnxruntimeVersion: ORT_VERSION,
      modelPath: request.modelPath,
      modelName: path.basename(request.modelPath),
      sizeBytes: loaded.sizeBytes,
      sha256: loaded.sha256,
      inputs: inputs.map((i) => ({
        name: i.name, dtype: i.dtype,
        declared: model.inputs.find((m) => m.name === i.name)?.dims ?? null,
        fed: i.sampleDims,
      })),
      notes,
      data: { kind: source.info.kind, description: describeData(source.info.description, opened.description), sources: request.dataPath ? [request.dataPath] : [] },
      batchSize,
      seed,
      elapsedMs: elapsed(),
      precision: {
        mode: "exact",
        description: "Every captured value, accumulated in float64 (histograms on fixed log buckets, all values).",
        histogramSampling: 1,
      },
      createdAt: new Date().toISOString(),
    });
  } finally {
    await releaseSession(session);
    await source.close();
  }
}

/** The data line of a report: what was read, then how samples were made when that adds anything. */
function describeData(info: string, opened: string): string {
  const norm = (s: string) => s.toLowerCase().replace(/^random /, "");
  return !opened || norm(info).includes(norm(opened)) ? info : `${info}; ${opened}`;
}

export { formatDeclared };
export type { DataSource };
