import { Worker } from "node:worker_threads";
import { UserError } from "../core/errors";
import type { HostTensor } from "../core/tensor";
import { fromOrtTensor, loadFailure, noteOrtVersion, runFailure, sessionOptions, type SessionSettings } from "./session";

/**
 * onnxruntime sessions on a thread of their own, so the inspection's statistics of one batch (JavaScript on the
 * inference process's main thread) run while onnxruntime computes the next batch, instead of between its runs.
 * onnxruntime-node's `run` blocks the thread that calls it; here that thread is the session thread.
 *
 * The thread's code is a small CommonJS script evaluated as is: it loads onnxruntime-node from the path the
 * main thread resolves, wherever this bundle runs (the shipped dist/, the tests, the benchmark), with no second
 * bundle to find on disk. Tensors cross by structured clone; outputs are transferred, not copied.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
const sessions = new Map();
let nextSession = 1;
// The version first, so a model that fails to load is still reported against the right onnxruntime.
parentPort.postMessage({ id: 0, version: ort.env.versions && ort.env.versions.node });
const fail = (id, e) => parentPort.postMessage({ id, error: e && e.message !== undefined ? String(e.message) : String(e), stack: e && e.stack });
parentPort.on("message", async (m) => {
  try {
    if (m.op === "create") {
      const session = await ort.InferenceSession.create(m.bytes, m.options);
      const handle = nextSession++;
      sessions.set(handle, session);
      parentPort.postMessage({ id: m.id, value: { handle, version: ort.env.versions && ort.env.versions.node } });
    } else if (m.op === "run") {
      const feeds = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
      const out = await sessions.get(m.handle).run(feeds, m.fetch);
      const value = {};
      const transfer = [];
      for (const name of m.fetch) {
        const t = out[name];
        if (!t || !("dims" in t)) continue;
        value[name] = { type: t.type, dims: t.dims, data: t.data };
        if (ArrayBuffer.isView(t.data) && !transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ id: m.id, value }, transfer);
    } else if (m.op === "release") {
      const session = sessions.get(m.handle);
      sessions.delete(m.handle);
      if (session) await session.release();
      parentPort.postMessage({ id: m.id, value: true });
    }
  } catch (e) {
    fail(m.id, e);
  }
});
`;

interface Reply {
  /** 0 for the thread's greeting, which carries the onnxruntime version. */
  id: number;
  version?: string;
  value?: unknown;
  error?: string;
  stack?: string;
}

type OrtOut = Record<string, { type: string; dims: readonly number[]; data: HostTensor["data"] }>;

/** One session living on a SessionThread. */
export interface ThreadSession {
  /** Runs one batch; failures become the same sentences as in-process runs (session.ts). */
  run(feeds: Record<string, HostTensor>, fetch: readonly string[]): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

/** A worker thread that owns onnxruntime sessions and runs them one request at a time, in order. */
export class SessionThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor() {
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ortPath: require.resolve("onnxruntime-node") } });
    this.worker.on("message", (reply: Reply) => {
      if (reply.id === 0) return noteOrtVersion(reply.version);
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      // Settled from a later event-loop turn: a MessagePort delivers every message already queued (up to 1,000)
      // in one callback, and the statistics of a batch run inside it, by which time the next batch's reply is
      // queued too; settling in place would keep this thread from reading its IPC channel (cancel requests)
      // until the whole inspection ended.
      setImmediate(() => {
        if (reply.error === undefined) p.resolve(reply.value);
        else p.reject(Object.assign(new Error(reply.error), { stack: reply.stack }));
      });
    });
    // A thread that dies (out of memory, a crash in native code reported as an error) fails every request.
    const stop = (e: Error) => {
      this.failure ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", stop);
    this.worker.on("exit", (code) => stop(new Error(`the onnxruntime thread stopped (exit code ${code})`)));
    this.worker.unref();
  }

  private request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // Kept alive only while it has work: an idle thread waiting in the pool must not keep the process running.
    this.worker.ref();
    const reply = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
    this.inFlight.add(reply);
    const settled = () => {
      this.inFlight.delete(reply);
      if (this.inFlight.size === 0) this.worker.unref();
    };
    reply.then(settled, settled);
    return reply;
  }

  /** Creates a session from model bytes (copied to the thread); load failures become one sentence (session.ts). */
  async create(bytes: Uint8Array, modelDir: string, settings: SessionSettings): Promise<ThreadSession> {
    let created: { handle: number; version?: string };
    try {
      created = (await this.request({ op: "create", bytes, options: sessionOptions(modelDir, settings) })) as typeof created;
    } catch (e) {
      throw loadFailure(e);
    }
    noteOrtVersion(created.version);
    const { handle } = created;
    let released = false;
    return {
      run: async (feeds, fetch) => {
        const sent: Record<string, HostTensor> = {};
        for (const [name, t] of Object.entries(feeds)) {
          if (t.dtype === "bfloat16") throw new UserError("data", "bfloat16 inputs cannot be fed through onnxruntime-node.");
          sent[name] = t;
        }
        let out: OrtOut;
        try {
          out = (await this.request({ op: "run", handle, feeds: sent, fetch })) as OrtOut;
        } catch (e) {
          throw runFailure(e);
        }
        const result: Record<string, HostTensor> = {};
        for (const name of fetch) if (out[name]) result[name] = fromOrtTensor(out[name]);
        return result;
      },
      release: async () => {
        if (released || this.failure) return;
        released = true;
        await this.request({ op: "release", handle }).catch(() => undefined);
      },
    };
  }

  /** Whether the thread stopped (it can serve no more sessions). */
  get stopped(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Ends the thread and every session on it, once the runs already handed to it have returned: terminating a
   * thread inside onnxruntime's run aborts the whole process when the run returns into the stopped thread.
   */
  async close(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await this.worker.terminate();
  }
}

// Threads whose sessions were all released, kept for the next inspection: starting a thread loads onnxruntime-node
// into it again (about a third of a second on the face detector's fixed cost), which an in-process session pays
// once per process. At most a few are ever kept (an inspection uses one or two).
const idle: SessionThread[] = [];

/** A session thread from the pool, or a new one. */
export function borrowSessionThread(): SessionThread {
  let t: SessionThread | undefined;
  while ((t = idle.pop())) if (!t.stopped) return t;
  return new SessionThread();
}

/** Gives a thread back to the pool once the caller released its sessions on it (or closes it if it stopped). */
export async function returnSessionThread(thread: SessionThread): Promise<void> {
  if (thread.stopped || idle.length >= 4) return thread.close();
  idle.push(thread);
}
