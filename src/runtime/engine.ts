import { createHash } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { UserError, isUserError } from "../core/errors";
import { activationFinder } from "../core/inspect/activationJson";
import { captureStrategy } from "../core/inspect/captureStrategy";
import { buildReport } from "../core/inspect/buildReport";
import { Inspection, type LayerState } from "../core/inspect/inspection";
import { modelDescription, type ModelDescription } from "../core/inspect/modelDescription";
import { formatDeclared, type ResolvedInput } from "../core/inputs/shapes";
import { decodeModel, type Dim, type OnnxModel } from "../core/onnx/model";
import { rewriteModel, upgradeNodesToOpset7, type ModelEdits } from "../core/onnx/rewrite";
import { validateGraph } from "../core/onnx/validate";
import type { PrecisionJson, Report, Thresholds } from "../core/report";
import { planFastCapture, type FastPlan } from "../core/inspect/fastPlan";
import { withDefaults } from "../core/stats/judge";
import { sizeOf, type HostTensor } from "../core/tensor";
import { bytesPerElement } from "../core/onnx/dataType";
import type { InspectRequest, Progress } from "../protocol/worker";
import { measureBatchDependence } from "./batchDependence";
import { prepareData, type DataSource } from "./dataSources";
import { shardSource } from "./shardSource";
import { checkExternalData, externalReader, readFileChunked } from "./modelFile";
import { ortVersion } from "./session";
import { borrowSessionThread, returnSessionThread, type ThreadSession } from "./sessionThread";
import { FoldClient, foldThreadScript } from "./foldClient";
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

/** Extra engine wiring for benchmarks: a data source prepared elsewhere (e.g. decoded images held in memory). */
export interface EngineOptions {
  openData?: typeof prepareData;
  /** Capture BN inputs as onnxruntime computes them, not recovered from the outputs (for tests that check them). */
  captureInputs?: boolean;
  /** false: an exact run folds every layer on the main thread (tests compare both ways). */
  foldThread?: boolean;
}

export const DEFAULT_BATCH_SIZE = 8;
/** Statistics mode when the request names none (README "Exact and fast statistics"). */
export const DEFAULT_MODE: "exact" | "fast" | "auto" = "auto";
/** In auto mode, runs whose exact measurement is projected to take longer than this switch to fast. */
export const AUTO_EXACT_LIMIT_S = 10;
const DYNAMIC_BATCH = "bnlens_batch";

/**
 * onnxruntime's intra-op threads for an inspection when the user chose none: one fewer than the machine's
 * cores (at least 1), so the statistics of one batch, folded on the inference process's main thread, have a
 * core while onnxruntime runs the next batch (README "Performance").
 */
export function inspectionThreads(cores = os.availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** A fold thread (foldThread.ts) and the layers it folds. */
interface LayerFolder {
  layers: ReadonlySet<number>;
  /** Hands the thread its layers' tensors of one batch (moved where nothing else here reads them). */
  fold(get: (name: string) => HostTensor | undefined, outputs: Record<string, HostTensor>, count: number): Promise<void>;
  finish(): Promise<LayerState[]>;
  close(): Promise<void>;
}

/** Exact runs fold on two threads when their statistics stay this small (the thread holds its layers' copy). */
const FOLD_SPLIT_MAX_CHANNELS = 65_536;

/**
 * Starts a fold thread for about half of an exact run's float64 pass (balanced by values per batch), or
 * returns undefined where it would not pay or cannot run: one core, one layer, large statistics or model,
 * or no built dist/foldThread.js. `copyTensors`: tensors are copied, not moved (a test hook keeps them).
 */
function startFolder(
  inspection: Inspection,
  loaded: LoadedModel,
  thresholds: Thresholds,
  options: EngineOptions,
  batchesLeft: number,
  copyTensors: boolean,
): LayerFolder | undefined {
  const script = foldThreadScript();
  const n = inspection.layers.length;
  const channels = inspection.layers.reduce((a, l) => a + l.channels, 0);
  if (!script || n < 2 || batchesLeft < 1 || os.availableParallelism() < 2) return undefined;
  if (channels > FOLD_SPLIT_MAX_CHANNELS || loaded.sizeBytes > TWO_FAST_SESSIONS_MAX_BYTES) return undefined;
  const dims = inspection.inputDims();
  const cost = (i: number) => inspection.tensorsOf(i).length * dims[i].reduce((a, b) => a * b, 1);
  // Largest first onto the lighter side; the thread takes one side.
  let here = 0,
    there = 0;
  const mine = new Set<number>();
  for (const i of [...Array(n).keys()].sort((a, b) => cost(b) - cost(a))) {
    if (there < here) {
      mine.add(i);
      there += cost(i);
    } else here += cost(i);
  }
  const layers = [...mine];
  const names = [...new Set(layers.flatMap((i) => inspection.tensorsOf(i)))];
  const kept = new Set([...Array(n).keys()].filter((i) => !mine.has(i)).flatMap((i) => inspection.tensorsOf(i)));
  const client = new FoldClient(script, {
    modelBytes: loaded.bytes,
    modelDir: loaded.dir,
    thresholds,
    captureInputs: options.captureInputs ?? false,
    states: inspection.layerStates(layers),
  });
  return {
    layers: mine,
    fold: (get, outputs, count) => {
      const tensors: Record<string, HostTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const name of names) {
        const t = get(name);
        if (!t) continue;
        tensors[name] = t;
        // Only onnxruntime's own outputs, read by no layer folded here, whole buffers: those move.
        const buf = t.data.buffer as ArrayBuffer;
        if (
          !copyTensors &&
          outputs[name] === t &&
          !kept.has(name) &&
          t.data.byteOffset === 0 &&
          t.data.byteLength === buf.byteLength &&
          !transfer.includes(buf)
        )
          transfer.push(buf);
      }
      return client.fold(tensors, count, transfer);
    },
    finish: () => client.finish(),
    close: () => client.close(),
  };
}

/** Fast-mode models up to this size may run in two sessions at once (each holds its own copy of the weights). */
const TWO_FAST_SESSIONS_MAX_BYTES = 256 * 2 ** 20;

/**
 * How many fast-mode sessions run side by side, and onnxruntime's intra-op threads in each. Fast mode's graph
 * adds reductions that keep one onnxruntime thread busier than the statistics keep theirs, so on a machine
 * with cores to spare two sessions take alternate batches (README "Performance"). A user's thread count, or a
 * model too large to hold twice, keeps one session.
 */
export function fastSessions(
  requestedThreads: number | undefined,
  modelBytes: number,
  cores = os.availableParallelism(),
): { sessions: number; intraOpNumThreads: number } {
  if (requestedThreads) return { sessions: 1, intraOpNumThreads: requestedThreads };
  if (cores < 2 || modelBytes > TWO_FAST_SESSIONS_MAX_BYTES) return { sessions: 1, intraOpNumThreads: inspectionThreads(cores) };
  return { sessions: 2, intraOpNumThreads: Math.max(1, Math.floor((cores - 1) / 2)) };
}

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

/**
 * Reads and checks a model: `describe` and `inspect` share this one check (graph order, known operators,
 * opset, external data inside the model's folder), so a model one accepts the other does too.
 */
function loadModel(modelPath: string): LoadedModel {
  const file = readFileChunked(modelPath, "The model file");
  const model = decodeModel(file.bytes);
  validateGraph(model);
  const dir = path.dirname(path.resolve(modelPath));
  checkExternalData(model, dir);
  return { model, bytes: file.bytes, sha256: file.sha256, sizeBytes: file.sizeBytes, dir };
}

/** Reads a model and what it stores, without running it. */
export function describeModel(modelPath: string, thresholds: Partial<Thresholds> = {}): ModelDescription {
  const { model, sizeBytes, dir } = loadModel(modelPath);
  const readExternal = externalReader(dir);
  return modelDescription(
    model,
    { path: modelPath, name: path.basename(modelPath), sizeBytes },
    activationFinder(readExternal),
    readExternal,
    thresholds,
  );
}

/**
 * Model edits for a run: expose captured tensors, upgrade opset < 7, and free a fixed batch dim when
 * the run feeds other batch sizes. Returns the notes the report carries about them.
 */
export function planEdits(
  model: OnnxModel,
  capture: readonly string[],
  inputs: readonly ResolvedInput[],
  batches: readonly number[],
): { edits: ModelEdits; notes: string[] } {
  const batchSize = Math.max(...batches);
  const notes: string[] = [];
  const edits: ModelEdits = { addOutputs: capture.filter((n) => !model.inputs.some((i) => i.name === n)) };
  const weightInputs = model.graph.input.filter((v) => model.initializers.has(v.name)).length;
  if (weightInputs) {
    edits.dropInitializerInputs = true;
    notes.push(
      `The model lists ${weightInputs} weights among its graph inputs (an old exporter habit); BN Lens runs them as constants, which lets onnxruntime optimize the graph.`,
    );
  }
  if (model.opset < 7) {
    edits.replaceNodes = upgradeNodesToOpset7(model);
    edits.defaultOpset = 7;
    notes.push(
      `The model uses ONNX opset ${model.opset}; BN Lens ran it as opset 7 (dropping the BatchNormalization attributes is_test/consumed_inputs that opset 7 removed).`,
    );
  }
  const fed = new Set(batches);
  const needsFree = inputs.filter((i) => i.fixedBatch !== undefined && [...fed].some((n) => n !== i.fixedBatch));
  if (needsFree.length) {
    const dims = new Map<string, Dim[]>();
    for (const i of needsFree) dims.set(i.name, [DYNAMIC_BATCH, ...i.sampleDims]);
    edits.inputDims = dims;
    edits.dropShapeHints = true;
    notes.push(
      `The model fixes its batch dim (${needsFree.map((i) => `${i.name}: ${i.declared}`).join("; ")}); BN Lens made it dynamic to run batches of ${batchSize}.`,
    );
  }
  return { edits, notes };
}

/** The batches of a run: [start, start + count) ranges of samples, an optional one-sample probe first. */
export function batchPlan(total: number, batchSize: number, probeOne: boolean): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  let start = 0;
  if (probeOne && total > 0) out.push({ start: start++, count: 1 });
  for (; start < total; start += batchSize) out.push({ start, count: Math.min(batchSize, total - start) });
  return out;
}

/** Every tensor name of the model, so added nodes never reuse one. */
function tensorNames(model: OnnxModel): Set<string> {
  const names = new Set<string>([...model.initializers.keys(), ...model.graph.input.map((v) => v.name)]);
  for (const n of model.graph.node) for (const o of n.output) names.add(o);
  return names;
}

/** How the report's numbers were obtained, in words and as the fraction of values measured. */
function precisionOf(inspection: Inspection, exactBatches: number, batches: number, autoNote?: string): PrecisionJson {
  const layers = inspection.coverage();
  const sampled = layers.filter((l) => l.sampling);
  if (sampled.length === 0) {
    return { mode: "exact", description: "Every value before and after each BN layer, accumulated in float64.", histogramSampling: 1 };
  }
  // Values in the histograms against values the moments cover.
  let seen = 0,
    all = 0;
  for (const l of layers) {
    seen += l.histogrammed;
    all += l.counted;
  }
  const fraction = seen / all;
  const strides = [...new Set(sampled.map((l) => l.sampling!.strides.join("x")))].join(", ");
  const fromOutput = layers.filter((l, i) => l.sampling && inspection.measuresOutput(i)).length;
  return {
    mode: "fast",
    description:
      `Fast mode: ${sampled.length} of ${layers.length} BN layers measured on a systematic spatial sample (strides ${strides}; ` +
      `${(fraction * 100).toFixed(1)}% of all values); histograms, saturation, minimum and maximum come from the sample; ` +
      `mean and variance from every value (per-sample sums in float32 by onnxruntime, float64 across samples); ` +
      (fromOutput === sampled.length
        ? `pre-BN values follow from the BN outputs through each layer's inverse affine map. `
        : fromOutput === 0
          ? `post-BN values follow from pre-BN ones through each layer's affine map. `
          : `${fromOutput} of these layers are measured on their BN output (pre-BN values follow through the inverse affine map), the others on their BN input (post-BN values follow through the affine map). `) +
      `${exactBatches} of ${batches} batch${batches === 1 ? " was" : "es were"} measured exactly (the first, which gives the feature maps' sizes, and any with NaN or infinity).` +
      (autoNote ? ` ${autoNote}` : " Use --mode exact to measure every value."),
    histogramSampling: fraction,
  };
}

/**
 * Refuses what onnxruntime would otherwise run into nonsense or reject in its own words: an input with a
 * dim of size 0 (a report of no values and no warnings), and a BN whose input has fewer than 2 dims.
 */
function checkFedShapes(inputs: readonly ResolvedInput[], inspection: Inspection): void {
  for (const i of inputs) {
    if (i.sampleDims.some((d) => d < 0 || !Number.isSafeInteger(d))) {
      throw new UserError(
        "model",
        `Input "${i.name}" declares dims ${i.sampleDims.join("x")} per sample, and a dim below 0 cannot be fed; the model is damaged (give the shape with --input-shape if the dim is meant to be symbolic).`,
      );
    }
    if (i.sampleDims.some((d) => d === 0)) {
      throw new UserError(
        "data",
        `Input "${i.name}" would have no values: its dims are ${i.sampleDims.join("x")} per sample, and a dim of size 0 leaves nothing to measure; give every dim a size of at least 1 (with --input-shape for symbolic dims).`,
      );
    }
  }
  for (const l of inspection.layers) {
    const fed = inputs.find((i) => i.name === l.input);
    const rank = fed ? fed.sampleDims.length + 1 : l.rank;
    if (rank !== undefined && rank < 2) {
      throw new UserError(
        "model",
        `BatchNormalization node "${l.name}" reads "${l.input}", which has ${rank} dim${rank === 1 ? "" : "s"}${fed ? ` (${fed.declared})` : ""}; BN needs at least 2 (N x C, then optional spatial dims) because it normalises along the channel axis 1, so the model is malformed or its input shape is wrong.`,
      );
    }
  }
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

const DATA_KIND_NAMES: Record<string, string> = {
  random: "random data",
  npy: "a .npy array",
  npz: "an .npz archive",
  "onnx-test-data": "ONNX TensorProto data",
};

/** Runs a whole inspection: load, check data, rewrite, run in batches, measure, judge. */
export async function inspect(request: InspectRequest, hooks: EngineHooks, options: EngineOptions = {}): Promise<Report> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const batchSize = checkBatchSize(request.batchSize);
  const strategy = captureStrategy(request.mode ?? DEFAULT_MODE, request.autoExactLimitS ?? AUTO_EXACT_LIMIT_S);
  const seed = request.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new UserError("usage", `--seed must be a whole number of at least 0, not ${request.seed}.`);
  hooks.progress({ phase: "loading", samplesDone: 0, samplesTotal: 0, elapsedMs: 0, message: "Reading the model" });

  const loaded = loadModel(request.modelPath);
  const { model } = loaded;
  const readExternal = externalReader(loaded.dir);
  const thresholds = withDefaults(request.thresholds);
  const inspection = new Inspection(model, thresholds, activationFinder(readExternal), readExternal, options.captureInputs);
  hooks.log(
    `Model ${request.modelPath}: opset ${model.opset}, ${model.graph.node.length} nodes, ${inspection.layers.length} BatchNormalization layers.`,
  );
  if (model.inputs.length === 0)
    throw new UserError(
      "model",
      "The model has no inputs to feed (every graph input has an initializer), so there is nothing to run it on.",
    );

  const image =
    request.imageMean || request.imageStd || request.bgr
      ? { mean: request.imageMean ?? [0], std: request.imageStd ?? [1], order: request.bgr ? ("bgr" as const) : ("rgb" as const) }
      : undefined;
  const {
    source: whole,
    inputs,
    opened,
  } = await (options.openData ?? prepareData)(
    {
      path: request.dataPath,
      samples: request.samples,
      seed,
      random: request.random === "uniform" ? { kind: "uniform", low: 0, high: 1 } : { kind: "normal", mean: 0, std: 1 },
      image,
    },
    model.inputs,
    { batchSize, inputShapes: request.inputShapes },
  );
  // onnxruntime runs on threads of its own, ahead of the statistics (sessionThread.ts), and by default leaves
  // one core to them; fast mode may run two sessions side by side (see fastSessions).
  const threads = [borrowSessionThread()];
  const sessionSettings = { ...request, intraOpNumThreads: request.intraOpNumThreads || inspectionThreads() };
  let session: ThreadSession | undefined;
  let fast: { sessions: ThreadSession[]; plan: FastPlan } | undefined;
  let folder: LayerFolder | undefined;
  let report: Report;
  let source = whole;
  try {
    if (image && source.info.kind !== "images") {
      const given = [request.imageMean && "--mean", request.imageStd && "--std", request.bgr && "--bgr"].filter(Boolean).join(", ");
      throw new UserError(
        "usage",
        `${given} appl${given.includes(",") ? "y" : "ies"} to images only, but the data is ${DATA_KIND_NAMES[source.info.kind]}; drop ${given.includes(",") ? "them" : "it"}, or normalise the arrays before saving them.`,
      );
    }
    checkFedShapes(inputs, inspection);
    if (request.shard) source = shardSource(whole, request.shard);
    const total = source.info.sampleCount;
    if (total === 0) throw new UserError("data", "The data holds no samples; give a file or folder with at least one.");
    hooks.log(`Data: ${source.info.description}; ${opened.description}.`);
    checkFeedSize(inputs, Math.min(batchSize, total));
    const capture = inspection.captureNames();
    // Fast mode measures a first, exact batch only to learn the feature maps' sizes: one sample is enough,
    // unless a fixed batch dim would then have to be freed just for it.
    const probeOne =
      strategy.probeWithOneSample &&
      total > 1 &&
      inspection.layers.length > 0 &&
      inputs.every((i) => i.fixedBatch === undefined || i.fixedBatch === 1);
    const batches = batchPlan(total, batchSize, probeOne);
    const { edits, notes } = planEdits(model, capture, inputs, [...new Set(batches.map((b) => b.count))]);
    notes.push(...opened.notes);
    for (const n of notes) hooks.log(n);
    const exactBytes = () => rewriteModel(loaded.bytes, model, edits);
    // With nothing to measure (no BN, no Conv/Gemm/MatMul) the model still runs: data and model get checked.
    const captured = capture.filter((n) => !model.inputs.some((i) => i.name === n));
    const fetch = captured.length ? captured : model.outputs;
    const get = (outputs: Record<string, HostTensor>, feeds: Record<string, HostTensor>) => (name: string) => outputs[name] ?? feeds[name];
    let exactBatches = 0;
    let autoNote: string | undefined;
    const startFast = async () => {
      const plan = planFastCapture(inspection.layers, inspection.inputDims(), tensorNames(model), (i, whole) =>
        inspection.measuresOutput(i, whole),
      );
      const bytes = rewriteModel(loaded.bytes, model, { ...edits, addOutputs: plan.outputs, addNodes: plan.nodes });
      const pool = fastSessions(request.intraOpNumThreads, loaded.sizeBytes);
      while (threads.length < pool.sessions) threads.push(borrowSessionThread());
      const settings = { ...request, intraOpNumThreads: pool.intraOpNumThreads };
      fast = { sessions: await Promise.all(threads.map((t) => t.create(bytes, loaded.dir, settings))), plan };
      // The exact session is only needed again for a batch with non-finite values.
      await session?.release();
      session = undefined;
    };
    const exactSession = async () => (session ??= await threads[0].create(exactBytes(), loaded.dir, sessionSettings));
    // Every mode measures the first batch exactly: it gives each BN input's dims (which choose the
    // sampling strides) and, in auto mode, the pace of an exact run.
    await exactSession();

    // A batch handed to a session thread: its run proceeds while the batch before it is folded here.
    let turn = 0;
    const launch = async ({ start, count }: { start: number; count: number }) => {
      const feeds = await source.read(start, count);
      const onFast = fast;
      const ranAt = performance.now();
      const outputs = onFast
        ? onFast.sessions[turn++ % onFast.sessions.length].run(feeds, onFast.plan.outputs)
        : (await exactSession()).run(feeds, fetch);
      // Awaited below; a run still pending when the inspection stops early must not be an unhandled rejection.
      outputs.catch(() => undefined);
      return { start, count, feeds, outputs, onFast, ranAt };
    };
    // Batches in flight, in order: one per session, folded here in the order of the plan.
    const inFlight: Awaited<ReturnType<typeof launch>>[] = [];
    let launched = 0;
    const launchNext = async () => {
      const depth = fast ? fast.sessions.length : 1;
      while (launched < batches.length && inFlight.length < depth && !hooks.cancelled()) inFlight.push(await launch(batches[launched++]));
    };
    await launchNext();
    for (let k = 0; k < batches.length; k++) {
      if (hooks.cancelled()) throw new UserError("cancelled", "The inspection was cancelled; no report was written.");
      const { start, count, feeds, onFast, ranAt, outputs: running } = inFlight.shift()!;
      const outputs = await running;
      let measured = false;
      if (onFast) {
        await launchNext();
        measured = inspection.addFastBatch(onFast.plan, get(outputs, feeds), count);
        if (!measured) hooks.log(`Samples ${start}–${start + count - 1} hold NaN or infinite values; measuring that batch exactly.`);
      }
      if (!measured) {
        const exact = onFast ? await (await exactSession()).run(feeds, fetch) : outputs;
        hooks.captured?.({ ...feeds, ...exact });
        exactBatches++;
        // The first batch decides (the strategy says how): fast mode switches to the sampled capture now (its
        // feature maps' sizes choose the strides); auto mode does when measuring every value would take too
        // long at this pace (onnxruntime's time plus about 5 ns per captured value for the float64 statistics:
        // most layers capture only the BN output, and each of its values feeds both pre- and post-BN statistics;
        // the WebAssembly pass and its bookkeeping measured about 3.4 ns per value on one core, foldKernel.ts).
        let switchNow = false;
        if (exactBatches === 1 && !fast && inspection.layers.length && start + count < total) {
          const remaining = Math.ceil((total - start - count) / batchSize);
          let values = 0;
          for (const t of Object.values(exact)) values += t.data.length;
          const perBatchS = ((performance.now() - ranAt) / 1000 + values * 5e-9) * (batchSize / count);
          const decision = strategy.afterFirstBatch({ projectedExactS: perBatchS * remaining });
          switchNow = decision.switchToFast;
          if (decision.note) {
            autoNote = decision.note;
            hooks.log(autoNote);
          }
        }
        if (switchNow) {
          inspection.noteDims(get(exact, feeds));
          await startFast();
        }
        if (!onFast) await launchNext();
        if (switchNow) inspection.addFastFromWhole(fast!.plan, get(exact, feeds), count);
        else if (folder) {
          await folder.fold(get(exact, feeds), exact, count);
          inspection.addBatch(get(exact, feeds), count, (i) => !folder!.layers.has(i));
        } else {
          inspection.addBatch(get(exact, feeds), count);
          // From the second batch on, an exact run folds about half the layers on a thread of their own.
          if (exactBatches === 1 && !fast && k + 1 < batches.length && options.foldThread !== false) {
            folder = startFolder(inspection, loaded, thresholds, options, batches.length - k - 1, hooks.captured !== undefined);
            if (folder)
              hooks.log(`Folding the statistics of ${folder.layers.size} of ${inspection.layers.length} BN layers on a second thread.`);
          }
        }
      }
      hooks.progress({
        phase: "running",
        samplesDone: start + count,
        samplesTotal: total,
        elapsedMs: elapsed(),
        message: `${start + count} of ${total} samples`,
      });
    }
    if (folder) inspection.loadLayers(await folder.finish());
    hooks.progress({
      phase: "finishing",
      samplesDone: total,
      samplesTotal: total,
      elapsedMs: elapsed(),
      message: "Judging the statistics",
    });
    const data = {
      kind: source.info.kind === "random" && request.randomIsDomain ? "random-domain" : source.info.kind,
      // A shard describes the whole data set it is a part of (its run.shard says which part).
      description: describeData(whole.info.description, opened.description),
      sources: request.dataPath ? [request.dataPath] : [],
    };
    report = buildReport(inspection, {
      id: runId(loaded.sha256, data, seed, inspection.samples, request.shard),
      generatorVersion: VERSION,
      onnxruntimeVersion: ortVersion(),
      modelPath: request.modelPath,
      modelName: path.basename(request.modelPath),
      sizeBytes: loaded.sizeBytes,
      sha256: loaded.sha256,
      inputs: inputs.map((i) => ({
        name: i.name,
        dtype: i.dtype,
        declared: model.inputs.find((m) => m.name === i.name)?.dims ?? null,
        fed: i.sampleDims,
      })),
      notes,
      trainBatch: request.trainBatch,
      data,
      batchSize,
      seed,
      elapsedMs: elapsed(),
      precision: precisionOf(inspection, exactBatches, batches.length, autoNote),
      ...(request.shard && request.shard.count > 1 ? { shard: { ...request.shard, samplesTotal: whole.info.sampleCount } } : {}),
      createdAt: new Date().toISOString(),
    });
  } finally {
    // Sessions are released in order after any run still in flight; the threads go back to the pool.
    await Promise.all([session, ...(fast?.sessions ?? [])].map((x) => x?.release()));
    await Promise.all(threads.map(returnSessionThread));
    await folder?.close();
    await source.close();
  }
  // Training-mode BN makes the outputs depend on the batch: measured on data (random inputs say nothing).
  const training = inspection.layers.filter((l) => l.trainingMode).map((l) => l.name);
  if (training.length && !report.data.synthetic && !request.shard) {
    hooks.log(`Measuring how the outputs depend on which samples share a batch (${training.length} training-mode BN layers).`);
    const settings = {
      batchSize: request.trainBatch ?? batchSize,
      batchSizeFrom: request.trainBatch ? ("train-batch" as const) : ("run-batch" as const),
      layers: training,
      confidence: thresholds.confidence,
    };
    try {
      report.batchDependence = await measureBatchDependence(request, loaded, settings, hooks, options);
    } catch (e) {
      // The statistics are complete: a failure of this extra measurement (memory, a batch the model refuses)
      // is said in the report, not allowed to lose it. Cancelling still cancels.
      if (!isUserError(e) || e.kind === "cancelled") throw e;
      report.batchDependence = {
        ...settings,
        reshuffles: 0,
        seed,
        samples: 0,
        samplesTotal: report.samples,
        method: "not measured",
        outputs: [],
        note: `Measuring it failed: ${e.message}`,
      };
    }
  }
  return report;
}

/** Report.id: the same model, data, seed and sample count give the same id (README "Report format"). */
export function runId(
  modelSha256: string,
  data: Pick<Report["data"], "kind" | "description" | "sources">,
  seed: number,
  samples: number,
  shard?: { index: number; count: number },
): string {
  // Shards of one data set share its description; their index and count tell them apart.
  const part = shard && shard.count > 1 ? [shard.index, shard.count] : [];
  const identity = JSON.stringify([modelSha256, data.kind, data.description, data.sources, seed, samples, ...part]);
  return createHash("sha256").update(identity).digest("hex").slice(0, 32);
}

/** The data line of a report: what was read, then how samples were made when that adds anything. */
function describeData(info: string, opened: string): string {
  const norm = (s: string) => s.toLowerCase().replace(/^random /, "");
  return !opened || norm(info).includes(norm(opened)) ? info : `${info}; ${opened}`;
}

export { formatDeclared };
export type { DataSource };
