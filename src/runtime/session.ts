import type * as ort from "onnxruntime-node";
import { UserError } from "../core/errors";
import type { DType, HostTensor, TypedArray } from "../core/tensor";

/** Session settings a user can choose. */
export interface SessionSettings {
  executionProviders?: string[];
  intraOpNumThreads?: number;
}

// onnxruntime-node is loaded on first use, not when the worker starts: describing a model (opening it
// in the editor) never needs it, and loading its native library takes a few hundred milliseconds.
let runtime: typeof ort | undefined;

async function loadRuntime(): Promise<typeof ort> {
  if (!runtime) {
    const m = await import("onnxruntime-node");
    // Node gives a CommonJS package's exports as `default` (and usually as named exports too).
    runtime = (m as { default?: typeof ort }).default ?? m;
  }
  return runtime;
}

function loaded(): typeof ort {
  if (!runtime) throw new Error("onnxruntime-node is used before a session was created");
  return runtime;
}

// The version a session thread reported, when onnxruntime-node was loaded there and not here.
let threadVersion: string | undefined;

/** The onnxruntime-node version, for reports (known once a session was created, here or in a session thread). */
export function ortVersion(): string {
  return runtime?.env.versions?.node ?? threadVersion ?? "unknown";
}

/** Records the version a session thread loaded. */
export function noteOrtVersion(version: string | undefined): void {
  if (version) threadVersion = version;
}

/**
 * onnxruntime's message without its decorations: the "[ONNXRuntimeError] : 1 : FAIL :" prefix and the
 * "/onnxruntime_src/...h:46 void onnxruntime::...(...)" source location, shortened to its first sentence(s).
 */
export function cleanOrtMessage(e: unknown): string {
  let text = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
  text = text.replace(/^\[ONNXRuntimeError\] : \d+ : [A-Z_]+ : /, "");
  // Source locations ("/onnxruntime_src/.../graph.cc:1234 onnxruntime::Graph::Graph(...) ") anywhere in the text.
  text = text.replace(/\S*onnxruntime_src\S*:\d+ (?:[\w:~<>,&*\s]+?\((?:[^()]|\([^()]*\))*\)\s*(?:const\s*)?)?/g, "");
  text = text
    .replace(/\b\w+\.(?:cc|h):\d+ /g, "")
    .replace(/\[ONNXRuntimeError\] : \d+ : [A-Z_]+ : /g, "")
    .trim();
  text = text.replace(/\.$/, "");
  return text.length > 300 ? `${text.slice(0, 297)}…` : text;
}

/** onnxruntime's session options for BN Lens's settings (the in-process and the threaded sessions share them). */
export function sessionOptions(modelDir: string, settings: SessionSettings): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    logSeverityLevel: 3,
    graphOptimizationLevel: "all",
    executionProviders: settings.executionProviders?.length ? settings.executionProviders : ["cpu"],
    // External data of a model loaded from memory is found relative to this folder.
    extra: { session: { model_external_initializers_file_folder_path: modelDir } },
  };
  if (settings.intraOpNumThreads !== undefined && settings.intraOpNumThreads > 0) options.intraOpNumThreads = settings.intraOpNumThreads;
  return options;
}

/** Creates a session from model bytes; load failures become one sentence naming onnxruntime's reason. */
export async function createSession(bytes: Uint8Array, modelDir: string, settings: SessionSettings): Promise<ort.InferenceSession> {
  const ort = await loadRuntime();
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(modelDir, settings));
  } catch (e) {
    throw loadFailure(e);
  }
}

/** A session that onnxruntime could not create, as one sentence naming its reason. */
export function loadFailure(e: unknown): UserError {
  const reason = cleanOrtMessage(e);
  const noOp = /In Node, \("([^"]*)", (\w+),.*No Op registered for (\w+) with domain_version of (\d+)/.exec(reason);
  if (noOp) {
    return new UserError(
      "model",
      `This model uses operator ${noOp[3]} (node "${noOp[1]}"), which onnxruntime ${ortVersion()} does not know at opset ${noOp[4]}; the model is damaged or needs custom operators.`,
      String(e),
    );
  }
  const noKernel = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/.exec(reason);
  if (noKernel) {
    return new UserError(
      "model",
      `onnxruntime ${ortVersion()} has no CPU implementation of operator ${noKernel[1]} (opset ${noKernel[2]}) used by node "${noKernel[3]}"; re-export the model with operators and types the CPU runtime supports.`,
      String(e),
    );
  }
  const hint = /implementation|NOT_IMPLEMENTED|not supported|Unrecognized/i.test(reason)
    ? "it uses an operator or type this onnxruntime cannot run"
    : /external|No such file|open file/i.test(reason)
      ? "its external data files are missing or unreadable"
      : /memory|bad_alloc/i.test(reason)
        ? "it does not fit in memory"
        : "the model is invalid";
  return new UserError("model", `onnxruntime cannot load this model (${hint}): ${reason}.`, String(e));
}

/** A failed run, as one sentence naming onnxruntime's reason. */
export function runFailure(e: unknown): UserError {
  const reason = cleanOrtMessage(e);
  const memory = /bad_alloc|memory|Failed to allocate/i.test(reason);
  return new UserError(
    memory ? "resource" : "model",
    memory
      ? `onnxruntime ran out of memory running this model (${reason}); try a smaller --batch.`
      : `onnxruntime failed while running the model: ${reason}.`,
    String(e),
  );
}

/** Wraps a host tensor for onnxruntime without copying. */
export function toOrtTensor(t: HostTensor): ort.Tensor {
  if (t.dtype === "bfloat16") throw new UserError("data", "bfloat16 inputs cannot be fed through onnxruntime-node.");
  return new (loaded().Tensor)(t.dtype, t.data as never, t.dims);
}

/** Views an onnxruntime output as a host tensor. */
export function fromOrtTensor(t: { type: string; dims: readonly number[]; data: unknown }): HostTensor {
  const dtype = t.type as DType;
  let data = t.data as TypedArray | string[];
  if (Array.isArray(data)) return { dtype: "string", dims: [...t.dims], data: new Uint8Array(0) };
  // float16 may come back as a Float16Array where the platform has one; BN Lens reads raw bits.
  if (dtype === "float16" && !(data instanceof Uint16Array))
    data = new Uint16Array((data as TypedArray).buffer, (data as TypedArray).byteOffset, (data as TypedArray).length);
  return { dtype, dims: [...t.dims], data };
}

/** Runs one batch; runtime failures become one sentence naming onnxruntime's reason. */
export async function runBatch(
  session: ort.InferenceSession,
  feeds: Record<string, HostTensor>,
  fetch: readonly string[],
): Promise<Record<string, HostTensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(t);
  let out: ort.InferenceSession.ReturnType;
  try {
    out = await session.run(ortFeeds, fetch as string[]);
  } catch (e) {
    throw runFailure(e);
  }
  const result: Record<string, HostTensor> = {};
  for (const name of fetch) {
    const v = out[name];
    if (v && "dims" in v) result[name] = fromOrtTensor(v as ort.Tensor);
  }
  return result;
}

/** Frees a session's native memory. */
export async function releaseSession(session: ort.InferenceSession | undefined): Promise<void> {
  if (session) await session.release().catch(() => undefined);
}
