/**
 * The host side of the inference process. Runs on the caller's thread (the extension host or the CLI),
 * so it must never load onnxruntime-node: it forks dist/worker.js and exchanges typed messages with it.
 */
import { fork, type ChildProcess } from "node:child_process";
import { UserError } from "../core/errors";
import type { CompareThresholds, ComparisonReport } from "../core/compare/comparisonReport";
import type { ModelDescription } from "../core/inspect/modelDescription";
import type { RecalibrationJson } from "../core/recalibrate/recalibration";
import type { Report, Thresholds } from "../core/report";
import { RpcClient } from "../protocol/rpc";
import type { GetLayerResult, RecalibrationView } from "../protocol/webview";
import {
  errorInfoSchema,
  type ErrorInfo,
  type HeldReport,
  type HeldReportHead,
  type InspectRequest,
  type Progress,
  type RecalibrateRequest,
  type WorkerMethods,
} from "../protocol/worker";

// About 30 ms of deserialising on the host per page for the 10,000-layer load model's 5 KB layers.
const PAGE_LAYERS = 100;
// Compact rows are about 1.5 KB each.
const PAGE_ROWS = 500;
// A model description's stored layers cross in pages of about this many channels (4 values each).
const DESCRIBE_CHANNELS = 32_768;

/** Callbacks for a running inspection. */
export interface InspectEvents {
  progress?(p: Progress): void;
  log?(line: string): void;
}

/** A running inspection (or recalibration): its result and a way to stop it. */
export interface RunHandle<T = Report> {
  readonly id: number;
  readonly result: Promise<T>;
  /** Asks the worker to stop after the current batch; kills it if it does not stop within the grace period. */
  cancel(): void;
}

/** Options of the client. */
export interface ClientOptions {
  /** Extra environment for the worker process. */
  env?: NodeJS.ProcessEnv;
  /** V8 heap limit of the worker in MB (Node's --max-old-space-size). */
  maxHeapMb?: number;
  /** How long a cancelled run may take to stop before the worker is killed (default 10 s). */
  cancelGraceMs?: number;
  /** Lines about the worker's life (start, exit) for the log. */
  onLog?(line: string): void;
}

/** An error from the worker, carrying its kind (a user error or a bug) and detail for the log. */
export class WorkerError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
    this.name = info.kind === "bug" ? "WorkerBug" : "UserError";
  }
  get kind(): ErrorInfo["kind"] {
    return this.info.kind;
  }
}

/** Starts, talks to, and restarts the inference process. */
export class InspectorClient {
  private child: ChildProcess | undefined;
  /** The process each waiting request went to: only that process's exit fails it. */
  private readonly sentTo = new Map<number, ChildProcess>();
  private readonly rpc = new RpcClient<WorkerMethods, ErrorInfo>({
    send: (msg) => this.ensureChild().send(msg),
    errorSchema: errorInfoSchema,
    toError: (info, requestId) => {
      this.sentTo.delete(requestId);
      return new WorkerError(info);
    },
  });

  constructor(
    private readonly workerPath: string,
    private readonly options: ClientOptions = {},
  ) {}

  private ensureChild(): ChildProcess {
    if (this.child && this.child.connected) return this.child;
    const execArgv = this.options.maxHeapMb ? [`--max-old-space-size=${this.options.maxHeapMb}`] : [];
    const child = fork(this.workerPath, [], {
      execArgv,
      env: { ...process.env, ...this.options.env, ELECTRON_RUN_AS_NODE: "1" },
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      // Its own process group: Ctrl-C in a terminal signals the whole foreground group, which would kill
      // the inference process before the host could cancel the run cleanly. The host cancels (or kills)
      // it itself, and the process exits when the host's IPC channel closes, however the host ends.
      detached: process.platform !== "win32",
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on("message", (msg: unknown) => this.rpc.receive(msg));
    child.on("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.exits++;
      const mine = [...this.sentTo].filter(([id, c]) => c === child && this.rpc.isPending(id)).map(([id]) => id);
      for (const [id, c] of [...this.sentTo]) if (c === child) this.sentTo.delete(id);
      if (mine.length === 0) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      // The kernel's OOM killer sends SIGKILL; BN Lens's own restarts detach the child before killing it.
      const oom = /heap out of memory|Allocation failed|bad_alloc/i.test(stderr) || signal === "SIGKILL";
      const info: ErrorInfo = {
        kind: oom ? "resource" : "bug",
        message: oom
          ? `The inference process ran out of memory and was stopped (${how}); try a smaller batch or fewer samples. BN Lens starts a fresh process for the next run.`
          : `The inference process stopped unexpectedly (${how}); BN Lens starts a fresh process for the next run.`,
        detail: stderr.trim() || undefined,
      };
      this.options.onLog?.(`Inference process ended (${how}).${stderr ? ` Last output: ${stderr.trim()}` : ""}`);
      for (const id of mine) this.rpc.fail(id, new WorkerError(info));
    });
    child.on("error", (e) => this.options.onLog?.(`Inference process error: ${e.message}`));
    this.child = child;
    this.options.onLog?.(`Started the inference process (pid ${child.pid}).`);
    return child;
  }

  private exits = 0;
  /**
   * Counts the inference process's exits: an id of a held report is valid only in the generation that
   * handed it out (a new process holds nothing, and numbers its reports from 1 again).
   */
  get generation(): number {
    return this.exits;
  }

  private track<R>(call: { requestId: number; result: Promise<R> }): { requestId: number; result: Promise<R> } {
    if (this.rpc.isPending(call.requestId) && this.child) this.sentTo.set(call.requestId, this.child);
    return { requestId: call.requestId, result: call.result.finally(() => this.sentTo.delete(call.requestId)) };
  }

  /** Starts an inspection in the worker; inspections run one after another. */
  inspect(request: InspectRequest, events?: InspectEvents): RunHandle {
    return this.cancellable(this.track(this.rpc.request("inspect", { request }, { progressed: events?.progress, logged: events?.log })));
  }

  /** Starts a recalibration in the worker (queued with inspections); cancel stops it between batches. */
  recalibrate(request: RecalibrateRequest, events?: InspectEvents): RunHandle<RecalibrationJson> {
    return this.cancellable(
      this.track(this.rpc.request("recalibrate", { request }, { progressed: events?.progress, logged: events?.log })),
    );
  }

  private cancellable<T>(call: { requestId: number; result: Promise<T> }): RunHandle<T> {
    const { requestId: id, result: promise } = call;
    let timer: NodeJS.Timeout | undefined;
    const result = promise.finally(() => timer && clearTimeout(timer));
    return {
      id,
      result,
      cancel: () => {
        if (!this.rpc.cancel(id)) return;
        timer = setTimeout(() => {
          const stopped = this.rpc.fail(
            id,
            new WorkerError({
              kind: "cancelled",
              message: "The inspection was cancelled; the inference process did not stop in time and was restarted.",
            }),
          );
          if (stopped) this.restart();
        }, this.options.cancelGraceMs ?? 10_000);
        timer.unref?.();
      },
    };
  }

  /** Starts an inspection whose report the inference process keeps; the result is its id and compact report. */
  inspectHeld(request: InspectRequest, events?: InspectEvents): RunHandle<HeldReport> {
    const call = this.track(this.rpc.request("inspectHeld", { request }, { progressed: events?.progress, logged: events?.log }));
    return this.cancellable({ requestId: call.requestId, result: call.result.then((head) => this.withRows(head)) });
  }

  /** The compact report's rows, in pages: one 15 MB message (10,000 rows) took 0.3 s to deserialise on the host. */
  private async withRows(head: HeldReportHead): Promise<HeldReport> {
    const { id, compact } = head;
    for (let from = 0; from < head.rows; from += PAGE_ROWS) {
      compact.rows.push(...(await this.track(this.rpc.request("compactRows", { id, from, count: PAGE_ROWS })).result));
    }
    return { id, compact };
  }

  /**
   * A held report, brought over in pages of about PAGE_LAYERS layers: each message is deserialised in its own
   * turn of the host's event loop, so no single one holds the thread for long (one 50 MB message held it 3 s).
   */
  async fetchReport(id: number): Promise<Report> {
    const head = await this.track(this.rpc.request("reportHead", { id })).result;
    const report = head.report;
    for (let from = 0; from < head.layers; from += PAGE_LAYERS) {
      report.layers.push(...(await this.track(this.rpc.request("reportLayers", { id, from, count: PAGE_LAYERS })).result));
    }
    for (let from = 0; from < head.activations; from += PAGE_LAYERS) {
      report.activations.push(...(await this.track(this.rpc.request("reportActivations", { id, from, count: PAGE_LAYERS })).result));
    }
    return report;
  }

  /** One layer of a held report (what the panel's layer detail shows). */
  reportLayer(id: number, kind: "bn" | "activation", index: number): Promise<GetLayerResult> {
    return this.track(this.rpc.request("reportLayer", { id, kind, index })).result;
  }

  /** Has the inference process write the saved copy `{ model, report }` of a held report to `path`. */
  async saveHeld(id: number, path: string, model: string, recalibration?: RecalibrationView): Promise<void> {
    await this.track(this.rpc.request("saveHeld", { id, path, model, ...(recalibration ? { recalibration } : {}) })).result;
  }

  /** Has the inference process write a held report to `path` (JSON as the CLI writes it, or the HTML page). */
  async exportHeld(
    id: number,
    path: string,
    format: "json" | "html",
    options: { extensionDir?: string; recalibration?: RecalibrationView } = {},
  ): Promise<void> {
    await this.track(this.rpc.request("exportHeld", { id, path, format, ...options })).result;
  }

  /** Hands a report the host has to the inference process, which validates and holds it. */
  async holdReport(report: Report): Promise<HeldReport> {
    return this.withRows(await this.track(this.rpc.request("holdReport", { report })).result);
  }

  /** Has the inference process read, validate and hold a report file; errors name it as `name`. */
  async holdReportFile(path: string, name: string): Promise<HeldReport> {
    return this.withRows(await this.track(this.rpc.request("holdReportFile", { path, name })).result);
  }

  /** Compares held report B with held baseline A in the inference process. */
  compareHeld(
    a: number,
    b: number,
    options: { names: [string, string]; reportPaths: [string | null, string | null]; thresholds?: Partial<CompareThresholds> },
  ): Promise<ComparisonReport> {
    return this.track(this.rpc.request("compareHeld", { a, b, ...options })).result;
  }

  /** Has the inference process read and validate a saved copy and hold it; null when there is none or it is another model's. */
  async restoreHeld(path: string, model: string): Promise<{ held: HeldReport; recalibration?: RecalibrationView } | null> {
    const { held, recalibration } = await this.track(this.rpc.request("restoreHeld", { path, model })).result;
    return held && { held: await this.withRows(held), ...(recalibration ? { recalibration } : {}) };
  }

  /** Lets the inference process forget a held report. */
  releaseHeld(id: number): void {
    this.track(this.rpc.request("releaseHeld", { id })).result.catch(() => undefined);
  }

  /** Reads a model's stored BN parameters without running it. */
  describeModel(modelPath: string, options: { slopeFraction?: number; thresholds?: Partial<Thresholds> } = {}): Promise<ModelDescription> {
    return this.describedInPages(this.track(this.rpc.request("describeModel", { modelPath, ...options })).result);
  }

  /** A description's layers, in pages of about DESCRIBE_CHANNELS channels, each deserialised in its own turn. */
  private async describedInPages(head: Promise<WorkerMethods["describeModel"]["result"]>): Promise<ModelDescription> {
    const { id, description, channels } = await head;
    for (let from = 0; from < channels.length;) {
      let count = 0;
      let sum = 0;
      while (from + count < channels.length && count < PAGE_ROWS && (count === 0 || sum + channels[from + count] <= DESCRIBE_CHANNELS))
        sum += channels[from + count++];
      description.layers.push(...(await this.track(this.rpc.request("describedLayers", { id, from, count })).result));
      from += count;
    }
    return description;
  }

  /** The worker's process id, when one is running. */
  get workerPid(): number | undefined {
    return this.child?.pid;
  }

  /** Kills the worker; pending requests fail and the next request starts a new one. */
  restart(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill("SIGKILL");
  }

  /** Stops the worker for good. */
  dispose(): void {
    this.rpc.failAll(() => new WorkerError({ kind: "cancelled", message: "BN Lens is shutting down; the inspection was stopped." }));
    this.restart();
  }
}

/** True for errors the user can act on (bad input, cancel), false for bugs. */
export function isUserFacing(e: unknown): e is WorkerError | UserError {
  return (e instanceof WorkerError && e.kind !== "bug") || e instanceof UserError;
}
