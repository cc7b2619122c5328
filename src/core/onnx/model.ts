import { fromBinary } from "@bufbuild/protobuf";
import {
  ModelProtoSchema,
  TensorProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";
import { UserError } from "../errors";
import type { DType } from "../tensor";
import { dtypeFromOnnx, onnxTypeName } from "./dataType";

/** One dimension of a declared input shape: a number, a symbolic name, or unknown (null). */
export type Dim = number | string | null;

/** A real model input (one without an initializer), as declared in the graph. */
export interface ModelInput {
  name: string;
  /** Undefined when the element type is one BN Lens cannot feed (string, complex, ...). */
  dtype: DType | undefined;
  /** The ONNX element type name, for messages. */
  typeName: string;
  /** Undefined when the input declares no shape at all. */
  dims: Dim[] | undefined;
}

/** A decoded model with the lookups graph analysis needs. */
export interface OnnxModel {
  proto: ModelProto;
  graph: GraphProto;
  /** Version of the default ("" / "ai.onnx") operator set. */
  opset: number;
  irVersion: number;
  producer: string;
  initializers: Map<string, TensorProto>;
  /** Outputs of Constant nodes, keyed by tensor name. */
  constantNodes: Map<string, NodeProto>;
  /** The node that produces each tensor. */
  producers: Map<string, NodeProto>;
  /** The nodes that read each tensor, in graph order. */
  consumers: Map<string, NodeProto[]>;
  /** Real inputs only: graph inputs that have an initializer are weights (old PyTorch exporters list them). */
  inputs: ModelInput[];
  outputs: string[];
  /** A stable display name for every node (its own name, or OpType_index when unnamed). */
  nodeName: Map<NodeProto, string>;
  /** Position of each node in graph.node. */
  nodeIndex: Map<NodeProto, number>;
}

const DEFAULT_DOMAINS = new Set(["", "ai.onnx"]);

/** Decodes ONNX bytes; a file that is not a model gets a UserError saying so. */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0)
    throw new UserError("model", "The model file is empty (0 bytes); choose a .onnx file exported from your framework.");
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: false });
  } catch (e) {
    if (looksLikeTensor(bytes)) throw notAModelButATensor();
    throw new UserError(
      "model",
      "The file is not a readable ONNX model: its bytes are not a valid protobuf message (truncated or not an .onnx file).",
      String(e),
    );
  }
  const graph = proto.graph;
  if (!graph || (graph.node.length === 0 && graph.output.length === 0) || proto.irVersion === 0n) {
    if (looksLikeTensor(bytes)) throw notAModelButATensor();
    throw new UserError(
      "model",
      "The file decodes as protobuf but is not an ONNX model (it has no ir_version or no graph); choose the model's .onnx file, not a tensor or another protobuf.",
    );
  }
  return indexModel(proto);
}

function notAModelButATensor(): UserError {
  return new UserError(
    "model",
    "The file is an ONNX tensor (a TensorProto, like test_data_set_0/input_0.pb), not a model; choose the model's .onnx file and pass tensors with --data.",
  );
}

/** True when the bytes decode as a TensorProto with a known data type and data for its shape. */
function looksLikeTensor(bytes: Uint8Array): boolean {
  try {
    const t = fromBinary(TensorProtoSchema, bytes, { readUnknownFields: false });
    const n = t.dims.reduce((a, d) => a * Number(d), 1);
    const has = t.rawData.length + t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length;
    return t.dataType > 0 && t.dataType <= 23 && t.dims.every((d) => d >= 0n) && (n === 0 || has > 0);
  } catch {
    return false;
  }
}

/** Builds the lookups for an already decoded ModelProto. */
export function indexModel(proto: ModelProto): OnnxModel {
  const graph = proto.graph!;
  const opsetEntry = proto.opsetImport.find((o) => DEFAULT_DOMAINS.has(o.domain));
  // IR version 3 models without an opset_import are treated as opset 1, per the ONNX spec.
  const opset = opsetEntry ? Number(opsetEntry.version) : 1;
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const constantNodes = new Map<string, NodeProto>();
  const producers = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  const nodeName = new Map<NodeProto, string>();
  const nodeIndex = new Map<NodeProto, number>();
  graph.node.forEach((node, i) => {
    nodeIndex.set(node, i);
    nodeName.set(node, node.name || `${node.opType}_${i}`);
    for (const out of node.output) if (out) producers.set(out, node);
    if (node.opType === "Constant" && DEFAULT_DOMAINS.has(node.domain) && node.output[0]) constantNodes.set(node.output[0], node);
    for (const inp of node.input) {
      if (!inp) continue;
      const list = consumers.get(inp);
      if (list) {
        if (list[list.length - 1] !== node) list.push(node);
      } else consumers.set(inp, [node]);
    }
  });
  const inputs = graph.input.filter((v) => !initializers.has(v.name)).map(describeInput);
  return {
    proto,
    graph,
    opset,
    irVersion: Number(proto.irVersion),
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(" "),
    initializers,
    constantNodes,
    producers,
    consumers,
    inputs,
    outputs: graph.output.map((o) => o.name),
    nodeName,
    nodeIndex,
  };
}

function describeInput(v: ValueInfoProto): ModelInput {
  const type = v.type?.value;
  if (!type || type.case !== "tensorType") {
    const kind = type?.case ? type.case.replace(/Type$/, "") : "unknown";
    return { name: v.name, dtype: undefined, typeName: kind, dims: undefined };
  }
  const elem = type.value.elemType;
  const shape = type.value.shape;
  const dims = shape
    ? shape.dim.map((d): Dim => {
        if (d.value.case === "dimValue") return Number(d.value.value);
        if (d.value.case === "dimParam") return d.value.value || null;
        return null;
      })
    : undefined;
  return { name: v.name, dtype: dtypeFromOnnx(elem), typeName: onnxTypeName(elem), dims };
}

/** Looks up an attribute by name. */
export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** An INT attribute as a number, or the fallback. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? Number(a.i) : fallback;
}

/** A FLOAT attribute, or the fallback. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? a.f : fallback;
}

/** An INTS attribute as numbers, or undefined. */
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

/** True when the node belongs to the default ONNX domain. */
export function isOnnxOp(node: NodeProto, opType?: string): boolean {
  return DEFAULT_DOMAINS.has(node.domain) && (opType === undefined || node.opType === opType);
}
