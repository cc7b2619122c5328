import { UserError } from "../errors";
import type { OnnxModel } from "./model";

// Domains onnxruntime's CPU build implements; anything else needs a custom-op library BN Lens cannot load.
const KNOWN_DOMAINS = new Set([
  "",
  "ai.onnx",
  "ai.onnx.ml",
  "com.microsoft",
  "com.microsoft.nchwc",
  "ai.onnx.preview.training",
  "com.ms.internal.nhwc",
]);
// The newest default-domain opset onnxruntime-node 1.30 officially supports (it says so when refusing 27).
export const MAX_SUPPORTED_OPSET = 26;

/**
 * Checks what onnxruntime would otherwise reject with a long message: tensors nobody provides,
 * operators from unknown domains, opsets newer than the runtime, a graph without outputs.
 * Names the first problem in one sentence.
 */
export function validateGraph(model: OnnxModel): void {
  const g = model.graph;
  if (g.output.length === 0)
    throw new UserError("model", "The model's graph declares no outputs, so there is nothing to run; the file is incomplete.");
  if (model.opset > MAX_SUPPORTED_OPSET) {
    throw new UserError(
      "model",
      `The model uses ONNX opset ${model.opset}, newer than the opset ${MAX_SUPPORTED_OPSET} this onnxruntime supports; re-export it with opset ${MAX_SUPPORTED_OPSET} or older.`,
    );
  }
  const local = new Set(model.proto.functions.map((f) => `${f.domain}:${f.name}`));
  const imported = new Set(model.proto.opsetImport.map((o) => o.domain));
  const available = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ""]);
  for (const s of g.sparseInitializer) if (s.values?.name) available.add(s.values.name);
  for (const node of g.node) {
    const name = model.nodeName.get(node)!;
    if (!local.has(`${node.domain}:${node.opType}`)) {
      if (!KNOWN_DOMAINS.has(node.domain)) {
        throw new UserError(
          "model",
          `Node "${name}" uses operator ${node.opType} from domain "${node.domain}", a custom operator onnxruntime does not provide; BN Lens cannot run models that need custom-op libraries.`,
        );
      }
      if (node.domain !== "" && node.domain !== "ai.onnx" && !imported.has(node.domain)) {
        throw new UserError(
          "model",
          `Node "${name}" uses domain "${node.domain}", which the model does not import (no opset_import entry); the model is damaged.`,
        );
      }
    }
    for (const input of node.input) {
      if (!available.has(input)) {
        throw new UserError(
          "model",
          `Node "${name}" (${node.opType}) reads tensor "${input}", which no earlier node, graph input or initializer provides; the model is damaged or incomplete.`,
        );
      }
    }
    for (const output of node.output) available.add(output);
  }
  for (const out of g.output) {
    if (!available.has(out.name)) {
      throw new UserError(
        "model",
        `The graph output "${out.name}" is produced by no node, input or initializer; the model is damaged or incomplete.`,
      );
    }
  }
}
