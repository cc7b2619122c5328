/**
 * The fold thread: a worker thread of the inference process that folds some BN layers' captured tensors into
 * their float64 statistics while the main thread folds the others (exact mode's float64 pass is most of its
 * time, and onnxruntime's own thread leaves a core mostly idle then). It starts from the main thread's
 * statistics of its layers and hands them back at the end, so every layer sees the same operations in the
 * same order as on one thread: the report is the same to the bit. Built as its own bundle (dist/foldThread.js).
 */
import { parentPort, workerData } from "node:worker_threads";
import { isUserError } from "../core/errors";
import { activationFinder } from "../core/inspect/activationJson";
import { Inspection, type LayerState } from "../core/inspect/inspection";
import { decodeModel } from "../core/onnx/model";
import type { Thresholds } from "../core/report";
import type { HostTensor } from "../core/tensor";
import { externalReader } from "./modelFile";

/** What the thread is started with. */
export interface FoldThreadData {
  modelBytes: Uint8Array;
  modelDir: string;
  thresholds: Thresholds;
  captureInputs: boolean;
  states: LayerState[];
}

/** Requests: a batch's tensors of the thread's layers, or the end (reply: the layers' states). */
export type FoldRequest = { id: number; op: "fold"; tensors: Record<string, HostTensor>; count: number } | { id: number; op: "finish" };

/** Replies, by request id. */
export type FoldReply =
  { id: number; states?: LayerState[] } | { id: number; error: { message: string; kind?: string; detail?: string; stack?: string } };

function serve(data: FoldThreadData): void {
  const readExternal = externalReader(data.modelDir);
  const inspection = new Inspection(
    decodeModel(data.modelBytes),
    data.thresholds,
    activationFinder(readExternal),
    readExternal,
    data.captureInputs,
  );
  inspection.loadLayers(data.states);
  const mine = new Set(data.states.map((s) => s.layer));
  parentPort!.on("message", (req: FoldRequest) => {
    try {
      if (req.op === "fold") {
        inspection.addBatch(
          (name) => req.tensors[name],
          req.count,
          (i) => mine.has(i),
        );
        parentPort!.postMessage({ id: req.id } satisfies FoldReply);
      } else {
        const states = inspection.layerStates([...mine]);
        parentPort!.postMessage({ id: req.id, states } satisfies FoldReply);
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const kind = isUserError(e) ? e.kind : undefined;
      parentPort!.postMessage({
        id: req.id,
        error: { message: err.message, kind, detail: isUserError(e) ? e.detail : undefined, stack: err.stack },
      } satisfies FoldReply);
    }
  });
}

if (parentPort && workerData) serve(workerData as FoldThreadData);
