import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { UserError, type UserErrorKind } from "../core/errors";
import type { LayerState } from "../core/inspect/inspection";
import type { HostTensor } from "../core/tensor";
import type { FoldReply, FoldRequest, FoldThreadData } from "./foldThread";

/**
 * dist/foldThread.js: next to this bundle (dist/worker.js, dist/cli.js), or in the package's dist/ for bundles
 * built elsewhere (the tests under out/test, the benchmark under out/tools). Undefined when it was not built.
 */
export function foldThreadScript(): string | undefined {
  const candidates = [path.join(__dirname, "foldThread.js")];
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) {
      candidates.push(path.join(dir, "dist", "foldThread.js"));
      break;
    }
  }
  return candidates.find((p) => fs.existsSync(p));
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The main thread's side of a fold thread (foldThread.ts): one batch in flight at a time, then the states back. */
export class FoldClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(r: FoldReply): void; reject(e: Error): void }>();
  private nextId = 1;
  private inFlight: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(script: string, data: FoldThreadData) {
    this.worker = new Worker(script, { workerData: data });
    this.worker.on("message", (reply: FoldReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      // A later turn, for the same reason as in sessionThread.ts: the IPC channel must still be read.
      setImmediate(() => {
        if (!("error" in reply)) return p.resolve(reply);
        const { message, kind, detail, stack } = reply.error;
        p.reject(kind ? new UserError(kind as UserErrorKind, message, detail) : Object.assign(new Error(message), { stack }));
      });
    });
    const stop = (e: Error) => {
      this.failure ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", stop);
    this.worker.on("exit", (code) => stop(new Error(`the statistics thread stopped (exit code ${code})`)));
  }

  private request(req: DistributiveOmit<FoldRequest, "id">, transfer: ArrayBuffer[] = []): Promise<FoldReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  /**
   * Hands over one batch's tensors of the thread's layers; resolves once the batch before it is folded there, so
   * at most one batch waits in the thread (memory stays flat). `transfer` buffers move instead of being copied.
   */
  async fold(tensors: Record<string, HostTensor>, count: number, transfer: ArrayBuffer[]): Promise<void> {
    await this.inFlight;
    const done = this.request({ op: "fold", tensors, count }, transfer);
    done.catch(() => undefined);
    this.inFlight = done;
  }

  /** Waits for every batch, then returns the thread's layers' statistics. */
  async finish(): Promise<LayerState[]> {
    await this.inFlight;
    const reply = await this.request({ op: "finish" });
    return "states" in reply && reply.states ? reply.states : [];
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
