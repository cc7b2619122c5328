/**
 * The inference process: a child process forked by src/runtime/client.ts (a crash in native code or an
 * out-of-memory abort kills only this process, never the extension host or the CLI's main process).
 * It serves one inspection at a time, in order; model descriptions and cancels are served at once.
 */
import { isUserError, oneLine } from "../core/errors";
import type { ErrorInfo, HostToWorker, WorkerToHost } from "../protocol/worker";
import { describeModel, inspect } from "./engine";
import { recalibrate } from "./recalibrate";

function send(msg: WorkerToHost): void {
  process.send?.(msg);
}

function errorInfo(e: unknown): ErrorInfo {
  if (isUserError(e)) return { kind: e.kind, message: oneLine(e.message), detail: e.detail };
  const err = e instanceof Error ? e : new Error(String(e));
  return { kind: "bug", message: `BN Lens hit an internal error: ${err.message}`, detail: err.stack };
}

const cancelled = new Set<number>();
let queue: Promise<void> = Promise.resolve();

async function runInspect(id: number, msg: Extract<HostToWorker, { type: "inspect" }>): Promise<void> {
  try {
    const report = await inspect(msg.request, {
      progress: (progress) => send({ type: "progressed", id, progress }),
      log: (line) => send({ type: "logged", id, line }),
      cancelled: () => cancelled.has(id),
    });
    send({ type: "inspected", id, report });
  } catch (e) {
    send({ type: "failed", id, error: errorInfo(e) });
  } finally {
    cancelled.delete(id);
  }
}

async function runRecalibrate(id: number, msg: Extract<HostToWorker, { type: "recalibrate" }>): Promise<void> {
  try {
    const result = await recalibrate(msg.request, {
      progress: (progress) => send({ type: "progressed", id, progress }),
      log: (line) => send({ type: "logged", id, line }),
      cancelled: () => cancelled.has(id),
    });
    send({ type: "recalibrated", id, result });
  } catch (e) {
    send({ type: "failed", id, error: errorInfo(e) });
  } finally {
    cancelled.delete(id);
  }
}

process.on("message", (msg: HostToWorker) => {
  switch (msg.type) {
    case "cancel":
      cancelled.add(msg.id);
      break;
    case "inspect":
      queue = queue.then(() => runInspect(msg.id, msg));
      break;
    case "recalibrate":
      queue = queue.then(() => runRecalibrate(msg.id, msg));
      break;
    case "describeModel":
      try {
        send({ type: "described", id: msg.id, overview: describeModel(msg.modelPath, msg.slopeFraction) });
      } catch (e) {
        send({ type: "failed", id: msg.id, error: errorInfo(e) });
      }
      break;
  }
});

// The host going away (window closed, CLI interrupted) ends this process too.
process.on("disconnect", () => process.exit(0));
