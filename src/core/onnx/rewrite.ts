import { create, toBinary } from "@bufbuild/protobuf";
import {
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  ValueInfoProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";
import { UserError } from "../errors";
import type { Dim, OnnxModel } from "./model";
import { GraphField, ModelField, concat, lengthDelimited, scanModel, type ModelFields } from "./wire";

/** Changes BN Lens makes to a model before running it. */
export interface ModelEdits {
  /** Tensors to expose as extra graph outputs (captured activations). */
  addOutputs?: readonly string[];
  /** Extra nodes appended to the graph (in-graph statistics). */
  addNodes?: readonly NodeProto[];
  addInitializers?: readonly TensorProto[];
  /** New declared dims for these inputs (e.g. a dynamic batch dim). */
  inputDims?: ReadonlyMap<string, readonly Dim[]>;
  /**
   * Drop value_info shape hints and the declared shapes of graph outputs: needed when the batch dim
   * changes, since stale hints with the old batch make onnxruntime refuse or warn.
   */
  dropShapeHints?: boolean;
  /**
   * Remove graph inputs that have an initializer (old PyTorch exporters list every weight as an input).
   * onnxruntime treats such inputs as overridable, so it cannot fold or fuse them (Conv+BN fusion,
   * weight pre-packing): the face detector runs about 3 times slower with them. BN Lens never feeds them.
   */
  dropInitializerInputs?: boolean;
  /** Replace every node (used by the opset upgrade). */
  replaceNodes?: readonly NodeProto[];
  /** New version of the default-domain opset. */
  defaultOpset?: number;
}

function encodeOutput(name: string): Uint8Array {
  return toBinary(ValueInfoProtoSchema, create(ValueInfoProtoSchema, { name }));
}

function withDims(v: ValueInfoProto, dims: readonly Dim[]): ValueInfoProto {
  const copy = create(ValueInfoProtoSchema, v);
  const t = copy.type?.value;
  if (t?.case === "tensorType" && t.value.shape) {
    t.value.shape.dim = dims.map((d) =>
      create(TensorShapeProto_DimensionSchema, {
        value:
          typeof d === "number"
            ? { case: "dimValue", value: BigInt(d) }
            : typeof d === "string"
              ? { case: "dimParam", value: d }
              : { case: undefined },
      }),
    );
  }
  return copy;
}

function withoutShape(v: ValueInfoProto): ValueInfoProto {
  const copy = create(ValueInfoProtoSchema, v);
  const t = copy.type?.value;
  if (t?.case === "tensorType") t.value.shape = undefined;
  return copy;
}

/**
 * Applies edits at the protobuf wire level: initializers and every field not edited are copied byte for
 * byte, so rewriting a large model costs one copy and fields unknown to the schema survive.
 */
export function rewriteModel(bytes: Uint8Array, model: OnnxModel, edits: ModelEdits): Uint8Array {
  let fields: ModelFields;
  try {
    fields = scanModel(bytes);
  } catch (e) {
    throw new UserError("model", "The model file is damaged: its protobuf structure is invalid (a field runs past its end).", String(e));
  }
  const { top, graph: graphField, graphFields } = fields;
  if (!graphField) throw new UserError("model", "The model has no graph to run.");

  const inputsByName = new Map(model.graph.input.map((v) => [v.name, v]));
  const graphChunks: Uint8Array[] = [];
  let inputIndex = 0;
  let outputIndex = 0;
  let nodesWritten = false;
  for (const f of graphFields) {
    const raw = bytes.subarray(f.start, f.end);
    if (f.field === GraphField.node && edits.replaceNodes) {
      if (!nodesWritten) {
        for (const n of edits.replaceNodes) graphChunks.push(...lengthDelimited(GraphField.node, toBinary(NodeProtoSchema, n)));
        nodesWritten = true;
      }
      continue;
    }
    if (f.field === GraphField.input && (edits.inputDims || edits.dropInitializerInputs)) {
      const v = model.graph.input[inputIndex++];
      if (v && edits.dropInitializerInputs && model.initializers.has(v.name)) continue;
      const dims = v && edits.inputDims?.get(v.name);
      if (dims && inputsByName.has(v.name)) {
        graphChunks.push(...lengthDelimited(GraphField.input, toBinary(ValueInfoProtoSchema, withDims(v, dims))));
        continue;
      }
    }
    if (f.field === GraphField.output && edits.dropShapeHints) {
      const v = model.graph.output[outputIndex++];
      if (v) {
        graphChunks.push(...lengthDelimited(GraphField.output, toBinary(ValueInfoProtoSchema, withoutShape(v))));
        continue;
      }
    }
    if (f.field === GraphField.valueInfo && edits.dropShapeHints) continue;
    graphChunks.push(raw);
  }
  const existingOutputs = new Set(model.outputs);
  for (const name of edits.addOutputs ?? []) {
    if (existingOutputs.has(name)) continue;
    existingOutputs.add(name);
    graphChunks.push(...lengthDelimited(GraphField.output, encodeOutput(name)));
  }
  for (const n of edits.addNodes ?? []) graphChunks.push(...lengthDelimited(GraphField.node, toBinary(NodeProtoSchema, n)));
  for (const t of edits.addInitializers ?? []) graphChunks.push(...lengthDelimited(GraphField.initializer, toBinary(TensorProtoSchema, t)));
  const graphBytes = concat(graphChunks);

  const chunks: Uint8Array[] = [];
  let opsetWritten = false;
  for (const f of top) {
    if (f.field === ModelField.graph && f.wireType === 2) {
      if (f === graphField) chunks.push(...lengthDelimited(ModelField.graph, graphBytes));
      continue;
    }
    if (f.field === ModelField.opsetImport && edits.defaultOpset !== undefined) {
      if (!opsetWritten) {
        for (const o of model.proto.opsetImport) {
          const isDefault = o.domain === "" || o.domain === "ai.onnx";
          const entry = create(OperatorSetIdProtoSchema, { domain: o.domain, version: isDefault ? BigInt(edits.defaultOpset) : o.version });
          chunks.push(...lengthDelimited(ModelField.opsetImport, toBinary(OperatorSetIdProtoSchema, entry)));
        }
        opsetWritten = true;
      }
      continue;
    }
    chunks.push(bytes.subarray(f.start, f.end));
  }
  if (edits.defaultOpset !== undefined && !opsetWritten) {
    const entry = create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(edits.defaultOpset) });
    chunks.push(...lengthDelimited(ModelField.opsetImport, toBinary(OperatorSetIdProtoSchema, entry)));
  }
  return concat(chunks);
}

// Ops whose behaviour did not change between opsets 1-6 and 7, or whose change is removing an
// attribute that was a no-op at inference (is_test, consumed_inputs).
const CHANGED_AT_7 = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "And",
  "Or",
  "Xor",
  "Equal",
  "Greater",
  "Less",
  "PRelu",
  "GRU",
  "LSTM",
  "RNN",
  "Upsample",
]);
const DROP_AT_7: Record<string, string[]> = {
  BatchNormalization: ["is_test", "consumed_inputs"],
  Dropout: ["is_test"],
  Gemm: ["broadcast"],
};

/**
 * Nodes rewritten for opset 7, for models exported at opset 6 or older (onnxruntime runs opset 7 and
 * later). Throws a UserError naming the ops that cannot be upgraded safely.
 */
export function upgradeNodesToOpset7(model: OnnxModel): NodeProto[] {
  const blocked = new Set<string>();
  const nodes = model.graph.node.map((n) => {
    if (n.domain && n.domain !== "ai.onnx") return n;
    const broadcast = n.attribute.find((a) => a.name === "broadcast");
    if (CHANGED_AT_7.has(n.opType)) {
      // Same-shape element-wise ops without legacy broadcasting behave identically at opset 7.
      const elementwise = ["Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"].includes(n.opType);
      if (!elementwise || (broadcast && broadcast.i !== 0n)) blocked.add(n.opType);
      const copy = create(NodeProtoSchema, n);
      copy.attribute = copy.attribute.filter((a) => a.name !== "broadcast" && a.name !== "consumed_inputs");
      return copy;
    }
    const drop = DROP_AT_7[n.opType];
    if (!drop) return n;
    const copy = create(NodeProtoSchema, n);
    copy.attribute = copy.attribute.filter((a) => !drop.includes(a.name));
    if (n.opType === "BatchNormalization") copy.output = copy.output.slice(0, 1);
    return copy;
  });
  if (blocked.size > 0) {
    throw new UserError(
      "model",
      `This model uses ONNX opset ${model.opset}, which onnxruntime cannot run, and its ${[...blocked].join(", ")} nodes cannot be upgraded automatically; re-export it with opset 7 or later.`,
    );
  }
  return nodes;
}
