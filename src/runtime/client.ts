/**
 * The host side of the inference process. Runs on the caller's thread (the extension host or the CLI),
 * so it must never load onnxruntime-node: it forks dist/worker.js and exchanges typed messages with it.
 */
import { fork, type ChildProcess } from "node:child_process";
import { UserError } from "../core/errors";
import type { ModelOverview } from "../core/inspect/overview";
import type { Report } from "../core/report";
import type { ErrorInfo, HostToWorker, InspectRequest, Progress, WorkerToHost } from "../protocol/worker";

/** Callbacks for a running inspection. */
export interface InspectEvents {
  progress?(p: Progress): void;
  log?(line: string): void;
}

/** A running inspection: its result and a way to stop it. */
export interface RunHandle {
  readonly id: number;
  readonly result: Promise<Report>;
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

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
  events?: InspectEvents;
  /** The process the request went to: only its exit fails the request. */
  child?: ChildProcess;
}

/** Starts, talks to, and restarts the inference process. */
export class InspectorClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

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
    child.on("message", (msg: WorkerToHost) => this.onMessage(msg));
    child.on("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (![...this.pending.values()].some((p) => p.child === child)) return;
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
      for (const [id, p] of this.pending) {
        if (p.child !== child) continue;
        this.pending.delete(id);
        p.reject(new WorkerError(info));
      }
    });
    child.on("error", (e) => this.options.onLog?.(`Inference process error: ${e.message}`));
    this.child = child;
    this.options.onLog?.(`Started the inference process (pid ${child.pid}).`);
    return child;
  }

  private onMessage(msg: WorkerToHost): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case "progressed":
        p.events?.progress?.(msg.progress);
        break;
      case "logged":
        p.events?.log?.(msg.line);
        break;
      case "inspected":
        this.pending.delete(msg.id);
        p.resolve(msg.report);
        break;
      case "described":
        this.pending.delete(msg.id);
        p.resolve(msg.overview);
        break;
      case "failed":
        this.pending.delete(msg.id);
        p.reject(new WorkerError(msg.error));
        break;
    }
  }

  private post(msg: HostToWorker): ChildProcess {
    const child = this.ensureChild();
    child.send(msg);
    return child;
  }

  private request<T>(build: (id: number) => HostToWorker, events?: InspectEvents): { id: number; promise: Promise<T> } {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, events });
    });
    try {
      const child = this.post(build(id));
      const p = this.pending.get(id);
      if (p) p.child = child;
    } catch (e) {
      this.pending.get(id)?.reject(e instanceof Error ? e : new Error(String(e)));
      this.pending.delete(id);
    }
    return { id, promise };
  }

  /** Starts an inspection in the worker; inspections run one after another. */
  inspect(request: InspectRequest, events?: InspectEvents): RunHandle {
    const { id, promise } = this.request<Report>((i) => ({ type: "inspect", id: i, request }), events);
    let timer: NodeJS.Timeout | undefined;
    const result = promise.finally(() => timer && clearTimeout(timer));
    return {
      id,
      result,
      cancel: () => {
        if (!this.pending.has(id)) return;
        try {
          this.child?.send({ type: "cancel", id } satisfies HostToWorker);
        } catch {
          // The process is gone; its exit handler rejects the run.
        }
        timer = setTimeout(() => {
          const p = this.pending.get(id);
          if (!p) return;
          this.pending.delete(id);
          p.reject(
            new WorkerError({
              kind: "cancelled",
              message: "The inspection was cancelled; the inference process did not stop in time and was restarted.",
            }),
          );
          this.restart();
        }, this.options.cancelGraceMs ?? 10_000);
        timer.unref?.();
      },
    };
  }

  /** Reads a model's stored BN parameters without running it. */
  describeModel(modelPath: string, options: { slopeFraction?: number } = {}): Promise<ModelOverview> {
    return this.request<ModelOverview>((id) => ({ type: "describeModel", id, modelPath, slopeFraction: options.slopeFraction })).promise;
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
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new WorkerError({ kind: "cancelled", message: "BN Lens is shutting down; the inspection was stopped." }));
    }
    this.restart();
  }
}

/** True for errors the user can act on (bad input, cancel), false for bugs. */
export function isUserFacing(e: unknown): e is WorkerError | UserError {
  return (e instanceof WorkerError && e.kind !== "bug") || e instanceof UserError;
}
