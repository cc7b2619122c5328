/**
 * The inference process: a child process forked by src/runtime/client.ts (a crash in native code or an
 * out-of-memory abort kills only this process, never the extension host or the CLI's main process).
 * It serves one inspection at a time, in order; model descriptions and cancels are served at once.
 */
import { UserError, isUserError, oneLine } from "../core/errors";
import type { ModelDescription } from "../core/inspect/modelDescription";
import type { ActivationLayerReport, LayerReport } from "../core/report";
import { RpcServer, type Handlers } from "../protocol/rpc";
import { workerParams, type ErrorInfo, type WorkerMethods, type WorkerToHost } from "../protocol/worker";
import { describeModel, inspect } from "./engine";
import * as held from "./heldReports";
import { recalibrate } from "./recalibrate";

function errorInfo(e: unknown): ErrorInfo {
  if (isUserError(e)) return { kind: e.kind, message: oneLine(e.message), detail: e.detail, shapeNeeded: e.shapeNeeded };
  const err = e instanceof Error ? e : new Error(String(e));
  return { kind: "bug", message: `BN Lens hit an internal error: ${err.message}`, detail: err.stack };
}

/** Stored layers of descriptions whose pages the host has not all taken yet. */
const described = new Map<number, ModelDescription["layers"]>();
let nextDescription = 1;

let queue: Promise<unknown> = Promise.resolve();
/** Runs `f` after every earlier queued job (onnxruntime sessions of two runs would compete for the cores). */
function inTurn<T>(f: () => Promise<T>): Promise<T> {
  const p = queue.then(f);
  queue = p.catch(() => undefined);
  return p;
}

const handlers: Handlers<WorkerMethods> = {
  inspect: ({ request }, call) =>
    inTurn(() =>
      inspect(request, {
        progress: (progress) => call.emit("progressed", progress),
        log: (line) => call.emit("logged", line),
        cancelled: () => call.cancelled(),
      }),
    ),
  inspectHeld: ({ request }, call) =>
    inTurn(() =>
      inspect(request, {
        progress: (progress) => call.emit("progressed", progress),
        log: (line) => call.emit("logged", line),
        cancelled: () => call.cancelled(),
      }),
    ).then(held.hold),
  reportHead: ({ id }) => held.head(id),
  compactRows: ({ id, from, count }) => held.rows(id, from, count),
  reportLayers: ({ id, from, count }) => held.page(id, "bn", from, count) as LayerReport[],
  reportActivations: ({ id, from, count }) => held.page(id, "activation", from, count) as ActivationLayerReport[],
  reportLayer: ({ id, kind, index }) =>
    kind === "bn"
      ? { kind, layer: held.layer(id, kind, index) as LayerReport }
      : { kind, layer: held.layer(id, kind, index) as ActivationLayerReport },
  saveHeld: ({ id, path, model, recalibration }) => held.save(id, path, model, recalibration).then(() => true as const),
  exportHeld: ({ id, path, format, extensionDir, recalibration }) =>
    held.exportTo(id, path, format, extensionDir, recalibration).then(() => true as const),
  holdReport: ({ report }) => held.holdChecked(report),
  holdReportFile: ({ path, name }) => held.holdFile(path, name),
  compareHeld: ({ a, b, names, reportPaths, thresholds }) => held.compare(a, b, names, reportPaths, thresholds),
  restoreHeld: ({ path, model }) => held.restore(path, model),
  releaseHeld: ({ id }) => {
    held.release(id);
    return true as const;
  },
  describeModel: ({ modelPath, slopeFraction, thresholds }) => {
    const description = describeModel(modelPath, { ...thresholds, ...(slopeFraction !== undefined ? { slopeFraction } : {}) });
    const id = nextDescription++;
    described.set(id, description.layers);
    // A host that never takes its pages (it went away mid-way) leaves at most a few behind.
    while (described.size > 8) described.delete(described.keys().next().value as number);
    return { id, description: { ...description, layers: [] }, channels: description.layers.map((l) => l.channels) };
  },
  describedLayers: ({ id, from, count }) => {
    const layers = described.get(id);
    if (!layers) throw new UserError("usage", "The inference process no longer has that model's description; open the model again.");
    if (from + count >= layers.length) described.delete(id);
    return layers.slice(from, from + count);
  },
  recalibrate: ({ request }, call) =>
    inTurn(() =>
      recalibrate(request, {
        progress: (progress) => call.emit("progressed", progress),
        log: (line) => call.emit("logged", line),
        cancelled: () => call.cancelled(),
      }),
    ),
};

const server = new RpcServer<WorkerMethods, ErrorInfo>({
  handlers,
  params: workerParams,
  send: (msg: WorkerToHost) => process.send?.(msg),
  toError: errorInfo,
});

process.on("message", (msg: unknown) => server.receive(msg));

// The host going away (window closed, CLI interrupted) ends this process too.
process.on("disconnect", () => process.exit(0));
